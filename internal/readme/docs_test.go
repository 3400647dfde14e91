package readme

// The rules for README.md and docs/*.md, checked below:
//
//  1. Every ```go block is a complete Go file, as a reader would paste it:
//     a package clause and an import block; `package main` with
//     `func main` for a program, any package name for a library-shaped
//     snippet. It is gofmt'd. TestDocSnippetsCompile puts every block
//     into one fresh module outside the workspace (GOWORK=off; one
//     directory per block, named after its file and line, e.g.
//     docs_keys_md_L42), requires cookieseal's modules through replace
//     directives to this checkout, and runs go mod tidy, go build ./...
//     and go vet ./... once. A //line directive maps each file back to
//     the document, so an error names README.md:57, not main.go:3. A
//     block that declares a test (`func TestX(t *testing.T)`) is written
//     as a _test.go file and run with go test, so a test a guide shows
//     passes as shown. Blocks in other languages (```sh, ```python, ```text, …) are not
//     compiled.
//
//  2. Every figure a document quotes names the command that reproduces
//     it. A figure is a number followed by µs, ns, ms, ×, %, kB, KB, MB,
//     GB or req/s in prose or a table (code is configuration, not a
//     measurement: `100ms` in backticks is a setting). A "## " section
//     (with its subsections; the text before the first "## " is a
//     section too) that quotes a figure must hold a command: a line of a
//     ```sh block, or an `inline` code span, that is `go test`, `go run`,
//     `go build`, `go list` or `go tool`, or a script path (./x, .ci/x,
//     x.sh), each optionally after VAR=value assignments.
//     TestDocFiguresHaveCommands checks it.
//
//  3. Every go-redis client options literal of a ```go block
//     (goredis.Options, FailoverOptions, ClusterOptions, UniversalOptions,
//     RingOptions, under whatever name the block imports go-redis) sets
//     ContextTimeoutEnabled: true: revoke/redis refuses a client without
//     it when the program starts, which building cannot show.
//     TestDocRedisClientsBoundCalls (redisclient_test.go) checks it.

import (
	"bufio"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// A block is one fenced code block of a document.
type block struct {
	doc  string // path relative to the repository root
	line int    // line of the opening fence, 1-based
	lang string // the first word of the info string
	code string
}

// docs returns README.md and docs/*.md, relative to root.
func docs(t *testing.T, root string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, n := range names {
		rel, err := filepath.Rel(root, n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

// goBlocks returns the go blocks of every document docs lists.
func goBlocks(t *testing.T, root string) []block {
	t.Helper()
	var out []block
	for _, doc := range docs(t, root) {
		text, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := fences(doc, string(text))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if b.lang == "go" {
				out = append(out, b)
			}
		}
	}
	return out
}

// fences parses the fenced code blocks of a document (``` fences, also
// indented inside a list item).
func fences(doc, text string) ([]block, error) {
	var blocks []block
	var cur *block
	var indent string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if cur == nil {
			if strings.HasPrefix(trimmed, "```") {
				lang, _, _ := strings.Cut(strings.TrimSpace(strings.TrimLeft(trimmed, "`")), " ")
				cur = &block{doc: doc, line: n, lang: lang}
				indent = line[:len(line)-len(trimmed)]
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") && strings.Trim(trimmed, "`") == "" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.code += strings.TrimPrefix(line, indent) + "\n"
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unterminated code block", doc, cur.line)
	}
	return blocks, nil
}

// snippetDir names a block's directory after its document and line.
func snippetDir(b block) string {
	r := strings.NewReplacer("/", "_", ".", "_", "-", "_")
	return fmt.Sprintf("%s_L%d", r.Replace(b.doc), b.line)
}

// modules returns cookieseal's modules in this checkout: module path →
// directory.
func modules(t *testing.T, root string) map[string]string {
	t.Helper()
	mods := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for line := range strings.Lines(string(data)) {
			if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
				m = strings.Trim(strings.TrimSpace(m), `"`)
				if m == "github.com/cookieseal/cookieseal" || strings.HasPrefix(m, "github.com/cookieseal/cookieseal/") {
					mods[m] = filepath.Dir(path)
				}
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if mods["github.com/cookieseal/cookieseal"] == "" {
		t.Fatalf("no root module under %s", root)
	}
	return mods
}

// TestDocSnippetsCompile builds and vets every ```go block of README.md
// and docs/*.md as a user who pasted it would (rule 1 above).
func TestDocSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var n, tests int
	for _, b := range goBlocks(t, root) {
		n++
		if !regexp.MustCompile(`(?m)^package \w+$`).MatchString(b.code) {
			t.Errorf("%s:%d: a go block is a complete file: it has no package clause", b.doc, b.line)
			continue
		}
		if !strings.Contains(b.code, "\nimport ") {
			t.Errorf("%s:%d: a go block is a complete file: it has no import block", b.doc, b.line)
		}
		if f, err := format.Source([]byte(b.code)); err == nil && string(f) != b.code {
			t.Errorf("%s:%d: the block is not gofmt'd; gofmt gives:\n%s", b.doc, b.line, f)
		}
		d := filepath.Join(dir, snippetDir(b))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		// The line after the directive is the block's first line.
		src := fmt.Sprintf("//line %s:%d\n%s", filepath.Join(root, b.doc), b.line+1, b.code)
		file := "snippet.go"
		if isTest.MatchString(b.code) {
			file, tests = "snippet_test.go", tests+1
		}
		if err := os.WriteFile(filepath.Join(d, file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no go block in README.md or docs/*.md: the parser is broken")
	}
	var gomod strings.Builder
	gomod.WriteString("module example.com/snippets\n\ngo 1.25.0\n")
	mods := modules(t, root)
	paths := slices.Sorted(func(yield func(string) bool) {
		for m := range mods {
			if !yield(m) {
				return
			}
		}
	})
	for _, m := range paths {
		fmt.Fprintf(&gomod, "\nreplace %s => %s\n", m, mods[m])
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	steps := [][]string{{"mod", "tidy"}, {"build", "./..."}, {"vet", "./..."}}
	if tests > 0 {
		steps = append(steps, []string{"test", "-count=1", "./..."})
	}
	for _, args := range steps {
		t0 := time.Now()
		out, err := goCmdTimeout(dir, 10*time.Minute, args...)
		t.Logf("go %s: %v", strings.Join(args, " "), time.Since(t0).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, strings.ReplaceAll(string(out), root+string(filepath.Separator), ""))
		}
	}
	t.Logf("%d go blocks built and vetted, the %d that are tests run, in %v", n, tests, time.Since(start).Round(time.Millisecond))
}

// isTest matches a block that declares a test function.
var isTest = regexp.MustCompile(`(?m)^func Test\w*\(t \*testing\.T\)`)

var (
	// figure: a number and a unit of a measurement.
	figure = regexp.MustCompile(`(?:^|[^\w.])\d+(?:\.\d+)?(?:\s?(?:µs|ns|ms|kB|KB|MB|GB)\b|×|%|\s?req/s)`)
	// command: a command that reproduces a figure.
	command = regexp.MustCompile(`^(?:\$ )?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:go (?:test|run|build|list|tool)\b|\.{0,2}/\S|\.ci/\S|\S+\.sh\b)`)
	// codeSpan: an inline code span, which may run over a line break.
	codeSpan = regexp.MustCompile("`[^`]+`")
)

// TestDocFiguresHaveCommands checks rule 2 above.
func TestDocFiguresHaveCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short, like the snippet test")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docs(t, root) {
		text, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sections(string(text)) {
			if s.figure == "" || s.command {
				continue
			}
			t.Errorf("%s:%d: section %q quotes %q but names no command that reproduces it (a ```sh line or `inline` span: go test/run/build/list/tool, or a script path)",
				doc, s.line, s.title, s.figure)
		}
	}
}

// A section is a "## " section of a document, subsections included.
type section struct {
	title   string
	line    int
	figure  string // the first figure its prose or tables quote
	command bool   // whether it names a command
}

func sections(text string) []section {
	cur := section{title: "(before the first ## heading)", line: 1}
	var out []section
	var prose strings.Builder // the section's text outside fenced blocks
	end := func() {
		p := prose.String()
		for _, span := range codeSpan.FindAllString(p, -1) {
			if command.MatchString(strings.Join(strings.Fields(strings.Trim(span, "`")), " ")) {
				cur.command = true
			}
		}
		if f := figure.FindString(codeSpan.ReplaceAllString(p, "")); f != "" {
			cur.figure = strings.TrimSpace(strings.TrimLeft(f, " (|\n"))
		}
		out = append(out, cur)
		prose.Reset()
	}
	inCode, lang := false, ""
	n := 0
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimRight(line, "\n")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if inCode {
				inCode = false
			} else {
				inCode = true
				lang, _, _ = strings.Cut(strings.TrimLeft(trimmed, "`"), " ")
			}
			continue
		}
		if inCode {
			if (lang == "sh" || lang == "bash" || lang == "shell" || lang == "console") && command.MatchString(trimmed) {
				cur.command = true
			}
			continue
		}
		if title, ok := strings.CutPrefix(line, "## "); ok {
			end()
			cur = section{title: title, line: n}
			continue
		}
		prose.WriteString(line + "\n")
	}
	end()
	return out
}
