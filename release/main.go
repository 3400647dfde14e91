package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const usage = `usage: go run ./release <command> [flags]

commands:
  check            check the rules a release relies on
  bump VERSION     set the version the next release tags (manifest, requires, go.work)
  tags             print the tags of HEAD in dependency order and the git push line
  dryrun           fetch, build, vet and run every public module as a user would
  apidiff          report API changes since the last tag or release/api-base
  tidy [DIR...]    go mod tidy of the modules (all by default) against the working tree
  proxy DIR        write a file:// module proxy of the public modules of the working tree
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("release "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	verbose := fs.Bool("v", false, "print every command run")
	keep := fs.Bool("keep", false, "keep the work directory (dryrun, apidiff, tidy)")
	version := fs.String("version", "", "dryrun: the version to try (default: the manifest's)")
	base := fs.String("base", "", "apidiff: compare every module with this tag or commit")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	root, err := git(".", "rev-parse", "--show-toplevel")
	if err != nil {
		fmt.Fprintf(stderr, "release: run it in the cookieseal checkout: %v\n", err)
		return 1
	}
	r, err := loadRepo(strings.TrimSpace(string(root)))
	if err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 1
	}
	switch args[0] {
	case "check":
		err = cmdCheck(r, stdout)
	case "bump":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, "usage: go run ./release bump vX.Y.Z\n")
			return 2
		}
		err = cmdBump(r, fs.Arg(0), stdout)
	case "tags":
		err = cmdTags(r, stdout)
	case "dryrun":
		err = dryRun(r, dryRunOptions{Version: *version, Keep: *keep, Verbose: *verbose, Log: stdout})
	case "apidiff":
		err = apiCheck(r, apiOptions{Base: *base, Keep: *keep, Verbose: *verbose, Log: stdout})
	case "tidy":
		err = tidy(r, fs.Args(), tidyOptions{Keep: *keep, Verbose: *verbose, Log: stdout})
	case "proxy":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, "usage: go run ./release proxy DIR\n")
			return 2
		}
		err = cmdProxy(r, fs.Arg(0), stdout)
	default:
		fmt.Fprintf(stderr, "release: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "release %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func cmdCheck(r *repo, w io.Writer) error {
	mods, err := goModFiles(r.Root)
	if err != nil {
		return err
	}
	if errs := r.check(mods); len(errs) > 0 {
		return fmt.Errorf("%d problems:\n%w", len(errs), errors.Join(errs...))
	}
	fmt.Fprintf(w, "ok: %d modules (%d public) at %s, go %s\n", len(r.Modules), len(r.public()), r.Version, r.Go)
	return nil
}

func cmdBump(r *repo, v string, w io.Writer) error {
	changed, err := r.bump(v)
	if err != nil {
		return err
	}
	for _, f := range changed {
		fmt.Fprintf(w, "updated %s\n", f)
	}
	if err := cmdCheck(r, w); err != nil {
		return err
	}
	fmt.Fprintf(w, "next: add the version's heading to CHANGELOG.md, commit, then go run ./release dryrun and go run ./release tags\n")
	return nil
}

// cmdTags prints the tags that release HEAD, in dependency order, and
// the commands that create and push them. It pushes nothing.
func cmdTags(r *repo, w io.Writer) error {
	mods, err := goModFiles(r.Root)
	if err != nil {
		return err
	}
	if errs := r.check(mods); len(errs) > 0 {
		return fmt.Errorf("fix these first (go run ./release check):\n%w", errors.Join(errs...))
	}
	if out, err := git(r.Root, "status", "--porcelain"); err != nil {
		return err
	} else if len(bytes.TrimSpace(out)) > 0 {
		return fmt.Errorf("the working tree has changes: tags name a commit, commit first\n%s", out)
	}
	head, err := git(r.Root, "log", "-1", "--format=%H %s")
	if err != nil {
		return err
	}
	commit, subject, _ := strings.Cut(strings.TrimSpace(string(head)), " ")
	order, err := r.tagOrder()
	if err != nil {
		return err
	}
	var tags []string
	for _, e := range order {
		t := e.tag(r.Version)
		if out, _ := git(r.Root, "tag", "--list", t); len(bytes.TrimSpace(out)) > 0 {
			return fmt.Errorf("tag %s exists: bump the version first (go run ./release bump vX.Y.Z)", t)
		}
		tags = append(tags, t)
	}
	if len(subject) > 60 {
		subject = subject[:57] + "..."
	}
	fmt.Fprintf(w, "# cookieseal %s: %d public modules at %s (%s), in dependency order.\n", r.Version, len(tags), commit[:12], subject)
	fmt.Fprintf(w, "# Run go run ./release dryrun first. Nothing here has been run.\n")
	for i, t := range tags {
		fmt.Fprintf(w, "git tag -a %s -m %q %s\n", t, order[i].Path+" "+r.Version, commit)
	}
	fmt.Fprintf(w, "git push origin %s\n", strings.Join(tags, " "))
	return nil
}

func cmdProxy(r *repo, dir string, w io.Writer) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "cookieseal-proxy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	start := time.Now()
	c, err := buildProxy(r, work, r.Version)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(work, "proxy"))); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d public modules at %s in %s (%.1fs); use it with\n", len(c.public()), c.Version, dir, time.Since(start).Seconds())
	fmt.Fprintf(w, "GOWORK=off GONOSUMDB=%s GOPROXY=%s,$(go env GOPROXY)\n", c.rootPath(), fileURL(dir))
	return nil
}
