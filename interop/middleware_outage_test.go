package interop_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/gorilla"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// §5: a legacy cookie passes the same door as a native one: it keeps its
// timestamp as issued-at, a replay after Destroy or RevokeSubject does
// not open, and LegacyNotBefore cuts old ones off.
func TestLegacyDoor(t *testing.T) {
	hashKey, blockKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey)
	rand.Read(blockKey)
	store := sessions.NewCookieStore(hashKey, blockKey)
	setup := func(t *testing.T, subjectKey string, opts middleware.Options) (*clock, *http.Cookie, *middleware.Manager, http.Handler, *recorder) {
		clk := clockAt(time.Now()) // securecookie stamps with the real clock
		legacy := gorillaCookie(t, store, map[any]any{"user": "alice"})
		dec, err := gorilla.New(hashKey, blockKey, gorilla.Options{Now: clk.Now, SubjectKey: subjectKey, Anonymous: subjectKey == ""})
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		opts.Codec.Now, opts.Legacy, opts.Observer = clk.Now, dec, rec
		if opts.Revoker == nil {
			opts.Revoker = revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})
		}
		m := newManager(t, testKeyring(t), opts)
		return clk, legacy, m, m.Handler(userApp(m)), rec
	}
	t.Run("replay after Destroy in the migrating request, no subject", func(t *testing.T) {
		_, legacy, _, h, _ := setup(t, "", middleware.Options{})
		if w := do(t, h, "GET", "/logout", legacy); w.Code != http.StatusOK {
			t.Fatalf("logout: %d %q", w.Code, w.Body.String())
		}
		w := do(t, h, "GET", "/whoami", legacy)
		if w.Body.String() != "-" {
			t.Fatalf("replayed legacy cookie opened: %q", w.Body.String())
		}
	})
	for _, tc := range []struct {
		name   string
		revoke func(t *testing.T, m *middleware.Manager, h http.Handler, j jar)
	}{
		{"Destroy in a later request", func(t *testing.T, _ *middleware.Manager, h http.Handler, j jar) {
			if w := do(t, h, "GET", "/logout", j.List()...); w.Code != http.StatusOK {
				t.Fatalf("logout: %d", w.Code)
			}
		}},
		{"RevokeSubject", func(t *testing.T, m *middleware.Manager, _ http.Handler, _ jar) {
			if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run("replay after "+tc.name, func(t *testing.T) {
			clk, legacy, m, h, rec := setup(t, "user", middleware.Options{})
			j := jar{}
			w := do(t, h, "GET", "/whoami", legacy)
			if w.Body.String() != "alice/alice" {
				t.Fatalf("legacy session: %q", w.Body.String())
			}
			j.Update(w)
			clk.Advance(time.Second)
			tc.revoke(t, m, h, j)
			clk.Advance(time.Second)
			for name, c := range map[string][]*http.Cookie{"legacy": {legacy}, "native": j.List()} {
				if got := do(t, h, "GET", "/whoami", c...).Body.String(); got != "-" {
					t.Fatalf("%s copy opened: %q", name, got)
				}
			}
			if n := len(rec.invalid); n == 0 || !errors.Is(rec.invalid[n-1], revoke.ErrRevoked) {
				t.Fatalf("rejections %v", rec.invalid)
			}
		})
	}
	t.Run("issued-at kept, absolute timeout not restarted", func(t *testing.T) {
		clk, legacy, _, h, _ := setup(t, "user", middleware.Options{Codec: cookie.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 2 * time.Hour}})
		at := clk.Now()
		clk.Advance(90 * time.Minute) // gorilla's MaxAge is 30 days; idle is 1h: refresh below
		if got := do(t, h, "GET", "/whoami", legacy).Body.String(); got != "-" {
			t.Fatalf("legacy cookie idle for 90 min opened: %q", got)
		}
		clk.Set(at.Add(50 * time.Minute))
		j := jar{}
		w := do(t, h, "GET", "/whoami", legacy)
		j.Update(w)
		for range 2 {
			clk.Advance(30 * time.Minute)
			w = do(t, h, "GET", "/whoami", j.List()...)
			j.Update(w)
			if w.Body.String() != "alice/alice" {
				t.Fatalf("at +%v: %q", clk.Now().Sub(at), w.Body.String())
			}
		}
		clk.Set(at.Add(2*time.Hour + keyring.DefaultClockSkew + time.Millisecond))
		// Issued at the migration (+50 min), it would live to +170 min.
		if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "-" {
			t.Fatalf("migrated session outlived the legacy cookie's absolute deadline: %q", got)
		}
	})
	t.Run("LegacyNotBefore", func(t *testing.T) {
		_, legacy, _, h, rec := setup(t, "user", middleware.Options{LegacyNotBefore: time.Now().Add(time.Hour)})
		if got := do(t, h, "GET", "/whoami", legacy).Body.String(); got != "-" {
			t.Fatalf("legacy cookie before the cut-off opened: %q", got)
		}
		if len(rec.invalid) != 1 || !errors.Is(rec.invalid[0], cookie.ErrExpired) {
			t.Fatalf("rejections %v", rec.invalid)
		}
	})
}

// §6: during a revocation-store outage (fail closed) the request has no
// session, no write replaces the user's cookie, and no call reports a
// revocation that did not happen.
func TestOutageKeepsCookie(t *testing.T) {
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			rv := newSwitchRevoker(clk.Now)
			m, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: f, Now: clk.Now}, Revoker: rv, Observer: &recorder{}}) // an observer: nothing logged to slog.Default
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(userApp(m))
			j := jar{}
			j.Update(do(t, h, "GET", "/login?user=alice"))
			stolen := j.List()
			rv.Down.Store(true)
			for _, path := range []string{"/whoami", "/set?k=v", "/flash", "/login?user=bob", "/pw"} {
				w := do(t, h, "GET", path, j.List()...)
				if len(w.Result().Cookies()) != 0 {
					t.Fatalf("%s during the outage wrote %q", path, w.Header().Values("Set-Cookie"))
				}
				if path != "/whoami" && path != "/pw" && w.Code != http.StatusServiceUnavailable {
					t.Fatalf("%s during the outage: %d %q, want the fault reported", path, w.Code, w.Body.String())
				}
			}
			rv.Down.Store(false)
			if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "alice/alice" {
				t.Fatalf("after the outage: %q", got)
			}

			// Logout during the outage: reported, and the cookie still goes.
			rv.Down.Store(true)
			w := do(t, h, "GET", "/logout", j.List()...)
			rv.Down.Store(false)
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), errStoreDown.Error()) {
				t.Fatalf("Destroy during the outage: %d %q", w.Code, w.Body.String())
			}
			if c := setCookies(w)["session"]; c == nil || c.MaxAge != -1 {
				t.Fatalf("cookie not cleared: %q", w.Header().Values("Set-Cookie"))
			}
			// Honest: the revocation did not happen, and said so; a retry
			// once the store answers does it.
			if got := do(t, h, "GET", "/logout", stolen...); got.Code != http.StatusOK {
				t.Fatalf("retry: %d", got.Code)
			}
			if got := do(t, h, "GET", "/whoami", stolen...).Body.String(); got != "-" {
				t.Fatalf("copy after the retried logout: %q", got)
			}
		})
	}
}

// §7: repetition by a client that never reads its flashes, or logs out
// without logging in, grows nothing without bound and never ends in 500.
func TestUntrustedRepetition(t *testing.T) {
	for _, f := range formats {
		t.Run(f.String()+"/flashes", func(t *testing.T) {
			for _, size := range []int{1, 300} {
				m, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: f}})
				if err != nil {
					t.Fatal(err)
				}
				h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s, _ := middleware.From(r)
					if err := s.Set("user", "alice"); err != nil {
						t.Error(err)
					}
					if err := s.AddFlash(strings.Repeat("x", size)); err != nil {
						t.Error(err)
					}
				}))
				j := jar{}
				for i := range 150 {
					w := do(t, h, "POST", "/", j.List()...)
					if w.Code != http.StatusOK {
						t.Fatalf("size %d, request %d: %d", size, i, w.Code)
					}
					j.Update(w)
				}
				read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s, _ := middleware.From(r)
					fl, err := middleware.PopFlashes[string](s)
					u, _, _ := middleware.Get[string](s, "user")
					fmt.Fprintf(w, "%s %d %v", u, len(fl), err)
				}))
				got := do(t, read, "GET", "/", j.List()...).Body.String()
				var n int
				var u string
				fmt.Sscanf(got, "%s %d", &u, &n)
				if u != "alice" || n == 0 || n > middleware.DefaultMaxFlashes {
					t.Fatalf("size %d: after 150 flashes: %q", size, got)
				}
			}
		})
	}
	t.Run("MaxFlashes keeps the newest", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{MaxFlashes: 3})
		var got []int
		do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.From(r)
			for i := range 5 {
				if err := s.AddFlash(i); err != nil {
					t.Error(err)
				}
			}
			got, _ = middleware.PopFlashes[int](s)
		})), "GET", "/")
		if fmt.Sprint(got) != "[2 3 4]" {
			t.Fatalf("flashes %v", got)
		}
	})
	t.Run("anonymous logout writes no entry", func(t *testing.T) {
		clk := newClock()
		rv := newSwitchRevoker(clk.Now)
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rv})
		h := m.Handler(userApp(m))
		for range 50 {
			j := jar{}
			j.Update(do(t, h, "GET", "/flash")) // the anonymous session a visitor gets
			// Cleared, and said so: a copy of it stays valid.
			if w := do(t, h, "POST", "/logout", j.List()...); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), middleware.ErrNoSubject.Error()) {
				t.Fatalf("logout: %d %q, want ErrNoSubject", w.Code, w.Body.String())
			}
			do(t, h, "POST", "/logout")
		}
		if n := rv.Sessions.Load(); n != 0 {
			t.Fatalf("%d entries from anonymous logouts", n)
		}
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=alice"))
		before := rv.Sessions.Load() // Renew at login retires the pre-login id
		do(t, h, "POST", "/logout", j.List()...)
		// The session's tombstone (for a Renew racing the logout), then
		// the session itself.
		if rv.Sessions.Load() != before+2 {
			t.Fatalf("a logged-in logout wrote %d entries, want 2", rv.Sessions.Load()-before)
		}
	})
}

// §8: the smaller holes.
func TestRevocationEdges(t *testing.T) {
	for _, f := range formats {
		t.Run(f.String()+"/revoked until the last instant it could open", func(t *testing.T) {
			for _, how := range []string{"Destroy", "RevokeSubject"} {
				clk := newClock()
				opts := middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now, IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour}, RefreshAfter: time.Minute,
					Revoker: revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})}
				opts.InsecureNoHostPrefix = true
				m, err := middleware.New(testKeyring(t), "session", opts)
				if err != nil {
					t.Fatal(err)
				}
				h := m.Handler(userApp(m))
				j := jar{}
				j.Update(do(t, h, "GET", "/login?user=alice"))
				issued := clk.Now()
				stolen := j.List()
				clk.Advance(time.Millisecond)
				if how == "Destroy" {
					do(t, h, "GET", "/logout", j.List()...)
				} else if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
					t.Fatal(err)
				}
				// The last instant the codec opens it: issued + 1h + skew.
				clk.Set(issued.Add(time.Hour + keyring.DefaultClockSkew))
				if got := do(t, h, "GET", "/whoami", stolen...).Body.String(); got != "-" {
					t.Fatalf("%s: opened at the boundary: %q", how, got)
				}
			}
		})
	}
	t.Run("Destroy after SetSubject without Renew revokes both pairs", func(t *testing.T) {
		clk := newClock()
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})})
		h := m.Handler(userApp(m))
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=bob"))
		bobCopy := j.List()
		do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.From(r)
			if err := errors.Join(s.SetSubject("alice"), s.Destroy()); err != nil {
				t.Error(err)
			}
		})), "GET", "/", j.List()...)
		clk.Advance(time.Millisecond)
		if got := do(t, h, "GET", "/whoami", bobCopy...).Body.String(); got != "-" {
			t.Fatalf("the copy with the earlier subject opened: %q", got)
		}
	})
	t.Run("a session first read after the response started", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{})
		h := m.Handler(userApp(m))
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=alice"))
		// The rule (issue 24 item 9): a first read after the header went
		// out answers no session unless the header as sent kept shared
		// caches out; changes are refused either way, and the headers,
		// already gone, carry no Vary and no cookie.
		for _, tc := range []struct {
			name         string
			cacheControl string
			wantSubject  string
		}{
			{name: "cacheable response", wantSubject: ""},
			{name: "private response", cacheControl: "private", wantSubject: "alice"},
			{name: "no-store response", cacheControl: "no-store", wantSubject: "alice"},
		} {
			var setErr error
			var sub string
			w := do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.cacheControl != "" {
					w.Header().Set("Cache-Control", tc.cacheControl)
				}
				w.Write([]byte("body first"))
				s, _ := middleware.From(r)
				sub = s.Subject()
				setErr = s.Set("k", "v")
			})), "GET", "/", j.List()...)
			if sub != tc.wantSubject || !errors.Is(setErr, middleware.ErrResponseStarted) {
				t.Fatalf("%s: subject %q (want %q), Set: %v", tc.name, sub, tc.wantSubject, setErr)
			}
			if w.Header().Get("Vary") != "" || len(w.Result().Cookies()) != 0 {
				t.Fatalf("%s: headers changed after the response started: %v", tc.name, w.Header())
			}
		}
	})
	t.Run("timeouts bounded", func(t *testing.T) {
		for _, o := range []middleware.Options{
			{Codec: cookie.Options{AbsoluteTimeout: keyring.MaxTimeout + time.Second}},
			{Codec: cookie.Options{IdleTimeout: keyring.MaxTimeout + time.Second, AbsoluteTimeout: keyring.MaxTimeout + time.Second}},
			{Codec: cookie.Options{AbsoluteTimeout: 1<<63 - 1}},
		} {
			o.InsecureNoHostPrefix = true
			if _, err := middleware.New(testKeyring(t), "session", o); err == nil {
				t.Fatalf("accepted %+v", o)
			}
		}
		if _, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{AbsoluteTimeout: keyring.MaxTimeout}}); err != nil {
			t.Fatal(err)
		}
	})
}
