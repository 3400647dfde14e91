package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// recorder is an Observer that collects the errors of rejections
// (EventRejected) and of revocation faults (EventRevokeFault).
type recorder struct {
	mu              sync.Mutex
	invalid, faults []error
}

func (r *recorder) Observe(e middleware.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Kind {
	case middleware.EventRejected:
		r.invalid = append(r.invalid, e.Err)
	case middleware.EventRevokeFault:
		r.faults = append(r.faults, e.Err)
	}
}

func revokeApp(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", app(t))
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if err := s.Renew(); err != nil {
			t.Errorf("Renew: %v", err)
		}
		s.SetSubject(r.URL.Query().Get("user"))
		s.Set("k", "v")
	})
	return mux
}

func TestRevocation(t *testing.T) {
	clk := newClock()
	rv := revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})
	rec := &recorder{}
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rv, Observer: rec})
	h := m.Handler(revokeApp(t))

	t.Run("Destroy revokes the id, so a copy of the cookie stops working", func(t *testing.T) {
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=alice"))
		stolen := j.List()
		if got := do(t, h, "GET", "/get?k=k", stolen...).Body.String(); got != "v" {
			t.Fatalf("before: %q", got)
		}
		do(t, h, "GET", "/destroy", j.List()...)
		w := do(t, h, "GET", "/get?k=k", stolen...)
		if w.Body.String() != "-" {
			t.Fatalf("stolen copy after Destroy: %q", w.Body.String())
		}
		if l := w.Header().Values("Set-Cookie"); len(l) != 0 {
			t.Fatalf("the revoked copy's response set %v (it is left as it is)", l)
		}
		if n := len(rec.invalid); n == 0 || !errors.Is(rec.invalid[n-1], revoke.ErrRevoked) {
			t.Fatalf("rejections %v", rec.invalid)
		}
	})

	t.Run("Renew revokes the old id", func(t *testing.T) {
		j := jar{}
		j.Update(do(t, h, "GET", "/set?k=v")) // an anonymous session
		before := j.List()
		j.Update(do(t, h, "GET", "/login?user=bob", j.List()...))
		if got := do(t, h, "GET", "/get?k=k", j.List()...).Body.String(); got != "v" {
			t.Fatalf("renewed session: %q", got)
		}
		if got := do(t, h, "GET", "/get?k=k", before...).Body.String(); got != "-" {
			t.Fatalf("pre-login cookie after Renew: %q", got)
		}
	})

	t.Run("RevokeSubject logs a user out everywhere, not a later login", func(t *testing.T) {
		laptop, phone, other := jar{}, jar{}, jar{}
		laptop.Update(do(t, h, "GET", "/login?user=carol"))
		phone.Update(do(t, h, "GET", "/login?user=carol"))
		other.Update(do(t, h, "GET", "/login?user=dave"))
		clk.Advance(time.Second)
		if err := m.RevokeSubject(context.Background(), "carol"); err != nil {
			t.Fatal(err)
		}
		for name, j := range map[string]jar{"laptop": laptop, "phone": phone} {
			if got := do(t, h, "GET", "/get?k=k", j.List()...).Body.String(); got != "-" {
				t.Errorf("%s after RevokeSubject: %q", name, got)
			}
		}
		if got := do(t, h, "GET", "/get?k=k", other.List()...).Body.String(); got != "v" {
			t.Errorf("another user after RevokeSubject: %q", got)
		}
		clk.Advance(time.Millisecond)
		again := jar{}
		again.Update(do(t, h, "GET", "/login?user=carol"))
		if got := do(t, h, "GET", "/get?k=k", again.List()...).Body.String(); got != "v" {
			t.Errorf("new login after RevokeSubject: %q", got)
		}
	})

	t.Run("entries outlive every session they affect", func(t *testing.T) {
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=erin"))
		stolen := j.List()
		do(t, h, "GET", "/destroy", j.List()...)
		clk.Advance(7*24*time.Hour - time.Minute) // still within the absolute timeout + skew
		if got := do(t, h, "GET", "/get?k=k", stolen...).Body.String(); got != "-" {
			t.Fatalf("revoked session came back: %q", got)
		}
	})
	if err := m.RevokeSubject(context.Background(), ""); !errors.Is(err, revoke.ErrInvalidArgument) || errors.Is(err, middleware.ErrRevokeFault) {
		t.Fatalf("RevokeSubject(\"\") = %v", err)
	}
	if len(rec.faults) != 0 {
		t.Fatalf("faults %v", rec.faults)
	}
}

// faulty is a Revoker whose store is down.
type faulty struct {
	mu     sync.Mutex
	calls  int
	block  bool // wait for the context instead of failing at once
	sawDdl bool
}

var errDown = errors.New("store down")

func (f *faulty) Check(ctx context.Context, s revoke.SessionRef) error {
	f.mu.Lock()
	f.calls++
	_, f.sawDdl = ctx.Deadline()
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return errDown
}

func (f *faulty) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	return errDown
}

func (f *faulty) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	return errDown
}

func TestRevocationFaultPolicy(t *testing.T) {
	tests := []struct {
		name        string
		failOpen    bool
		block       bool
		wantSession bool
		wantFault   error
	}{
		{"fail closed (default)", false, false, false, errDown},
		{"fail open", true, false, true, errDown},
		{"timeout fails closed", false, true, false, context.DeadlineExceeded},
		{"timeout fails open", true, true, true, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := testKeyring(t)
			plain := newManager(t, kr, middleware.Options{})
			j := jar{}
			j.Update(do(t, plain.Handler(revokeApp(t)), "GET", "/login?user=alice"))

			rv := &faulty{block: tt.block}
			rec := &recorder{}
			m := newManager(t, kr, middleware.Options{Revoker: rv, InsecureRevokeFailOpen: tt.failOpen,
				RevokeCheckTimeout: 20 * time.Millisecond, Observer: rec})
			w := do(t, m.Handler(revokeApp(t)), "GET", "/get?k=k", j.List()...)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if got := w.Body.String() == "v"; got != tt.wantSession {
				t.Fatalf("session %v (%q), want %v", got, w.Body.String(), tt.wantSession)
			}
			if len(w.Result().Cookies()) != 0 {
				t.Fatalf("a store fault touched the cookie: %v", w.Result().Cookies())
			}
			if len(rec.faults) != 1 || !errors.Is(rec.faults[0], middleware.ErrRevokeFault) || !errors.Is(rec.faults[0], tt.wantFault) || errors.Is(rec.faults[0], revoke.ErrRevoked) {
				t.Fatalf("revocation faults %v", rec.faults)
			}
			if len(rec.invalid) != 0 {
				t.Fatalf("rejections %v", rec.invalid)
			}
			if !rv.sawDdl {
				t.Fatal("the check had no deadline")
			}
		})
	}

	t.Run("Destroy and Renew report the fault and still act", func(t *testing.T) {
		kr := testKeyring(t)
		j := jar{}
		j.Update(do(t, newManager(t, kr, middleware.Options{}).Handler(revokeApp(t)), "GET", "/login?user=alice"))
		m := newManager(t, kr, middleware.Options{Revoker: &faulty{}, InsecureRevokeFailOpen: true, Observer: &recorder{}}) // an observer: nothing logged to slog.Default
		var renewErr, destroyErr error
		var idBefore, idAfter string
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.From(r)
			idBefore = s.ID()
			renewErr = s.Renew()
			idAfter = s.ID()
			if r.URL.Path == "/destroy" {
				destroyErr = s.Destroy()
			}
		}))
		do(t, h, "GET", "/renew", j.List()...)
		if !errors.Is(renewErr, middleware.ErrRevokeFault) || idBefore == "" || idAfter == idBefore {
			t.Fatalf("Renew: %v, %q → %q", renewErr, idBefore, idAfter)
		}
		w := do(t, h, "GET", "/destroy", j.List()...)
		if !errors.Is(destroyErr, middleware.ErrRevokeFault) {
			t.Fatalf("Destroy: %v", destroyErr)
		}
		if c := setCookies(w)["session"]; c == nil || c.MaxAge != -1 {
			t.Fatalf("Destroy did not clear: %v", w.Header().Values("Set-Cookie"))
		}
		if err := m.RevokeSubject(context.Background(), "alice"); !errors.Is(err, middleware.ErrRevokeFault) || !errors.Is(err, errDown) {
			t.Fatalf("RevokeSubject: %v", err)
		}
	})
}

// fakeLegacy accepts values "legacy.<k>.<v>" and, for "legacy.chan", a
// value JSON cannot encode. Its sessions are issued at now().
type fakeLegacy struct {
	calls int
	now   func() time.Time
}

func (f *fakeLegacy) DecodeSession(name, value string) (cookie.LegacySession, error) {
	f.calls++
	rest, ok := strings.CutPrefix(value, "legacy.")
	if !ok || name != "session" {
		return cookie.LegacySession{}, errors.New("not a legacy cookie")
	}
	if rest == "chan" {
		return cookie.LegacySession{Values: map[string]any{"c": make(chan int)}, IssuedAt: f.now()}, nil
	}
	rest, _, _ = strings.Cut(rest, "~") // "~…" pads a value
	k, v, _ := strings.Cut(rest, ".")
	return cookie.LegacySession{Values: map[string]any{k: v, "user_id": int64(1<<53 + 1)}, IssuedAt: f.now()}, nil
}

func TestLegacyMigration(t *testing.T) {
	clk := newClock()
	dec := &fakeLegacy{now: clk.Now}
	rec := &recorder{}
	kr := testKeyring(t)
	m := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now}, Legacy: dec, Observer: rec})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		v, _, _ := middleware.Get[string](s, "k")
		uid, _, _ := middleware.Get[int64](s, "user_id")
		fmt.Fprintf(w, "%s %d %v", v, uid, s.IssuedAt().Equal(clk.Now()))
	}))

	w := do(t, h, "GET", "/", &http.Cookie{Name: "session", Value: "legacy.k.v"})
	if got, want := w.Body.String(), fmt.Sprintf("v %d true", int64(1<<53+1)); got != want {
		t.Fatalf("legacy session: %q, want %q", got, want)
	}
	c := setCookies(w)["session"]
	if c == nil || c.MaxAge <= 0 || strings.HasPrefix(c.Value, "legacy") {
		t.Fatalf("not re-sealed natively: %v", c)
	}
	// The new cookie opens natively, without the decoder.
	calls := dec.calls
	clk.Advance(time.Second)
	w = do(t, h, "GET", "/", &http.Cookie{Name: "session", Value: c.Value})
	if !strings.HasPrefix(w.Body.String(), "v ") || dec.calls != calls || len(w.Result().Cookies()) != 0 {
		t.Fatalf("native reopen: %q, decoder calls %d→%d", w.Body.String(), calls, dec.calls)
	}

	// A legacy cookie larger than this manager ever writes is still tried.
	w = do(t, h, "GET", "/", &http.Cookie{Name: "session", Value: "legacy.k.big~" + strings.Repeat("x", 3900)})
	if !strings.HasPrefix(w.Body.String(), "big ") || setCookies(w)["session"] == nil {
		t.Fatalf("oversized legacy cookie: %q", w.Body.String())
	}

	tests := []struct {
		name   string
		value  string
		want   error
		reason cookie.Reason
	}{
		{"decoder refuses", "garbage", cookie.ErrInvalid, cookie.ReasonInvalid},
		{"value not JSON-encodable", "legacy.chan", middleware.ErrValue, cookie.ReasonPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.invalid = nil
			w := do(t, h, "GET", "/", &http.Cookie{Name: "session", Value: tt.value})
			if !strings.HasPrefix(w.Body.String(), " 0 ") {
				t.Fatalf("body %q", w.Body.String())
			}
			if c := setCookies(w)["session"]; c == nil || c.MaxAge != -1 {
				t.Fatalf("not cleared: %v", w.Header().Values("Set-Cookie"))
			}
			if len(rec.invalid) != 1 || !errors.Is(rec.invalid[0], tt.want) || cookie.ReasonOf(rec.invalid[0]) != tt.reason {
				t.Fatalf("rejections %v, want one matching %v with reason %v", rec.invalid, tt.want, tt.reason)
			}
		})
	}

	// An expired native cookie is not handed to the legacy decoder.
	old, err := cookie.New(kr, "session", cookie.Options{Now: func() time.Time { return clk.Now().Add(-30 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := old.Seal([]byte(`{"id":"AAAAAAAAAAAAAAAAAAAAAA"}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rec.invalid, calls = nil, dec.calls
	do(t, h, "GET", "/", &http.Cookie{Name: "session", Value: expired})
	if dec.calls != calls || len(rec.invalid) != 1 || !errors.Is(rec.invalid[0], cookie.ErrExpired) {
		t.Fatalf("expired native cookie: decoder calls %d→%d, rejections %v", calls, dec.calls, rec.invalid)
	}
}
