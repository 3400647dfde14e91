package interop_test

import (
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/gorilla"
	"github.com/cookieseal/cookieseal/middleware"
)

// TestLegacyCookieCannotReplayAfterDestroy: with a Revoker, migrating a
// legacy cookie revokes its derived id, with or without a subject
// (SubjectKey "" is the default), so after a Destroy made with the
// native cookie the legacy cookie does not open again.
func TestLegacyCookieCannotReplayAfterDestroy(t *testing.T) {
	for _, subjectKey := range []string{"", "user"} {
		clk := clockAt(time.Now())
		hashKey, blockKey := make([]byte, 32), make([]byte, 32)
		rand.Read(hashKey)
		rand.Read(blockKey)
		store := sessions.NewCookieStore(hashKey, blockKey)
		legacy := gorillaCookie(t, store, map[any]any{"user": "alice"})
		dec, err := gorilla.New(hashKey, blockKey, gorilla.Options{Now: clk.Now, SubjectKey: subjectKey, Anonymous: subjectKey == ""})
		if err != nil {
			t.Fatal(err)
		}
		rv := newSwitchRevoker(clk.Now)
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Legacy: dec, Revoker: rv})
		h := m.Handler(userApp(m))
		j := jar{}
		w := do(t, h, "GET", "/set?seen=1", legacy) // migrates
		j.Update(w)
		if j["session"] == nil || j["session"].Value == legacy.Value {
			t.Fatalf("setup: not migrated: %q", w.Header().Values("Set-Cookie"))
		}
		clk.Advance(time.Minute)
		w = do(t, h, "GET", "/logout", j.List()...) // Destroy with the native cookie
		t.Logf("subjectKey %q: logout %d %q; entries %d", subjectKey, w.Code, w.Body.String(), rv.Sessions.Load())
		clk.Advance(time.Minute)
		r := do(t, h, "GET", "/set?again=1", legacy)
		var got string
		for _, c := range r.Result().Cookies() {
			if c.Name == "session" && c.MaxAge > 0 {
				got = c.Value
			}
		}
		if got != "" {
			// open the replayed session's values
			v := do(t, http.Handler(m.Handler(readLegacyUser(m))), "GET", "/", &http.Cookie{Name: "session", Value: got}).Body.String()
			if v != "alice" {
				continue // a fresh, empty session: the replay was refused
			}
			t.Errorf("subjectKey %q: the legacy cookie replays after Destroy: new session with user=%q", subjectKey, v)
		}
	}
}

func readLegacyUser(m *middleware.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r)
		u, _, _ := middleware.Get[string](s, "user")
		w.Write([]byte(u))
	})
}
