package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// runner runs commands with an environment of its own, logging each one
// (with -v) and returning its output with the error when it fails.
type runner struct {
	env     []string // appended to os.Environ(); later entries win
	log     io.Writer
	verbose bool
	timeout time.Duration // per command; 0: 5 minutes
}

// run runs name with args in dir and returns its combined output.
func (x *runner) run(dir, name string, args ...string) ([]byte, error) {
	timeout := x.timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), x.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if x.verbose {
		fmt.Fprintf(x.log, "    $ %s %s  (%s, %.1fs)\n", name, strings.Join(args, " "), dir, time.Since(start).Seconds())
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v", timeout)
		}
		return out.Bytes(), fmt.Errorf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, indent(out.String()))
	}
	return out.Bytes(), nil
}

// gocmd runs the go command.
func (x *runner) gocmd(dir string, args ...string) ([]byte, error) {
	return x.run(dir, goBin(), args...)
}

// goBin returns the go command of the toolchain running this program when
// there is one ($GOROOT/bin/go, as go run sets GOROOT), else "go" on PATH.
func goBin() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if _, err := os.Stat(root + "/bin/go"); err == nil {
			return root + "/bin/go"
		}
	}
	return "go"
}

// goEnv returns `go env NAME` in the caller's environment.
func goEnv(name string) (string, error) {
	out, err := exec.Command(goBin(), "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "\t" + strings.ReplaceAll(s, "\n", "\n\t")
}
