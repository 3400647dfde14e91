package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
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
  keygen      make a new key set file with one primary key and the
              lifetime policy (timeouts, clock skew, rollout delay)
  keys        list and edit the keys of a key set file:
                list, add, promote, demote, disable, enable, remove,
                emergency-replace, import, export-env, export-jwks,
                policy
  inspect     open a cookie value (read from standard input) with a key set
              and print it as JSON
  revoke      force logout through a fleet's Redis revocation list:
                subject (every session of a user), session (one session id)
  version     print the command's module version
  help        print this help, or a command's: cookieseal help keys add

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
	case "keygen", "keys", "inspect", "revoke":
		if !askedHelp(args) {
			if err := e.checkRemovedEnv(); err != nil {
				fmt.Fprintf(stderr, "cookieseal %s: %v\n", name, err)
				return exitUsage
			}
		}
	}
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
	case "version", "-version", "--version":
		err = e.version(args[1:])
	case "help", "-h", "-help", "--help":
		if name == "help" && len(args) > 1 {
			// "help keys add" is "keys add -h": the same text, on
			// standard output.
			return run(append(slices.Clone(args[1:]), "-h"), stdin, stdout, stderr, now)
		}
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

// askedHelp reports whether args ask for help rather than to run.
func askedHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "-h" || a == "-help" || a == "--help" || a == "help"
	})
}

// newFlags returns a flag set for a command. Its help goes to standard
// output when asked for and to standard error with a usage error; see
// parse.
func (e *env) newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cookieseal %s\n", synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(fs.Output(), "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args into fs. Help asked for (-h, -help, --help, or a
// lone "help" argument) is printed on standard output and returns
// flag.ErrHelp, exit status 0; a bad flag is printed on standard error
// with the command's usage and returns a usage error, exit status 2.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil && fs.NArg() == 1 && fs.Arg(0) == "help" {
		err = flag.ErrHelp
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		fmt.Fprintf(e.stderr, "cookieseal %s: %v\n", fs.Name(), err)
		fs.SetOutput(e.stderr)
		fs.Usage()
		return usageError{msg: err.Error(), printed: true}
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// version prints the module version the binary was built from, as the Go
// toolchain recorded it: a release tag such as v1.2.0 when built with go
// install, a pseudo-version from the VCS state of a checkout, or "(devel)"
// when nothing was recorded.
func (e *env) version(args []string) error {
	fs := e.newFlags("version", "version [-json]")
	asJSON := fs.Bool("json", false, "print JSON: version, go")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	v, goVersion := moduleVersion()
	if *asJSON {
		return writeJSON(e.stdout, struct {
			Version string `json:"version"`
			Go      string `json:"go"`
		}{v, goVersion})
	}
	_, err := fmt.Fprintf(e.stdout, "cookieseal %s %s\n", v, goVersion)
	return err
}

// modulePath is the path of this command's module.
const modulePath = "github.com/cookieseal/cookieseal/cmd/cookieseal"

// moduleVersion returns the version of this command's module from the
// build information (debug.ReadBuildInfo) and the Go version. It is the
// main module's version after go install or go run PKG@VERSION, and the
// required version when a module builds the command as a dependency (go
// tool, go build): vX.Y.Z for a release. It is "(devel)" when none was
// recorded (a checkout, or a replacement by a directory).
func moduleVersion() (version, goVersion string) {
	version, goVersion = "(devel)", runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, goVersion
	}
	if bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if m.Path != modulePath {
			continue
		}
		if m.Replace != nil {
			m = m.Replace // a directory has no version: "(devel)"
		}
		if m.Version != "" {
			version = m.Version
		}
		break
	}
	return version, goVersion
}
