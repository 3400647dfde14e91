package main

import (
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// dryRunOptions configures dryRun.
type dryRunOptions struct {
	Version string // the version to try; default: the manifest's
	Keep    bool   // keep the work directory
	Verbose bool
	Log     io.Writer
}

// dryRun tries the release as a user would meet it: it writes a file://
// module proxy holding the public modules of the working tree at the
// version the release would tag, then, in fresh modules outside the
// repository with GOWORK=off and no replace, fetches each public module
// from it (go get, go mod tidy, go build, go vet), builds and runs the
// README's first example, and installs the CLI and checks its version.
// Modules not on that proxy come from the machine's own GOPROXY (through
// the machine's module cache first). It returns the failures, joined.
func dryRun(r *repo, opts dryRunOptions) error {
	start := time.Now()
	log := opts.Log
	v := opts.Version
	if v == "" {
		v = r.Version
	}
	mods, err := goModFiles(r.Root)
	if err != nil {
		return err
	}
	if errs := r.check(mods); len(errs) > 0 {
		return fmt.Errorf("the repository breaks the release rules (go run ./release check):\n%w", errors.Join(errs...))
	}
	work, err := os.MkdirTemp("", "cookieseal-dryrun-")
	if err != nil {
		return err
	}
	if opts.Keep {
		fmt.Fprintf(log, "work directory: %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}

	c, err := buildProxy(r, work, v)
	if err != nil {
		return fmt.Errorf("module proxy: %w", err)
	}
	proxy := filepath.Join(work, "proxy")
	order, err := c.tagOrder()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "proxy: %s: %d public modules at %s from the working tree (%.1fs)\n", proxy, len(order), v, time.Since(start).Seconds())

	bin := filepath.Join(work, "bin")
	env, err := proxyEnv(c, proxy, filepath.Join(work, "modcache"))
	if err != nil {
		return err
	}
	x := &runner{log: log, verbose: opts.Verbose, env: append(env, "GOBIN="+bin)}
	fmt.Fprintf(log, "env: %s\n", strings.Join(env, " "))

	var fails []error
	step := func(name string, f func() (string, error)) {
		t := time.Now()
		note, err := f()
		if err != nil {
			fmt.Fprintf(log, "FAIL %s (%.1fs)\n%s\n", name, time.Since(t).Seconds(), indent(err.Error()))
			fails = append(fails, fmt.Errorf("%s: %w", name, err))
			return
		}
		fmt.Fprintf(log, "ok   %s: %s (%.1fs)\n", name, note, time.Since(t).Seconds())
	}
	for _, e := range order {
		step(e.Path+"@"+v, func() (string, error) { return tryModule(x, c, e, filepath.Join(work, "use", "m-"+safeName(e.Dir))) })
	}
	step("README.md's first example", func() (string, error) {
		return tryREADME(x, c, filepath.Join(r.Root, "README.md"), filepath.Join(work, "use", "readme"), bin)
	})
	for _, e := range order {
		pkgs, err := packagesOf(c, e)
		if err != nil {
			return err
		}
		if !commandsOnly(pkgs) {
			continue
		}
		for _, p := range pkgs {
			step("go install "+p.path+"@"+v, func() (string, error) { return tryInstall(x, c, p.path, filepath.Join(work, "install"), bin) })
		}
	}
	fmt.Fprintf(log, "dry run of %s: %d failures in %.0fs\n", v, len(fails), time.Since(start).Seconds())
	return errors.Join(fails...)
}

// proxyEnv returns the environment of a go command that sees the world
// as a user of the release would: no workspace, the public modules of c
// from the file:// proxy in proxyDir, everything else through the
// machine's module cache and then its own GOPROXY, in the new module
// cache modCache.
//
// The module cache is new on every run because the go command assumes
// that a module cache never changes: it keeps an index of each module
// directory's files in the build cache, keyed by the directory's path, so
// a second tree at the same version in the same place would be read
// through the first one's index. The price is that the packages of other
// modules compile again on every run (their build cache keys hold their
// directory); the standard library's stay cached.
func proxyEnv(c *repo, proxyDir, modCache string) ([]string, error) {
	hostProxy, err := goEnv("GOPROXY")
	if err != nil {
		return nil, err
	}
	hostCache, err := goEnv("GOMODCACHE")
	if err != nil {
		return nil, err
	}
	goproxy := fileURL(proxyDir) + "," + fileURL(filepath.Join(hostCache, "cache", "download"))
	if hostProxy != "" {
		goproxy += "," + hostProxy
	}
	return []string{
		"GOWORK=off",                // a user's module is in no workspace
		"GOTOOLCHAIN=local",         // no toolchain switch hides a go line above the one we promise
		"GOFLAGS=-modcacherw",       // a module cache os.RemoveAll can remove
		"GOPROXY=" + goproxy,        // ours, then the machine's cache, then the machine's proxy
		"GONOSUMDB=" + c.rootPath(), // ours are on no checksum database yet
		"GOPRIVATE=", "GONOPROXY=", "GOINSECURE=",
		"GOMODCACHE=" + modCache,
	}, nil
}

// pkg is a package of a public module.
type pkg struct {
	path    string
	command bool // package main
}

// packagesOf lists the packages of e in the tree of c that a user can
// import or build: not internal, not testdata, not in a nested module.
func packagesOf(c *repo, e *entry) ([]pkg, error) {
	return packagesIn(filepath.Join(c.Root, filepath.FromSlash(e.Dir)), e.Path)
}

// packagesIn lists the packages of the module modPath in the directory
// root, as packagesOf.
func packagesIn(root, modPath string) ([]pkg, error) {
	var pkgs []pkg
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if p != root {
			if name == "testdata" || name == "internal" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
		}
		bp, err := build.Default.ImportDir(p, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		ip := modPath
		if rel != "." {
			ip += "/" + rel
		}
		pkgs = append(pkgs, pkg{path: ip, command: bp.Name == "main"})
		return nil
	})
	return pkgs, err
}

// commandsOnly reports whether pkgs are all commands: a module a user
// installs or runs as a tool rather than imports.
func commandsOnly(pkgs []pkg) bool {
	for _, p := range pkgs {
		if !p.command {
			return false
		}
	}
	return len(pkgs) > 0
}

// tryModule fetches the public module e from the proxy into a fresh
// module in dir: go get, then go mod tidy with every library package
// imported (or with its commands as tools, for a module of commands),
// go build and go vet of that module and of every package of e, and checks
// that no go line was raised and that only public modules of ours came in.
func tryModule(x *runner, c *repo, e *entry, dir string) (string, error) {
	pkgs, err := packagesOf(c, e)
	if err != nil {
		return "", err
	}
	var libs, cmds, all []string
	for _, p := range pkgs {
		all = append(all, p.path)
		if p.command {
			cmds = append(cmds, p.path)
		} else {
			libs = append(libs, p.path)
		}
	}
	if len(all) == 0 {
		return "", fmt.Errorf("no packages in %s", e.Dir)
	}
	if err := newModule(x, c, dir, "example.com/dryrun/"+safeName(e.Dir)); err != nil {
		return "", err
	}
	v := c.Version
	if len(libs) > 0 {
		if _, err := x.gocmd(dir, "get", e.Path+"@"+v); err != nil {
			return "", err
		}
		var src strings.Builder
		src.WriteString("// Command dryrun imports every library package of " + e.Path + ".\npackage main\n\nimport (\n")
		for _, l := range libs {
			fmt.Fprintf(&src, "\t_ %q\n", l)
		}
		src.WriteString(")\n\nfunc main() {}\n")
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src.String()), 0o644); err != nil {
			return "", err
		}
	} else {
		// A module of commands: a user runs them as tools of their module
		// (go get -tool, then go tool NAME).
		for _, p := range cmds {
			if _, err := x.gocmd(dir, "get", "-tool", p+"@"+v); err != nil {
				return "", err
			}
		}
	}
	steps := [][]string{{"mod", "tidy"}}
	if len(libs) > 0 {
		steps = append(steps, []string{"build", "./..."}, []string{"vet", "./..."})
	}
	for _, args := range steps {
		if _, err := x.gocmd(dir, args...); err != nil {
			return "", err
		}
	}
	if err := checkUserModule(x, c, dir); err != nil {
		return "", err
	}
	// Every package of the module as it came from the proxy, its tests
	// too for vet (-mod=mod lets the go command add their go.sum lines).
	buildArgs := []string{"build", "-mod=mod"}
	if len(cmds) > 0 { // binaries into a directory of their own; packages alone are only compiled
		buildArgs = append(buildArgs, "-o", filepath.Join(dir, "discard")+string(filepath.Separator))
	}
	if _, err := x.gocmd(dir, append(buildArgs, all...)...); err != nil {
		return "", err
	}
	if _, err := x.gocmd(dir, append([]string{"vet", "-mod=mod"}, all...)...); err != nil {
		return "", err
	}
	note := fmt.Sprintf("go get, tidy, build, vet: %d library packages, %d commands", len(libs), len(cmds))
	if len(libs) == 0 {
		for _, p := range cmds {
			if path.Base(p) == "cookieseal" {
				if err := checkVersion(x, dir, v, "tool", "cookieseal", "version"); err != nil {
					return "", err
				}
				note += "; go tool cookieseal version: " + v
			}
		}
	}
	return note, nil
}

// newModule makes a fresh module in dir with the manifest's go line.
func newModule(x *runner, c *repo, dir, modPath string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := x.gocmd(dir, "mod", "init", modPath); err != nil {
		return err
	}
	_, err := x.gocmd(dir, "mod", "edit", "-go="+c.Go)
	return err
}

// checkUserModule checks the fresh module in dir: its go line is still the
// minimum the README promises, and its build list holds public modules of
// ours only, at the release's version, with no replacement.
func checkUserModule(x *runner, c *repo, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return err
	}
	if f.Go == nil || f.Go.Version != c.Go {
		return fmt.Errorf("the user's go line changed from go %s (the minimum we promise): a dependency needs a newer Go\n%s", c.Go, indent(string(data)))
	}
	out, err := x.gocmd(dir, "list", "-m", "-f", "{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}", "all")
	if err != nil {
		return err
	}
	root := c.rootPath()
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != root && !strings.HasPrefix(fields[0], root+"/") {
			if len(fields) > 2 {
				return fmt.Errorf("build list: %s", strings.TrimSpace(line))
			}
			continue
		}
		e := c.byPath(fields[0])
		switch {
		case e == nil || !e.Public:
			return fmt.Errorf("the build list holds %s, which is no public module: an importer would have to fetch it", fields[0])
		case fields[1] != c.Version || len(fields) > 2:
			return fmt.Errorf("build list: %s; want %s at %s", strings.TrimSpace(line), fields[0], c.Version)
		}
	}
	return nil
}

// checkVersion runs the go command (args) in dir, or a binary when
// args[0] is a path, and checks that it prints "cookieseal VERSION goX".
func checkVersion(x *runner, dir, v string, args ...string) error {
	var out []byte
	var err error
	if filepath.IsAbs(args[0]) {
		out, err = x.run(dir, args[0], args[1:]...)
	} else {
		out, err = x.gocmd(dir, args...)
	}
	if err != nil {
		return err
	}
	f := strings.Fields(string(out))
	if len(f) != 3 || f[0] != "cookieseal" || f[1] != v || !strings.HasPrefix(f[2], "go") {
		return fmt.Errorf("cookieseal version printed %q; want \"cookieseal %s goX\"", strings.TrimSpace(string(out)), v)
	}
	return nil
}

// tryInstall runs go install PKG@VERSION outside any module, as the
// README tells a user to, and checks that the installed cookieseal
// prints the version.
func tryInstall(x *runner, c *repo, pkgPath, dir, bin string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if _, err := x.gocmd(dir, "install", pkgPath+"@"+c.Version); err != nil {
		return "", err
	}
	exe := filepath.Join(bin, path.Base(pkgPath))
	if _, err := os.Stat(exe); err != nil {
		if _, err2 := os.Stat(exe + ".exe"); err2 != nil {
			return "", fmt.Errorf("go install wrote no %s: %v", exe, err)
		}
		exe += ".exe"
	}
	if path.Base(pkgPath) != "cookieseal" {
		return "installed " + exe, nil
	}
	if err := checkVersion(x, dir, c.Version, exe, "version"); err != nil {
		return "", err
	}
	return "cookieseal version: " + c.Version, nil
}

// tryREADME builds and runs the README's first example (the first go
// block of its "## Install" section) in a fresh module in dir, after the
// go get lines of that section.
func tryREADME(x *runner, c *repo, readme, dir, bin string) (string, error) {
	data, err := os.ReadFile(readme)
	if err != nil {
		return "", err
	}
	code, gets, err := installSection(string(data))
	if err != nil {
		return "", err
	}
	if err := newModule(x, c, dir, "example.com/dryrun/readme"); err != nil {
		return "", err
	}
	if len(gets) == 0 {
		gets = [][]string{{"get", c.rootPath() + "@" + c.Version}}
	}
	for _, args := range gets {
		if _, err := x.gocmd(dir, args...); err != nil {
			return "", err
		}
	}
	// The example listens on a fixed address; a free port on the same
	// host keeps the run from failing on a busy machine.
	addr, code, err := freeListenAddr(code)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
		return "", err
	}
	exe := filepath.Join(bin, "readme-example")
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", exe, "."}, {"vet", "./..."}} {
		if _, err := x.gocmd(dir, args...); err != nil {
			return "", fmt.Errorf("%w\n--- main.go:\n%s", err, code)
		}
	}
	if err := checkUserModule(x, c, dir); err != nil {
		return "", err
	}
	note, err := runExample(exe, dir, addr)
	if err != nil {
		return "", err
	}
	var shown []string
	for _, g := range gets {
		shown = append(shown, "go "+strings.Join(g, " "))
	}
	return strings.Join(shown, "; ") + "; tidy, build, vet, run: " + note, nil
}

// installSection returns the first go block of the README's "## Install"
// section and the go get commands of its sh blocks (as go arguments).
func installSection(readme string) (code string, gets [][]string, err error) {
	_, sec, ok := strings.Cut(readme, "\n## Install\n")
	if !ok {
		return "", nil, errors.New(`README.md has no "## Install" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	rest := sec
	for {
		var lang, body string
		_, after, ok := strings.Cut(rest, "\n```")
		if !ok {
			break
		}
		lang, after, _ = strings.Cut(after, "\n")
		body, rest, ok = strings.Cut(after, "\n```")
		if !ok {
			return "", nil, fmt.Errorf("README.md: unterminated %q block in Install", lang)
		}
		switch strings.TrimSpace(lang) {
		case "go":
			if code == "" {
				code = body + "\n"
			}
		case "sh", "bash", "console", "shell":
			for line := range strings.Lines(body) {
				line, _, _ = strings.Cut(line, "#")
				f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
				if len(f) > 2 && f[0] == "go" && f[1] == "get" {
					gets = append(gets, f[1:])
				}
			}
		}
	}
	if code == "" {
		return "", nil, errors.New(`README.md: "## Install" has no go block`)
	}
	return code, gets, nil
}

var listenRE = regexp.MustCompile(`"(127\.0\.0\.1|localhost|):([0-9]+)"`)

// freeListenAddr finds the example's listen address (a string literal
// "host:port"), swaps its port for a free one and returns the address
// and the code; "" and the code unchanged if there is none.
func freeListenAddr(code string) (string, string, error) {
	m := listenRE.FindStringSubmatch(code)
	if m == nil {
		return "", code, nil
	}
	host := m[1]
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", "", err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	code = strings.Replace(code, m[0], `"`+m[1]+":"+port+`"`, 1)
	return net.JoinHostPort(host, port), code, nil
}

// runExample starts the example. With an address, it waits for it to
// serve, requests / twice (the second time with the cookies the first set)
// and wants no 5xx; without, it wants the program to exit 0 or still run
// after three seconds. It stops the program.
func runExample(exe, dir, addr string) (string, error) {
	cmd := exec.Command(exe)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if addr == "" {
		select {
		case err := <-exited:
			if err != nil {
				return "", fmt.Errorf("the example failed: %v\n%s", err, indent(out.String()))
			}
			return "exited 0", nil
		case <-time.After(3 * time.Second):
			stop()
			return "still running after 3s", nil
		}
	}
	defer stop()
	client := &http.Client{Timeout: 5 * time.Second}
	u := (&url.URL{Scheme: "http", Host: addr, Path: "/"}).String()
	deadline := time.Now().Add(20 * time.Second)
	var resp *http.Response
	for {
		select {
		case err := <-exited:
			exited <- err
			return "", fmt.Errorf("the example exited (%v) before serving %s:\n%s", err, addr, indent(out.String()))
		default:
		}
		var err error
		if resp, err = client.Get(u); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the example did not serve %s within 20s: %v\n%s", u, err, indent(out.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	first, err := readStatus(resp)
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for _, ck := range resp.Cookies() {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	if resp, err = client.Do(req); err != nil {
		return "", fmt.Errorf("GET %s again: %v", u, err)
	}
	second, err := readStatus(resp)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("GET / → %s; again with its %d cookies → %s", first, len(req.Cookies()), second), nil
}

func readStatus(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	s := fmt.Sprintf("%d %q", resp.StatusCode, line)
	if resp.StatusCode >= 500 {
		return "", fmt.Errorf("GET %s: %s", resp.Request.URL, s)
	}
	return s, nil
}

func fileURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}

// safeName turns a module directory into a file name: "." → "root",
// "revoke/redis" → "revoke-redis".
func safeName(dir string) string {
	if dir == "." {
		return "root"
	}
	return strings.ReplaceAll(dir, "/", "-")
}
