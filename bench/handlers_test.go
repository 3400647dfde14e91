package bench

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"

	"github.com/cookieseal/cookieseal/middleware"
)

// The handlers every benchmark and the load test serve, one pair per
// library: read answers user_id from the session (500 without one);
// write does the same after setting last_page, so the whole session is
// encoded and sent (scs: to its store) on every response.

// cookiesealHandlers are cookieseal's read and write handlers, through m.
func cookiesealHandlers(m *middleware.Manager) (read, write http.Handler) {
	handler := func(set bool) http.Handler {
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := middleware.From(r)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			uid, ok, err := middleware.Get[int64](s, "user_id")
			if err != nil || !ok {
				http.Error(w, "no session", 500)
				return
			}
			if set {
				if err := s.Set("last_page", "/dashboard"); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
			}
			writeUID(w, uid)
		}))
	}
	return handler(false), handler(true)
}

// scsHandlers are scs's read and write handlers, through sm.
func scsHandlers(sm *scs.SessionManager) (read, write http.Handler) {
	handler := func(set bool) http.Handler {
		return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			uid, ok := sm.Get(r.Context(), "user_id").(int64)
			if !ok {
				http.Error(w, "no session", 500)
				return
			}
			if set {
				sm.Put(r.Context(), "last_page", "/dashboard")
			}
			writeUID(w, uid)
		}))
	}
	return handler(false), handler(true)
}

// gorillaHandlers are gorilla/sessions' read and write handlers, on the
// session name in store.
func gorillaHandlers(store sessions.Store, name string) (read, write http.Handler) {
	handler := func(set bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, name)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			uid, ok := s.Values["user_id"].(int64)
			if !ok {
				http.Error(w, "no session", 500)
				return
			}
			if set {
				s.Values["last_page"] = "/dashboard"
				if err := s.Save(r, w); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
			}
			writeUID(w, uid)
		})
	}
	return handler(false), handler(true)
}

// gorillaStore returns a gorilla/sessions CookieStore with fresh random
// keys, and its login handler, which stores vals in the session name. fits
// is false when the session does not fit gorilla's 4096-byte cookie
// (securecookie's MaxLength); the login then saves nothing.
func gorillaStore(name string, vals map[string]any) (store *sessions.CookieStore, login http.Handler, fits bool) {
	hashKey, blockKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey)
	rand.Read(blockKey)
	store = sessions.NewCookieStore(hashKey, blockKey)
	var saveErr error
	login = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, name)
		for k, v := range vals {
			s.Values[k] = v
		}
		saveErr = s.Save(r, w)
	})
	login.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/login", nil))
	return store, login, saveErr == nil
}
