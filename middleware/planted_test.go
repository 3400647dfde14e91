package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// Issue 23's seven faults, each with its siblings, against the rules of
// doc.go's "Copies of the cookie". Each test names the fault it pins.

// plantedFixture is a manager, its handler (plantApp), and the cookies of
// two users, alice (the victim) and mallory (the attacker), logged in.
type plantedFixture struct {
	m              *middleware.Manager
	h              http.Handler
	rec            *recorder
	alice, mallory []*http.Cookie
}

func newPlantedFixture(t *testing.T, name string, opts middleware.Options, big int) *plantedFixture {
	t.Helper()
	rec := &recorder{}
	if opts.Codec.Now == nil {
		opts.Codec.Now = newClock().Now
	}
	opts.Observer = rec
	opts.InsecureNoHostPrefix = true
	m, err := middleware.New(testKeyring(t), name, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &plantedFixture{m: m, h: m.Handler(plantApp(m)), rec: rec}
	login := func(user string) []*http.Cookie {
		target := "/login?user=" + user
		if big > 0 {
			target += fmt.Sprintf("&big=%d", big)
		}
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, httptest.NewRequest("GET", "https://"+victimHost+target, nil))
		var out []*http.Cookie
		for _, c := range w.Result().Cookies() {
			if c.MaxAge > 0 {
				out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
			}
		}
		if len(out) == 0 || (big > 0) != (len(out) > 1) {
			t.Fatalf("setup: %s's login set %d cookies", user, len(out))
		}
		return out
	}
	f.alice, f.mallory = login("alice"), login("mallory")
	rec.invalid = nil
	return f
}

// send sends the Cookie header built from cookies (in that order) to
// target and returns the response.
func (f *plantedFixture) send(target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "https://"+victimHost+target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func repeat(cs []*http.Cookie, n int) []*http.Cookie {
	var out []*http.Cookie
	for range n {
		out = append(out, cs...)
	}
	return out
}

// Fault 1: more copies than a bound used to keep only the first ones, and
// the chunked form let attacker, victim, attacker sets open as the
// attacker's. Now any two copies that differ mean no session, whatever
// their number and order, plain or chunked, in either format.
func TestPlantedCopiesNeverSwap(t *testing.T) {
	for _, format := range []cookie.Format{cookie.Native, cookie.JWE} {
		for _, big := range []int{0, 5000} {
			opts := middleware.Options{Codec: cookie.Options{Format: format}}
			if big > 0 {
				opts.MaxChunks, opts.MaxResponseCookieBytes = 4, 16000
			}
			f := newPlantedFixture(t, "session", opts, big)
			for planted := 1; planted <= 9; planted++ {
				for _, order := range []string{"planted first", "victim first", "victim between"} {
					t.Run(fmt.Sprintf("%v/big=%d/%d %s", format, big, planted, order), func(t *testing.T) {
						var cs []*http.Cookie
						switch order {
						case "planted first":
							cs = append(repeat(f.mallory, planted), f.alice...)
						case "victim first":
							cs = append(slices.Clone(f.alice), repeat(f.mallory, planted)...)
						default:
							cs = append(append(repeat(f.mallory, (planted+1)/2), f.alice...), repeat(f.mallory, planted/2)...)
						}
						f.rec.invalid = nil
						w := f.send("/whoami", cs...)
						if got := w.Body.String(); got != "-" {
							t.Fatalf("whoami %q, want no session", got)
						}
						if len(f.rec.invalid) != 1 || !errors.Is(f.rec.invalid[0], middleware.ErrDuplicateCookie) ||
							cookie.ReasonOf(f.rec.invalid[0]) != cookie.ReasonDuplicate {
							t.Fatalf("rejections %v, want one ErrDuplicateCookie (ReasonDuplicate)", f.rec.invalid)
						}
					})
				}
			}
			t.Run(fmt.Sprintf("%v/big=%d/identical copies read as one", format, big), func(t *testing.T) {
				for n := 1; n <= 12; n++ {
					if got := f.send("/whoami", repeat(f.alice, n)...).Body.String(); got != "alice/alice" {
						t.Fatalf("%d identical copies: %q", n, got)
					}
				}
			})
		}
	}
	t.Run("legacy", func(t *testing.T) {
		clk := newClock()
		f := newPlantedFixture(t, "session", middleware.Options{Codec: cookie.Options{Now: clk.Now}, Legacy: &fakeLegacy{now: clk.Now}}, 0)
		legacy := &http.Cookie{Name: "session", Value: "legacy.user.mallory"}
		for _, cs := range [][]*http.Cookie{
			{legacy, f.alice[0]},
			{f.alice[0], legacy},
			{legacy, legacy, f.alice[0]},
			{legacy, {Name: "session", Value: "legacy.user.alice"}},
		} {
			if got := f.send("/whoami", cs...).Body.String(); got != "-" {
				t.Errorf("%d copies with a legacy one: %q, want no session", len(cs), got)
			}
		}
		if got := f.send("/whoami", legacy, legacy).Body.String(); got != "-" && got != "mallory/mallory" {
			t.Errorf("two identical legacy copies: %q", got)
		}
	})
}

// Fault 2: a valid copy planted with one page's exact Path (and its
// siblings: the directory, the directory with a slash, a parent
// directory) used to survive the response that expired the others, so
// every visit to that page logged the user out. Now it is cleared by the
// first response to that page, which keeps the user's own copy (rule 3):
// the next request opens it, with no new login.
func TestPlantedPagePathCopyIsCleared(t *testing.T) {
	for _, plantedPath := range []string{"/app/page", "/app/", "/app", "/app/page/"} {
		for _, big := range []int{0, 5000} {
			t.Run(fmt.Sprintf("%s/big=%d", plantedPath, big), func(t *testing.T) {
				opts := middleware.Options{}
				if big > 0 {
					opts.MaxChunks, opts.MaxResponseCookieBytes = 4, 16000
				}
				f := newPlantedFixture(t, "session", opts, big)
				j := newSiteJar(t)
				login := fmt.Sprintf("/login?user=alice&big=%d", big)
				j.do(t, f.h, victimHost, login)
				var planted []*http.Cookie
				for _, c := range f.mallory {
					planted = append(planted, &http.Cookie{Name: c.Name, Value: c.Value, Domain: "example.com", Path: plantedPath, Secure: true})
				}
				j.set(siblingHost, "/", planted)
				page := "/app/page/"
				if got := j.do(t, f.h, victimHost, page).Body.String(); got != "-" {
					t.Fatalf("first visit: %q, want no session", got)
				}
				if n := j.count(victimHost, page, "session"); n != len(f.alice) {
					t.Fatalf("%d session cookies left after the clearing response, want the user's %d", n, len(f.alice))
				}
				for range 3 {
					if got := j.do(t, f.h, victimHost, page).Body.String(); got != "alice/alice" {
						t.Fatalf("after the clearing response: %q", got)
					}
				}
				j.do(t, f.h, victimHost, login)
				if got := j.do(t, f.h, victimHost, page).Body.String(); got != "alice/alice" {
					t.Fatalf("after logging in again: %q", got)
				}
			})
		}
	}
}

// Fault 3: with chunking and a host of three labels, planted chunk
// names used to use up the expiry lines before the plain cookie on the
// parent domain was reached. Now the session's own names come first in
// the clearing order, each at every place, so a planted plain cookie on
// the parent domain is cleared beside any number of planted chunk names.
func TestPlantedChunksDoNotCrowdOutTheClear(t *testing.T) {
	const host = "a.app.example.com"
	clk := newClock()
	m, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4, MaxResponseCookieBytes: 16000})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(plantApp(m))
	for _, strays := range []int{4, 16, 40} {
		t.Run(fmt.Sprint(strays), func(t *testing.T) {
			j := newSiteJar(t)
			j.do(t, h, host, "/login?user=alice")
			var planted []*http.Cookie
			for _, d := range []string{"app.example.com", "example.com"} {
				planted = append(planted, &http.Cookie{Name: "session", Value: "junk", Domain: d, Path: "/", Secure: true})
				for i := range strays {
					planted = append(planted, &http.Cookie{Name: fmt.Sprintf("session.%d", i), Value: "junk", Domain: d, Path: "/", Secure: true})
				}
			}
			j.set("evil.a.app.example.com", "/", planted)
			logouts := 0
			for i := range 20 {
				w := j.do(t, h, host, "/x")
				if _, clears := setCookieBytes(w); clears > 4096 {
					t.Fatalf("request %d: %d bytes of clearing lines", i, clears)
				}
				if w.Body.String() == "-" {
					if logouts++; logouts > 1 {
						t.Fatalf("request %d: logged out again; %d session cookies left", i, j.count(host, "/x", "session"))
					}
					j.do(t, h, host, "/login?user=alice")
				}
			}
			if n := j.count(host, "/x", "session"); n != 1 {
				t.Errorf("%d session cookies left after 20 requests, want the user's one", n)
			}
		})
	}
}

// Fault 4: the clearing lines used to copy every prefix of the request's
// path, with no bound: a 960 KB request made 12.5 MB of Set-Cookie. Now
// they are at most 4 KB, whatever the request carried.
func TestClearingLinesAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts middleware.Options
	}{
		{"default", middleware.Options{}},
		{"chunking, no budget", middleware.Options{MaxChunks: 16}},
		{"chunking, former places", middleware.Options{MaxChunks: 16, FormerDomains: []string{"a.example.com", "b.example.com", "c.example.com", "d.example.com"}, FormerPaths: []string{"/a", "/b", "/c", "/d"}}},
		{"partitioned", middleware.Options{MaxChunks: 16, Partitioned: true, SameSite: http.SameSiteNoneMode}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.InsecureNoHostPrefix = true
			m, err := middleware.New(testKeyring(t), "session", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(plantApp(m))
			path := strings.Repeat("/"+strings.Repeat("a", 7), 60000) // 480 KB of path
			var cookies strings.Builder
			for i := range 1400 { // 2800 cookies: within net/http's 3000
				fmt.Fprintf(&cookies, "session.%d=x; session=%d; ", i%40, i)
			}
			r := httptest.NewRequest("GET", "https://a.b.c.d.e.example.com"+path, nil)
			r.Header.Set("Cookie", cookies.String())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			all, clears := setCookieBytes(w)
			if clears > 4096 || all > 4096 {
				t.Errorf("%d bytes of Set-Cookie, %d of them clearing lines; want at most 4096", all, clears)
			}
			if clears < 2048 {
				t.Errorf("only %d bytes of clearing lines: the budget is not used", clears)
			}
		})
	}
}

// Fault 5: chunk names past MaxChunks used never to be cleared: ten 3 KB
// chunks against MaxChunks 4 stayed for good (18 KB of request header).
// Now every chunk name the request carried is cleared, within the bound,
// and names the manager never writes do not cost the session.
func TestChunksPastMaxChunksAreCleared(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxChunks int
		planted   string // Domain of the strays; "" for host-only (an old configuration's)
	}{
		{"MaxChunks 4, host-only", 4, ""},
		{"MaxChunks 4, parent domain", 4, "example.com"},
		{"MaxChunks 1, parent domain", 1, "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := middleware.Options{MaxChunks: tc.maxChunks}
			if tc.maxChunks > 1 {
				opts.MaxResponseCookieBytes = 16000
			}
			f := newPlantedFixture(t, "session", opts, 0)
			j := newSiteJar(t)
			j.do(t, f.h, victimHost, "/login?user=alice")
			var strays []*http.Cookie
			for i := range 10 {
				strays = append(strays, &http.Cookie{Name: fmt.Sprintf("session.%d", 4+i), Value: strings.Repeat("x", 3000), Domain: tc.planted, Path: "/", Secure: true})
			}
			host := victimHost
			if tc.planted != "" {
				host = siblingHost
			}
			j.set(host, "/", strays)
			for i := range 3 {
				if got := j.do(t, f.h, victimHost, "/x").Body.String(); got != "alice/alice" {
					t.Fatalf("request %d: %q, want alice/alice (names past MaxChunks are not copies)", i, got)
				}
			}
			if n := j.count(victimHost, "/x", "session."); n != 0 {
				t.Errorf("%d chunk names past MaxChunks left", n)
			}
		})
	}
}

// Fault 7: the plain cookie used to be read past net/http's view: a copy
// net/http drops for a byte it refuses counted as a duplicate, and past
// net/http's cookie limit a session opened that r.Cookie cannot see. Now
// the manager sees exactly Request.Cookies' cookies.
func TestRequestViewIsNetHTTPs(t *testing.T) {
	for _, big := range []int{0, 5000} {
		opts := middleware.Options{}
		if big > 0 {
			opts.MaxChunks, opts.MaxResponseCookieBytes = 4, 16000
		}
		f := newPlantedFixture(t, "session", opts, big)
		quoted := func(cs []*http.Cookie) string {
			var parts []string
			for _, c := range cs {
				parts = append(parts, c.Name+`="`+c.Value+`"`)
			}
			return strings.Join(parts, "; ")
		}
		header := func(cs []*http.Cookie) string {
			var parts []string
			for _, c := range cs {
				parts = append(parts, c.Name+"="+c.Value)
			}
			return strings.Join(parts, "; ")
		}
		for _, tc := range []struct {
			name   string
			header string
			want   string
		}{
			{"a copy with a byte net/http refuses", header(f.alice) + `; session="bad\value"; session=bad` + "\x7f", "alice/alice"},
			{"a chunk with a byte net/http refuses", header(f.alice) + `; session.0=a"b; session.1=a b\`, "alice/alice"},
			{"past net/http's cookie limit", header(f.alice) + strings.Repeat("; x=1", 3000), "-"},
			{"at the limit", header(f.alice) + strings.Repeat("; x=1", 3000-len(f.alice)), "alice/alice"},
			{"quoted", quoted(f.alice), "alice/alice"},
			{"quoted beside plain", quoted(f.alice) + "; " + header(f.alice), "alice/alice"},
		} {
			t.Run(fmt.Sprintf("big=%d/%s", big, tc.name), func(t *testing.T) {
				r := httptest.NewRequest("GET", "https://"+victimHost+"/whoami", nil)
				r.Header.Set("Cookie", tc.header)
				want := tc.want
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, r)
				if got := w.Body.String(); got != want {
					t.Errorf("whoami %q, want %q (net/http sees %d cookies)", got, want, len(r.Cookies()))
				}
			})
		}
	}
}

// partitionJar is the one part of a browser's jar that cookiejar does
// not model: a partitioned (CHIPS) and an unpartitioned cookie of the
// same name, Domain and Path are two cookies, both sent. It keeps the
// host-only cookies on Path=/ of one host, keyed by name and partition,
// and sends them oldest first.
type partitionJar struct {
	keys []partitionKey
	vals map[partitionKey]string
}

type partitionKey struct {
	name        string
	partitioned bool
}

func (j *partitionJar) do(h http.Handler, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "https://"+victimHost+target, nil)
	for _, k := range j.keys {
		r.AddCookie(&http.Cookie{Name: k.name, Value: j.vals[k]})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if j.vals == nil {
		j.vals = map[partitionKey]string{}
	}
	for _, c := range w.Result().Cookies() {
		if c.Domain != "" || (c.Path != "/" && c.Path != "") {
			continue
		}
		k := partitionKey{c.Name, c.Partitioned}
		_, had := j.vals[k]
		switch {
		case c.MaxAge < 0:
			delete(j.vals, k)
			j.keys = slices.DeleteFunc(j.keys, func(o partitionKey) bool { return o == k })
		case !had:
			j.keys = append(j.keys, k)
			j.vals[k] = c.Value
		default:
			j.vals[k] = c.Value
		}
	}
	return w
}

// Fault 6: turning Partitioned on used to strand the old unpartitioned
// cookie (every clearing line carried Partitioned, so it never matched):
// a logout did not stick and the next user got the first one's session.
// Now every clearing line goes out in both forms and a write clears the
// unpartitioned form of its names.
func TestPartitionedSwitchClearsOldCookies(t *testing.T) {
	for _, big := range []int{0, 5000} {
		t.Run(fmt.Sprintf("big=%d", big), func(t *testing.T) {
			clk := newClock()
			kr := testKeyring(t)
			opts := middleware.Options{Codec: cookie.Options{Now: clk.Now}, InsecureNoHostPrefix: true}
			if big > 0 {
				opts.MaxChunks, opts.MaxResponseCookieBytes = 4, 16000
			}
			oldM, err := middleware.New(kr, "session", opts)
			if err != nil {
				t.Fatal(err)
			}
			opts.Partitioned = true
			newM, err := middleware.New(kr, "session", opts)
			if err != nil {
				t.Fatal(err)
			}
			oldH, newH := oldM.Handler(plantApp(oldM)), newM.Handler(plantApp(newM))
			login := func(user string) string { return fmt.Sprintf("/login?user=%s&big=%d", user, big) }

			t.Run("logout", func(t *testing.T) {
				var j partitionJar
				j.do(oldH, login("alice"))
				if got := j.do(newH, "/whoami").Body.String(); got != "alice/alice" {
					t.Fatalf("after the switch: %q", got)
				}
				w := j.do(newM.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s, _ := newM.Session(r)
					if err := s.Destroy(); err != nil {
						t.Errorf("Destroy: %v", err)
					}
				})), "/logout")
				if len(j.keys) != 0 {
					t.Fatalf("after logout the jar keeps %v (%q)", j.keys, w.Header().Values("Set-Cookie"))
				}
				j.do(newH, login("bob"))
				for i := range 5 {
					if got := j.do(newH, "/whoami").Body.String(); got != "bob/bob" {
						t.Fatalf("request %d of the next user: %q", i, got)
					}
				}
			})
			t.Run("write", func(t *testing.T) {
				var j partitionJar
				j.do(oldH, login("alice"))
				j.do(newH, login("alice"))
				for _, k := range j.keys {
					if !k.partitioned {
						t.Fatalf("a write under Partitioned left the unpartitioned %s", k.name)
					}
				}
				if got := j.do(newH, "/whoami").Body.String(); got != "alice/alice" {
					t.Fatalf("whoami %q", got)
				}
			})
			t.Run("both kinds carried", func(t *testing.T) {
				var j partitionJar
				j.do(oldH, login("alice"))
				// A partitioned copy written by an instance of the new
				// configuration that did not clear the old one.
				var p partitionJar
				p.do(newH, login("mallory"))
				for _, k := range p.keys {
					j.keys = append(j.keys, k)
					j.vals[k] = p.vals[k]
				}
				// Both are at the configured place (partitioned or not),
				// where no other host can plant: either may be the user's,
				// so both stay (rule 3) until a write.
				kept := len(j.keys)
				for range 2 {
					if got := j.do(newH, "/whoami").Body.String(); got != "-" {
						t.Fatalf("two different copies: %q, want no session", got)
					}
				}
				if len(j.keys) != kept {
					t.Fatalf("the jar keeps %v, want the %d copies", j.keys, kept)
				}
				j.do(newH, login("bob"))
				if got := j.do(newH, "/whoami").Body.String(); got != "bob/bob" {
					t.Fatalf("next login: %q", got)
				}
			})
		})
	}
}

// TestNewNamesTheHostPrefix: "" is DefaultName ("__Host-session"), and a
// name without the "__Host-" prefix is refused unless
// InsecureNoHostPrefix acknowledges what it leaves open
// (TestPlantedSessionExposure).
func TestNewNamesTheHostPrefix(t *testing.T) {
	kr := testKeyring(t)
	m, err := middleware.New(kr, "", middleware.Options{})
	if err != nil || m.Name() != middleware.DefaultName || middleware.DefaultName != "__Host-session" {
		t.Fatalf("New with no name: %v, %v", m, err)
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"__Host-session", true}, {"__Host-Http-session", true},
		{"session", false}, {"__Secure-session", false}, {"__Http-session", false}, {"sid", false},
	} {
		_, err := middleware.New(kr, tc.name, middleware.Options{})
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "InsecureNoHostPrefix")) {
			t.Errorf("New(%q) = %v, want accepted: %v, or an error naming InsecureNoHostPrefix", tc.name, err, tc.ok)
		}
		if _, err := middleware.New(kr, tc.name, middleware.Options{InsecureNoHostPrefix: true}); err != nil {
			t.Errorf("New(%q) with InsecureNoHostPrefix: %v", tc.name, err)
		}
	}
	// "__host-session" is refused with or without InsecureNoHostPrefix
	// (TestNewRefusesAPrefixInAnotherCase).
}
