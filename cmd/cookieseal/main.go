package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFail    = 1
	exitUsage   = 2
	exitExpired = 3
)

func main() {
	goredis.SetLogger(quietRedisLog{})
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, time.Now))
}

// env is what a command runs with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	getenv         func(string) string
}

// usageError is a bad command line: exit status 2.
type usageError struct {
	msg     string
	printed bool // the flag package has already printed it
}

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{msg: fmt.Sprintf(format, args...)} }

// exitError carries an exit status other than 1 for a failure.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

const topUsage = `usage: cookieseal <command> [flags]

commands:
  keygen      make a new key set file with one primary key
  keys        list and edit the keys of a key set file:
                list, add, promote, demote, disable, enable, remove,
                emergency-replace, export-env
  inspect     open a cookie value with a key set and print it as JSON
  revoke      force logout through a fleet's Redis revocation list:
                subject (every session of a user), session (one session id)

Run "cookieseal <command> -h" for a command's flags.
`

// run is the whole program: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, now: now, getenv: os.Getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitUsage
	}
	var err error
	name := args[0]
	switch name {
	case "keygen":
		err = e.keygen(args[1:])
	case "keys":
		if len(args) < 2 {
			fmt.Fprint(stderr, keysUsage)
			return exitUsage
		}
		name = "keys " + args[1]
		err = e.keys(args[1], args[2:])
	case "inspect":
		err = e.inspect(args[1:])
	case "revoke":
		if len(args) < 2 {
			fmt.Fprint(stderr, revokeUsage)
			return exitUsage
		}
		name = "revoke " + args[1]
		err = e.revoke(args[1], args[2:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, topUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "cookieseal: unknown command %q\n\n%s", name, topUsage)
		return exitUsage
	}
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		if !ue.printed {
			fmt.Fprintf(stderr, "cookieseal %s: %v\n", name, err)
		}
		return exitUsage
	case errors.As(err, &ee):
		fmt.Fprintf(stderr, "cookieseal %s: %v\n", name, ee.err)
		return ee.code
	}
	fmt.Fprintf(stderr, "cookieseal %s: %v\n", name, err)
	return exitFail
}

// newFlags returns a flag set for a command, writing its help to stderr.
func (e *env) newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: cookieseal %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs. A flag error has been printed with the
// command's usage by the flag package already; it becomes a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{msg: err.Error(), printed: true}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
