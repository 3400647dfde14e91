// Package sessiontest holds the test fixtures that the session manager's
// own tests (middleware) and the tests beside real peers (interop, its own
// module) share beyond what the public package
// github.com/cookieseal/cookieseal/sessiontest gives users (a clock, a
// manager on a fresh key, a logged-in request, a failing revoker): a
// manager on given keys, small handler sets, a revocation list that can be
// taken down, and clients with cookie jars. It is for tests only.
package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/sessiontest"
)

// Keyring returns a keyring with one fresh primary key.
func Keyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// ManagerOn returns a manager of the cookie "session" on keys (accepted
// with InsecureNoHostPrefix), failing t on error (the public
// sessiontest.NewManager makes its own keys).
func ManagerOn(t testing.TB, keys keyring.Provider, opts middleware.Options) *middleware.Manager {
	t.Helper()
	opts.InsecureNoHostPrefix = true
	m, err := middleware.New(keys, "session", opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Do sends one request with cookies through h and returns the recorder.
func Do(t testing.TB, h http.Handler, method, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Jar keeps the cookies a test client holds, by name, applying each
// response's Set-Cookie lines (a Max-Age below 0 deletes). It ignores
// Domain and Path: see Browser for a jar that keeps them.
type Jar map[string]*http.Cookie

// Update applies w's Set-Cookie lines.
func (j Jar) Update(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c
		}
	}
}

// List returns the cookies to send: names and values only.
func (j Jar) List() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// SetCookies returns the response's Set-Cookie lines parsed, by name.
func SetCookies(w *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

// App is a small handler set used by many tests.
//
//	/set?k=v      stores v (a string) under k
//	/get?k=       writes the string under k, or "-" if absent
//	/id           writes the session id
//	/renew        renews
//	/destroy      destroys
//	/touch        reads a key (so the cookie is opened), writes "ok"
//	/none         never touches the session
func App(t testing.TB) http.Handler {
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

// SwitchRevoker is a revoke.Memory that a test can take down (every call
// then fails with sessiontest.ErrStoreDown, as the public FailingRevoker's), whose writes it counts, and whose Check
// can run a hook after reading the list and before answering (to land a
// revocation in the middle of a check).
type SwitchRevoker struct {
	Mem                *revoke.Memory
	Down               atomic.Bool
	Sessions, Subjects atomic.Int64 // successful-or-attempted writes while up

	mu      sync.Mutex
	onCheck func()
}

var _ revoke.Revoker = (*SwitchRevoker)(nil)

// NewSwitchRevoker returns an up SwitchRevoker on the clock now.
func NewSwitchRevoker(now func() time.Time) *SwitchRevoker {
	return &SwitchRevoker{Mem: revoke.NewMemory(revoke.MemoryOptions{Now: now})}
}

// Hook sets a function that the next Check runs once, between reading
// the list and answering.
func (s *SwitchRevoker) Hook(f func()) {
	s.mu.Lock()
	s.onCheck = f
	s.mu.Unlock()
}

// Check implements revoke.Revoker.
func (s *SwitchRevoker) Check(ctx context.Context, rs revoke.SessionRef) error {
	err := s.Mem.Check(ctx, rs)
	if s.Down.Load() {
		err = sessiontest.ErrStoreDown
	}
	s.mu.Lock()
	f := s.onCheck
	s.onCheck = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return err
}

// RevokeSession implements revoke.Revoker.
func (s *SwitchRevoker) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	if s.Down.Load() {
		return sessiontest.ErrStoreDown
	}
	s.Sessions.Add(1)
	return s.Mem.RevokeSession(ctx, id, subject, until)
}

// RevokeSubject implements revoke.Revoker.
func (s *SwitchRevoker) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if s.Down.Load() {
		return sessiontest.ErrStoreDown
	}
	s.Subjects.Add(1)
	return s.Mem.RevokeSubject(ctx, subject, before, until)
}

// UserApp is the handler set of the fleet rules' tests. Every session
// method error is answered with 503 (ErrRevokeFault) or 409 (other), its
// message in the body, so that a test sees it.
//
//	/login?user=u   Renew, SetSubject(u), Set("user", u)
//	/whoami         the subject and the "user" value, "-" without one
//	/set?k=v        Set
//	/flash          AddFlash("x")
//	/pw             the password change: RevokeOthers (log out every other session, keep this one)
//	/logout         Destroy
func UserApp(m *middleware.Manager) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) bool {
		if err == nil {
			return false
		}
		code := http.StatusConflict
		if errors.Is(err, middleware.ErrRevokeFault) {
			code = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), code)
		return true
	}
	sess := func(r *http.Request) *middleware.Session {
		s, err := m.Session(r)
		if err != nil {
			panic(err) // wiring bug in the test
		}
		return s
	}
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, u := sess(r), r.URL.Query().Get("user")
		if fail(w, s.Renew()) || fail(w, s.SetSubject(u)) || fail(w, s.Set("user", u)) {
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		u, ok, _ := middleware.Get[string](s, "user")
		if !ok || s.Subject() == "" {
			fmt.Fprint(w, "-")
			return
		}
		fmt.Fprintf(w, "%s/%s", s.Subject(), u)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		for k, v := range r.URL.Query() {
			if fail(w, sess(r).Set(k, v[0])) {
				return
			}
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/flash", func(w http.ResponseWriter, r *http.Request) {
		if fail(w, sess(r).AddFlash("x")) {
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/pw", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		u := s.Subject()
		if u == "" {
			http.Error(w, "not logged in", http.StatusForbidden)
			return
		}
		if fail(w, s.RevokeOthers(r.Context())) {
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if fail(w, sess(r).Destroy()) {
			return
		}
		fmt.Fprint(w, "ok")
	})
	return mux
}

// Browser is a client with net/http/cookiejar's RFC 6265 jar: it keeps
// host-only and Domain cookies apart, as a browser does.
type Browser struct {
	Jar  *cookiejar.Jar
	Host string
}

// NewBrowser returns a Browser for https://host.
func NewBrowser(t testing.TB, host string) *Browser {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{Jar: j, Host: host}
}

// URL is the browser's origin, https://host/.
func (b *Browser) URL() *url.URL { return &url.URL{Scheme: "https", Host: b.Host, Path: "/"} }

// Do sends GET path through h with the jar's cookies and keeps the
// response's Set-Cookie in the jar.
func (b *Browser) Do(t testing.TB, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "https://"+b.Host+path, nil)
	for _, c := range b.Jar.Cookies(b.URL()) {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b.Jar.SetCookies(b.URL(), w.Result().Cookies())
	return w
}

// Count returns how many cookies called name the browser sends.
func (b *Browser) Count(name string) int {
	n := 0
	for _, c := range b.Jar.Cookies(b.URL()) {
		if c.Name == name {
			n++
		}
	}
	return n
}
