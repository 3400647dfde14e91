package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// §1: two instances share a keyring, their clocks apart by 2s or by the
// whole ClockSkew, either way. A write on B right after a login on A, and
// a read-only re-seal after a rotation, give a cookie every instance
// opens: no instance writes timestamps another refuses.
func TestSkewAcrossInstances(t *testing.T) {
	skew := keyring.DefaultClockSkew
	for _, f := range formats {
		for _, off := range []time.Duration{2 * time.Second, -2 * time.Second, skew, -skew} {
			t.Run(fmt.Sprintf("%v/B%+v", f, off), func(t *testing.T) {
				requireSkewSafe(t, f)
				base := newClock()
				kr := testKeyring(t)
				keys := &swapKeys{kr: kr}
				rv := revoke.NewMemory(revoke.MemoryOptions{Now: base.Now})
				inst := func(off time.Duration) http.Handler {
					m, err := middleware.New(keys, "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: f, Now: func() time.Time { return base.Now().Add(off) }}, Revoker: rv})
					if err != nil {
						t.Fatal(err)
					}
					return m.Handler(userApp(m))
				}
				a, b := inst(0), inst(off)
				everywhere := func(step string, j jar) {
					t.Helper()
					for name, h := range map[string]http.Handler{"A": a, "B": b} {
						if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "alice/alice" {
							t.Fatalf("%s: instance %s sees %q", step, name, got)
						}
					}
				}
				j := jar{}
				j.Update(do(t, a, "GET", "/login?user=alice"))
				w := do(t, b, "GET", "/set?k=v", j.List()...)
				if w.Code != http.StatusOK || setCookies(w)["session"] == nil {
					t.Fatalf("write on B: %d %q", w.Code, w.Body.String())
				}
				j.Update(w)
				everywhere("after a write on B", j)
				base.Advance(time.Second)
				everywhere("a second later", j)

				// A rotation: B re-seals on a read, A reads it, and back.
				keys.Set(rotated(t, kr))
				w = do(t, b, "GET", "/whoami", j.List()...)
				if setCookies(w)["session"] == nil {
					t.Fatal("no re-seal after the rotation")
				}
				j.Update(w)
				everywhere("after B's re-seal", j)
				keys.Set(rotated(t, keys.Keyring()))
				j.Update(do(t, a, "GET", "/whoami", j.List()...))
				j.Update(do(t, b, "GET", "/set?k=w", j.List()...))
				everywhere("after A's re-seal and B's write", j)
			})
		}
	}
}

// §3 and §2: Renew has no check-then-act gap with a revocation from
// elsewhere, in either order, and the request's own RevokeSubject (the
// password change) does not log its own user out; both formats.
func TestRenewAgainstRevocation(t *testing.T) {
	for _, f := range formats {
		setup := func(t *testing.T) (*clock, *switchRevoker, *middleware.Manager, http.Handler) {
			clk := newClock()
			rv := newSwitchRevoker(clk.Now)
			m, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: f, Now: clk.Now}, Revoker: rv})
			if err != nil {
				t.Fatal(err)
			}
			return clk, rv, m, m.Handler(userApp(m))
		}
		login := func(t *testing.T, clk *clock, h http.Handler) jar {
			j := jar{}
			j.Update(do(t, h, "GET", "/login?user=alice"))
			clk.Advance(time.Minute)
			return j
		}
		t.Run(f.String()+"/revocation lands between load and Renew", func(t *testing.T) {
			clk, _, m, h := setup(t)
			j := login(t, clk, h)
			var renewErr error
			step := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Session(r)
				if s.Subject() != "alice" {
					t.Fatal("not loaded")
				}
				clk.Advance(time.Millisecond)
				if err := m.RevokeSubject(context.Background(), "alice"); err != nil { // elsewhere
					t.Fatal(err)
				}
				clk.Advance(time.Millisecond)
				renewErr = s.Renew()
				if s.ID() != "" || s.Subject() != "" {
					t.Errorf("revoked session still has id %q, subject %q", s.ID(), s.Subject())
				}
			}))
			w := do(t, step, "GET", "/", j.List()...)
			if !errors.Is(renewErr, revoke.ErrRevoked) {
				t.Fatalf("Renew: %v", renewErr)
			}
			// The revoked cookie is left as it is: another tab may
			// already hold a newer one, which a clear would delete.
			if l := w.Header().Values("Set-Cookie"); len(l) != 0 {
				t.Fatalf("the revoked session's response set cookies: %v", l)
			}
		})
		t.Run(f.String()+"/revocation lands during Renew's check", func(t *testing.T) {
			clk, rv, m, h := setup(t)
			j := login(t, clk, h)
			step := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Session(r)
				s.Subject() // load
				rv.Hook(func() {
					clk.Advance(time.Millisecond)
					if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
						t.Error(err)
					}
				})
				// Its first check ran before the revocation landed; the
				// last one, after it revoked the old id, finds it.
				if err := s.Renew(); !errors.Is(err, revoke.ErrRevoked) {
					t.Errorf("Renew: %v, want revoke.ErrRevoked", err)
				}
			}))
			w := do(t, step, "GET", "/", j.List()...)
			if l := w.Header().Values("Set-Cookie"); len(l) != 0 {
				t.Errorf("a renewal the revocation covers wrote %v", l)
			}
			j.Update(w)
			clk.Advance(time.Millisecond)
			if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "-" {
				t.Fatalf("renewed session outlived the revocation: %q", got)
			}
		})
		t.Run(f.String()+"/RevokeOthers keeps the user, logs the other device out", func(t *testing.T) {
			requireMillis(t, f)
			clk, _, _, h := setup(t)
			laptop := login(t, clk, h)
			phone := login(t, clk, h)
			clk.Advance(500 * time.Millisecond)
			w := do(t, h, "GET", "/pw", phone.List()...)
			if w.Code != http.StatusOK {
				t.Fatalf("/pw: %d %q", w.Code, w.Body.String())
			}
			phone.Update(w)
			clk.Advance(3 * time.Millisecond)
			if got := do(t, h, "GET", "/whoami", phone.List()...).Body.String(); got != "alice/alice" {
				t.Fatalf("the changing session: %q", got)
			}
			if got := do(t, h, "GET", "/whoami", laptop.List()...).Body.String(); got != "-" {
				t.Fatalf("the other session: %q", got)
			}
		})
		t.Run(f.String()+"/RevokeOthers does not shield from a later RevokeSubject", func(t *testing.T) {
			clk, _, m, h := setup(t)
			phone := login(t, clk, h)
			phone.Update(do(t, h, "GET", "/pw", phone.List()...))
			clk.Advance(time.Second)
			if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Millisecond)
			if got := do(t, h, "GET", "/whoami", phone.List()...).Body.String(); got != "-" {
				t.Fatalf("renewed session outlived a later revocation: %q", got)
			}
		})
		t.Run(f.String()+"/revocation lands during RevokeOthers' check", func(t *testing.T) {
			clk, rv, m, h := setup(t)
			j := login(t, clk, h)
			step := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Session(r)
				s.Subject() // load
				rv.Hook(func() {
					clk.Advance(time.Millisecond)
					if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
						t.Error(err)
					}
				})
				// Its first check ran before the revocation landed; the
				// last one, after the renewal's revocations, finds it.
				if err := s.RevokeOthers(r.Context()); !errors.Is(err, revoke.ErrRevoked) {
					t.Errorf("RevokeOthers: %v, want revoke.ErrRevoked", err)
				}
			}))
			w := do(t, step, "GET", "/", j.List()...)
			if l := w.Header().Values("Set-Cookie"); len(l) != 0 {
				t.Errorf("a renewal the revocation covers wrote %v", l)
			}
			j.Update(w)
			clk.Advance(time.Millisecond)
			if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "-" {
				t.Fatalf("the kept session outlived a revocation that landed after RevokeOthers' check: %q", got)
			}
		})
		t.Run(f.String()+"/fault during Renew's check writes nothing", func(t *testing.T) {
			clk, rv, m, h := setup(t)
			j := login(t, clk, h)
			var renewErr error
			step := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Session(r)
				s.Subject()
				rv.Down.Store(true)
				renewErr = s.Renew()
			}))
			w := do(t, step, "GET", "/", j.List()...)
			rv.Down.Store(false)
			if !errors.Is(renewErr, middleware.ErrRevokeFault) || len(w.Result().Cookies()) != 0 {
				t.Fatalf("Renew: %v, Set-Cookie %v", renewErr, w.Header().Values("Set-Cookie"))
			}
			if got := do(t, h, "GET", "/whoami", j.List()...).Body.String(); got != "alice/alice" {
				t.Fatalf("after the fault: %q", got)
			}
		})
	}
}
