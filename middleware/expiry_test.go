package middleware_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/rotate"
)

// Every expiry rule, with an injected clock. Idle 1h, absolute 4h, refresh
// after 15m, skew 30s.
func TestExpiryRules(t *testing.T) {
	const (
		idle    = time.Hour
		abs     = 4 * time.Hour
		refresh = 15 * time.Minute
		skew    = 30 * time.Second
	)
	type step struct {
		advance     time.Duration
		wantSession bool
		wantSet     bool          // a Set-Cookie with a value
		wantEnded   bool          // expired: rejected, the cookie left as it is (no Set-Cookie)
		wantMaxAge  time.Duration // when wantSet
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no refresh before RefreshAfter", []step{
			{advance: refresh - time.Second, wantSession: true},
		}},
		{"refresh at RefreshAfter slides idle deadline", []step{
			{advance: refresh, wantSession: true, wantSet: true, wantMaxAge: idle},
			{advance: refresh - time.Second, wantSession: true},
			// The idle deadline runs from the last refresh, not the last
			// request: 15m-1s after that request is idle-1s after it.
			{advance: idle - refresh, wantSession: true, wantSet: true, wantMaxAge: idle},
		}},
		{"idle deadline runs from the last refresh", []step{
			{advance: refresh - time.Second, wantSession: true},
			{advance: idle - refresh + skew + time.Second + time.Millisecond, wantEnded: true},
		}},
		{"idle timeout ends the session", []step{
			{advance: idle + skew + time.Millisecond, wantEnded: true},
		}},
		{"idle timeout is extended by the skew only", []step{
			{advance: idle + skew, wantSession: true, wantSet: true, wantMaxAge: idle},
		}},
		{"absolute timeout ends an active session", []step{
			{advance: 50 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: idle},
			{advance: 50 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: idle},
			{advance: 50 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: idle},
			{advance: 50 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: abs - 200*time.Minute},
			{advance: 40*time.Minute + skew + time.Millisecond, wantEnded: true},
		}},
		{"Max-Age follows the absolute deadline when it is nearer", []step{
			{advance: 55 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: idle},
			{advance: 55 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: idle},
			{advance: 55 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: idle},
			{advance: 30 * time.Minute, wantSession: true, wantSet: true, wantMaxAge: abs - 195*time.Minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			var why []error
			m := newManager(t, testKeyring(t), middleware.Options{
				Codec: cookie.Options{Now: clk.Now, IdleTimeout: idle, AbsoluteTimeout: abs, ClockSkew: skew}, RefreshAfter: refresh,
				Observer: observeKind(middleware.EventRejected, func(err error) { why = append(why, err) }),
			})
			h := m.Handler(app(t))
			j := jar{}
			j.Update(do(t, h, "GET", "/set?k=v"))
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				w := do(t, h, "GET", "/get?k=k", j.List()...)
				if got := w.Body.String() == "v"; got != s.wantSession {
					t.Fatalf("step %d: session %v, want %v", i, got, s.wantSession)
				}
				c := setCookies(w)["session"]
				switch {
				case s.wantSet:
					if c == nil || c.Value == "" {
						t.Fatalf("step %d: no refresh cookie", i)
					}
					if got := time.Duration(c.MaxAge) * time.Second; got != s.wantMaxAge {
						t.Fatalf("step %d: Max-Age %v, want %v", i, got, s.wantMaxAge)
					}
				case s.wantEnded:
					if c != nil {
						t.Fatalf("step %d: cookie %v, want none (an expired cookie is left as it is)", i, c)
					}
					if len(why) != 1 || !errors.Is(why[0], cookie.ErrExpired) {
						t.Fatalf("step %d: rejections %v", i, why)
					}
				default:
					if c != nil {
						t.Fatalf("step %d: unexpected Set-Cookie %v", i, c)
					}
				}
				j.Update(w)
			}
		})
	}
}

// A refresh re-seals the payload bytes it opened, unchanged: only the
// timestamps move.
func TestRefreshKeepsPayloadBytes(t *testing.T) {
	clk := newClock()
	kr := testKeyring(t)
	m := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now, IdleTimeout: time.Hour}, RefreshAfter: time.Minute})
	codec, err := cookie.New(kr, "session", cookie.Options{Now: clk.Now, IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// A payload as another implementation might write it: spaces, an
	// unknown member, keys out of order. A re-encode would normalize it.
	payload := []byte(`{ "x-future": [1, 2], "d": {"z": 1, "user_id": 42}, "id": "AAAAAAAAAAAAAAAAAAAAAA" }`)
	value, err := codec.Seal(payload, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	w := do(t, m.Handler(app(t)), "GET", "/touch", &http.Cookie{Name: "session", Value: value})
	c := setCookies(w)["session"]
	if c == nil {
		t.Fatal("no refresh")
	}
	got, meta, err := codec.Open(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("payload re-encoded:\n got %s\nwant %s", got, payload)
	}
	if !meta.RefreshedAt.Equal(clk.Now()) || !meta.IssuedAt.Equal(clk.Now().Add(-2*time.Minute)) {
		t.Fatalf("meta %+v", meta)
	}
}

// A valid cookie sealed under a key that is no longer primary is re-sealed
// under the primary on that response, even with no refresh due.
func TestRotationReseal(t *testing.T) {
	clk := newClock()
	k1, err := keyring.GenerateKey(keyring.StatusPrimary, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	k2, err := keyring.GenerateKey(keyring.StatusDecryptOnly, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	before, err := keyring.New(keyring.Set{Keys: []keyring.Key{k1, k2}})
	if err != nil {
		t.Fatal(err)
	}
	k1.Status, k2.Status = keyring.StatusDecryptOnly, keyring.StatusPrimary
	after, err := keyring.New(keyring.Set{Keys: []keyring.Key{k1, k2}})
	if err != nil {
		t.Fatal(err)
	}
	keys := &swapKeys{kr: before}
	m := newManager(t, keys, middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?k=v"))
	old := j["session"].Value

	// Same keys: nothing to do.
	if w := do(t, h, "GET", "/get?k=k", j.List()...); len(w.Result().Cookies()) != 0 || w.Body.String() != "v" {
		t.Fatalf("before rotation: %q, %v", w.Body.String(), w.Result().Cookies())
	}
	keys.Set(after)
	clk.Advance(time.Second)
	w := do(t, h, "GET", "/get?k=k", j.List()...)
	if w.Body.String() != "v" {
		t.Fatalf("old-key cookie not accepted: %q", w.Body.String())
	}
	c := setCookies(w)["session"]
	if c == nil || c.Value == old {
		t.Fatal("not re-sealed")
	}
	for _, tc := range []struct {
		value string
		id    uint32
	}{{old, k1.ID}, {c.Value, k2.ID}} {
		codec, err := cookie.New(after, "session", cookie.Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		_, meta, err := codec.Open(tc.value)
		if err != nil || meta.KeyID != tc.id {
			t.Fatalf("sealed under %d (%v), want %d", meta.KeyID, err, tc.id)
		}
	}
	j.Update(w)
	if w := do(t, h, "GET", "/get?k=k", j.List()...); len(w.Result().Cookies()) != 0 {
		t.Fatal("re-sealed again")
	}
}

func TestEpochReseal(t *testing.T) {
	clk := newClock()
	k, err := keyring.GenerateKey(keyring.StatusPrimary, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(keyring.Set{Keys: []keyring.Key{k}, EpochPeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now, IdleTimeout: 3 * time.Hour}, RefreshAfter: 2 * time.Hour})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?k=v"))
	clk.Advance(time.Hour)
	w := do(t, h, "GET", "/get?k=k", j.List()...)
	if w.Body.String() != "v" || setCookies(w)["session"] == nil {
		t.Fatalf("new epoch: %q, cookies %v", w.Body.String(), w.Result().Cookies())
	}
}

func TestBrowserSessionRefreshHasNoLifetime(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, BrowserSession: true})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?k=v"))
	clk.Advance(7 * time.Hour)
	w := do(t, h, "GET", "/get?k=k", j.List()...)
	line := w.Header().Get("Set-Cookie")
	if w.Body.String() != "v" || line == "" || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Fatalf("%q, Set-Cookie %q", w.Body.String(), line)
	}
}

// The full rotation cycle through rotate.Holder, as production runs it:
// add a key, promote it after the rollout delay, and every session sealed
// under the old primary is re-sealed on its next request.
func TestRotationThroughHolder(t *testing.T) {
	clk := newClock()
	k, err := keyring.GenerateKey(keyring.StatusPrimary, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(keyring.Set{Keys: []keyring.Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	holder := rotate.NewHolder(kr)
	m := newManager(t, holder, middleware.Options{Codec: cookie.Options{Now: clk.Now, IdleTimeout: 24 * time.Hour}, RefreshAfter: 12 * time.Hour})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?k=v"))
	oldKey := kr.Primary().ID

	set, added, err := rotate.Add(kr.Set(), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	holder.Store(mustKeyring(t, set))
	if w := do(t, h, "GET", "/get?k=k", j.List()...); w.Body.String() != "v" || len(w.Result().Cookies()) != 0 {
		t.Fatal("adding a decrypt-only key changed the session")
	}
	clk.Advance(time.Hour + time.Minute) // the default rollout delay
	set, err = rotate.Promote(set, added.ID, clk.Now(), rotate.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	holder.Store(mustKeyring(t, set))
	w := do(t, h, "GET", "/get?k=k", j.List()...)
	c := setCookies(w)["session"]
	if w.Body.String() != "v" || c == nil {
		t.Fatalf("after promotion: %q, %v", w.Body.String(), w.Header().Values("Set-Cookie"))
	}
	codec, err := cookie.New(holder, "session", cookie.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, meta, err := codec.Open(c.Value); err != nil || meta.KeyID != added.ID || meta.KeyID == oldKey {
		t.Fatalf("re-sealed under %d (%v), want %d", meta.KeyID, err, added.ID)
	}
}

func mustKeyring(t *testing.T, set keyring.Set) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}
