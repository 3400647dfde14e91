package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// Rules against what a stranger (a sibling host of a parent domain) can
// plant in the user's cookie jar: what it causes is bounded, never fails
// a legitimate session write, and never locks the user out.

// strayChunks returns n tiny chunk cookies of "session" from index from,
// planted for the parent domain.
func strayChunks(from, n int) []*http.Cookie {
	var cs []*http.Cookie
	for i := from; i < from+n; i++ {
		cs = append(cs, &http.Cookie{Name: fmt.Sprintf("session.%d", i), Value: "x", Domain: "example.com", Path: "/", MaxAge: 400 * 86400})
	}
	return cs
}

// TestStrayChunksCannotLockOut: 40 stray chunk names planted for the
// parent domain never push the session's write over
// MaxResponseCookieBytes, with chunking off (none is the manager's) and on
// (only indices below MaxChunks are, and their clearing lines are bounded).
func TestStrayChunksCannotLockOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts middleware.Options
		big  bool
	}{
		{"chunking off", middleware.Options{}, false},
		{"chunking on, small session", middleware.Options{MaxChunks: 4, MaxResponseCookieBytes: 16000}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			tc.opts.Codec.Now = clk.Now
			m := newManager(t, testKeyring(t), tc.opts)
			h := m.Handler(userApp(m))
			b := newBrowser(t, "app.example.com")
			b.Jar.SetCookies(&url.URL{Scheme: "https", Host: "evil.example.com", Path: "/"}, strayChunks(1, 40))
			for round := range 3 {
				w := b.Do(t, h, "/login?user=alice")
				if w.Code != http.StatusOK {
					t.Fatalf("round %d: login answered %d", round, w.Code)
				}
				if _, clears := setCookieBytes(w); clears > 4096 {
					t.Errorf("round %d: %d bytes of clearing lines: the stray names grow the response past 4 KB", round, clears)
				}
				if tc.big {
					if w := b.Do(t, h, "/set?big="+strings.Repeat("x", 4000)); w.Code != http.StatusOK {
						t.Fatalf("round %d: chunked write answered %d", round, w.Code)
					}
				}
				if got := b.Do(t, h, "/whoami").Body.String(); got != "alice/alice" {
					t.Errorf("round %d: whoami %q, want alice/alice", round, got)
				}
			}
		})
	}
}

// TestDestroyClearsDespiteStrayChunks: with stray chunk names in the
// request and no Revoker, Destroy's success means the cookie is cleared.
func TestDestroyClearsDespiteStrayChunks(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	h := m.Handler(userApp(m))
	j := jar{}
	j.Update(do(t, h, "GET", "/login?user=alice"))
	cs := j.List()
	for i := 1; i <= 40; i++ {
		cs = append(cs, &http.Cookie{Name: fmt.Sprintf("session.%d", i), Value: "x"})
	}
	w := do(t, h, "GET", "/logout", cs...)
	if w.Code != http.StatusOK {
		t.Fatalf("logout answered %d: %q", w.Code, w.Body.String())
	}
	j.Update(w)
	if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "-" {
		t.Errorf("after logout the session still opens: %q", got)
	}
}

// TestDestroyReportsUnsentClear: when the clearing lines cannot fit the
// response (the handler already filled the budget), Destroy says so
// instead of reporting a logout that does not happen.
func TestDestroyReportsUnsentClear(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	h := m.Handler(userApp(m))
	j := jar{}
	j.Update(do(t, h, "GET", "/login?user=alice"))
	var derr error
	d := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "other="+strings.Repeat("y", middleware.DefaultMaxResponseCookieBytes))
		s, _ := m.Session(r)
		derr = s.Destroy()
	}))
	r := httptest.NewRequest("GET", "https://app.example.com/", nil)
	for _, c := range j.List() {
		r.AddCookie(c)
	}
	d.ServeHTTP(httptest.NewRecorder(), r)
	if !errors.Is(derr, cookie.ErrTooLarge) {
		t.Errorf("Destroy = %v, want an error matching cookie.ErrTooLarge", derr)
	}
}

// TestStrayChunkCannotLogOut: one junk chunk planted beside a chunked
// session — an index carried twice (before or after the user's), one
// past the user's set — makes copies that disagree: that request has no
// session, and the junk is expired on the parent domain (so a real
// cookie jar keeps the user logged in after logging in again); one past
// MaxChunks is no copy: the session stays open, and it is expired too.
func TestStrayChunkCannotLogOut(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4, MaxResponseCookieBytes: 16000})
	h := m.Handler(userApp(m))
	j := jar{}
	j.Update(do(t, h, "GET", "/login?user=alice"))
	j.Update(do(t, h, "GET", "/set?big="+strings.Repeat("x", 4000), j.List()...))
	if _, ok := j["session.1"]; !ok {
		t.Fatalf("setup: not chunked: %v", j.List())
	}
	for _, tc := range []struct {
		name    string
		planted *http.Cookie
		before  bool   // sent before the user's cookies (a longer Path)
		want    string // whoami
		expired bool   // the response expires it on the parent domain
	}{
		{"repeated index first", &http.Cookie{Name: "session.0", Value: "garbage"}, true, "-", true},
		{"repeated index last", &http.Cookie{Name: "session.1", Value: "garbage"}, false, "-", true},
		{"extra index", &http.Cookie{Name: "session.2", Value: "garbage"}, true, "-", true},
		{"index past MaxChunks", &http.Cookie{Name: "session.9", Value: "garbage"}, true, "alice/alice", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://app.example.com/whoami", nil)
			if tc.before {
				r.AddCookie(tc.planted)
			}
			for _, c := range j.List() {
				r.AddCookie(c)
			}
			if !tc.before {
				r.AddCookie(tc.planted)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Body.String(); got != tc.want {
				t.Errorf("whoami %q, want %q", got, tc.want)
			}
			expired := false
			for _, c := range w.Result().Cookies() {
				if c.Name == tc.planted.Name && c.Domain == "example.com" && c.MaxAge < 0 {
					expired = true
				}
			}
			if expired != tc.expired {
				t.Errorf("planted %s expired on example.com: %v, want %v (%q)", tc.planted.Name, expired, tc.expired, w.Header().Values("Set-Cookie"))
			}
		})
	}
	t.Run("browser", func(t *testing.T) {
		b := newBrowser(t, "app.example.com")
		b.Jar.SetCookies(&url.URL{Scheme: "https", Host: "evil.example.com", Path: "/"}, strayChunks(2, 1))
		for round := range 3 {
			b.Do(t, h, "/login?user=alice")
			b.Do(t, h, "/set?big="+strings.Repeat("x", 4000))
			if got := b.Do(t, h, "/whoami").Body.String(); got != "alice/alice" {
				t.Errorf("round %d: whoami %q, want alice/alice", round, got)
			}
		}
	})
	t.Run("40 stray names", func(t *testing.T) {
		b := newBrowser(t, "app.example.com")
		b.Jar.SetCookies(&url.URL{Scheme: "https", Host: "evil.example.com", Path: "/"}, strayChunks(1, 40))
		for round := range 3 {
			b.Do(t, h, "/login?user=alice")
			if w := b.Do(t, h, "/set?big="+strings.Repeat("x", 4000)); w.Code != http.StatusOK {
				t.Fatalf("round %d: chunked write answered %d", round, w.Code)
			}
			if got := b.Do(t, h, "/whoami").Body.String(); got != "alice/alice" {
				t.Errorf("round %d: whoami %q, want alice/alice", round, got)
			}
		}
	})
}

// TestPlantedPathCopyIsExpired: a valid session of this app planted for
// the parent domain with Path=/app (or /app/) makes the first request
// under /app ambiguous, and that response expires the planted copy, so
// logging in again works: no lockout. The request's path is read as the
// client sent it, before prefix stripping.
func TestPlantedPathCopyIsExpired(t *testing.T) {
	for _, plantedPath := range []string{"/app", "/app/", "/app/v1"} {
		t.Run(plantedPath, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
			app := m.Handler(userApp(m))
			mux := http.NewServeMux()
			mux.Handle("/app/", http.StripPrefix("/app", app))
			mux.Handle("/app/v1/", http.StripPrefix("/app/v1", app))
			mux.Handle("/", app)
			stranger := jar{}
			stranger.Update(do(t, app, "GET", "/flash")) // a stranger's anonymous session
			cj, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			cj.SetCookies(&url.URL{Scheme: "https", Host: "evil.example.com", Path: "/"}, []*http.Cookie{{
				Name: "session", Value: stranger["session"].Value, Domain: "example.com", Path: plantedPath, MaxAge: 400 * 86400,
			}})
			get := func(path string) string {
				r := httptest.NewRequest("GET", "https://app.example.com"+path, nil)
				u := r.URL
				for _, c := range cj.Cookies(u) {
					r.AddCookie(c)
				}
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				cj.SetCookies(u, w.Result().Cookies())
				return w.Body.String()
			}
			ok := false
			for round := range 3 {
				get("/login?user=alice")
				if get("/app/v1/whoami") == "alice/alice" {
					ok = true
					break
				}
				t.Logf("round %d: ambiguous (expected once)", round)
			}
			if !ok {
				t.Errorf("planted copy with Path=%s is never expired: alice is locked out under /app", plantedPath)
			}
		})
	}
}

// TestCarriedChunkClearsGiveWay: with a budget that no write of MaxChunks
// chunks fits (the last index is cleared only when carried), a stray
// chunk of that index planted beside the session does not turn the
// largest session's write into a failure: its clearing line gives way.
func TestCarriedChunkClearsGiveWay(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4, MaxResponseCookieBytes: 10000})
	h := m.Handler(app(t))
	n := largestSaved(t, h, 16000)
	if w := do(t, h, "GET", "/set?k="+strings.Repeat("v", n)); chunkCount(w) < 2 {
		t.Fatalf("setup: the largest session is not chunked: %q", w.Header().Values("Set-Cookie"))
	}
	for _, stray := range []string{"session.3", "session.9"} {
		w := do(t, h, "GET", "/set?k="+strings.Repeat("v", n), &http.Cookie{Name: stray, Value: "x"})
		if w.Code != http.StatusOK || chunkCount(w) < 2 {
			t.Errorf("stray %s: the largest session's write answered %d: %q", stray, w.Code, w.Header().Values("Set-Cookie"))
		}
	}
}
