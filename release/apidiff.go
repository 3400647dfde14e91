package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// apidiffTool is the pinned API comparison tool (golang.org/x/exp has no
// tags; this is the pseudo-version of a commit).
const apidiffTool = "golang.org/x/exp/cmd/apidiff@v0.0.0-20261121134650-e1094eeca1b5"

// apiBaseFile names the commit the check compares with while a module
// has no release tag.
const apiBaseFile = "release/api-base"

// apiOptions configures apiCheck.
type apiOptions struct {
	Base    string // a commit or tag to compare every module with; default: per module, its last tag, else release/api-base
	Keep    bool
	Verbose bool
	Log     io.Writer
}

// apiReport is what apiCheck found for one module.
type apiReport struct {
	Module       *entry
	Base         string // the tag or commit compared with
	Tagged       bool   // Base is a release tag of the module
	New          bool   // the module did not exist at Base
	Incompatible []string
	Compatible   int
	NewPackages  []string
}

// apiCheck compares the API of every public package of every public
// module with its baseline (the module's last release tag merged into
// HEAD, else the commit in release/api-base) using apidiff, and prints
// the changes that would break an importer. It returns an error when a
// module whose baseline is a tag v1 or above has one: from v1.0 on the
// API is kept, while before it incompatible changes are reported only.
func apiCheck(r *repo, opts apiOptions) error {
	log := opts.Log
	start := time.Now()
	work, err := os.MkdirTemp("", "cookieseal-apidiff-")
	if err != nil {
		return err
	}
	if opts.Keep {
		fmt.Fprintf(log, "work directory: %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "bin")
	tool := &runner{log: log, verbose: opts.Verbose, env: []string{"GOWORK=off", "GOFLAGS=", "GOBIN=" + bin}}
	if _, err := tool.gocmd(work, "install", apidiffTool); err != nil {
		return fmt.Errorf("install apidiff: %w", err)
	}
	apidiff := filepath.Join(bin, "apidiff")
	// Packages load in their checkout's workspace, as a developer's do.
	x := &runner{log: log, verbose: opts.Verbose, env: []string{"GOWORK="}}

	defaultBase := opts.Base
	if defaultBase == "" {
		if defaultBase, err = readAPIBase(r.Root); err != nil {
			return err
		}
	}
	trees := map[string]string{} // commit → extracted tree
	var reports []*apiReport
	var fails []error
	for _, e := range r.public() {
		rep := &apiReport{Module: e, Base: defaultBase}
		if opts.Base == "" {
			if tag, err := lastTag(r.Root, e); err != nil {
				return err
			} else if tag != "" {
				rep.Base, rep.Tagged = tag, true
			}
		}
		commit, err := resolveCommit(r.Root, rep.Base)
		if err != nil {
			return err
		}
		tree, ok := trees[commit]
		if !ok {
			tree = filepath.Join(work, "base-"+commit[:12])
			if err := extractCommit(r.Root, commit, tree); err != nil {
				return err
			}
			trees[commit] = tree
		}
		if err := diffModule(x, apidiff, r, e, tree, filepath.Join(work, "exp", safeName(e.Dir)), rep); err != nil {
			fails = append(fails, fmt.Errorf("%s: %w", e.Dir, err))
			fmt.Fprintf(log, "FAIL %s: %v\n", e.Path, err)
			continue
		}
		reports = append(reports, rep)
		printReport(log, rep, opts.Verbose)
	}
	total, refused := 0, 0
	for _, rep := range reports {
		total += len(rep.Incompatible)
		if enforced(rep) {
			refused++
			fails = append(fails, fmt.Errorf("%s: %d incompatible API changes since %s (from v1.0 on the API is kept: revert them, or make a new major version)", rep.Module.Path, len(rep.Incompatible), rep.Base))
		}
	}
	fmt.Fprintf(log, "API check: %d incompatible changes in %d public modules (%.0fs)", total, len(reports), time.Since(start).Seconds())
	if total > 0 && refused == 0 {
		fmt.Fprintf(log, "; before v1.0 they are reported, not refused: name each in CHANGELOG.md")
	}
	fmt.Fprintln(log)
	return errors.Join(fails...)
}

// enforced reports whether rep's incompatible changes fail the check:
// they do once the module's baseline is a release tag v1.0.0 or above.
func enforced(rep *apiReport) bool {
	return rep.Tagged && semver.Major(tagVersion(rep.Base)) != "v0" && len(rep.Incompatible) > 0
}

// diffModule fills rep for the module e, whose baseline tree is base.
func diffModule(x *runner, apidiff string, r *repo, e *entry, base, exp string, rep *apiReport) error {
	baseDir := filepath.Join(base, filepath.FromSlash(e.Dir))
	if _, err := os.Stat(filepath.Join(baseDir, "go.mod")); err != nil {
		rep.New = true
		return nil
	}
	oldPkgs, err := packagesIn(baseDir, e.Path)
	if err != nil {
		return err
	}
	newPkgs, err := packagesOf(r, e)
	if err != nil {
		return err
	}
	libs := func(pkgs []pkg) []string {
		var out []string
		for _, p := range pkgs {
			if !p.command {
				out = append(out, p.path)
			}
		}
		return out
	}
	oldLibs, newLibs := libs(oldPkgs), libs(newPkgs)
	if err := os.MkdirAll(exp, 0o755); err != nil {
		return err
	}
	curDir := filepath.Join(r.Root, filepath.FromSlash(e.Dir))
	for i, p := range oldLibs {
		if !slices.Contains(newLibs, p) {
			rep.Incompatible = append(rep.Incompatible, p+": package removed")
			continue
		}
		file := filepath.Join(exp, fmt.Sprintf("%d.export", i))
		if _, err := x.run(baseDir, apidiff, "-w", file, p); err != nil {
			return fmt.Errorf("baseline %s: %w", rep.Base, err)
		}
		out, err := x.run(curDir, apidiff, file, p)
		if err != nil {
			return err
		}
		inc, comp := parseApidiff(out)
		for _, c := range inc {
			rep.Incompatible = append(rep.Incompatible, p+": "+c)
		}
		rep.Compatible += comp
	}
	for _, p := range newLibs {
		if !slices.Contains(oldLibs, p) {
			rep.NewPackages = append(rep.NewPackages, p)
		}
	}
	return nil
}

// parseApidiff returns the incompatible changes apidiff's report lists
// and the number of compatible ones.
func parseApidiff(out []byte) (incompatible []string, compatible int) {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Incompatible changes:"):
			section = "incompatible"
		case strings.HasPrefix(line, "Compatible changes:"):
			section = "compatible"
		case strings.HasPrefix(line, "- "):
			if section == "incompatible" {
				incompatible = append(incompatible, strings.TrimPrefix(line, "- "))
			} else if section == "compatible" {
				compatible++
			}
		}
	}
	return incompatible, compatible
}

func printReport(w io.Writer, rep *apiReport, verbose bool) {
	base := rep.Base
	if !rep.Tagged {
		base = "commit " + shortRev(rep.Base) + " (" + apiBaseFile + ")"
	}
	if rep.New {
		fmt.Fprintf(w, "%s: new since %s\n", rep.Module.Path, base)
		return
	}
	fmt.Fprintf(w, "%s against %s: %d incompatible, %d compatible changes", rep.Module.Path, base, len(rep.Incompatible), rep.Compatible)
	if len(rep.NewPackages) > 0 {
		fmt.Fprintf(w, ", new packages %s", strings.Join(rep.NewPackages, ", "))
	}
	fmt.Fprintln(w)
	for _, c := range rep.Incompatible {
		fmt.Fprintf(w, "  - %s\n", c)
	}
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// readAPIBase returns the commit named in release/api-base: its first
// line that is not blank or a # comment.
func readAPIBase(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(apiBaseFile)))
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		line, _, _ = strings.Cut(line, "#")
		if f := strings.Fields(line); len(f) > 0 {
			return f[0], nil
		}
	}
	return "", fmt.Errorf("%s names no commit", apiBaseFile)
}

// lastTag returns the highest release tag of e merged into HEAD ("v1.2.3"
// for the root module, "DIR/v1.2.3" for a nested one), or "".
func lastTag(root string, e *entry) (string, error) {
	prefix := e.tag("")
	out, err := git(root, "tag", "--list", "--merged", "HEAD", prefix+"v*")
	if err != nil {
		return "", err
	}
	best := ""
	for t := range strings.Lines(string(out)) {
		t = strings.TrimSpace(t)
		v := strings.TrimPrefix(t, prefix)
		if !semver.IsValid(v) || semver.Canonical(v) != v {
			continue
		}
		if best == "" || semver.Compare(v, tagVersion(best)) > 0 {
			best = t
		}
	}
	return best, nil
}

// tagVersion returns the version of a tag: "revoke/redis/v1.2.0" → "v1.2.0".
func tagVersion(tag string) string {
	return tag[strings.LastIndex(tag, "/")+1:]
}

// resolveCommit returns the full hash of rev, with an error that says what
// to do when the clone does not have it.
func resolveCommit(root, rev string) (string, error) {
	out, err := git(root, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("the API baseline %s is not a commit of this clone (a shallow clone? git fetch --unshallow): %w", rev, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// extractCommit writes the tree of commit into dir (git archive).
func extractCommit(root, commit, dir string) error {
	cmd := exec.Command("git", "archive", "--format=tar", commit)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	terr := untar(stdout, dir)
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %v\n%s", commit, err, stderr.Bytes())
	}
	return terr
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(h.Name) {
			return fmt.Errorf("archive entry %q outside the tree", h.Name)
		}
		name := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644|os.FileMode(h.Mode)&0o111)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

func git(root string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
