// Package readme checks the README's first example: it compiles as
// pasted into a new module.
package readme

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// firstGoBlock returns the first ```go block of the README's "## Install"
// section.
func firstGoBlock(t *testing.T, readme string) string {
	t.Helper()
	_, sec, ok := strings.Cut(readme, "\n## Install\n")
	if !ok {
		t.Fatal(`README has no "## Install" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	_, code, ok := strings.Cut(sec, "\n```go\n")
	if !ok {
		t.Fatal(`"## Install" has no go block`)
	}
	code, _, ok = strings.Cut(code, "\n```\n")
	if !ok {
		t.Fatal("unterminated go block")
	}
	return code + "\n"
}

// TestREADMEExampleCompiles writes the README's example into a new module
// that requires cookieseal (replaced by this checkout) and builds and
// vets it outside the workspace: as a user who pasted it would.
func TestREADMEExampleCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	code := firstGoBlock(t, string(readme))
	if n := strings.Count(code, "\n"); n > 40 {
		t.Fatalf("the first example has %d lines: keep it short", n)
	}
	dir := t.TempDir()
	gomod := "module example.com/pasted\n\ngo 1.25.0\n\nrequire github.com/cookieseal/cookieseal v0.0.0\n\nreplace github.com/cookieseal/cookieseal => " + root + "\n"
	writeModule(t, dir, gomod, code)
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "./..."}, {"vet", "./..."}} {
		if out, err := goCmd(dir, args...); err != nil {
			t.Fatalf("go %s: %v\n%s\n--- main.go:\n%s", strings.Join(args, " "), err, out, code)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	t.Logf("a module importing middleware and keyring: %d go.sum lines", strings.Count(string(sum), "\n"))
}

// TestImporterModuleGraph builds fresh modules outside the workspace (as
// a user's module is: GOWORK=off, replace to this checkout), runs go mod
// tidy and checks what the user pays for:
//   - in the module graph (go mod graph), cookieseal's modules require
//     only the listed modules (and each other), and every other module
//     in the graph or in go.sum is required, transitively, by those
//     (x/crypto's own go.mod lists x/net, x/term and x/text);
//   - for the root packages, go.sum holds only golang.org/x/crypto and
//     golang.org/x/sys.
//
// No peer, browser or test tool reaches an importer; revoke/redis brings
// go-redis only to those who import it. The replace directives make this
// checkout the module's source; `go run ./release dryrun` makes the same
// kind of module fetch the tree from a module proxy at the version the
// release tags, with no replace and no workspace.
func TestImporterModuleGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("builds modules: not in -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	const cs = "github.com/cookieseal/cookieseal"
	rootImports := `
	_ "github.com/cookieseal/cookieseal/active"
	_ "github.com/cookieseal/cookieseal/cookie"
	_ "github.com/cookieseal/cookieseal/cookie/chunk"
	_ "github.com/cookieseal/cookieseal/keyring"
	_ "github.com/cookieseal/cookieseal/middleware"
	_ "github.com/cookieseal/cookieseal/revoke"
	_ "github.com/cookieseal/cookieseal/rotate"
`
	lean := []string{"golang.org/x/crypto", "golang.org/x/sys"}
	for _, tc := range []struct {
		name    string
		imports string
		modules []string // nested modules required (and replaced)
		reqs    []string // what cookieseal's modules may require
		sum     []string // if set, all that go.sum may hold
	}{
		{name: "middleware and keyring", imports: `
	_ "github.com/cookieseal/cookieseal/keyring"
	_ "github.com/cookieseal/cookieseal/middleware"
`, reqs: lean, sum: lean},
		{name: "every root package", imports: rootImports, reqs: lean, sum: lean},
		{
			name:    "revoke/redis",
			imports: rootImports + "\t_ \"github.com/cookieseal/cookieseal/revoke/redis\"\n\t_ \"github.com/cookieseal/cookieseal/revoke/redis/active\"\n",
			// Its tests' Redis helper is its own package redistest, so the
			// module requires no other module of ours but the root.
			modules: []string{"revoke/redis"},
			reqs:    append(slices.Clone(lean), "github.com/redis/go-redis/v9"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var gomod strings.Builder
			gomod.WriteString("module example.com/importer\n\ngo 1.25.0\n\nrequire " + cs + " v0.0.0\n\nreplace " + cs + " => " + root + "\n")
			for _, m := range tc.modules {
				fmt.Fprintf(&gomod, "\nrequire %s/%s v0.0.0\n\nreplace %s/%s => %s\n", cs, m, cs, m, filepath.Join(root, m))
			}
			writeModule(t, dir, gomod.String(), "package main\n\nimport ("+tc.imports+")\n\nfunc main() {}\n")
			if out, err := goCmd(dir, "mod", "tidy"); err != nil {
				t.Fatalf("go mod tidy: %v\n%s", err, out)
			}
			// No requirement raises the Go version the README promises.
			if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err != nil || !strings.Contains(string(mod), "\ngo 1.25.0\n") {
				t.Errorf("go mod tidy changed the go line (%v):\n%s", err, mod)
			}
			ours := func(m string) bool { return m == "example.com/importer" || m == cs || strings.HasPrefix(m, cs+"/") }
			out, err := goCmd(dir, "mod", "graph")
			if err != nil {
				t.Fatalf("go mod graph: %v\n%s", err, out)
			}
			// allowed: tc.reqs and what they require, transitively.
			edges := map[string][]string{}
			graph := map[string]bool{}
			for line := range strings.Lines(string(out)) {
				from, to, ok := strings.Cut(strings.TrimSpace(line), " ")
				if !ok {
					t.Fatalf("go mod graph line %q", line)
				}
				from, _, _ = strings.Cut(from, "@")
				to, _, _ = strings.Cut(to, "@")
				if to == "go" || to == "toolchain" {
					continue
				}
				edges[from] = append(edges[from], to)
				graph[to] = true
			}
			allowed := map[string]bool{}
			var visit func(string)
			visit = func(m string) {
				if allowed[m] {
					return
				}
				allowed[m] = true
				for _, to := range edges[m] {
					visit(to)
				}
			}
			for _, m := range tc.reqs {
				visit(m)
			}
			for from, tos := range edges {
				for _, to := range tos {
					if ours(from) && !ours(to) && !allowed[to] {
						t.Errorf("%s requires %s", from, to)
					}
				}
			}
			for m := range graph {
				if !ours(m) && !allowed[m] {
					t.Errorf("module graph holds %s", m)
				}
			}
			for _, m := range tc.reqs {
				if !graph[m] {
					t.Errorf("module graph lacks %s", m)
				}
			}
			sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
			if err != nil {
				t.Fatal(err)
			}
			for line := range strings.Lines(string(sum)) {
				m, _, _ := strings.Cut(line, " ")
				if !ours(m) && !allowed[m] || tc.sum != nil && !slices.Contains(tc.sum, m) {
					t.Errorf("go.sum holds %s", m)
				}
			}
			t.Logf("%s: %d modules in the graph, go.sum:\n%s", tc.name, len(graph)+1, sum)
		})
	}
}

func writeModule(t *testing.T, dir, gomod, code string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goCmd runs the go command in dir outside the repository's go.work, as a
// user's module is.
func goCmd(dir string, args ...string) ([]byte, error) {
	return goCmdTimeout(dir, 2*time.Minute, args...)
}

// goCmdTimeout is goCmd with a time limit of its own.
func goCmdTimeout(dir string, limit time.Duration, args ...string) ([]byte, error) {
	gocmd := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if os.Getenv("GOROOT") == "" {
		gocmd = "go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, gocmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	return cmd.CombinedOutput()
}
