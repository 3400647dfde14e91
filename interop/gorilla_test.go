package interop

import (
	"bytes"
	"encoding/gob"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/gorilla"
	"github.com/gorilla/sessions"
)

var (
	legacyHash  = bytes.Repeat([]byte{0x5a}, 64)
	legacyBlock = bytes.Repeat([]byte{0xa5}, 32)
)

// profile is a custom type an old app kept in its session.
type profile struct{ Theme string }

// legacyApp is an app on gorilla/sessions: its login handler stores
// values in a CookieStore session, as such apps do.
func legacyApp(store *sessions.CookieStore, set func(*sessions.Session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "session")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		set(s)
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// login runs the old app's handler over real HTTP and returns the
// session cookie it set.
func login(t *testing.T, store *sessions.CookieStore, set func(*sessions.Session)) *http.Cookie {
	t.Helper()
	srv := httptest.NewServer(legacyApp(store, set))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("old app answered %s", resp.Status)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	t.Fatal("old app set no session cookie")
	return nil
}

// TestGorillaSessionsMigrate checks that cookies written by gorilla/sessions'
// CookieStore come out of gorilla.Decoder with their values intact.
func TestGorillaSessionsMigrate(t *testing.T) {
	// The old app registered these with encoding/gob, as gorilla/sessions
	// requires for non-basic types; the migrating app keeps doing so.
	gob.Register(time.Time{})
	gob.Register(map[string]any{})
	gob.Register(profile{})

	when := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	store := sessions.NewCookieStore(legacyHash, legacyBlock)
	c := login(t, store, func(s *sessions.Session) {
		s.Values["user_id"] = int64(123456)
		s.Values["name"] = "Zoë"
		s.Values["admin"] = true
		s.Values["score"] = 3.5
		s.Values["visits"] = uint16(7)
		s.Values["roles"] = []string{"admin", "editor"}
		s.Values["avatar"] = []byte{0xff, 0x00, 0x10}
		s.Values["ids"] = []int{4, 5}
		s.Values["last_login"] = when
		s.Values["prefs"] = map[string]any{"lang": "fr", "beta": false, "n": 3}
		s.AddFlash("welcome back")
	})
	g, err := gorilla.New(legacyHash, legacyBlock, gorilla.Options{MaxAge: time.Duration(store.Options.MaxAge) * time.Second, Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.DecodeLegacy(c.Name, c.Value)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"user_id":    int64(123456),
		"name":       "Zoë",
		"admin":      true,
		"score":      3.5,
		"visits":     uint64(7),
		"roles":      []string{"admin", "editor"},
		"avatar":     []byte{0xff, 0x00, 0x10},
		"ids":        []any{int64(4), int64(5)},
		"last_login": "2026-11-23T09:00:00.123456789Z",
		"prefs":      map[string]any{"lang": "fr", "beta": false, "n": int64(3)},
		"_flash":     []any{"welcome back"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}

	for _, tc := range []struct {
		name   string
		store  func() *sessions.CookieStore
		set    func(*sessions.Session)
		maxAge time.Duration
		now    time.Duration
		want   error
	}{
		{"custom type", func() *sessions.CookieStore { return sessions.NewCookieStore(legacyHash, legacyBlock) },
			func(s *sessions.Session) { s.Values["profile"] = profile{"dark"}; s.Values["user_id"] = 1 }, 0, 0, cookie.ErrLegacyType},
		{"within a short MaxAge", func() *sessions.CookieStore {
			s := sessions.NewCookieStore(legacyHash, legacyBlock)
			s.MaxAge(3600)
			return s
		}, func(s *sessions.Session) { s.Values["user_id"] = 1 }, time.Hour, 59 * time.Minute, nil},
		{"past a short MaxAge", func() *sessions.CookieStore {
			s := sessions.NewCookieStore(legacyHash, legacyBlock)
			s.MaxAge(3600)
			return s
		}, func(s *sessions.Session) { s.Values["user_id"] = 1 }, time.Hour, 61 * time.Minute, cookie.ErrExpired},
		{"other keys", func() *sessions.CookieStore {
			return sessions.NewCookieStore(bytes.Repeat([]byte{1}, 64), legacyBlock)
		}, func(s *sessions.Session) { s.Values["user_id"] = 1 }, 0, 0, cookie.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := login(t, tc.store(), tc.set)
			g, err := gorilla.New(legacyHash, legacyBlock, gorilla.Options{Anonymous: true, MaxAge: tc.maxAge, Now: func() time.Time { return time.Now().Add(tc.now) }})
			if err != nil {
				t.Fatal(err)
			}
			got, err := g.DecodeLegacy(c.Name, c.Value)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeLegacy = %v, %v; want %v", got, err, tc.want)
			}
			if tc.want == nil && got["user_id"] != int64(1) {
				t.Fatalf("values %v", got)
			}
		})
	}
}
