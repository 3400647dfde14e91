package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// The rule these tests hold (issue 24, item 2; wardencommunity/warden#14,
// expressjs/session#923): the response to a request whose session cookie
// is found revoked, expired or otherwise invalid never clears or
// overwrites the session cookie, unless the handler writes a session in
// that response. Such a request simply has no session. Tab A renews (its
// response writes the new cookie); tab B's request, sent with the
// pre-renew cookie, is answered after A's: if B's response cleared the
// cookie, it would delete A's new session in the browser.

// raceHost is the host the racing browsers talk to.
const raceHost = "app.example"

// sendFrom builds a request for path with the cookies b holds now: the
// request is "sent", its cookies fixed, before later responses reach the
// jar.
func sendFrom(b *fixtures.Browser, path string) *http.Request {
	r := httptest.NewRequest("GET", "https://"+b.Host+path, nil)
	for _, c := range b.Jar.Cookies(b.URL()) {
		r.AddCookie(c)
	}
	return r
}

// serve runs r through h.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// land applies w's Set-Cookie lines to b's jar: the response reaches
// the browser.
func land(b *fixtures.Browser, w *httptest.ResponseRecorder) {
	b.Jar.SetCookies(b.URL(), w.Result().Cookies())
}

// sessionLines returns w's Set-Cookie lines for the session cookie and
// its chunks.
func sessionLines(w *httptest.ResponseRecorder) []string {
	var out []string
	for _, l := range w.Header().Values("Set-Cookie") {
		if strings.HasPrefix(l, "session=") || strings.HasPrefix(l, "session.") {
			out = append(out, l)
		}
	}
	return out
}

// raceApp is UserApp with:
//
//	/stepup        Renew (a privilege change), its error's text or "ok"
//	/poll          reads the session: the subject, or "-"
//	/hold          reads the session (the cookie opens), runs the test's
//	               during(), then Renews: "ok" or the error's text
//	/hold-others   as /hold, with RevokeOthers in place of Renew
//	/big?n=        Set("big", n bytes): a session that needs chunks
func raceApp(m *middleware.Manager, during *func()) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", fixtures.UserApp(m))
	answer := func(w http.ResponseWriter, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		fmt.Fprint(w, "ok")
	}
	mux.HandleFunc("/stepup", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r)
		answer(w, s.Renew())
	})
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r)
		if s.Subject() == "" {
			fmt.Fprint(w, "-")
			return
		}
		fmt.Fprint(w, s.Subject())
	})
	hold := func(others bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r)
			if s.Subject() == "" {
				http.Error(w, "no session at load", http.StatusForbidden)
				return
			}
			(*during)()
			if others {
				answer(w, s.RevokeOthers(r.Context()))
				return
			}
			answer(w, s.Renew())
		}
	}
	mux.HandleFunc("/hold", hold(false))
	mux.HandleFunc("/hold-others", hold(true))
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r)
		var n int
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		answer(w, s.Set("big", strings.Repeat("x", n)))
	})
	return mux
}

// raceSetup is a manager on a real revoke.Memory behind raceApp, and a
// browser logged in as alice.
type raceSetup struct {
	clk    *clock
	m      *middleware.Manager
	h      http.Handler
	b      *fixtures.Browser
	during func()
}

func newRaceSetup(t *testing.T, opts middleware.Options) *raceSetup {
	t.Helper()
	return newRaceSetupOn(t, opts, func(now func() time.Time) revoke.Revoker {
		return revoke.NewMemory(revoke.MemoryOptions{Now: now})
	})
}

// newRaceSetupOn is newRaceSetup with the revocation list mk makes on the
// test's clock.
func newRaceSetupOn(t *testing.T, opts middleware.Options, mk func(now func() time.Time) revoke.Revoker) *raceSetup {
	t.Helper()
	e := &raceSetup{clk: newClock(), during: func() {}}
	opts.Codec.Now = e.clk.Now
	opts.Revoker = mk(e.clk.Now)
	e.m = newManager(t, testKeyring(t), opts)
	e.h = e.m.Handler(raceApp(e.m, &e.during))
	e.b = newBrowser(t, raceHost)
	if w := e.b.Do(t, e.h, "/login?user=alice"); w.Body.String() != "ok" {
		t.Fatalf("login: %d %q", w.Code, w.Body.String())
	}
	e.clk.Advance(time.Minute)
	return e
}

// whoami is the subject the browser is logged in as, or "-".
func (e *raceSetup) whoami(t *testing.T) string {
	t.Helper()
	return e.b.Do(t, e.h, "/poll").Body.String()
}

// TestRenewRaceKeepsTheNewSession: tab A renews (login, step-up,
// RevokeOthers, a legacy migration) while tab B's request carries the
// cookie from before; B's response lands last. The browser keeps A's
// session, and B's response writes no session cookie at all.
func TestRenewRaceKeepsTheNewSession(t *testing.T) {
	tests := []struct {
		name string
		opts middleware.Options
		prep func(t *testing.T, e *raceSetup) // after login, before tab B's request is sent
		a    string                           // tab A's request
		b    string                           // tab B's request
	}{
		{name: "step-up Renew, B polls", a: "/stepup", b: "/poll"},
		{name: "login again (Renew), B polls", a: "/login?user=alice", b: "/poll"},
		{name: "RevokeOthers, B polls", a: "/pw", b: "/poll"},
		{name: "step-up Renew, B renews too (its recheck finds the old id revoked)", a: "/stepup", b: "/stepup"},
		{name: "step-up Renew, B calls RevokeOthers", a: "/stepup", b: "/pw"},
		{name: "JWE format", opts: middleware.Options{Codec: cookie.Options{Format: cookie.JWE}}, a: "/stepup", b: "/poll"},
		{
			name: "chunked cookie", opts: middleware.Options{MaxChunks: 4, MaxResponseCookieBytes: 16 << 10},
			prep: func(t *testing.T, e *raceSetup) {
				e.b.Do(t, e.h, "/big?n=6000")
				if e.b.Count("session.1") == 0 {
					t.Fatal("the session is not chunked")
				}
			},
			a: "/stepup", b: "/poll",
		},
		{
			name: "logged out elsewhere (RevokeSubject), A logs in again while B polls",
			prep: func(t *testing.T, e *raceSetup) {
				if err := e.m.RevokeSubject(context.Background(), "alice"); err != nil {
					t.Fatal(err)
				}
				e.clk.Advance(time.Millisecond)
			},
			a: "/login?user=alice", b: "/poll",
		},
		{
			name: "idle-expired cookie, A logs in again while B polls",
			opts: middleware.Options{Codec: cookie.Options{IdleTimeout: time.Hour}},
			prep: func(t *testing.T, e *raceSetup) { e.clk.Advance(2 * time.Hour) },
			a:    "/login?user=alice", b: "/poll",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRaceSetup(t, tc.opts)
			if tc.prep != nil {
				tc.prep(t, e)
			}
			reqB := sendFrom(e.b, tc.b) // sent with the cookie from before A's
			wA := serve(e.h, sendFrom(e.b, tc.a))
			if wA.Code != http.StatusOK {
				t.Fatalf("tab A %s: %d %q", tc.a, wA.Code, wA.Body.String())
			}
			wB := serve(e.h, reqB)
			land(e.b, wA)
			land(e.b, wB) // B's response lands last
			if l := sessionLines(wB); len(l) != 0 {
				t.Errorf("tab B's response (old cookie, no session written by its handler) set the session cookie: %q", l)
			}
			if got := e.whoami(t); got != "alice" {
				t.Fatalf("after the race the browser is logged in as %q, want alice (tab A's session kept)", got)
			}
		})
	}
}

// TestRenewRaceMidRequest: tab B's request opened the session before tab
// A renewed it, and B's handler renews (or calls RevokeOthers) after: its
// recheck finds the old id revoked, so B fails with revoke.ErrRevoked and
// has no session, and its response, landing last, leaves A's new cookie
// alone.
func TestRenewRaceMidRequest(t *testing.T) {
	for _, path := range []string{"/hold", "/hold-others"} {
		t.Run(path, func(t *testing.T) {
			e := newRaceSetup(t, middleware.Options{})
			var wA *httptest.ResponseRecorder
			e.during = func() { wA = serve(e.h, sendFrom(e.b, "/stepup")) }
			wB := serve(e.h, sendFrom(e.b, path))
			if wA == nil || wA.Code != http.StatusOK {
				t.Fatalf("tab A did not renew: %v", wA)
			}
			if wB.Code != http.StatusConflict || !strings.Contains(wB.Body.String(), revoke.ErrRevoked.Error()) {
				t.Fatalf("tab B after A's renew: %d %q, want revoke.ErrRevoked", wB.Code, wB.Body.String())
			}
			land(e.b, wA)
			land(e.b, wB)
			if l := sessionLines(wB); len(l) != 0 {
				t.Errorf("tab B's response set the session cookie: %q", l)
			}
			if got := e.whoami(t); got != "alice" {
				t.Fatalf("after the race: %q, want alice", got)
			}
		})
	}
}

// TestRenewRaceLegacyMigration: two tabs carry the same legacy cookie;
// A's request migrates it (its id is revoked, a native cookie written),
// B's, answered after, finds it revoked. B's response must not delete
// the native cookie A's wrote under the same name.
func TestRenewRaceLegacyMigration(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Legacy: &fakeLegacy{now: clk.Now},
		Revoker: revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})})
	h := m.Handler(app(t))
	b := newBrowser(t, raceHost)
	b.Jar.SetCookies(b.URL(), []*http.Cookie{{Name: "session", Value: "legacy.k.v", Path: "/"}})
	reqB := sendFrom(b, "/get?k=k")
	wA := serve(h, sendFrom(b, "/get?k=k"))
	if wA.Body.String() != "v" || len(sessionLines(wA)) == 0 {
		t.Fatalf("tab A did not migrate: %q %q", wA.Body.String(), sessionLines(wA))
	}
	wB := serve(h, reqB)
	if wB.Body.String() != "-" {
		t.Fatalf("tab B with the legacy cookie after its migration: %q, want no session", wB.Body.String())
	}
	land(b, wA)
	land(b, wB)
	if l := sessionLines(wB); len(l) != 0 {
		t.Errorf("tab B's response set the session cookie: %q", l)
	}
	if got := b.Do(t, h, "/get?k=k").Body.String(); got != "v" {
		t.Fatalf("after the race: %q, want the migrated session", got)
	}
}

// TestRenewRaceLoadHeader: the same rule on the path without net/http:
// Commit of a session whose cookie is revoked returns no Set-Cookie.
func TestRenewRaceLoadHeader(t *testing.T) {
	e := newRaceSetup(t, middleware.Options{})
	var line []string
	for _, c := range e.b.Jar.Cookies(e.b.URL()) {
		line = append(line, c.Name+"="+c.Value)
	}
	wA := serve(e.h, sendFrom(e.b, "/stepup"))
	if wA.Code != http.StatusOK {
		t.Fatalf("tab A: %d %q", wA.Code, wA.Body.String())
	}
	s, err := e.m.LoadHeader(context.Background(), raceHost, strings.Join(line, "; "))
	if err != nil {
		t.Fatal(err)
	}
	if s.Authenticated() {
		t.Fatal("the pre-renew cookie still opens")
	}
	hdr, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	land(e.b, wA)
	e.b.Jar.SetCookies(e.b.URL(), (&http.Response{Header: hdr}).Cookies())
	if l := hdr.Values("Set-Cookie"); len(l) != 0 {
		t.Errorf("Commit for the revoked cookie returned Set-Cookie %q", l)
	}
	if got := e.whoami(t); got != "alice" {
		t.Fatalf("after the race: %q, want alice", got)
	}
}

// TestInvalidCookieResponse: a request whose cookie authenticates but is
// found revoked has no session and its response leaves the cookie alone
// (a cookie that does not authenticate may be a planted piece, and is
// cleared: see badcookie_test.go); a handler that writes a session in
// that response writes it, and Destroy clears.
func TestInvalidCookieResponse(t *testing.T) {
	tests := []struct {
		name   string
		cookie func(t *testing.T, e *raceSetup) // leaves the browser with an unusable cookie
	}{
		{"destroyed on another device", func(t *testing.T, e *raceSetup) {
			copyOf := sendFrom(e.b, "/logout")
			if w := serve(e.h, copyOf); w.Body.String() != "ok" {
				t.Fatalf("logout on the other device: %q", w.Body.String())
			}
		}},
		{"revoked by subject", func(t *testing.T, e *raceSetup) {
			if err := e.m.RevokeSubject(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(time.Millisecond)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRaceSetup(t, middleware.Options{})
			tc.cookie(t, e)
			w := e.b.Do(t, e.h, "/poll")
			if w.Body.String() != "-" {
				t.Fatalf("the unusable cookie opened: %q", w.Body.String())
			}
			if l := sessionLines(w); len(l) != 0 {
				t.Errorf("a response with no session written cleared the cookie: %q", l)
			}
			// The handler writes a session in that response: it is written.
			if w := e.b.Do(t, e.h, "/login?user=bob"); w.Body.String() != "ok" || len(sessionLines(w)) == 0 {
				t.Fatalf("login over the unusable cookie: %q %q", w.Body.String(), sessionLines(w))
			}
			if got := e.whoami(t); got != "bob" {
				t.Fatalf("after login: %q", got)
			}
		})
	}
	t.Run("Destroy over a revoked cookie clears it", func(t *testing.T) {
		e := newRaceSetup(t, middleware.Options{})
		if err := e.m.RevokeSubject(context.Background(), "alice"); err != nil {
			t.Fatal(err)
		}
		w := e.b.Do(t, e.h, "/logout")
		if w.Body.String() != "ok" {
			t.Fatalf("logout: %q", w.Body.String())
		}
		cleared := false
		for _, c := range w.Result().Cookies() {
			cleared = cleared || c.Name == "session" && c.MaxAge < 0 && c.Domain == "" && c.Path == "/"
		}
		if !cleared {
			t.Fatalf("Destroy did not clear: %q", sessionLines(w))
		}
		if e.b.Count("session") != 0 {
			t.Fatal("the browser still holds the cookie")
		}
	})
}
