package interop_test

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/gorilla"
	"github.com/cookieseal/cookieseal/middleware"
)

var _ middleware.LegacyDecoder = (*gorilla.Decoder)(nil)

// The manager behaves the same over every wire format: a read carries no
// Set-Cookie (the format's header names the primary key and epoch), a
// refresh comes after RefreshAfter, a tampered cookie is refused.
func TestFormats(t *testing.T) {
	for _, f := range []cookie.Format{cookie.Native, cookie.JWE} {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			rec := &recorder{}
			m, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: f, Now: clk.Now, IdleTimeout: time.Hour}, RefreshAfter: 10 * time.Minute, Observer: rec})
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(app(t))
			j := jar{}
			j.Update(do(t, h, "GET", "/set?k=v"))
			if f == cookie.JWE && strings.Count(j["session"].Value, ".") != 4 {
				t.Fatalf("not JWE compact: %q", j["session"].Value)
			}
			w := do(t, h, "GET", "/get?k=k", j.List()...)
			if w.Body.String() != "v" || len(w.Result().Cookies()) != 0 {
				t.Fatalf("read: %q, %v", w.Body.String(), w.Header().Values("Set-Cookie"))
			}
			clk.Advance(10 * time.Minute)
			w = do(t, h, "GET", "/get?k=k", j.List()...)
			if w.Body.String() != "v" || setCookies(w)["session"] == nil {
				t.Fatalf("refresh: %q, %v", w.Body.String(), w.Header().Values("Set-Cookie"))
			}
			v := []byte(j["session"].Value)
			v[len(v)-3] ^= 'A' ^ 'B'
			w = do(t, h, "GET", "/get?k=k", &http.Cookie{Name: "session", Value: string(v)})
			if w.Body.String() != "-" || len(rec.invalid) != 1 || !errors.Is(rec.invalid[0], cookie.ErrInvalid) {
				t.Fatalf("tampered: %q, told %v", w.Body.String(), rec.invalid)
			}
		})
	}
}

// A real gorilla/sessions CookieStore cookie, read through gorilla.Decoder
// as Options.Legacy, becomes a native session with the same values.
func TestGorillaMigration(t *testing.T) {
	hashKey, blockKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey)
	rand.Read(blockKey)
	store := sessions.NewCookieStore(hashKey, blockKey)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	gs, _ := store.Get(r, "session")
	gs.Values["user_id"] = int64(1<<60 + 3)
	gs.Values["name"] = "alice"
	gs.AddFlash("Welcome back.")
	if err := gs.Save(r, w); err != nil {
		t.Fatal(err)
	}
	old := w.Result().Cookies()[0]

	dec, err := gorilla.New(hashKey, blockKey, gorilla.Options{Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, testKeyring(t), middleware.Options{Legacy: dec})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		uid, _, err1 := middleware.Get[int64](s, "user_id")
		name, _, err2 := middleware.Get[string](s, "name")
		flashes, err3 := middleware.PopFlashes[string](s)
		if _, ok, _ := s.Get("_flash"); ok {
			t.Error("gorilla's _flash key kept as data")
		}
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Error(err)
		}
		w.Write([]byte(strings.Join(append([]string{name, time.Duration(uid).String()}, flashes...), "|")))
	}))
	w = do(t, h, "GET", "/", old)
	if want := "alice|" + time.Duration(int64(1<<60+3)).String() + "|Welcome back."; w.Body.String() != want {
		t.Fatalf("migrated session: %q, want %q", w.Body.String(), want)
	}
	c := setCookies(w)["session"]
	if c == nil || c.Value == old.Value {
		t.Fatal("not re-sealed natively")
	}
	if got, want := do(t, h, "GET", "/", c).Body.String(), "alice|"+time.Duration(int64(1<<60+3)).String(); got != want {
		t.Fatalf("native cookie after migration: %q", got)
	}
}

// countingLegacy counts the values the session manager hands its
// LegacyDecoder.
type countingLegacy struct {
	dec   middleware.LegacyDecoder
	calls atomic.Int64
}

func (c *countingLegacy) DecodeSession(name, value string) (cookie.LegacySession, error) {
	c.calls.Add(1)
	return c.dec.DecodeSession(name, value)
}

// The legacy (gorilla) reader is the last way in, in a manager of either
// format: a cookie of either format that opens, or that is authentic but
// expired, never reaches it; a tampered cookie of either format (neither
// format opens it) and a real gorilla/sessions cookie do, once each, and
// the gorilla session is migrated into the manager's format.
func TestLegacyTriedAfterBothFormats(t *testing.T) {
	hashKey, blockKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey)
	rand.Read(blockKey)
	store := sessions.NewCookieStore(hashKey, blockKey)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	gs, _ := store.Get(r, "session")
	gs.Values["k"] = "from gorilla"
	if err := gs.Save(r, w); err != nil {
		t.Fatal(err)
	}
	old := w.Result().Cookies()[0]
	dec, err := gorilla.New(hashKey, blockKey, gorilla.Options{Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	kr := testKeyring(t)
	var offset atomic.Int64 // the managers' clock: real time (gorilla's), moved by the test
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	formatOf := func(v string) cookie.Format {
		if strings.Count(v, ".") == 4 {
			return cookie.JWE
		}
		return cookie.Native
	}
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			offset.Store(0)
			legacy := &countingLegacy{dec: dec}
			h := newManager(t, kr, middleware.Options{Codec: cookie.Options{Format: f, Now: now}, Legacy: legacy}).Handler(app(t))
			calls := func(want int64, what string) {
				t.Helper()
				if got := legacy.calls.Swap(0); got != want {
					t.Fatalf("%s: the legacy reader saw %d values, want %d", what, got, want)
				}
			}
			w := do(t, h, "GET", "/get?k=k", old)
			c := setCookies(w)["session"]
			if w.Body.String() != "from gorilla" || c == nil || formatOf(c.Value) != f {
				t.Fatalf("gorilla cookie: %q, re-sealed as %v", w.Body.String(), c)
			}
			calls(1, "gorilla cookie")
			for _, g := range formats {
				writer := newManager(t, kr, middleware.Options{Codec: cookie.Options{Format: g, Now: now}}).Handler(app(t))
				v := setCookies(do(t, writer, "GET", "/set?k="+g.String()))["session"]
				if got := do(t, h, "GET", "/get?k=k", v).Body.String(); got != g.String() {
					t.Fatalf("%v cookie: %q", g, got)
				}
				calls(0, g.String()+" cookie that opens")
				b := []byte(v.Value)
				if i := len(b) - 30; b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				if got := do(t, h, "GET", "/get?k=k", &http.Cookie{Name: "session", Value: string(b)}).Body.String(); got != "-" {
					t.Fatalf("tampered %v cookie: %q", g, got)
				}
				calls(1, "tampered "+g.String()+" cookie")
				offset.Store(int64(25 * time.Hour)) // past the default IdleTimeout and ClockSkew
				if got := do(t, h, "GET", "/get?k=k", v).Body.String(); got != "-" {
					t.Fatalf("expired %v cookie: %q", g, got)
				}
				calls(0, "expired "+g.String()+" cookie")
				offset.Store(0)
			}
		})
	}
}
