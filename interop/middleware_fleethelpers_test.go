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
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
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

// hook sets a function that the next Check runs once, between reading
// the list and answering.
func (s *switchRevoker) hook(f func()) {
	s.mu.Lock()
	s.onCheck = f
	s.mu.Unlock()
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

// requireSkewSafe fails when format's codec refuses its own seal of an
// issued-at that lies ahead of its clock (within ClockSkew), the codec
// half of the fleet rule the manager's tests build on.
func requireSkewSafe(t *testing.T, f cookie.Format) {
	t.Helper()
	clk := newClock()
	s, err := cookie.NewSealer(f, testKeyring(t), "probe", cookie.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Seal([]byte(`{}`), clk.Now().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(v); err != nil {
		t.Fatalf("the %v codec refuses its own seal of an issued-at 2s ahead: %v", f, err)
	}
}

// requireMillis fails when format's codec keeps less than millisecond
// precision, which the revocation-order rules need.
func requireMillis(t *testing.T, f cookie.Format) {
	t.Helper()
	clk := newClock()
	s, err := cookie.NewSealer(f, testKeyring(t), "probe", cookie.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	at := clk.Now().Add(-1500 * time.Millisecond)
	v, err := s.Seal([]byte(`{}`), at)
	if err != nil {
		t.Fatal(err)
	}
	if _, meta, err := s.Open(v); err != nil || !meta.IssuedAt.Equal(at) {
		t.Fatalf("the %v codec does not keep milliseconds: issued-at %v, %v", f, meta.IssuedAt, err)
	}
}

// rotated returns kr with a new primary key; kr's keys stay, decrypt-only.
func rotated(t testing.TB, kr *keyring.Keyring) *keyring.Keyring {
	t.Helper()
	set := kr.Set().Clone()
	for i := range set.Keys {
		if set.Keys[i].Status == keyring.StatusPrimary {
			set.Keys[i].Status = keyring.StatusDecryptOnly
		}
	}
	k, err := keyring.GenerateKey(keyring.StatusPrimary, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	set.Keys = append(set.Keys, k)
	out, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recorder collects what the hooks are told.
type recorder struct {
	mu              sync.Mutex
	invalid, faults []error
}

func (r *recorder) onInvalid(_ *http.Request, err error) {
	r.mu.Lock()
	r.invalid = append(r.invalid, err)
	r.mu.Unlock()
}

func (r *recorder) onFault(_ *http.Request, err error) {
	r.mu.Lock()
	r.faults = append(r.faults, err)
	r.mu.Unlock()
}
