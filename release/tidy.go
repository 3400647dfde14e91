package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tidyOptions configures tidy.
type tidyOptions struct {
	Keep    bool
	Verbose bool
	Log     io.Writer
}

// tidy runs go mod tidy in the modules in dirs (all listed modules when
// empty), with the public modules of the working tree served at the
// manifest's version from a file:// proxy, since tidy ignores go.work
// and the version is on no proxy yet. It then drops the go.sum lines of
// our own modules: they hash an unreleased tree, and the workspace does
// not read them.
func tidy(r *repo, dirs []string, opts tidyOptions) error {
	start := time.Now()
	var mods []*entry
	for _, d := range dirs {
		e := r.module(filepath.ToSlash(filepath.Clean(d)))
		if e == nil {
			return fmt.Errorf("%s: not a module listed in %s", d, manifestFile)
		}
		mods = append(mods, e)
	}
	if len(mods) == 0 {
		mods = r.Modules
	}
	work, err := os.MkdirTemp("", "cookieseal-tidy-")
	if err != nil {
		return err
	}
	if opts.Keep {
		fmt.Fprintf(opts.Log, "work directory: %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	c, err := buildProxy(r, work, r.Version)
	if err != nil {
		return err
	}
	env, err := proxyEnv(c, filepath.Join(work, "proxy"), filepath.Join(work, "modcache"))
	if err != nil {
		return err
	}
	x := &runner{log: opts.Log, verbose: opts.Verbose, env: env}
	for _, e := range mods {
		dir := filepath.Join(r.Root, filepath.FromSlash(e.Dir))
		if _, err := x.gocmd(dir, "mod", "tidy"); err != nil {
			return err
		}
		if err := dropOurSums(filepath.Join(dir, "go.sum"), r.rootPath()); err != nil {
			return err
		}
		fmt.Fprintf(opts.Log, "tidy %s\n", e.Dir)
	}
	fmt.Fprintf(opts.Log, "tidied %d modules (%.0fs)\n", len(mods), time.Since(start).Seconds())
	return nil
}

// dropOurSums removes the lines of modules under prefix from a go.sum.
func dropOurSums(name, prefix string) error {
	data, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range strings.Lines(string(data)) {
		mod, _, _ := strings.Cut(line, " ")
		if mod == prefix || strings.HasPrefix(mod, prefix+"/") {
			continue
		}
		out.WriteString(line)
	}
	if out.Len() == 0 {
		return os.Remove(name)
	}
	return os.WriteFile(name, out.Bytes(), 0o644)
}
