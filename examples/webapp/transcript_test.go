package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/keyring"
)

// TestSessionsGuideTranscript runs the curl transcript of
// docs/sessions.md ("The demo app, seen with curl") with the real curl
// against the app on a loopback port, each command as the guide writes
// it in a directory of its own (so its cookie jar files too), and checks
// every line the guide shows: the status line, each header listed, and
// that Set-Cookie appears exactly where the guide shows one. Cookie
// values, dates and the port are the run's own; a block that ends with
// "…" shows only some of the headers, one that does not shows them all.
// It needs curl (Debian: apt-get install curl): skips without it, fails
// with COOKIESEAL_REQUIRE_CURL=1.
func TestSessionsGuideTranscript(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		const msg = "no curl on PATH (Debian: apt-get install curl)"
		if os.Getenv("COOKIESEAL_REQUIRE_CURL") == "1" {
			t.Fatal(msg + ", and COOKIESEAL_REQUIRE_CURL=1")
		}
		t.Skip(msg + "; set COOKIESEAL_REQUIRE_CURL=1 to make this a failure")
	}
	guide, err := os.ReadFile("../../docs/sessions.md")
	if err != nil {
		t.Fatal(err)
	}
	steps := transcript(t, string(guide), "## The demo app, seen with curl")
	if len(steps) < 4 {
		t.Fatalf("the guide's transcript has %d commands, want the login, a read, the logout and the replay", len(steps))
	}

	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newApp(appConfig{keys: kr, secure: false}) // as `go run ./examples/webapp` without -cert
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	dir := t.TempDir()
	for _, st := range steps {
		line := strings.ReplaceAll(st.cmd, "http://127.0.0.1:8080", srv.URL)
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		args := strings.Fields(line)
		var cmd *exec.Cmd
		switch args[0] {
		case "curl":
			cmd = exec.Command(curl, args[1:]...)
		case "cp":
			cmd = exec.Command("cp", args[1:]...)
		default:
			t.Fatalf("the transcript runs %q; this test knows curl and cp", args[0])
		}
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("$ %s: %v", st.cmd, err)
		}
		checkResponse(t, st, strings.ReplaceAll(string(out), "\r\n", "\n"))
	}
}

// step is one "$ command" of a transcript and the lines it shows.
type step struct {
	cmd  string
	want []string // status line, then headers; empty for a command with no output
	some bool     // the headers shown end with "…": others may follow
}

// transcript returns the commands of the first ```text block after
// heading in doc.
func transcript(t *testing.T, doc, heading string) []step {
	t.Helper()
	i := strings.Index(doc, heading)
	if i < 0 {
		t.Fatalf("no %q in the guide", heading)
	}
	doc = doc[i:]
	start := strings.Index(doc, "```text\n")
	if start < 0 {
		t.Fatal("no ```text block after the heading")
	}
	doc = doc[start+len("```text\n"):]
	doc = doc[:strings.Index(doc, "```")]
	var steps []step
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(l, "$ "):
			steps = append(steps, step{cmd: strings.TrimSpace(l[2:])})
		case len(steps) == 0 || l == "":
		case l == "…":
			steps[len(steps)-1].some = true
		default:
			last := &steps[len(steps)-1]
			last.want = append(last.want, l)
		}
	}
	return steps
}

var (
	cookieValueRE = regexp.MustCompile(`^(Set-Cookie: [^=]+=)[^;]*`)
	dateRE        = regexp.MustCompile(`(Expires=|Date: )[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT`)
)

// normal writes a header line as the transcript compares it: cookie
// values and dates replaced by placeholders.
func normal(l string) string {
	l = cookieValueRE.ReplaceAllString(l, "${1}<value>")
	return dateRE.ReplaceAllString(l, "${1}<date>")
}

func checkResponse(t *testing.T, st step, out string) {
	t.Helper()
	if len(st.want) == 0 {
		if out != "" {
			t.Fatalf("$ %s printed %q; the guide shows nothing", st.cmd, out)
		}
		return
	}
	head, _, _ := strings.Cut(out, "\n\n")
	got := strings.Split(head, "\n")
	if got[0] != st.want[0] {
		t.Fatalf("$ %s: status %q, the guide shows %q", st.cmd, got[0], st.want[0])
	}
	have := map[string]bool{}
	cookies := 0
	for _, l := range got[1:] {
		have[normal(l)] = true
		if strings.HasPrefix(l, "Set-Cookie:") {
			cookies++
		}
	}
	shown := 0
	for _, w := range st.want[1:] {
		if !have[normal(w)] {
			t.Errorf("$ %s: the response has no line %q; it has:\n%s", st.cmd, normal(w), head)
		}
		if strings.HasPrefix(w, "Set-Cookie:") {
			shown++
		}
	}
	if cookies != shown {
		t.Errorf("$ %s: %d Set-Cookie lines, the guide shows %d:\n%s", st.cmd, cookies, shown, head)
	}
	if !st.some && len(got)-1 != len(st.want)-1 {
		t.Errorf("$ %s: %d header lines, the guide shows all %d (end the block with … to show some):\n%s", st.cmd, len(got)-1, len(st.want)-1, head)
	}
}
