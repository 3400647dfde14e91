package nginxtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill nginx if the test binary dies before
// its cleanup runs (a panic, a -timeout), so no proxy outlives a run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
