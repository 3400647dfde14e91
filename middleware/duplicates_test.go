package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/middleware"
)

// Rule 3 of doc.go's "Copies of the cookie": after a request whose copies
// are split (they disagree, or a chunk set that does not open), and one of
// them opens on its own, the response keeps the user's copy at the
// configured place, whatever its sweep reaches. The user's copy then goes
// with every later request that carries a planted one, so a planted copy
// is never sent alone: the user has no session while one is left (never
// another session), the sweep goes on over later responses, and once none
// is left the user's session opens again, with no new login.

// reachCase is a victim's browser with copies a sibling planted at places
// one response's sweep may not reach.
type reachCase struct {
	name      string
	host      string   // the app's host, the victim's
	page      string   // what the victim visits
	plantAt   []string // Domain|Path of each planted copy
	maxChunks int      // above 1: chunked sessions (the attacker's chunks are planted)
}

var longSegment = "/a/" + strings.Repeat("s", 1000)

func reachCases() []reachCase {
	deep := "/a" + strings.Repeat("/seg", 8)
	return []reachCase{
		{name: "far parent domain", host: "app.eu.prod.corp.example.com", page: "/", plantAt: []string{"example.com|/"}},
		{name: "far parent domain, deep page", host: "app.eu.prod.corp.example.com", page: deep, plantAt: []string{"example.com|/a"}},
		{name: "deep path, short prefix", host: "app.example.com", page: deep, plantAt: []string{"example.com|/a"}},
		{name: "deep path, every prefix", host: "app.example.com", page: deep,
			plantAt: []string{"example.com|/a", "example.com|/a/seg/seg", "example.com|/a/seg/seg/seg/seg/", "example.com|" + deep}},
		{name: "long segment, short prefix", host: "app.example.com", page: longSegment, plantAt: []string{"example.com|/a"}},
		{name: "long segment, the page itself", host: "app.example.com", page: longSegment, plantAt: []string{"example.com|" + longSegment}},
		{name: "chunked, far parent domain", host: "app.eu.prod.corp.example.com", page: deep, plantAt: []string{"example.com|/a", "corp.example.com|/"}, maxChunks: 4},
		{name: "chunked, long segment", host: "app.example.com", page: longSegment, plantAt: []string{"example.com|/a/", "example.com|" + longSegment}, maxChunks: 4},
	}
}

// reachFixture logs alice in on tc.host in a fresh jar and plants
// mallory's session (each of its cookies) at every place of tc.plantAt.
func reachFixture(t *testing.T, tc reachCase) (h http.Handler, j *siteJar, own int) {
	t.Helper()
	opts := middleware.Options{InsecureNoHostPrefix: true}
	big := 0
	if tc.maxChunks > 1 {
		opts.MaxChunks, big = tc.maxChunks, 5000
	}
	m, err := middleware.New(testKeyring(t), "session", opts)
	if err != nil {
		t.Fatal(err)
	}
	h = m.Handler(plantApp(m))
	plain, chunks := loginValues(t, h, "session", big)
	login := "/login?user=alice"
	if big > 0 {
		login += fmt.Sprintf("&big=%d", big)
	}
	j = newSiteJar(t)
	j.do(t, h, tc.host, login)
	own = j.count(tc.host, tc.page, "session")
	if own == 0 || (big > 0) != (own > 1) {
		t.Fatalf("setup: alice's login left %d cookies", own)
	}
	var planted []*http.Cookie
	for _, at := range tc.plantAt {
		d, p, _ := strings.Cut(at, "|")
		if big == 0 {
			planted = append(planted, &http.Cookie{Name: "session", Value: plain, Domain: d, Path: p, Secure: true})
			continue
		}
		for i, v := range chunks {
			planted = append(planted, &http.Cookie{Name: fmt.Sprintf("session.%d", i), Value: v, Domain: d, Path: p, Secure: true})
		}
	}
	j.set("evil."+strings.SplitN(tc.host, ".", 2)[1], "/", planted)
	if n := j.count(tc.host, tc.page, "session"); n <= own {
		t.Fatalf("setup: the jar sends %d session cookies to the page, alice's %d and no planted one", n, own)
	}
	return h, j, own
}

// visit is one request of the victim's: never in the attacker's session,
// and within the bounds of every response (without chunking, the default
// MaxResponseCookieBytes; the clearing lines, 4 KB).
func visit(t *testing.T, h http.Handler, j *siteJar, host, page string, i int, chunked bool) string {
	t.Helper()
	w := j.do(t, h, host, page)
	got := w.Body.String()
	if strings.HasPrefix(got, "mallory") {
		t.Fatalf("request %d to %.40s: the user is in the attacker's session", i, page)
	}
	budget := middleware.DefaultMaxResponseCookieBytes
	if chunked {
		budget = 1 << 30 // chunking: no budget by default
	}
	if all, clears := setCookieBytes(w); all > budget || clears > 4096 {
		t.Fatalf("request %d: %d bytes of Set-Cookie (%d clearing)", i, all, clears)
	}
	return got
}

// converge visits page until the user's session opens again, at most
// limit times, and returns how many visits had no session.
func converge(t *testing.T, h http.Handler, j *siteJar, host, page string, own, limit int) int {
	t.Helper()
	for i := range limit {
		switch got := visit(t, h, j, host, page, i, own > 1); got {
		case "alice/alice":
			if n := j.count(host, page, "session"); n != own {
				t.Fatalf("request %d: the session opened with %d session cookies in the jar, want alice's %d", i, n, own)
			}
			return i
		case "-":
			if n := j.count(host, page, "session"); n < own {
				t.Fatalf("request %d: no session, and the jar sends %d session cookies: alice's own copy is gone", i, n)
			}
		default:
			t.Fatalf("request %d: %q", i, got)
		}
	}
	t.Fatalf("after %d requests the user's session still does not open; the jar sends %d session cookies", limit, j.count(host, page, "session"))
	return limit
}

// TestIncompleteSweepKeepsTheUsersCopy: planted copies that one
// response's sweep does not reach (a parent domain five labels up, a
// short prefix of a deep path, a prefix of a path with a 1 KB segment,
// chunks) never swap the user: the user's own copy is kept, every
// request until the last planted copy is cleared has no session, and
// then the user's session opens again, with no new login.
func TestIncompleteSweepKeepsTheUsersCopy(t *testing.T) {
	for _, tc := range reachCases() {
		t.Run(tc.name, func(t *testing.T) {
			h, j, own := reachFixture(t, tc)
			if out := converge(t, h, j, tc.host, tc.page, own, 60); out == 0 {
				t.Fatalf("the first request opened the session beside the planted copies")
			}
			for i := range 3 {
				if got := visit(t, h, j, tc.host, tc.page, i, own > 1); got != "alice/alice" {
					t.Fatalf("request %d after the sweep: %q", i, got)
				}
			}
		})
	}
}

// TestKeptCopyCoversPlacesNoRequestReached: a copy planted under a path
// the victim has not visited yet is beyond the reach of every response to
// the pages visited so far; the user's copy, kept, still goes with it.
func TestKeptCopyCoversPlacesNoRequestReached(t *testing.T) {
	for _, maxChunks := range []int{1, 4} {
		t.Run(fmt.Sprint("MaxChunks=", maxChunks), func(t *testing.T) {
			tc := reachCase{host: "app.example.com", page: "/a/x", plantAt: []string{"example.com|/a", "example.com|/b"}, maxChunks: maxChunks}
			h, j, own := reachFixture(t, tc)
			converge(t, h, j, tc.host, "/a/x", own, 10)
			converge(t, h, j, tc.host, "/b/y", own, 10)
			if got := visit(t, h, j, tc.host, "/a/x", 0, own > 1); got != "alice/alice" {
				t.Fatalf("back at /a/x: %q", got)
			}
		})
	}
}

// TestKeptCopyWithAPlantedNextChunk: a chunk planted past the user's set
// (name.k, k the user's chunk count) makes one chunk set that does not
// open; the user's chunks still open on their own, so they are kept, and
// the attacker's full set planted under another path never opens alone.
func TestKeptCopyWithAPlantedNextChunk(t *testing.T) {
	m, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, MaxChunks: 8, MaxResponseCookieBytes: 16000})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(plantApp(m))
	_, mallory := loginValues(t, h, "session", 9000) // three chunks or more
	j := newSiteJar(t)
	j.do(t, h, victimHost, "/login?user=alice&big=5000") // two chunks
	own := j.count(victimHost, "/", "session")
	if own != 2 || len(mallory) < 3 {
		t.Fatalf("setup: alice has %d chunks, mallory %d", own, len(mallory))
	}
	var planted []*http.Cookie
	// The next chunks of mallory's set, sent to every page.
	for i := own; i < len(mallory); i++ {
		planted = append(planted, &http.Cookie{Name: fmt.Sprintf("session.%d", i), Value: mallory[i], Domain: "example.com", Path: "/", Secure: true})
	}
	for i := range own {
		planted = append(planted, &http.Cookie{Name: fmt.Sprintf("session.%d", i), Value: mallory[i], Domain: "example.com", Path: "/b", Secure: true})
	}
	j.set(siblingHost, "/", planted)
	if got := visit(t, h, j, victimHost, "/a", 0, own > 1); got != "-" {
		t.Fatalf("alice's chunks and a planted next one: %q, want no session", got)
	}
	if n := j.count(victimHost, "/a", "session"); n != own {
		t.Fatalf("%d session cookies at /a after the first response, want alice's %d", n, own)
	}
	converge(t, h, j, victimHost, "/b", own, 10)
}

// TestLoginBesidePlantedCopies: a login while planted copies are left
// writes the new session at the configured place; it is kept like the
// old one, and opens once the sweep has cleared them.
func TestLoginBesidePlantedCopies(t *testing.T) {
	for _, tc := range reachCases()[:3] {
		t.Run(tc.name, func(t *testing.T) {
			h, j, own := reachFixture(t, tc)
			if w := j.do(t, h, tc.host, strings.TrimSuffix(tc.page, "/")+"/login?user=alice"); w.Code != http.StatusOK {
				t.Fatalf("login: %d", w.Code)
			}
			converge(t, h, j, tc.host, tc.page, own, 60)
		})
	}
}

// TestDestroyBesidePlantedCopiesClears: a logout clears the user's copy
// as asked, planted copies or not (a logged-out user is the exposure
// doc.go names); its response also clears them where it reaches.
func TestDestroyBesidePlantedCopiesClears(t *testing.T) {
	tc := reachCases()[0]
	opts := middleware.Options{InsecureNoHostPrefix: true}
	m, err := middleware.New(testKeyring(t), "session", opts)
	if err != nil {
		t.Fatal(err)
	}
	mallory, _ := loginValues(t, m.Handler(plantApp(m)), "session", 0)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r)
		if r.URL.Path == "/logout" {
			s.Destroy()
			return
		}
		plantApp(m).ServeHTTP(w, r)
	}))
	j := newSiteJar(t)
	j.do(t, h, tc.host, "/login?user=alice")
	j.set("evil.example.com", "/", []*http.Cookie{{Name: "session", Value: mallory, Domain: "example.com", Path: "/logout", Secure: true}})
	w := j.do(t, h, tc.host, "/logout")
	cleared := false
	for _, l := range w.Header().Values("Set-Cookie") {
		cleared = cleared || strings.HasPrefix(l, "session=; Path=/; Max-Age=0") && !strings.Contains(l, "Domain=")
	}
	if !cleared {
		t.Fatalf("the logout does not clear the user's copy: %q", w.Header().Values("Set-Cookie"))
	}
	if n := j.count(tc.host, "/logout", "session"); n != 0 {
		t.Fatalf("%d session cookies after the logout", n)
	}
}

// TestKeptCopyLoadHeader: LoadHeader without a host keeps the user's copy
// too, and clears no place at the configured Path (any Domain there may
// be the host's own, which a jar keying cookies as RFC 6265 does takes
// for the user's copy).
func TestKeptCopyLoadHeader(t *testing.T) {
	m, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, FormerDomains: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(plantApp(m))
	alice, _ := loginValues(t, h, "session", 0)
	mallory, _ := loginValues(t, h, "session", 0)
	for _, host := range []string{"", "app.example.com"} {
		s, err := m.LoadHeader(context.Background(), host, "session="+mallory+"; session="+alice)
		if err != nil {
			t.Fatal(err)
		}
		if s.Authenticated() {
			t.Fatalf("host %q: split copies opened", host)
		}
		if st := s.Status(); st != middleware.Unmodified {
			t.Fatalf("host %q: status %v, want Unmodified (the user's copy is kept)", host, st)
		}
		hdr, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range hdr.Values("Set-Cookie") {
			if strings.Contains(l, "; Path=/;") && (host == "" || !strings.Contains(l, "; Domain=")) {
				t.Fatalf("host %q: a clear at the configured place or one a jar takes for it: %q", host, l)
			}
		}
	}
}
