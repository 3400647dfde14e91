package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// events records what a manager tells its Observer.
type events struct {
	mu   sync.Mutex
	list []middleware.Event
}

func (e *events) Observe(ev middleware.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

func (e *events) take() []middleware.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.list
	e.list = nil
	return out
}

func kinds(evs []middleware.Event) string {
	var s []string
	for _, e := range evs {
		k := e.Kind.String()
		if e.Kind == middleware.EventRejected {
			k += ":" + e.Reason.String()
		}
		s = append(s, k)
	}
	return strings.Join(s, " ")
}

// keyringOf builds a keyring of fixed keys: ids with their status.
func keyringOf(t testing.TB, keys ...keyring.Key) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(keyring.Set{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func fixedKey(t testing.TB, id uint32, st keyring.Status) keyring.Key {
	t.Helper()
	k, err := keyring.NewKey(id, st, bytes.Repeat([]byte{byte(id)}, keyring.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestObserverEvents: each thing that happens to a session is one event
// of its kind, in order, with its typed reason, which the event's error
// carries too (cookie.ReasonOf(Err)): revocation faults and failed
// checks included.
func TestObserverEvents(t *testing.T) {
	type env struct {
		clk  *clock
		keys *swapKeys
		h    http.Handler
		jar  jar
		t    *testing.T
		rec  *events
		mem  *revoke.Memory
	}
	// login starts a session; its events are setup, dropped.
	login := func(e *env) {
		e.jar.Update(do(e.t, e.h, "GET", "/set?k=v"))
		e.rec.take()
	}
	tests := []struct {
		name    string
		revoker revoke.Revoker
		run     func(e *env) *httptest.ResponseRecorder
		want    string
	}{
		{"new session saved", nil, func(e *env) *httptest.ResponseRecorder { return do(e.t, e.h, "GET", "/set?k=v") }, "saved"},
		{"opened, nothing due", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "opened"},
		{"sliding refresh", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			e.clk.Advance(31 * time.Minute)
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "opened refreshed"},
		{"rotation re-seal", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			e.keys.Set(keyringOf(e.t, fixedKey(e.t, 1, keyring.StatusDecryptOnly), fixedKey(e.t, 2, keyring.StatusPrimary)))
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "opened resealed"},
		{"tampered", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			c := e.jar["session"]
			b := []byte(c.Value)
			// Another base64url letter inside the ciphertext: authentic no more, still well-formed.
			if b[len(b)-30] == 'A' {
				b[len(b)-30] = 'B'
			} else {
				b[len(b)-30] = 'A'
			}
			return do(e.t, e.h, "GET", "/get?k=k", &http.Cookie{Name: "session", Value: string(b)})
		}, "rejected:tampered"},
		{"malformed", nil, func(e *env) *httptest.ResponseRecorder {
			return do(e.t, e.h, "GET", "/get?k=k", &http.Cookie{Name: "session", Value: "junk"})
		}, "rejected:malformed"},
		{"idle expiry", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			e.clk.Advance(3 * time.Hour)
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "rejected:idle_expired"},
		{"absolute expiry", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			for range 9 { // keep it alive, refreshed each time, to 7h30
				e.clk.Advance(50 * time.Minute)
				e.jar.Update(do(e.t, e.h, "GET", "/touch", e.jar.List()...))
			}
			e.clk.Advance(40 * time.Minute) // past the 8h absolute deadline, not idle
			e.rec.take()
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "rejected:absolute_expired"},
		{"unknown key", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			e.keys.Set(keyringOf(e.t, fixedKey(e.t, 7, keyring.StatusPrimary)))
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "rejected:unknown_key"},
		{"duplicate", nil, func(e *env) *httptest.ResponseRecorder {
			a := do(e.t, e.h, "GET", "/set?k=a").Result().Cookies()[0]
			b := do(e.t, e.h, "GET", "/set?k=b").Result().Cookies()[0]
			e.rec.take()
			return do(e.t, e.h, "GET", "/get?k=k", a, b)
		}, "rejected:duplicate"},
		{"renew", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			return do(e.t, e.h, "GET", "/renew", e.jar.List()...)
		}, "opened renewed saved"},
		{"destroy", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			return do(e.t, e.h, "GET", "/destroy", e.jar.List()...)
		}, "opened destroyed"},
		{"revoked", nil, func(e *env) *httptest.ResponseRecorder {
			login(e)
			id := do(e.t, e.h, "GET", "/id", e.jar.List()...).Body.String()
			if err := e.mem.RevokeSession(context.Background(), id, "", e.clk.Now().Add(time.Hour)); err != nil {
				e.t.Fatal(err)
			}
			e.rec.take()
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "revoke_checked rejected:revoked"},
		{"revocation fault", &faulty{}, func(e *env) *httptest.ResponseRecorder {
			login(e)
			return do(e.t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, "revoke_checked revoke_fault"},
		{"save failed", nil, func(e *env) *httptest.ResponseRecorder {
			return do(e.t, e.h, "GET", "/set?k="+strings.Repeat("x", 5000))
		}, "save_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			keys := &swapKeys{kr: keyringOf(t, fixedKey(t, 1, keyring.StatusPrimary))}
			rec := &events{}
			opts := middleware.Options{
				Codec: cookie.Options{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 8 * time.Hour, Now: clk.Now}, RefreshAfter: 30 * time.Minute,
				Observer: rec,
			}
			mem := revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})
			switch {
			case tc.revoker != nil:
				opts.Revoker = tc.revoker
			case tc.name == "revoked":
				opts.Revoker = mem
			}
			m := newManager(t, keys, opts)
			e := &env{clk: clk, keys: keys, h: m.Handler(app(t)), jar: jar{}, t: t, rec: rec, mem: mem}
			tc.run(e)
			got := rec.take()
			if k := kinds(got); k != tc.want {
				t.Fatalf("events %q, want %q", k, tc.want)
			}
			for _, ev := range got {
				if ev.Cookie != "session" || ev.Request == nil {
					t.Fatalf("event %v without cookie name or request", ev.Kind)
				}
				want := cookie.ReasonNone
				switch {
				case ev.Kind == middleware.EventRejected:
					want = ev.Reason
					if want == cookie.ReasonNone || want == cookie.ReasonInvalid {
						t.Fatalf("rejection %v without a telling reason: %v", ev.Err, want)
					}
				case ev.Kind == middleware.EventRevokeFault,
					ev.Kind == middleware.EventRevokeChecked && errors.Is(ev.Err, middleware.ErrRevokeFault):
					want = cookie.ReasonRevokeFault
				case ev.Kind == middleware.EventRevokeChecked && ev.Err != nil:
					want = cookie.ReasonRevoked
				case ev.Kind == middleware.EventSaveFailed:
					want = cookie.ReasonTooLarge
				}
				if got := cookie.ReasonOf(ev.Err); got != want {
					t.Fatalf("%v: cookie.ReasonOf(%v) = %v, want %v", ev.Kind, ev.Err, got, want)
				}
			}
		})
	}
}

// TestObserverHearsEveryRevocationFault: a failed check (loading the
// session, and again in Renew) and a failed RevokeSubject are each one
// EventRevokeFault, whatever path met it.
func TestObserverHearsEveryRevocationFault(t *testing.T) {
	rec := &events{}
	clk := newClock()
	keys := &swapKeys{kr: keyringOf(t, fixedKey(t, 1, keyring.StatusPrimary))}
	m := newManager(t, keys, middleware.Options{Codec: cookie.Options{Now: clk.Now}, Observer: rec, Revoker: &faulty{}, InsecureRevokeFailOpen: true})
	if err := m.RevokeSubject(context.Background(), "alice"); !errors.Is(err, middleware.ErrRevokeFault) {
		t.Fatal(err)
	}
	if k := kinds(rec.take()); k != "revoke_fault" {
		t.Fatalf("RevokeSubject: %q", k)
	}
	h := m.Handler(app(t))
	c := do(t, h, "GET", "/set?k=v").Result().Cookies()[0]
	rec.take()
	r := httptest.NewRequest("GET", "/renew", nil)
	r.AddCookie(c)
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Renew() // fail open: renewed, with the faults reported
	})).ServeHTTP(httptest.NewRecorder(), r)
	// Load: check, fault, opened (fail open). Renew: check, fault; its
	// revocation of the old id: fault; renewed; saved.
	want := "revoke_checked revoke_fault opened revoke_checked revoke_fault revoke_fault renewed saved"
	if k := kinds(rec.take()); k != want {
		t.Fatalf("events %q, want %q", k, want)
	}
}
