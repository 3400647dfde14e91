package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// TestAuthenticated: a session is authenticated exactly when it has a
// subject, set in this request or carried by its cookie; an anonymous
// session with data is not, nor one that Destroy ended, one whose cookie
// is revoked, or one used after its handler returned.
func TestAuthenticated(t *testing.T) {
	clk := newClock()
	rv := revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rv})
	var kept *middleware.Session
	var got []bool
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		got = append(got, s.Authenticated())
		switch r.URL.Path {
		case "/anonymous":
			s.Set("cart", "tea")
		case "/login":
			s.Renew()
			s.SetSubject("alice")
		case "/login-logout":
			s.SetSubject("alice")
			got = append(got, s.Authenticated())
			s.Destroy()
		case "/no-subject":
			s.SetSubject("")
		case "/keep":
			kept = s
		}
		got = append(got, s.Authenticated())
	}))
	visit := func(path string, cookies ...*http.Cookie) []*http.Cookie {
		t.Helper()
		got = nil
		return do(t, h, "GET", path, cookies...).Result().Cookies()
	}
	check := func(name string, want ...bool) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: Authenticated %v, want %v", name, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: Authenticated %v, want %v", name, got, want)
			}
		}
	}

	anon := visit("/anonymous")
	check("anonymous session with data", false, false)
	visit("/read", anon...)
	check("its cookie, next request", false, false)

	alice := visit("/login")
	check("login: SetSubject in this request", false, true)
	visit("/read", alice...)
	check("a cookie with a subject", true, true)
	visit("/no-subject", alice...)
	check("subject set to empty", true, false)

	visit("/login-logout")
	check("SetSubject then Destroy", false, true, false)

	visit("/keep", alice...)
	if kept.Authenticated() {
		t.Fatal("a session kept past its handler is still authenticated")
	}

	clk.Advance(time.Second)
	if err := m.RevokeSubject(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	visit("/read", alice...)
	check("a revoked cookie", false, false)
}

// TestRequireSubject: only a request whose session has a subject reaches
// the protected handler; every other request (no cookie, an anonymous
// session, a bad cookie, no middleware at all) gets deny, by default a
// bare 401, and a bad cookie is still cleared.
func TestRequireSubject(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	login := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if r.URL.Path == "/login" {
			s.Renew()
			s.SetSubject("alice")
		}
		s.Set("cart", "tea")
	}))
	alice := do(t, login, "GET", "/login").Result().Cookies()
	anon := do(t, login, "GET", "/cart").Result().Cookies()
	tampered := []*http.Cookie{{Name: "session", Value: alice[0].Value[:len(alice[0].Value)-4] + "AAAA"}}
	if tampered[0].Value == alice[0].Value {
		tampered[0].Value = alice[0].Value[:len(alice[0].Value)-4] + "BBBB"
	}

	reached := 0
	secret := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		s, _ := middleware.From(r)
		w.Write([]byte("hello " + s.Subject()))
	})
	toLogin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	for _, tc := range []struct {
		name     string
		deny     http.Handler
		bare     bool // no Manager.Handler around it
		cookies  []*http.Cookie
		code     int
		body     string
		cleared  bool
		wantNext bool
	}{
		{"logged in", nil, false, alice, http.StatusOK, "hello alice", false, true},
		{"no cookie", nil, false, nil, http.StatusUnauthorized, "Unauthorized\n", false, false},
		{"anonymous session", nil, false, anon, http.StatusUnauthorized, "Unauthorized\n", false, false},
		{"tampered cookie", nil, false, tampered, http.StatusUnauthorized, "Unauthorized\n", true, false},
		{"no middleware: fail closed", nil, true, alice, http.StatusUnauthorized, "Unauthorized\n", false, false},
		{"custom deny", toLogin, false, anon, http.StatusSeeOther, "", false, false},
		{"custom deny, logged in", toLogin, false, alice, http.StatusOK, "hello alice", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached = 0
			var h http.Handler = middleware.RequireSubject(tc.deny)(secret)
			if !tc.bare {
				h = m.Handler(h)
			}
			r := httptest.NewRequest("GET", "/account", nil)
			for _, c := range tc.cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if (reached == 1) != tc.wantNext || reached > 1 {
				t.Fatalf("next reached %d times, want %v", reached, tc.wantNext)
			}
			if w.Code != tc.code || (tc.deny == nil && w.Body.String() != tc.body) {
				t.Fatalf("%d %q, want %d %q", w.Code, w.Body.String(), tc.code, tc.body)
			}
			if tc.deny != nil && !tc.wantNext && w.Header().Get("Location") != "/login" {
				t.Fatalf("deny not called: Location %q", w.Header().Get("Location"))
			}
			if c := setCookies(w)["session"]; (c != nil && c.MaxAge < 0) != tc.cleared {
				t.Fatalf("Set-Cookie %v, want the bad cookie cleared: %v", w.Header().Values("Set-Cookie"), tc.cleared)
			}
			if !tc.bare && w.Header().Get("Vary") != "Cookie" {
				t.Fatalf("Vary %q: the answer depends on the cookie", w.Header().Get("Vary"))
			}
		})
	}
}
