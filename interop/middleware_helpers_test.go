package interop_test

// Copied from middleware's test helpers for the tests that moved here
// (they need gorilla/sessions, chi or cookie/gorilla, which the root
// module does not require).

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// clock is an injectable clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.Generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newManager(t testing.TB, keys keyring.Provider, opts middleware.Options) *middleware.Manager {
	t.Helper()
	m, err := middleware.New(keys, "session", opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// do sends one request with cookies through h and returns the recorder.
func do(t testing.TB, h http.Handler, method, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// setCookies returns the response's Set-Cookie lines parsed, by name.
func setCookies(w *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

// jar keeps the cookies a test client holds, applying Set-Cookie.
type jar map[string]*http.Cookie

func (j jar) update(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c
		}
	}
}

func (j jar) list() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// app is a small handler set used by many tests.
//
//	/set?k=v      stores v (a string) under k
//	/setint?k=n   stores an int64
//	/get?k=       writes the string under k, or "-" if absent
//	/id           writes the session id
//	/renew        renews
//	/destroy      destroys
//	/touch        reads a key (so the cookie is opened), writes "ok"
//	/none         never touches the session
func app(t testing.TB) http.Handler {
	mux := http.NewServeMux()
	sess := func(w http.ResponseWriter, r *http.Request) *middleware.Session {
		s, err := middleware.From(r)
		if err != nil {
			t.Errorf("From: %v", err)
			http.Error(w, err.Error(), 500)
			return nil
		}
		return s
	}
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		s := sess(w, r)
		for k, v := range r.URL.Query() {
			if err := s.Set(k, v[0]); err != nil {
				t.Errorf("Set: %v", err)
			}
		}
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s := sess(w, r)
		v, ok, err := middleware.Get[string](s, r.URL.Query().Get("k"))
		if err != nil {
			t.Errorf("Get: %v", err)
		}
		if !ok {
			v = "-"
		}
		w.Write([]byte(v))
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(sess(w, r).ID()))
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(w, r).Renew(); err != nil {
			t.Errorf("Renew: %v", err)
		}
		w.Write([]byte(sess(w, r).ID()))
	})
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(w, r).Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	mux.HandleFunc("/touch", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get[string](sess(w, r), "x")
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/none", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})
	return mux
}
