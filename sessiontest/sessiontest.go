// Package sessiontest helps test handlers that run behind a cookieseal
// session manager ([middleware.Manager]), the way net/http/httptest helps
// test handlers: a manager on a fresh key, a request that carries a
// logged-in session, a clock that a test moves by hand, and a revocation
// store that is down.
//
// A handler test that needs a logged-in user takes three lines beside
// httptest:
//
//	m := sessiontest.NewManager(t, middleware.Options{})
//	r := sessiontest.NewRequest(t, m, "GET", "/dashboard", "user-42")
//	w := httptest.NewRecorder()
//	m.Handler(dashboard).ServeHTTP(w, r)
//
// The session in r is sealed by m itself, so the handler sees what it
// would see after a real login: m.Handler opens it with every check it
// applies in production (authenticity, lifetime, revocation). Nothing here
// reaches into the manager, and nothing is a mock of it.
//
// For a Revoker of your own, see package
// github.com/cookieseal/cookieseal/revoke/revoketest.
package sessiontest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// Clock is a clock that a test moves by hand: pass its Now as
// middleware.Options.Now (or any other Now option in cookieseal) and call
// Advance instead of sleeping. It is safe for concurrent use. Create it
// with [NewClock].
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a [Clock] at 2026-11-25 10:00:00 UTC, a fixed instant so
// that what a test prints does not depend on the day it runs.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (back, if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t, forward or back: a test of a clock that
// steps back, or one that must agree with another clock (time.Now()).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// NewManager returns a manager of the cookie "session" with opts, on a
// keyring of one freshly generated key that no other manager shares. It
// sets opts.InsecureNoHostPrefix (a handler test has no sibling host to
// fear, and its cookie keeps the short name). It fails t if
// [middleware.New] refuses opts. A test that needs two managers on the
// same keys (a fleet, a key rotation) calls middleware.New itself.
func NewManager(t testing.TB, opts middleware.Options) *middleware.Manager {
	t.Helper()
	keys, err := keyring.Generate()
	if err != nil {
		t.Fatalf("sessiontest: generate a key: %v", err)
	}
	opts.InsecureNoHostPrefix = true
	m, err := middleware.New(keys, "session", opts)
	if err != nil {
		t.Fatalf("sessiontest: %v", err)
	}
	return m
}

// LoginCookies returns the cookies that carry a new session of m for
// subject, holding values (each stored with Session.Set), as m writes
// them after a login: sealed by m at m's clock (Options.Now), in m's
// format, one cookie or several chunks. Add them to a request with
// r.AddCookie. An empty subject gives a session without subject (not
// logged in) holding values. It fails t if a value does not encode or the
// session does not fit m's cookie budget.
func LoginCookies(t testing.TB, m *middleware.Manager, subject string, values map[string]any) []*http.Cookie {
	t.Helper()
	s, err := m.LoadHeader(context.Background(), "")
	if err != nil {
		t.Fatalf("sessiontest: %v", err)
	}
	if subject != "" {
		if err := s.SetSubject(subject); err != nil {
			t.Fatalf("sessiontest: set subject: %v", err)
		}
	}
	for k, v := range values {
		if err := s.Set(k, v); err != nil {
			t.Fatalf("sessiontest: set %q: %v", k, err)
		}
	}
	h, err := s.Commit()
	if err != nil {
		t.Fatalf("sessiontest: save the session: %v", err)
	}
	resp := http.Response{Header: h}
	var out []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.MaxAge >= 0 { // a clear line is not a cookie the browser keeps
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	if len(out) == 0 {
		t.Fatalf("sessiontest: the manager wrote no session cookie")
	}
	return out
}

// NewRequest returns httptest.NewRequest(method, target, nil) carrying
// the cookies of a new session of m logged in as subject ([LoginCookies]
// with no values), ready for m.Handler. An empty subject gives a request
// with no session cookie, so that a table of cases can hold anonymous
// requests beside logged-in ones.
func NewRequest(t testing.TB, m *middleware.Manager, method, target, subject string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if subject != "" {
		for _, c := range LoginCookies(t, m, subject, nil) {
			r.AddCookie(c)
		}
	}
	return r
}

// ErrStoreDown is the fault every method of [FailingRevoker] returns.
var ErrStoreDown = errors.New("sessiontest: revocation store down")

// FailingRevoker is a [revoke.Revoker] whose every call fails with
// [ErrStoreDown], as a revocation store that is unreachable does: pass it as
// middleware.Options.Revoker to test what a handler does when the store
// fails, fail closed (the default: the session is refused, the cookie
// kept) or fail open (Options.InsecureRevokeFailOpen). The zero value is
// ready to use.
type FailingRevoker struct{}

var _ revoke.Revoker = FailingRevoker{}

// Check returns [ErrStoreDown].
func (FailingRevoker) Check(context.Context, revoke.SessionRef) error { return ErrStoreDown }

// RevokeSession returns [ErrStoreDown].
func (FailingRevoker) RevokeSession(context.Context, string, string, time.Time) error {
	return ErrStoreDown
}

// RevokeSubject returns [ErrStoreDown].
func (FailingRevoker) RevokeSubject(context.Context, string, time.Time, time.Time) error {
	return ErrStoreDown
}
