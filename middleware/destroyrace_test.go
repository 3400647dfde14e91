package middleware_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// hookRevoker is a revoke.Memory whose calls can run a hook once: after
// the next Check read the list (before it answers), before the next
// RevokeSubject, or after the next RevokeSession wrote. A test lands
// another request's revocation in the middle of a Renew or RevokeOthers
// with it.
type hookRevoker struct {
	*revoke.Memory
	mu                                  sync.Mutex
	afterCheck, beforeSubject, afterOne func()
}

func (h *hookRevoker) take(f *func()) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := *f
	*f = nil
	return g
}

func (h *hookRevoker) set(f *func(), g func()) {
	h.mu.Lock()
	*f = g
	h.mu.Unlock()
}

func (h *hookRevoker) Check(ctx context.Context, rs revoke.SessionRef) error {
	err := h.Memory.Check(ctx, rs)
	if f := h.take(&h.afterCheck); f != nil {
		f()
	}
	return err
}

func (h *hookRevoker) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if f := h.take(&h.beforeSubject); f != nil {
		f()
	}
	return h.Memory.RevokeSubject(ctx, subject, before, until)
}

func (h *hookRevoker) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	err := h.Memory.RevokeSession(ctx, id, subject, until)
	if f := h.take(&h.afterOne); f != nil {
		f()
	}
	return err
}

// TestDestroyDuringRenew (review finding on issue 24): another request
// of the same session (a second tab, the same cookie) calls Destroy
// while a Renew or RevokeOthers is between its check and its new cookie.
// After both, the destroyed session is revoked and the renewed one must
// not outlive the Destroy: the renewal fails (revoke.ErrRevoked), or its
// cookie does not open. Whatever order the two responses land in, the
// browser is logged out and no cookie either response carried opens.
func TestDestroyDuringRenew(t *testing.T) {
	tests := []struct {
		name string
		path string                                // the renewing request
		arm  func(rv *hookRevoker, destroy func()) // when the Destroy lands
	}{
		{"Renew, Destroy after its check", "/hold", func(rv *hookRevoker, d func()) { rv.set(&rv.afterCheck, d) }},
		{"Renew, Destroy after it revoked the old id", "/hold", func(rv *hookRevoker, d func()) { rv.set(&rv.afterOne, d) }},
		{"RevokeOthers, Destroy after its check", "/hold-others", func(rv *hookRevoker, d func()) { rv.set(&rv.afterCheck, d) }},
		{"RevokeOthers, Destroy during its RevokeSubject", "/hold-others", func(rv *hookRevoker, d func()) { rv.set(&rv.beforeSubject, d) }},
		{"RevokeOthers, Destroy after it revoked the old id", "/hold-others", func(rv *hookRevoker, d func()) { rv.set(&rv.afterOne, d) }},
	}
	for _, tc := range tests {
		for _, destroyLast := range []bool{false, true} {
			order := "renewal's response lands last"
			if destroyLast {
				order = "Destroy's response lands last"
			}
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				var rv *hookRevoker
				e := newRaceSetupOn(t, middleware.Options{}, func(now func() time.Time) revoke.Revoker {
					rv = &hookRevoker{Memory: revoke.NewMemory(revoke.MemoryOptions{Now: now})}
					return rv
				})
				old := sendFrom(e.b, "/poll").Cookies()
				var wD *httptest.ResponseRecorder
				destroy := func() { wD = serve(e.h, sendFrom(e.b, "/logout")) }
				e.during = func() { tc.arm(rv, destroy) }
				wR := serve(e.h, sendFrom(e.b, tc.path))
				if wD == nil {
					t.Fatal("the Destroy never ran")
				}
				if wD.Body.String() != "ok" {
					t.Fatalf("Destroy: %d %q", wD.Code, wD.Body.String())
				}
				// The cookie the renewal wrote, if any: it must not open.
				if l := sessionLines(wR); len(l) != 0 {
					r := httptest.NewRequest("GET", "https://"+raceHost+"/poll", nil)
					for _, c := range wR.Result().Cookies() {
						if c.MaxAge >= 0 && c.Value != "" {
							r.AddCookie(c)
						}
					}
					if got := serve(e.h, r).Body.String(); got != "-" {
						t.Errorf("the renewed session outlives the Destroy: it opens as %q (renewal answered %d %q)", got, wR.Code, wR.Body.String())
					}
				}
				r := httptest.NewRequest("GET", "https://"+raceHost+"/poll", nil)
				for _, c := range old {
					r.AddCookie(c)
				}
				if got := serve(e.h, r).Body.String(); got != "-" {
					t.Errorf("the destroyed session opens as %q", got)
				}
				if destroyLast {
					land(e.b, wR)
					land(e.b, wD)
				} else {
					land(e.b, wD)
					land(e.b, wR)
				}
				if got := e.whoami(t); got != "-" {
					t.Errorf("after Destroy and the renewal the browser is logged in as %q (renewal answered %d %q)", got, wR.Code, strings.TrimSpace(wR.Body.String()))
				}
			})
		}
	}
}
