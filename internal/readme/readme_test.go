// Package readme checks the README's first example: it compiles as
// pasted into a new module.
package readme

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	gocmd := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if os.Getenv("GOROOT") == "" {
		gocmd = "go"
	}
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "./..."}, {"vet", "./..."}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, gocmd, args...)
		cmd.Dir = dir
		// Outside the repository's go.work, as a user's module is.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go %s: %v\n%s\n--- main.go:\n%s", strings.Join(args, " "), err, out, code)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	t.Logf("a module importing middleware and keyring: %d go.sum lines", strings.Count(string(sum), "\n"))
}
