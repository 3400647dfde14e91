package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// Rules of Renew against revocations that land during the request.

// TestRenewCoveredByRevocationInSameMillisecond: a RevokeSubject that
// lands during Renew's check, in the same millisecond as the check
// started (at its start, or half a millisecond later), covers the renewed
// session: Renew's last check finds it, and no renewed session is
// written.
func TestRenewCoveredByRevocationInSameMillisecond(t *testing.T) {
	for _, tc := range []struct {
		name        string
		offset, lag time.Duration // clock offset within the ms; revocation lag after the check start
	}{
		{"at the check's start", 0, 0},
		{"0.5 ms later", 100 * time.Microsecond, 500 * time.Microsecond},
		{"end of the millisecond", 0, 999 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			clk.Advance(tc.offset)
			rv := newSwitchRevoker(clk.Now)
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rv})
			h := m.Handler(userApp(m))
			j := jar{}
			j.Update(do(t, h, "GET", "/login?user=alice"))
			clk.Advance(time.Hour)
			mux := http.NewServeMux()
			mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Session(r)
				_ = s.ID()
				rv.Hook(func() { // lands during Renew's check
					clk.Advance(tc.lag)
					if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
						t.Error(err)
					}
				})
				// The renewal's last check (after it revoked the old id)
				// finds the revocation: no renewed session at all.
				if err := s.Renew(); !errors.Is(err, revoke.ErrRevoked) {
					t.Errorf("renew: %v, want revoke.ErrRevoked", err)
				}
			})
			j.Update(do(t, m.Handler(mux), "GET", "/renew", j.List()...))
			if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "-" {
				t.Errorf("the renewed session survives a RevokeSubject landed during the check: %q", got)
			}
		})
	}
}

// TestRevokeOthersDoesNotEraseForeign: RevokeOthers keeps its session
// only when that session was not already revoked: a revocation from
// elsewhere that landed earlier in the request (a stolen cookie's request
// while the victim changes her password) still holds, and RevokeOthers
// fails with revoke.ErrRevoked. Without a foreign revocation the
// password-change flow keeps the user logged in.
func TestRevokeOthersDoesNotEraseForeign(t *testing.T) {
	for _, foreign := range []bool{true, false} {
		t.Run(fmt.Sprintf("foreign=%v", foreign), func(t *testing.T) {
			clk := newClock()
			rv := newSwitchRevoker(clk.Now)
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rv})
			h := m.Handler(userApp(m))
			thief := jar{}
			thief.Update(do(t, h, "GET", "/login?user=alice"))
			clk.Advance(time.Minute)
			var othersErr error
			mux := http.NewServeMux()
			mux.HandleFunc("/pw", func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Session(r)
				_ = s.Subject() // loaded and checked
				clk.Advance(time.Second)
				if foreign {
					if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
						t.Fatal(err)
					}
				}
				clk.Advance(time.Second)
				othersErr = s.RevokeOthers(r.Context())
			})
			thief.Update(do(t, m.Handler(mux), "GET", "/pw", thief.List()...))
			clk.Advance(time.Second)
			got := do(t, h, "GET", "/whoami", thief.List()...).Body.String()
			switch {
			case foreign && (got != "-" || !errors.Is(othersErr, revoke.ErrRevoked)):
				t.Errorf("session revoked from elsewhere survives its own RevokeOthers: whoami %q, RevokeOthers %v", got, othersErr)
			case !foreign && (got != "alice/alice" || othersErr != nil):
				t.Errorf("password-change flow logs the user out: whoami %q, RevokeOthers %v", got, othersErr)
			}
		})
	}
}

// TestEveryRenewChecks: a second Renew in the same request checks the
// session the first one issued, so a RevokeSubject that landed between
// them holds.
func TestEveryRenewChecks(t *testing.T) {
	clk := newClock()
	rv := newSwitchRevoker(clk.Now)
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rv})
	h := m.Handler(userApp(m))
	j := jar{}
	j.Update(do(t, h, "GET", "/login?user=alice"))
	clk.Advance(time.Minute)
	var second error
	mux := http.NewServeMux()
	mux.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r)
		if err := s.Renew(); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		second = s.Renew()
	})
	j.Update(do(t, m.Handler(mux), "GET", "/x", j.List()...))
	if !errors.Is(second, revoke.ErrRevoked) {
		t.Errorf("second Renew = %v, want revoke.ErrRevoked", second)
	}
	if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "-" {
		t.Errorf("second Renew escapes a RevokeSubject that landed after the first: %q", got)
	}
}
