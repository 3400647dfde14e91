package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// manifestFile is the manifest's path, relative to the repository root.
const manifestFile = "release/modules.txt"

// manifest is release/modules.txt: the version the next release tags, the
// minimum Go of the public modules, and every module of the repository.
type manifest struct {
	Version string   // e.g. v0.1.0
	Go      string   // e.g. 1.25.0
	Modules []*entry // in the file's order
}

// entry is one module of the manifest.
type entry struct {
	Dir    string // slash-separated, relative to the repository root; "." for the root module
	Public bool
	What   string // the rest of the line

	Path  string        // module path, from Dir/go.mod
	GoMod *modfile.File // Dir/go.mod as parsed by loadRepo
}

// tag returns the tag that releases e at version v: v for the root
// module, DIR/v for a nested one (as the go command looks them up).
func (e *entry) tag(v string) string {
	if e.Dir == "." {
		return v
	}
	return e.Dir + "/" + v
}

var goVersionRE = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+)?$`)

// parseManifest parses the manifest's text.
func parseManifest(data []byte) (*manifest, error) {
	m := &manifest{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", manifestFile, n, fmt.Sprintf(format, args...))
		}
		switch f[0] {
		case "version":
			if len(f) != 2 {
				return nil, bad("want: version vX.Y.Z")
			}
			v := f[1]
			if !semver.IsValid(v) || semver.Canonical(v) != v || semver.Build(v) != "" {
				return nil, bad("version %q is not a canonical semantic version (vX.Y.Z)", v)
			}
			if semver.Major(v) != "v0" && semver.Major(v) != "v1" {
				return nil, bad("version %s: a major version above v1 needs /%s module paths", v, semver.Major(v))
			}
			m.Version = v
		case "go":
			if len(f) != 2 || !goVersionRE.MatchString(f[1]) {
				return nil, bad("want: go 1.N.P")
			}
			m.Go = f[1]
		case "public", "private":
			if len(f) < 2 {
				return nil, bad("want: %s DIR [what]", f[0])
			}
			dir := f[1]
			if dir != "." && (path.Clean(dir) != dir || strings.HasPrefix(dir, ".") || path.IsAbs(dir)) {
				return nil, bad("directory %q: want a clean slash-separated path relative to the root, or .", dir)
			}
			if seen[dir] {
				return nil, bad("%s listed twice", dir)
			}
			seen[dir] = true
			m.Modules = append(m.Modules, &entry{Dir: dir, Public: f[0] == "public", What: strings.Join(f[2:], " ")})
		default:
			return nil, bad("unknown directive %q (want version, go, public or private)", f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	switch {
	case m.Version == "":
		return nil, fmt.Errorf("%s: no version line", manifestFile)
	case m.Go == "":
		return nil, fmt.Errorf("%s: no go line", manifestFile)
	case !seen["."]:
		return nil, fmt.Errorf("%s: the root module (.) is not listed", manifestFile)
	}
	return m, nil
}

// repo is a checkout: its root directory and its parsed manifest, go.mod
// files and go.work.
type repo struct {
	Root string
	*manifest
	Work *modfile.WorkFile // nil if there is no go.work
}

// loadRepo reads the manifest, every listed module's go.mod and go.work
// under root.
func loadRepo(root string) (*repo, error) {
	data, err := os.ReadFile(filepath.Join(root, manifestFile))
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, err
	}
	r := &repo{Root: root, manifest: m}
	for _, e := range m.Modules {
		name := filepath.Join(root, filepath.FromSlash(e.Dir), "go.mod")
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("%s lists %s: %w", manifestFile, e.Dir, err)
		}
		if e.GoMod, err = modfile.Parse(name, data, nil); err != nil {
			return nil, err
		}
		if e.GoMod.Module == nil {
			return nil, fmt.Errorf("%s: no module line", name)
		}
		e.Path = e.GoMod.Module.Mod.Path
	}
	name := filepath.Join(root, "go.work")
	if data, err := os.ReadFile(name); err == nil {
		if r.Work, err = modfile.ParseWork(name, data, nil); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return r, nil
}

// rootPath returns the root module's path.
func (r *repo) rootPath() string { return r.module(".").Path }

// module returns the entry of dir, or nil.
func (r *repo) module(dir string) *entry {
	for _, e := range r.Modules {
		if e.Dir == dir {
			return e
		}
	}
	return nil
}

// byPath returns the entry of the module path p, or nil.
func (r *repo) byPath(p string) *entry {
	for _, e := range r.Modules {
		if e.Path == p {
			return e
		}
	}
	return nil
}

// public returns the public modules in the manifest's order.
func (r *repo) public() []*entry {
	var out []*entry
	for _, e := range r.Modules {
		if e.Public {
			out = append(out, e)
		}
	}
	return out
}

// siblings returns the modules of this repository that e requires.
func (r *repo) siblings(e *entry) []*entry {
	var out []*entry
	for _, req := range e.GoMod.Require {
		if s := r.byPath(req.Mod.Path); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// owner returns the module whose directory holds the slash-separated file
// path p (relative to the root): the deepest listed directory above it.
func (r *repo) owner(p string) *entry {
	var best *entry
	for _, e := range r.Modules {
		if e.Dir != "." && p != e.Dir && !strings.HasPrefix(p, e.Dir+"/") {
			continue
		}
		if best == nil || best.Dir == "." || len(e.Dir) > len(best.Dir) {
			best = e
		}
	}
	return best
}

// tagOrder returns the public modules in dependency order: each after
// every sibling it requires, ties in the manifest's order.
func (r *repo) tagOrder() ([]*entry, error) {
	var order []*entry
	state := map[*entry]int{} // 1: visiting, 2: done
	var visit func(e *entry, stack []string) error
	visit = func(e *entry, stack []string) error {
		switch state[e] {
		case 1:
			return fmt.Errorf("module requirement cycle: %s", strings.Join(append(stack, e.Dir), " → "))
		case 2:
			return nil
		}
		state[e] = 1
		for _, s := range r.siblings(e) {
			if err := visit(s, append(stack, e.Dir)); err != nil {
				return err
			}
		}
		state[e] = 2
		if e.Public {
			order = append(order, e)
		}
		return nil
	}
	for _, e := range r.public() {
		if err := visit(e, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// workReplaces returns the go.work replacements the repository needs: each
// public module that a module of the workspace requires, at the manifest's
// version, replaced by its directory. The go command loads the go.mod of
// every required version even of a workspace module, and the version a
// release will tag is on no proxy before the release.
func (r *repo) workReplaces() map[module.Version]string {
	out := map[module.Version]string{}
	for _, e := range r.Modules {
		for _, s := range r.siblings(e) {
			if s.Public {
				out[module.Version{Path: s.Path, Version: r.Version}] = "./" + strings.TrimPrefix(s.Dir, ".")
			}
		}
	}
	return out
}

// goModFiles lists the go.mod files git would commit under root (tracked,
// or untracked and not ignored, and present on disk), outside testdata,
// as slash-separated directories relative to root.
func goModFiles(root string) ([]string, error) {
	files, err := gitFiles(root)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, f := range files {
		if path.Base(f) != "go.mod" || slices.Contains(strings.Split(f, "/"), "testdata") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(f))); err != nil {
			continue // deleted in the working tree
		}
		dirs = append(dirs, path.Dir(f))
	}
	return dirs, nil
}

// gitFiles lists the files git would commit under root: tracked ones and
// untracked ones that no .gitignore excludes, slash-separated, relative
// to root. Some may be deleted in the working tree.
func gitFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s: %v\n%s", root, err, stderr.Bytes())
	}
	var files []string
	for f := range strings.SplitSeq(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// check returns every way the repository breaks the rules a release
// relies on (an empty slice when it keeps them all). goMods lists the
// directories holding a go.mod (goModFiles).
func (r *repo) check(goMods []string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// Every module is listed, every listed module exists, and its path
	// matches its directory (the tag DIR/vX.Y.Z names that path).
	for _, d := range goMods {
		if r.module(d) == nil {
			bad("%s/go.mod: module not listed in %s (add it as public or private)", d, manifestFile)
		}
	}
	root := r.rootPath()
	for _, e := range r.Modules {
		want := root
		if e.Dir != "." {
			want = root + "/" + e.Dir
		}
		if e.Path != want {
			bad("%s/go.mod: module %s; want %s (the module path must match the directory)", e.Dir, e.Path, want)
		}
	}

	for _, e := range r.Modules {
		gomod := e.Dir + "/go.mod"
		goLine := ""
		if e.GoMod.Go != nil {
			goLine = e.GoMod.Go.Version
		}
		switch {
		case e.Public && goLine != r.Go:
			bad("%s: go %s; every public module says go %s (%s)", gomod, goLine, r.Go, manifestFile)
		case !e.Public && (goLine == "" || compareGo(goLine, r.Go) > 0):
			bad("%s: go %s; no module may need more than go %s, or go.work must too", gomod, goLine, r.Go)
		}
		for _, req := range e.GoMod.Require {
			s := r.byPath(req.Mod.Path)
			if s == nil {
				continue
			}
			if req.Mod.Version != r.Version {
				bad("%s: requires %s %s; want %s, the version the release tags (go run ./release bump %s)", gomod, s.Dir, req.Mod.Version, r.Version, r.Version)
			}
			if e.Public && !s.Public {
				bad("%s: the public module requires the private module %s", gomod, s.Dir)
			}
		}
		if e.Public {
			for _, rep := range e.GoMod.Replace {
				bad("%s: replace %s: a public module has no replace (go install refuses it; go.work wires the checkout)", gomod, rep.Old.Path)
			}
			for _, ex := range e.GoMod.Exclude {
				bad("%s: exclude %s: importers ignore it; a public module has none", gomod, ex.Mod)
			}
		}
	}

	// go.work: every module, the same go line, and the replacements that
	// point the release's version at the checkout.
	if r.Work == nil {
		bad("go.work: missing; it wires the modules of the checkout together")
		return errs
	}
	if r.Work.Go == nil || r.Work.Go.Version != r.Go {
		v := ""
		if r.Work.Go != nil {
			v = r.Work.Go.Version
		}
		bad("go.work: go %s; want go %s, as the public modules (a clone works with the Go the README names)", v, r.Go)
	}
	used := map[string]bool{}
	for _, u := range r.Work.Use {
		d := path.Clean(strings.TrimPrefix(filepath.ToSlash(u.Path), "./"))
		used[d] = true
		if r.module(d) == nil {
			bad("go.work: use %s: not listed in %s", u.Path, manifestFile)
		}
	}
	for _, e := range r.Modules {
		if !used[e.Dir] {
			bad("go.work: does not use %s", e.Dir)
		}
	}
	want := r.workReplaces()
	have := map[module.Version]string{}
	for _, rep := range r.Work.Replace {
		have[rep.Old] = path.Clean(filepath.ToSlash(rep.New.Path))
	}
	for old, dir := range want {
		if got, ok := have[old]; !ok || got != path.Clean(dir) {
			bad("go.work: want replace %s %s => %s", old.Path, old.Version, dir)
		}
	}
	for old, dir := range have {
		if _, ok := want[old]; !ok {
			bad("go.work: replace %s %s => %s: not one the release tool keeps (go run ./release bump)", old.Path, old.Version, dir)
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// compareGo compares two Go versions such as 1.25 and 1.25.0.
func compareGo(a, b string) int {
	norm := func(v string) string {
		if strings.Count(v, ".") == 1 {
			v += ".0"
		}
		return "v" + v
	}
	return semver.Compare(norm(a), norm(b))
}
