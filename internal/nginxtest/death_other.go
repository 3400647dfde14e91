//go:build !linux

package nginxtest

import "os/exec"

// dieWithParent is a no-op off Linux: cleanup stops nginx.
func dieWithParent(*exec.Cmd) {}
