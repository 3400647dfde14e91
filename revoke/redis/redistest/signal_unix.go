//go:build unix

package redistest

import "syscall"

// sigStop and sigCont pause and resume the server (Pause, Resume).
var sigStop, sigCont = syscall.SIGSTOP, syscall.SIGCONT
