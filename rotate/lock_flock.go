//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd || illumos

package rotate

import (
	"errors"
	"os"
	"syscall"
)

// haveLock reports whether lockFile takes a real lock on this system.
const haveLock = true

// lockFile takes an exclusive flock(2) on f, waiting for it. The lock
// belongs to f's open file description, so two opens of the same lock
// file exclude each other within one process as across processes.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
