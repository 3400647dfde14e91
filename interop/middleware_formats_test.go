package interop_test

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
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
			m, err := middleware.New(testKeyring(t), "session", middleware.Options{Format: f, Now: clk.Now, IdleTimeout: time.Hour, RefreshAfter: 10 * time.Minute, Observer: rec})
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

	dec, err := gorilla.New(hashKey, blockKey, gorilla.Options{})
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
