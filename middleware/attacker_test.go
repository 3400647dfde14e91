package middleware_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// The attacker model of the duplicate-cookie rules (doc.go, "Copies of the
// cookie"): a sibling host (evil.example.com) plants cookies for the
// parent domain in the victim's browser (a real cookie jar, siteJar); the
// victim uses app.example.com.

const (
	victimHost  = "app.example.com"
	siblingHost = "evil.example.com"
	victimPage  = "/app/page" // every planted Path below but otherPath matches it
	// otherPath is a Path the victim's page does not send: a copy there
	// is beyond the reach of every response to that page.
	otherPath = "/other"
)

// plant is one cookie the sibling sets: a name of the session's (the
// plain name or a chunk name), a Path, and the attacker's valid value
// for that name or junk.
type plant struct {
	name  int // 0 plain, 1 name.0, 2 name.1, 3 name.7 (past every MaxChunks used here), 4 name.2 (past the victim's set)
	path  string
	valid bool
}

func (p plant) String() string {
	v := "junk"
	if p.valid {
		v = "valid"
	}
	return fmt.Sprintf("%s@%s=%s", [...]string{"plain", ".0", ".1", ".7", ".2"}[p.name], p.path, v)
}

// allPlants is the alphabet the matrix combines: 5 names × 3 paths × 2
// values, and the 5 names with the attacker's valid values at otherPath.
func allPlants() []plant {
	var out []plant
	for name := range 5 {
		for _, path := range []string{"/", "/app", victimPage} {
			for _, valid := range []bool{true, false} {
				out = append(out, plant{name, path, valid})
			}
		}
		out = append(out, plant{name, otherPath, true})
	}
	return out
}

// combinations calls f with every combination of at most n elements of
// ps (each in ps's order), the empty one included.
func combinations(ps []plant, n int, f func([]plant)) {
	var rec func(start int, cur []plant)
	rec = func(start int, cur []plant) {
		f(cur)
		if len(cur) == n {
			return
		}
		for i := start; i < len(ps); i++ {
			rec(i+1, append(cur, ps[i]))
		}
	}
	rec(0, nil)
}

// attackerValues are the attacker's own valid cookie values, from logging
// in to the victim's app in the attacker's own browser: a plain session
// and the chunks of a chunked one (when the manager chunks).
type attackerValues struct {
	plain  string
	chunks []string
}

func loginValues(t *testing.T, h http.Handler, name string, big int) (plain string, chunks []string) {
	t.Helper()
	j := newSiteJar(t)
	target := "/login?user=mallory"
	if big > 0 {
		target += fmt.Sprintf("&big=%d", big)
	}
	j.do(t, h, victimHost, target)
	for _, c := range j.jar.Cookies(mustURL(victimHost, "/")) {
		switch {
		case c.Name == name:
			plain = c.Value
		case strings.HasPrefix(c.Name, name+"."):
			chunks = append(chunks, c.Value)
		}
	}
	return plain, chunks
}

func (p plant) cookie(name string, av attackerValues) *http.Cookie {
	c := &http.Cookie{Domain: "example.com", Path: p.path, Secure: true, HttpOnly: true, MaxAge: 400 * 86400, Value: "junk"}
	switch p.name {
	case 0:
		c.Name = name
		if p.valid {
			c.Value = av.plain
		}
	case 1, 3, 4:
		c.Name = name + [...]string{"", ".0", "", ".7", ".2"}[p.name]
		if p.valid && len(av.chunks) > 0 {
			c.Value = av.chunks[0]
		}
	case 2:
		c.Name = name + ".1"
		if p.valid && len(av.chunks) > 1 {
			c.Value = av.chunks[1]
		}
	}
	return c
}

// TestAttackerModel plants every combination of up to three cookies
// (allPlants: the plain name and chunk names, at Path /, /app, the page,
// and otherPath, which the page does not send, the attacker's valid
// values or junk) for the parent domain in the browser of a logged-in
// victim, for a plain and a chunked session, in both formats, under an
// unprefixed, a "__Secure-" and a "__Host-" name, and asserts:
//
//   - the victim is never in the attacker's session, on the page or
//     later under otherPath, where copies are that no response to the
//     page reached;
//   - the victim's own session is kept: a page has no session on at most
//     one request (the one whose response clears what it carried), and
//     then the victim's session opens again with no new login;
//   - every response's Set-Cookie block is within MaxResponseCookieBytes,
//     and its clearing lines within 4 KB.
//
// With -short, combinations of at most two plants.
func TestAttackerModel(t *testing.T) {
	plants := allPlants()
	depth := 3
	if testing.Short() {
		depth = 2
	}
	type victim struct {
		name      string
		maxChunks int
		big       int // bytes of data: a chunked session
	}
	victims := []victim{{"plain", 1, 0}, {"chunked", 4, 5000}}
	total := 0
	for _, name := range []string{"session", "__Secure-session", "__Host-session"} {
		n := depth
		if name != "session" {
			n = min(depth, 2) // __Secure- is planted like an unprefixed name; __Host- plants are all refused
		}
		for _, format := range []cookie.Format{cookie.Native, cookie.JWE} {
			for _, v := range victims {
				t.Run(fmt.Sprintf("%s/%v/%s", name, format, v.name), func(t *testing.T) {
					clk := newClock()
					opts := middleware.Options{Codec: cookie.Options{Now: clk.Now, Format: format}, MaxChunks: v.maxChunks}
					if v.maxChunks > 1 {
						opts.MaxResponseCookieBytes = 16000 // a tuned proxy
					}
					opts.InsecureNoHostPrefix = true // ignored for "__Host-session"
					m, err := middleware.New(testKeyring(t), name, opts)
					if err != nil {
						t.Fatal(err)
					}
					h := plantApp(m)
					h = m.Handler(h)
					var av attackerValues
					av.plain, _ = loginValues(t, h, name, 0)
					if v.big > 0 {
						_, av.chunks = loginValues(t, h, name, v.big)
						if len(av.chunks) < 2 {
							t.Fatalf("setup: the attacker's big session is not chunked")
						}
					}
					budget := middleware.DefaultMaxResponseCookieBytes
					if opts.MaxResponseCookieBytes != 0 {
						budget = opts.MaxResponseCookieBytes
					}
					login := "/login?user=alice"
					if v.big > 0 {
						login += fmt.Sprintf("&big=%d", v.big)
					}
					combinations(plants, n, func(ps []plant) {
						total++
						j := newSiteJar(t)
						j.do(t, h, victimHost, login)
						var planted []*http.Cookie
						for _, p := range ps {
							planted = append(planted, p.cookie(name, av))
						}
						j.set(siblingHost, "/", planted)
						for _, page := range []string{victimPage, otherPath + "/x"} {
							out := 0
							for i := range 4 {
								w := j.do(t, h, victimHost, page)
								got := w.Body.String()
								all, clears := setCookieBytes(w)
								switch {
								case strings.HasPrefix(got, "mallory"):
									t.Fatalf("plants %v: %s: request %d: the victim is in the attacker's session", ps, page, i)
								case all > budget || clears > 4096:
									t.Fatalf("plants %v: %s: request %d: %d bytes of Set-Cookie (%d clearing), budget %d and 4096", ps, page, i, all, clears, budget)
								case got == "-":
									if out++; out > 1 {
										t.Fatalf("plants %v: %s: request %d: no session a second time; the jar sends %d session cookies",
											ps, page, i, j.count(victimHost, page, name))
									}
								case got != "alice/alice":
									t.Fatalf("plants %v: %s: request %d: %q", ps, page, i, got)
								}
							}
						}
						if got := j.do(t, h, victimHost, "/").Body.String(); got != "alice/alice" {
							t.Fatalf("plants %v: at /: %q", ps, got)
						}
					})
				})
			}
		}
	}
	t.Logf("%d scenarios", total)
}

// TestPlantedSessionExposure pins what the rules cannot prevent for a
// name without the "__Host-" prefix, and why New refuses one unless
// Options.InsecureNoHostPrefix acknowledges it: a sibling's planted
// session is the only copy a browser without a session cookie sends
// (a new visitor, or a user just logged out), so the user is in the
// attacker's session (login CSRF); and in an RFC 6265 jar it replaces
// the cookie of a logged-in user of an app at the parent domain. A
// "__Host-" name is refused by the browser when planted.
func TestPlantedSessionExposure(t *testing.T) {
	for _, tc := range []struct {
		name string
		swap bool
	}{
		{"session", true},
		{"__Secure-session", true},
		{"__Host-session", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := middleware.New(testKeyring(t), tc.name, middleware.Options{InsecureNoHostPrefix: true})
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(plantApp(m))
			plain, _ := loginValues(t, h, tc.name, 0)
			j := newSiteJar(t)
			j.set(siblingHost, "/", []*http.Cookie{{Name: tc.name, Value: plain, Domain: "example.com", Path: "/", Secure: true}})
			got := j.do(t, h, victimHost, "/").Body.String()
			if swapped := got == "mallory/mallory"; swapped != tc.swap {
				t.Errorf("a visitor without a session after the plant: %q (swap %v, want %v)", got, swapped, tc.swap)
			}
			// An app served at the parent domain itself, in a jar that keys
			// cookies as RFC 6265 does (no host-only flag in a cookie's
			// identity: net/http/cookiejar): the sibling's Domain cookie
			// replaces the logged-in user's host-only one.
			const apex = "example.com"
			a := newSiteJar(t)
			a.do(t, h, apex, "/login?user=alice")
			a.set(siblingHost, "/", []*http.Cookie{{Name: tc.name, Value: plain, Domain: apex, Path: "/", Secure: true}})
			got = a.do(t, h, apex, "/").Body.String()
			if swapped := got == "mallory/mallory"; swapped != tc.swap {
				t.Errorf("a logged-in user at %s after the plant: %q (swap %v, want %v)", apex, got, swapped, tc.swap)
			}
		})
	}
}
