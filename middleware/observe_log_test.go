package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// capture is a slog.Handler that keeps every record, at every level.
type capture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.records = append(c.records, r.Clone())
	c.mu.Unlock()
	return nil
}
func (c *capture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *capture) WithGroup(string) slog.Handler      { return c }

func (c *capture) take() []slog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.records
	c.records = nil
	return out
}

func attrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// TestLogObserverLevels: NewLogObserver logs each event an operator needs
// at the documented level with its reason, one record per event (faults
// are not logged a second time by the defaults), and never a cookie value,
// session id or subject.
func TestLogObserverLevels(t *testing.T) {
	tests := []struct {
		name   string
		run    func(t *testing.T, e *logEnv)
		level  slog.Level
		event  string
		reason string
		err    string // what the record's "err" holds, if it must have one
	}{
		{"tampered at debug", func(t *testing.T, e *logEnv) {
			b := []byte(e.jar["session"].Value)
			// Another base64url letter inside the ciphertext: authentic no more, still well-formed.
			if b[len(b)-30] == 'A' {
				b[len(b)-30] = 'B'
			} else {
				b[len(b)-30] = 'A'
			}
			do(t, e.h, "GET", "/get?k=k", &http.Cookie{Name: "session", Value: string(b)})
		}, slog.LevelDebug, "rejected", "tampered", ""},
		{"idle expiry at debug", func(t *testing.T, e *logEnv) {
			e.clk.Advance(3 * time.Hour)
			do(t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, slog.LevelDebug, "rejected", "idle_expired", ""},
		{"unknown key at warn", func(t *testing.T, e *logEnv) {
			e.keys.Set(keyringOf(t, fixedKey(t, 9, keyring.StatusPrimary)))
			do(t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, slog.LevelWarn, "rejected", "unknown_key", ""},
		{"rotation re-seal at debug", func(t *testing.T, e *logEnv) {
			e.keys.Set(keyringOf(t, fixedKey(t, 1, keyring.StatusDecryptOnly), fixedKey(t, 2, keyring.StatusPrimary)))
			do(t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, slog.LevelDebug, "resealed", "", ""},
		{"revocation fault at error", func(t *testing.T, e *logEnv) {
			e.fault.set(true)
			do(t, e.h, "GET", "/get?k=k", e.jar.List()...)
		}, slog.LevelError, "revoke_fault", "", ""},
		{"save failure at error", func(t *testing.T, e *logEnv) {
			do(t, e.h, "GET", "/set?k="+strings.Repeat("x", 5000))
		}, slog.LevelError, "save_failed", "", ""},
		{"destroy at debug", func(t *testing.T, e *logEnv) {
			do(t, e.h, "GET", "/destroy", e.jar.List()...)
		}, slog.LevelDebug, "destroyed", "", ""},
		{"destroy that revoked nothing (no subject) at warn", func(t *testing.T, e *logEnv) {
			anon := jar{}
			anon.Update(do(t, e.h, "GET", "/set?k=v"))
			e.cap.take()
			do(t, e.h, "GET", "/logout", anon.List()...)
		}, slog.LevelWarn, "destroyed", "", middleware.ErrNoSubject.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newLogEnv(t)
			tc.run(t, e)
			recs := e.cap.take()
			var hit []slog.Record
			for _, r := range recs {
				a := attrs(r)
				if a["event"] == "revoke_checked" || a["event"] == "opened" || a["event"] == "saved" {
					t.Fatalf("per-request event %q logged", a["event"])
				}
				if a["event"] == tc.event {
					hit = append(hit, r)
				}
				text := r.Message + fmt.Sprint(a)
				for _, secret := range []string{e.jar["session"].Value, e.id, "alice"} {
					if secret != "" && strings.Contains(text, secret) {
						t.Fatalf("record %q holds a secret", text)
					}
				}
			}
			if len(hit) != 1 {
				t.Fatalf("%d records for %q in %d", len(hit), tc.event, len(recs))
			}
			r := hit[0]
			a := attrs(r)
			if r.Level != tc.level || a["reason"] != tc.reason || a["cookie"] != "session" || a["method"] != "GET" {
				t.Fatalf("record %v %q %v", r.Level, r.Message, a)
			}
			if !strings.Contains(a["err"], tc.err) || (tc.event == "destroyed" && tc.err == "" && a["err"] != "") {
				t.Fatalf("record err %q, want %q", a["err"], tc.err)
			}
			if tc.level == slog.LevelWarn && tc.event == "rejected" && a["key_id"] != "1" {
				t.Fatalf("unknown key record names key %q, want the claimed 1", a["key_id"])
			}
		})
	}
}

type logEnv struct {
	clk   *clock
	keys  *swapKeys
	h     http.Handler
	jar   jar
	cap   *capture
	fault *switchFault
	id    string
}

// switchFault is a Revoker that answers, or fails once set.
type switchFault struct {
	faulty
	mu sync.Mutex
	on bool
}

func (s *switchFault) set(on bool) { s.mu.Lock(); s.on = on; s.mu.Unlock() }

func (s *switchFault) Check(ctx context.Context, rs revoke.SessionRef) error {
	s.mu.Lock()
	on := s.on
	s.mu.Unlock()
	if on {
		return errDown
	}
	return nil
}

func newLogEnv(t *testing.T) *logEnv {
	e := &logEnv{clk: newClock(), keys: &swapKeys{kr: keyringOf(t, fixedKey(t, 1, keyring.StatusPrimary))}, jar: jar{}, cap: &capture{}, fault: &switchFault{}}
	m := newManager(t, e.keys, middleware.Options{
		Codec: cookie.Options{IdleTimeout: 2 * time.Hour, Now: e.clk.Now}, Revoker: e.fault,
		Observer: middleware.NewLogObserver(slog.New(e.cap)),
	})
	mux := http.NewServeMux()
	mux.Handle("/", app(t))
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.SetSubject("alice")
		s.Set("k", "v")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if err := s.Destroy(); !errors.Is(err, middleware.ErrNoSubject) {
			t.Errorf("Destroy of an anonymous session = %v, want ErrNoSubject", err)
		}
	})
	e.h = m.Handler(mux)
	e.jar.Update(do(t, e.h, "GET", "/login"))
	e.id = do(t, e.h, "GET", "/id", e.jar.List()...).Body.String()
	if len(e.id) != 22 {
		t.Fatalf("id %q", e.id)
	}
	e.cap.take()
	return e
}

func (s *switchFault) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		return errDown
	}
	return nil
}

// TestFaultsLoggedOnce: with no Observer, the faults no call returns (a
// revocation check that failed while loading the session, a response
// written around the middleware) and a session that could not be saved
// are each logged to slog.Default, once, at error level. With an
// Observer, nothing goes to slog.Default: NewLogObserver logs each fault
// once, and an Observer that does not log keeps slog.Default silent.
func TestFaultsLoggedOnce(t *testing.T) {
	def := &capture{}
	old := slog.Default()
	slog.SetDefault(slog.New(def))
	t.Cleanup(func() { slog.SetDefault(old) })

	faults := []struct {
		name  string
		event string
		run   func(t *testing.T, opts middleware.Options)
	}{
		{"revocation check fails", "revoke_fault", func(t *testing.T, opts middleware.Options) {
			rv := &switchFault{}
			opts.Revoker = rv
			h := newManager(t, testKeyring(t), opts).Handler(app(t))
			c := do(t, h, "GET", "/set?k=v").Result().Cookies()
			rv.set(true)
			if w := do(t, h, "GET", "/get?k=k", c...); w.Body.String() != "-" {
				t.Fatalf("fail closed: %q", w.Body.String())
			}
		}},
		{"save fails", "save_failed", func(t *testing.T, opts middleware.Options) {
			h := newManager(t, testKeyring(t), opts).Handler(app(t))
			if w := do(t, h, "GET", "/set?k="+strings.Repeat("x", 5000)); w.Code != http.StatusInternalServerError {
				t.Fatalf("status %d", w.Code)
			}
		}},
		{"response written around the middleware", "save_failed", func(t *testing.T, opts middleware.Options) {
			fw := &frameworkWriter{ResponseRecorder: httptest.NewRecorder()}
			newManager(t, testKeyring(t), opts).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				s.Set("k", "v")
				fw.Write([]byte("ok"))
			})).ServeHTTP(fw, httptest.NewRequest("GET", "/", nil))
		}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Run("no observer", func(t *testing.T) {
				def.take()
				f.run(t, middleware.Options{})
				recs := def.take()
				if len(recs) != 1 || recs[0].Level != slog.LevelError {
					t.Fatalf("slog.Default got %d records, want one at error: %v", len(recs), recs)
				}
			})
			t.Run("NewLogObserver", func(t *testing.T) {
				def.take()
				own := &capture{}
				f.run(t, middleware.Options{Observer: middleware.NewLogObserver(slog.New(own))})
				if recs := def.take(); len(recs) != 0 {
					t.Fatalf("slog.Default got %v beside the observer", recs)
				}
				var hit []slog.Record
				for _, r := range own.take() {
					if r.Level == slog.LevelError {
						hit = append(hit, r)
					}
				}
				if len(hit) != 1 || attrs(hit[0])["event"] != f.event {
					t.Fatalf("the observer logged %v at error, want one %q", hit, f.event)
				}
			})
			t.Run("an observer that does not log", func(t *testing.T) {
				def.take()
				f.run(t, middleware.Options{Observer: middleware.ObserverFunc(func(middleware.Event) {})})
				if recs := def.take(); len(recs) != 0 {
					t.Fatalf("slog.Default got %v beside the observer", recs)
				}
			})
		})
	}
}
