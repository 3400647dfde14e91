package interop_test

// Copied from middleware's test helpers for the tests that moved here
// (they need gorilla/sessions, chi or cookie/gorilla, which the root
// module does not require).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// errStoreDown is what a switchRevoker answers while it is down.
var errStoreDown = errors.New("test store down")

// switchRevoker is a revoke.Memory that a test can take down (every call
// then fails with errStoreDown), whose entries it counts, and whose Check
// can run a hook after reading the list and before answering (to land a
// revocation in the middle of a check).
type switchRevoker struct {
	mem                *revoke.Memory
	down               atomic.Bool
	sessions, subjects atomic.Int64

	mu      sync.Mutex
	onCheck func()
}

var _ revoke.Revoker = (*switchRevoker)(nil)

func newSwitchRevoker(now func() time.Time) *switchRevoker {
	return &switchRevoker{mem: revoke.NewMemory(revoke.MemoryOptions{Now: now})}
}

func (s *switchRevoker) Check(ctx context.Context, rs revoke.Session) error {
	err := s.mem.Check(ctx, rs)
	if s.down.Load() {
		err = errStoreDown
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

func (s *switchRevoker) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	if s.down.Load() {
		return errStoreDown
	}
	s.sessions.Add(1)
	return s.mem.RevokeSession(ctx, id, subject, until)
}

func (s *switchRevoker) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if s.down.Load() {
		return errStoreDown
	}
	s.subjects.Add(1)
	return s.mem.RevokeSubject(ctx, subject, before, until)
}

// userApp is the handler set of the fleet rules' tests. Every session
// method error is answered with 503 (ErrRevokeFault) or 409 (other), its
// message in the body, so that a test sees it.
//
//	/login?user=u   Renew, SetSubject(u), Set("user", u)
//	/whoami         the subject and the "user" value, "-" without one
//	/set?k=v        Set
//	/flash          AddFlash("x")
//	/pw             the password change: RevokeSubject(own subject), Renew, SetSubject
//	/logout         Destroy
func userApp(m *middleware.Manager) http.Handler {
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
		if fail(w, m.RevokeSubject(r.Context(), u)) || fail(w, s.Renew()) || fail(w, s.SetSubject(u)) {
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

// formats lists the wire formats every fleet rule is tested over.
var formats = []cookie.Format{cookie.Native, cookie.JWE}

// recorder collects what the hooks are told.
type recorder struct {
	mu      sync.Mutex
	invalid []error
}

func (r *recorder) onInvalid(_ *http.Request, err error) {
	r.mu.Lock()
	r.invalid = append(r.invalid, err)
	r.mu.Unlock()
}
