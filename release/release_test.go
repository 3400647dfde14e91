package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The repository itself keeps every rule a release relies on: this is
// the check `go run ./release check` and the dry run start with.
func TestRepositoryKeepsReleaseRules(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	r, err := loadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := goModFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range r.check(mods) {
		t.Error(err)
	}
	order, err := r.tagOrder()
	if err != nil {
		t.Fatal(err)
	}
	if len(order) == 0 || order[0].Dir != "." {
		t.Errorf("the root module is not tagged first: %v", dirs(order))
	}
}

func TestParseManifest(t *testing.T) {
	good := "# c\nversion v0.1.0 # the next\ngo 1.25.0\n\npublic . root things\nprivate bench  benchmarks\npublic revoke/redis\n"
	m, err := parseManifest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "v0.1.0" || m.Go != "1.25.0" || len(m.Modules) != 3 ||
		!m.Modules[0].Public || m.Modules[0].What != "root things" || m.Modules[1].Public || m.Modules[2].Dir != "revoke/redis" {
		t.Fatalf("parsed %+v %+v %+v %+v", m, *m.Modules[0], *m.Modules[1], *m.Modules[2])
	}
	for _, tc := range []struct{ name, text, want string }{
		{"no version", "go 1.25.0\npublic .\n", "no version line"},
		{"no go", "version v0.1.0\npublic .\n", "no go line"},
		{"no root", "version v0.1.0\ngo 1.25.0\npublic a\n", "root module"},
		{"not canonical", "version v0.1\ngo 1.25.0\npublic .\n", "canonical"},
		{"build metadata", "version v0.1.0+x\ngo 1.25.0\npublic .\n", "canonical"},
		{"major 2", "version v2.0.0\ngo 1.25.0\npublic .\n", "/v2"},
		{"bad go", "version v0.1.0\ngo 1.25rc1\npublic .\n", "go 1.N.P"},
		{"twice", "version v0.1.0\ngo 1.25.0\npublic .\nprivate .\n", "twice"},
		{"unclean dir", "version v0.1.0\ngo 1.25.0\npublic .\npublic ./a\n", "clean"},
		{"dotdot", "version v0.1.0\ngo 1.25.0\npublic .\npublic ../a\n", "clean"},
		{"unknown", "version v0.1.0\ngo 1.25.0\npublic .\ninternal a\n", "unknown directive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseManifest([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want one containing %q", err, tc.want)
			}
		})
	}
}

// fakeRepo writes a small repository: files maps slash paths to contents.
// Every module path is example.com/x[/dir].
func fakeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// baseFiles is a repository that keeps the rules: a public root, a public
// nested module a that requires it, a command module cmd/x that requires
// both, and a private module b.
func baseFiles() map[string]string {
	return map[string]string{
		"release/modules.txt": "version v0.1.0\ngo 1.25.0\npublic .\npublic a\npublic cmd/x\nprivate b\nprivate release\n",
		"go.mod":              "module example.com/x\n\ngo 1.25.0\n",
		"LICENSE":             "the license\n",
		"x.go":                "// Package x is the root.\npackage x\n\n// X is one.\nconst X = 1\n",
		"a/go.mod":            "module example.com/x/a\n\ngo 1.25.0\n\nrequire example.com/x v0.1.0\n",
		"a/a.go":              "// Package a is nested.\npackage a\n\nimport \"example.com/x\"\n\n// A is X.\nconst A = x.X\n",
		"cmd/x/go.mod":        "module example.com/x/cmd/x\n\ngo 1.25.0\n\nrequire (\n\texample.com/x v0.1.0\n\texample.com/x/a v0.1.0\n)\n",
		"cmd/x/main.go":       "package main\n\nimport \"example.com/x/a\"\n\nfunc main() { println(a.A) }\n",
		"b/go.mod":            "module example.com/x/b\n\ngo 1.24.0\n\nrequire example.com/x/a v0.1.0\n",
		"release/go.mod":      "module example.com/x/release\n\ngo 1.25.0\n",
		"go.work": "go 1.25.0\n\nuse (\n\t.\n\t./a\n\t./b\n\t./cmd/x\n\t./release\n)\n\n" +
			"replace example.com/x v0.1.0 => ./\n\nreplace example.com/x/a v0.1.0 => ./a\n",
	}
}

var allDirs = []string{".", "a", "b", "cmd/x", "release"}

func TestCheck(t *testing.T) {
	r, err := loadRepo(fakeRepo(t, baseFiles()))
	if err != nil {
		t.Fatal(err)
	}
	if errs := r.check(allDirs); len(errs) > 0 {
		t.Fatalf("a repository that keeps the rules: %v", errs)
	}
	for _, tc := range []struct {
		name   string
		edit   map[string]string
		goMods []string
		want   string
	}{
		{name: "replace in a public module", edit: map[string]string{"a/go.mod": "module example.com/x/a\n\ngo 1.25.0\n\nrequire example.com/x v0.1.0\n\nreplace example.com/x => ../\n"}, want: "a/go.mod: replace example.com/x"},
		{name: "sibling at another version", edit: map[string]string{"a/go.mod": "module example.com/x/a\n\ngo 1.25.0\n\nrequire example.com/x v0.0.0\n"}, want: "a/go.mod: requires . v0.0.0; want v0.1.0"},
		{name: "public go line above the minimum", edit: map[string]string{"a/go.mod": "module example.com/x/a\n\ngo 1.26.0\n\nrequire example.com/x v0.1.0\n"}, want: "a/go.mod: go 1.26.0; every public module says go 1.25.0"},
		{name: "private go line above the minimum", edit: map[string]string{"b/go.mod": "module example.com/x/b\n\ngo 1.26\n"}, want: "b/go.mod: go 1.26; no module may need more"},
		{name: "public requires private", edit: map[string]string{"a/go.mod": "module example.com/x/a\n\ngo 1.25.0\n\nrequire (\n\texample.com/x v0.1.0\n\texample.com/x/b v0.1.0\n)\n"}, want: "the public module requires the private module b"},
		{name: "module path off its directory", edit: map[string]string{"b/go.mod": "module example.com/y/b\n\ngo 1.25.0\n"}, want: "want example.com/x/b"},
		{name: "unlisted module", goMods: append(slices.Clone(allDirs), "internal/helper"), want: "internal/helper/go.mod: module not listed"},
		{name: "go.work go line", edit: map[string]string{"go.work": strings.Replace(baseFiles()["go.work"], "go 1.25.0", "go 1.26.0", 1)}, want: "go.work: go 1.26.0; want go 1.25.0"},
		{name: "go.work misses a module", edit: map[string]string{"go.work": strings.Replace(baseFiles()["go.work"], "\t./b\n", "", 1)}, want: "go.work: does not use b"},
		{name: "go.work misses a replace", edit: map[string]string{"go.work": strings.Replace(baseFiles()["go.work"], "replace example.com/x/a v0.1.0 => ./a\n", "", 1)}, want: "go.work: want replace example.com/x/a v0.1.0 => ./a"},
		{name: "go.work stale replace", edit: map[string]string{"go.work": baseFiles()["go.work"] + "\nreplace example.com/x/a v0.0.1 => ./a\n"}, want: "replace example.com/x/a v0.0.1 => a: not one the release tool keeps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := baseFiles()
			for k, v := range tc.edit {
				files[k] = v
			}
			r, err := loadRepo(fakeRepo(t, files))
			if err != nil {
				t.Fatal(err)
			}
			goMods := tc.goMods
			if goMods == nil {
				goMods = allDirs
			}
			errs := r.check(goMods)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Fatalf("check found %v; want an error containing %q", errs, tc.want)
		})
	}
}

func dirs(es []*entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Dir)
	}
	return out
}

func TestTagOrder(t *testing.T) {
	files := baseFiles()
	// cmd/x first in the manifest: the order still follows the requires.
	files["release/modules.txt"] = "version v0.1.0\ngo 1.25.0\npublic cmd/x\npublic a\npublic .\nprivate b\nprivate release\n"
	r, err := loadRepo(fakeRepo(t, files))
	if err != nil {
		t.Fatal(err)
	}
	order, err := r.tagOrder()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dirs(order), []string{".", "a", "cmd/x"}; !slices.Equal(got, want) {
		t.Fatalf("order %v; want %v", got, want)
	}
	var tags []string
	for _, e := range order {
		tags = append(tags, e.tag("v0.1.0"))
	}
	if want := []string{"v0.1.0", "a/v0.1.0", "cmd/x/v0.1.0"}; !slices.Equal(tags, want) {
		t.Fatalf("tags %v; want %v", tags, want)
	}

	files["go.mod"] = "module example.com/x\n\ngo 1.25.0\n\nrequire example.com/x/a v0.1.0\n"
	r, err = loadRepo(fakeRepo(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.tagOrder(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("a requirement cycle: %v", err)
	}
}

func TestBump(t *testing.T) {
	root := fakeRepo(t, baseFiles())
	r, err := loadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.bump("v0.0.9"); err == nil {
		t.Fatal("bump to a lower version succeeded")
	}
	changed, err := r.bump("v0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(changed)
	if want := []string{"a/go.mod", "b/go.mod", "cmd/x/go.mod", "go.work", manifestFile}; !slices.Equal(changed, want) {
		t.Errorf("changed %v; want %v", changed, want)
	}
	r, err = loadRepo(root) // as written
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "v0.2.0" {
		t.Errorf("manifest version %s", r.Version)
	}
	if errs := r.check(allDirs); len(errs) > 0 {
		t.Errorf("after bump: %v", errs)
	}
	work, _ := os.ReadFile(filepath.Join(root, "go.work"))
	if !strings.Contains(string(work), "example.com/x/a v0.2.0 => ./a") || strings.Contains(string(work), "v0.1.0") {
		t.Errorf("go.work after bump:\n%s", work)
	}
}

// gitRepo makes root a git repository with everything committed.
func gitRepo(t *testing.T, root string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for _, args := range [][]string{
		{"init", "-q"}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// The proxy holds each public module as the module proxy would zip its
// tag: nested modules left out, the root LICENSE in nested modules, only
// files git would commit; and the go command fetches from it.
func TestProxy(t *testing.T) {
	files := baseFiles()
	files[".gitignore"] = "/junk\n"
	files["junk"] = "ignored\n"
	root := fakeRepo(t, files)
	gitRepo(t, root)
	if err := os.WriteFile(filepath.Join(root, "new.go"), []byte("package x\n"), 0o644); err != nil { // untracked, not ignored
		t.Fatal(err)
	}
	r, err := loadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	c, err := buildProxy(r, work, "v0.3.0") // another version: the copy is bumped
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "v0.3.0" {
		t.Fatalf("copy at %s", c.Version)
	}
	zipFiles := func(mod string) []string {
		t.Helper()
		z, err := zip.OpenReader(filepath.Join(work, "proxy", filepath.FromSlash(mod), "@v", "v0.3.0.zip"))
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		var names []string
		for _, f := range z.File {
			names = append(names, f.Name)
		}
		slices.Sort(names)
		return names
	}
	if got, want := zipFiles("example.com/x"), []string{
		"example.com/x@v0.3.0/.gitignore", "example.com/x@v0.3.0/LICENSE", "example.com/x@v0.3.0/go.mod",
		"example.com/x@v0.3.0/go.work", "example.com/x@v0.3.0/new.go", "example.com/x@v0.3.0/x.go",
	}; !slices.Equal(got, want) {
		t.Errorf("root zip: %v; want %v", got, want)
	}
	if got, want := zipFiles("example.com/x/a"), []string{
		"example.com/x/a@v0.3.0/LICENSE", "example.com/x/a@v0.3.0/a.go", "example.com/x/a@v0.3.0/go.mod",
	}; !slices.Equal(got, want) {
		t.Errorf("nested zip: %v; want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(work, "proxy", "example.com", "x", "b")); err == nil {
		t.Error("the proxy holds the private module b")
	}
	mod, _ := os.ReadFile(filepath.Join(work, "proxy", "example.com", "x", "cmd", "x", "@v", "v0.3.0.mod"))
	if !strings.Contains(string(mod), "example.com/x/a v0.3.0") {
		t.Errorf("cmd/x's go.mod in the proxy was not bumped:\n%s", mod)
	}

	// The go command reads it.
	if testing.Short() {
		return
	}
	x := &runner{env: []string{
		"GOWORK=off", "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local", "GOPROXY=" + fileURL(filepath.Join(work, "proxy")),
		"GONOSUMDB=example.com/x", "GOMODCACHE=" + t.TempDir(),
	}}
	out, err := x.gocmd(t.TempDir(), "list", "-m", "-json", "example.com/x/cmd/x@latest")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Path, Version string }
	if err := json.Unmarshal(out, &m); err != nil || m.Version != "v0.3.0" {
		t.Fatalf("go list -m: %v %s", err, out)
	}
}

func TestInstallSection(t *testing.T) {
	readme := "# x\n\n## Install\n\n```sh\ngo get example.com/x   # the library\n$ go get example.com/x/a@latest\ngo test ./...\n```\n\nText.\n\n" +
		"```go\npackage main\n\nfunc main() {}\n```\n\n```go\npackage second\n```\n\n## Next\n\n```sh\ngo get example.com/other\n```\n"
	code, gets, err := installSection(readme)
	if err != nil {
		t.Fatal(err)
	}
	if code != "package main\n\nfunc main() {}\n" {
		t.Errorf("code %q", code)
	}
	if want := [][]string{{"get", "example.com/x"}, {"get", "example.com/x/a@latest"}}; !slices.EqualFunc(gets, want, slices.Equal) {
		t.Errorf("gets %q; want %q", gets, want)
	}
	if _, _, err := installSection("# x\n\n## Usage\n"); err == nil {
		t.Error("no Install section: no error")
	}
	if _, _, err := installSection("## Install\n\n```sh\ngo get x\n```\n"); err == nil {
		t.Error("no go block: no error")
	}
}

func TestFreeListenAddr(t *testing.T) {
	code := `http.ListenAndServe("127.0.0.1:8080", h)`
	addr, out, err := freeListenAddr(code)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:8080" || out != `http.ListenAndServe("`+addr+`", h)` {
		t.Fatalf("addr %q, code %q", addr, out)
	}
	if addr, out, err := freeListenAddr(`fmt.Println("hi")`); err != nil || addr != "" || out != `fmt.Println("hi")` {
		t.Fatalf("no address: %q %q %v", addr, out, err)
	}
}

func TestParseApidiff(t *testing.T) {
	out := "Incompatible changes:\n- Foo: removed\n- Bar: changed from int to string\nCompatible changes:\n- Baz: added\n"
	inc, comp := parseApidiff([]byte(out))
	if !slices.Equal(inc, []string{"Foo: removed", "Bar: changed from int to string"}) || comp != 1 {
		t.Fatalf("incompatible %q, compatible %d", inc, comp)
	}
	if inc, comp := parseApidiff(nil); inc != nil || comp != 0 {
		t.Fatalf("empty report: %q %d", inc, comp)
	}
}

// The baseline is the highest release tag of the module merged into
// HEAD; tags of other modules and unmerged tags do not count.
func TestLastTag(t *testing.T) {
	root := fakeRepo(t, baseFiles())
	gitRepo(t, root)
	gitc := func(args ...string) {
		t.Helper()
		if _, err := git(root, args...); err != nil {
			t.Fatal(err)
		}
	}
	gitc("tag", "v0.1.0")
	gitc("tag", "v0.10.0")
	gitc("tag", "v0.9.0")
	gitc("tag", "a/v0.2.0")
	gitc("tag", "vbad")
	gitc("checkout", "-q", "-b", "side")
	gitc("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "side")
	gitc("tag", "v2.0.0")
	gitc("tag", "a/v1.0.0")
	gitc("checkout", "-q", "-")
	r, err := loadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{".": "v0.10.0", "a": "a/v0.2.0", "cmd/x": ""} {
		got, err := lastTag(root, r.module(dir))
		if err != nil || got != want {
			t.Errorf("lastTag(%s) = %q, %v; want %q", dir, got, err, want)
		}
	}
	if _, err := resolveCommit(root, "0123456789abcdef0123456789abcdef01234567"); err == nil || !strings.Contains(err.Error(), "not a commit of this clone") {
		t.Errorf("a missing baseline: %v", err)
	}
}

func TestEnforced(t *testing.T) {
	for _, tc := range []struct {
		rep  apiReport
		want bool
	}{
		{apiReport{Base: "v0.9.0", Tagged: true, Incompatible: []string{"x"}}, false},
		{apiReport{Base: "abc123", Incompatible: []string{"x"}}, false},
		{apiReport{Base: "v1.0.0", Tagged: true}, false},
		{apiReport{Base: "v1.0.0", Tagged: true, Incompatible: []string{"x"}}, true},
		{apiReport{Base: "revoke/redis/v1.2.0", Tagged: true, Incompatible: []string{"x"}}, true},
	} {
		if got := enforced(&tc.rep); got != tc.want {
			t.Errorf("enforced(%+v) = %v; want %v", tc.rep, got, tc.want)
		}
	}
}

func TestDropOurSums(t *testing.T) {
	name := filepath.Join(t.TempDir(), "go.sum")
	sum := "example.com/x v0.1.0 h1:a=\nexample.com/x v0.1.0/go.mod h1:b=\nexample.com/x/a v0.1.0/go.mod h1:c=\nexample.com/xy v1.0.0 h1:d=\ngolang.org/x/mod v0.40.0 h1:e=\n"
	if err := os.WriteFile(name, []byte(sum), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dropOurSums(name, "example.com/x"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(name)
	if want := "example.com/xy v1.0.0 h1:d=\ngolang.org/x/mod v0.40.0 h1:e=\n"; string(got) != want {
		t.Fatalf("go.sum:\n%s\nwant:\n%s", got, want)
	}
}
