package interop_test

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/gorilla"
	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/middleware"
)

// newBrowser is a client with net/http/cookiejar's RFC 6265 jar
// (internal/sessiontest, shared with middleware's tests).
var newBrowser = fixtures.NewBrowser

// §4: cookies this host cannot clear with its own attributes never lock
// the user out, and a sibling's planted session is still refused.
func TestDuplicateCookies(t *testing.T) {
	const host = "app.example.com"
	t.Run("Domain to host-only migration", func(t *testing.T) {
		clk := newClock()
		kr := testKeyring(t)
		rv := newSwitchRevoker(clk.Now)
		oldM := newManager(t, kr, middleware.Options{Domain: "example.com", Codec: cookie.Options{Now: clk.Now}, Revoker: rv})
		// FormerDomains names the old Domain: every write after a request
		// that carried the cookie clears it there (rule 5), so no old copy
		// is left to disagree with the new one.
		newM := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rv, FormerDomains: []string{"example.com"}})
		old, neu := oldM.Handler(userApp(oldM)), newM.Handler(userApp(newM))
		b := newBrowser(t, host)
		b.Do(t, old, "/login?user=alice")
		dups := 0
		for i := range 8 {
			clk.Advance(7 * time.Hour) // past RefreshAfter: each request writes
			if b.Count("session") > 1 {
				dups++
			}
			path := "/whoami"
			if i%2 == 0 {
				path = "/set?n=" + string(rune('a'+i))
			}
			w := b.Do(t, neu, path)
			if i%2 == 1 && w.Body.String() != "alice/alice" {
				t.Fatalf("request %d: no session (%q); Set-Cookie %q", i, w.Body.String(), w.Header().Values("Set-Cookie"))
			}
			if i%2 == 0 && w.Code != http.StatusOK {
				t.Fatalf("request %d: %d %q", i, w.Code, w.Body.String())
			}
		}
		if dups > 0 || b.Count("session") != 1 {
			t.Fatalf("%d requests carried duplicates; %d cookies left", dups, b.Count("session"))
		}
	})

	t.Run("Domain to host-only migration without FormerDomains", func(t *testing.T) {
		clk := newClock()
		kr := testKeyring(t)
		oldM := newManager(t, kr, middleware.Options{Domain: "example.com", Codec: cookie.Options{Now: clk.Now}})
		newM := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now}})
		old, neu := oldM.Handler(userApp(oldM)), newM.Handler(userApp(newM))
		b := newBrowser(t, host)
		b.Do(t, old, "/login?user=alice")
		logouts := 0
		for i := range 8 {
			clk.Advance(7 * time.Hour)
			if w := b.Do(t, neu, "/whoami"); w.Body.String() != "alice/alice" {
				if logouts++; logouts > 1 {
					t.Fatalf("request %d: logged out again: %q", i, w.Header().Values("Set-Cookie"))
				}
				b.Do(t, neu, "/login?user=alice")
			}
		}
		if logouts != 1 || b.Count("session") != 1 {
			t.Fatalf("%d logouts (the old copy and the new one disagree once), %d cookies left", logouts, b.Count("session"))
		}
	})

	t.Run("gorilla cookie with a Domain", func(t *testing.T) {
		clk := clockAt(time.Now()) // securecookie stamps with the real clock
		hashKey, blockKey := make([]byte, 32), make([]byte, 32)
		rand.Read(hashKey)
		rand.Read(blockKey)
		store := sessions.NewCookieStore(hashKey, blockKey)
		store.Options.Domain = "example.com"
		b := newBrowser(t, host)
		legacy := gorillaCookie(t, store, map[any]any{"user": "alice"})
		b.Jar.SetCookies(b.URL(), []*http.Cookie{legacy})
		dec, err := gorilla.New(hashKey, blockKey, gorilla.Options{Now: clk.Now, SubjectKey: "user"})
		if err != nil {
			t.Fatal(err)
		}
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Legacy: dec, Revoker: newSwitchRevoker(clk.Now), FormerDomains: []string{"example.com"}})
		h := m.Handler(userApp(m))
		dups := 0
		for i := range 6 {
			if b.Count("session") > 1 {
				dups++
			}
			if got := b.Do(t, h, "/whoami").Body.String(); got != "alice/alice" {
				t.Fatalf("request %d: %q", i, got)
			}
			clk.Advance(7 * time.Hour)
		}
		if dups > 0 || b.Count("session") != 1 {
			t.Fatalf("%d requests carried duplicates; %d cookies left", dups, b.Count("session"))
		}
	})

	t.Run("a sibling's planted session is refused", func(t *testing.T) {
		clk := newClock()
		kr := testKeyring(t)
		rec := &recorder{}
		victimM := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now}, Observer: rec})
		siblingM := newManager(t, kr, middleware.Options{Domain: "example.com", Codec: cookie.Options{Now: clk.Now}})
		victim, sibling := victimM.Handler(userApp(victimM)), siblingM.Handler(userApp(siblingM))
		b := newBrowser(t, host)
		b.Do(t, victim, "/login?user=alice")
		attacker := newBrowser(t, "evil.example.com")
		attacker.Do(t, sibling, "/login?user=mallory")
		planted := attacker.Jar.Cookies(attacker.URL())[0]
		planted.Domain = "example.com" // what the sibling's manager set
		b.Jar.SetCookies(&url.URL{Scheme: "https", Host: "evil.example.com"}, []*http.Cookie{planted})
		if b.Count("session") != 2 {
			t.Fatalf("setup: %d cookies", b.Count("session"))
		}
		w := b.Do(t, victim, "/whoami")
		if w.Body.String() != "-" {
			t.Fatalf("swapped into %q", w.Body.String())
		}
		if len(rec.invalid) != 1 || !errors.Is(rec.invalid[0], middleware.ErrDuplicateCookie) {
			t.Fatalf("rejections %v", rec.invalid)
		}
		// The planted copy is cleared; the user's own is kept (rule 3),
		// and opens on the next request with no new login.
		if b.Count("session") != 1 {
			t.Fatalf("%d copies left, want the user's", b.Count("session"))
		}
		if got := b.Do(t, victim, "/whoami").Body.String(); got != "alice/alice" {
			t.Fatalf("after the clearing response: %q", got)
		}
		b.Do(t, victim, "/login?user=alice")
		if got := b.Do(t, victim, "/whoami").Body.String(); got != "alice/alice" {
			t.Fatalf("after logging in again: %q", got)
		}
	})

	t.Run("same session twice, two values: no session", func(t *testing.T) {
		clk := newClock()
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
		h := m.Handler(userApp(m))
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=alice"))
		older := j["session"]
		clk.Advance(time.Minute)
		j.Update(do(t, h, "GET", "/set?user=bob", j.List()...)) // the same id, a newer value
		w := do(t, h, "GET", "/whoami", &http.Cookie{Name: "session", Value: older.Value}, &http.Cookie{Name: "session", Value: j["session"].Value})
		if w.Body.String() != "-" {
			t.Fatalf("got %q: a copy was picked", w.Body.String())
		}
		// Both open on their own: either may be the user's copy, so the
		// configured place is kept (rule 3), and on the host example.com
		// a jar that keys cookies as RFC 6265 does takes Domain=example.com
		// at Path=/ for it too: only the places under the request's own
		// path are cleared.
		for _, c := range w.Result().Cookies() {
			if c.MaxAge >= 0 || c.Path == "/" {
				t.Fatalf("the user's copy is not kept: %q", w.Header().Values("Set-Cookie"))
			}
		}
	})

	t.Run("a plain cookie beside a broken chunk set: no session, all cleared", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{MaxChunks: 4})
		h := m.Handler(userApp(m))
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=alice"))
		w := do(t, h, "GET", "/whoami", j["session"], &http.Cookie{Name: "session.0", Value: "stale"}, &http.Cookie{Name: "session.2", Value: "stale"})
		if w.Body.String() != "-" {
			t.Fatalf("got %q", w.Body.String())
		}
		cleared := map[string]bool{}
		for _, c := range w.Result().Cookies() {
			if c.MaxAge < 0 && c.Domain == "" {
				cleared[c.Name] = true
			}
		}
		if !cleared["session"] || !cleared["session.0"] || !cleared["session.2"] {
			t.Fatalf("not cleared: %q", w.Header().Values("Set-Cookie"))
		}
	})
	t.Run("clearing lines are bounded", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{MaxChunks: 4,
			FormerDomains: []string{"a.com", "b.com", "c.com", "d.com"}, FormerPaths: []string{"/a", "/b", "/c", "/d"}})
		r := httptest.NewRequest("GET", "https://a.b.c.d.example.com/whoami", nil)
		r.Header.Add("Cookie", "session=a; session=b; session.0=x; session.0=y; session.1=z")
		w := httptest.NewRecorder()
		m.Handler(userApp(m)).ServeHTTP(w, r)
		n := 0
		for _, l := range w.Header().Values("Set-Cookie") {
			n += len("Set-Cookie: \r\n") + len(l)
		}
		if n < 2048 || n > 4096 {
			t.Fatalf("%d bytes of clearing lines, want the 4096-byte budget used and kept", n)
		}
	})
	t.Run("expired copies", func(t *testing.T) {
		tests := []struct {
			name, host string
			opts       middleware.Options
			want       []string // Domain|Path of every extra expiry
		}{
			{"parents", "a.b.example.com:8443", middleware.Options{},
				[]string{"a.b.example.com|/", "b.example.com|/", "example.com|/", "a.b.example.com|/whoami", "b.example.com|/whoami", "example.com|/whoami", "|/whoami"}},
			{"configured Domain kept out", "a.example.com", middleware.Options{Domain: "example.com"},
				[]string{"a.example.com|/", "|/", "a.example.com|/whoami", "example.com|/whoami", "|/whoami"}},
			{"former values", "a.example.com", middleware.Options{FormerDomains: []string{"example.com", "legacy.example.com"}, FormerPaths: []string{"/app"}},
				[]string{"|/app", "example.com|/", "example.com|/app", "legacy.example.com|/", "legacy.example.com|/app", "a.example.com|/", "a.example.com|/whoami", "example.com|/whoami", "|/whoami"}},
			{"IP address", "127.0.0.1:80", middleware.Options{}, []string{"|/whoami"}},
			{"one label", "localhost", middleware.Options{}, []string{"|/whoami"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := newManager(t, testKeyring(t), tt.opts)
				r := httptest.NewRequest("GET", "http://"+tt.host+"/whoami", nil)
				r.Header.Add("Cookie", "session=a; session=b")
				w := httptest.NewRecorder()
				m.Handler(userApp(m)).ServeHTTP(w, r)
				var got []string
				for _, c := range w.Result().Cookies() {
					if c.MaxAge != -1 {
						t.Fatalf("not an expiry: %v", c)
					}
					if c.Domain != tt.opts.Domain || c.Path != "/" {
						got = append(got, c.Domain+"|"+c.Path)
					}
				}
				slices.Sort(got)
				slices.Sort(tt.want)
				if !slices.Equal(got, tt.want) {
					t.Fatalf("expired %q, want %q", got, tt.want)
				}
			})
		}
	})
}

// gorillaCookie is the cookie a gorilla/sessions CookieStore writes for
// values, as the old app did.
func gorillaCookie(t *testing.T, store *sessions.CookieStore, values map[any]any) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	gs, _ := store.Get(r, "session")
	for k, v := range values {
		gs.Values[k] = v
	}
	if err := gs.Save(r, w); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if strings.Contains(c.Value, ";") {
		t.Fatal("bad cookie")
	}
	return c
}
