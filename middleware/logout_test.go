package middleware_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// TestDestroyWithoutSubject (issue 24, item 1): Destroy of a session that
// has no subject writes no revocation entry (an anonymous client must not
// grow the list), so a copy of its cookie still opens. With a Revoker,
// Destroy says so: the cookie is cleared and the error, and the
// EventDestroyed's Err, match ErrNoSubject. Where no copy of a cookie can
// survive (no session, one made in this request, a legacy cookie retired
// at migration) or no Destroy revokes anything (no Revoker), it returns
// nil.
func TestDestroyWithoutSubject(t *testing.T) {
	type result struct {
		err     error
		ev      error // the EventDestroyed's Err
		cleared bool
		copyOK  bool // a copy of the cookie from before still opens
		writes  int64
	}
	run := func(t *testing.T, revoker bool, prep string, in func(s *middleware.Session) error) result {
		t.Helper()
		clk := newClock()
		rv := newSwitchRevoker(clk.Now)
		evs := &events{}
		opts := middleware.Options{Codec: cookie.Options{Now: clk.Now}, Observer: evs, Legacy: &fakeLegacy{now: clk.Now}}
		if revoker {
			opts.Revoker = rv
		}
		m := newManager(t, testKeyring(t), opts)
		var res result
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r)
			switch r.URL.Path {
			case "/anon":
				s.Set("user_id", "42") // the user kept as a value, no SetSubject
			case "/login":
				s.Renew()
				s.SetSubject("alice")
			case "/destroy":
				if in != nil {
					if err := in(s); err != nil {
						t.Fatal(err)
					}
				}
				res.err = s.Destroy()
			case "/get":
				v, _, _ := middleware.Get[string](s, "user_id")
				w.Write([]byte(v + "/" + s.Subject()))
			}
		}))
		j := jar{}
		switch prep {
		case "anon", "login":
			j.Update(do(t, h, "GET", "/"+prep))
		case "legacy":
			j["session"] = &http.Cookie{Name: "session", Value: "legacy.user_id.42"}
		}
		stolen := j.List()
		copyBefore := "42/" // a legacy cookie: the Destroy's request migrates it
		if prep != "legacy" {
			copyBefore = do(t, h, "GET", "/get", stolen...).Body.String()
		}
		evs.take()
		writes := rv.Sessions.Load()
		w := do(t, h, "GET", "/destroy", j.List()...)
		res.writes = rv.Sessions.Load() - writes
		for _, e := range evs.take() {
			if e.Kind == middleware.EventDestroyed {
				res.ev = e.Err
			}
		}
		if c := setCookies(w)["session"]; c != nil && c.MaxAge < 0 {
			res.cleared = true
		}
		res.copyOK = copyBefore != "/" && do(t, h, "GET", "/get", stolen...).Body.String() == copyBefore
		return res
	}

	t.Run("with a Revoker, a session without a subject: ErrNoSubject, cleared, no entry", func(t *testing.T) {
		r := run(t, true, "anon", nil)
		if !errors.Is(r.err, middleware.ErrNoSubject) || errors.Is(r.err, middleware.ErrRevokeFault) {
			t.Fatalf("Destroy = %v, want ErrNoSubject", r.err)
		}
		if !errors.Is(r.ev, middleware.ErrNoSubject) {
			t.Fatalf("EventDestroyed.Err = %v, want ErrNoSubject", r.ev)
		}
		if !r.cleared || r.writes != 0 || !r.copyOK {
			t.Fatalf("cleared %v, %d revocations written, a copy opens %v: want cleared, none, a copy opening (what the error says)", r.cleared, r.writes, r.copyOK)
		}
	})
	t.Run("with a Revoker, SetSubject in the same request does not revoke the anonymous copy: ErrNoSubject", func(t *testing.T) {
		r := run(t, true, "anon", func(s *middleware.Session) error { return s.SetSubject("alice") })
		if !errors.Is(r.err, middleware.ErrNoSubject) || !r.cleared || !r.copyOK {
			t.Fatalf("Destroy = %v, cleared %v, copy opens %v", r.err, r.cleared, r.copyOK)
		}
	})
	t.Run("with a Revoker, a session with a subject: revoked, nil", func(t *testing.T) {
		r := run(t, true, "login", nil)
		if r.err != nil || r.ev != nil || !r.cleared || r.copyOK {
			t.Fatalf("Destroy = %v (event %v), cleared %v, copy opens %v", r.err, r.ev, r.cleared, r.copyOK)
		}
	})
	t.Run("with a Revoker, no cookie: nil", func(t *testing.T) {
		if r := run(t, true, "", nil); r.err != nil || r.ev != nil || r.writes != 0 {
			t.Fatalf("Destroy = %v (event %v), %d writes", r.err, r.ev, r.writes)
		}
	})
	t.Run("with a Revoker, a session made in this request: nil", func(t *testing.T) {
		if r := run(t, true, "", func(s *middleware.Session) error { return s.Set("user_id", "42") }); r.err != nil || r.writes != 0 {
			t.Fatalf("Destroy = %v, %d writes", r.err, r.writes)
		}
	})
	t.Run("with a Revoker, an anonymous legacy cookie (retired at migration): nil", func(t *testing.T) {
		r := run(t, true, "legacy", nil)
		if r.err != nil || !r.cleared || r.copyOK {
			t.Fatalf("Destroy = %v, cleared %v, the legacy copy opens %v", r.err, r.cleared, r.copyOK)
		}
	})
	t.Run("without a Revoker no Destroy revokes: nil, cleared", func(t *testing.T) {
		for _, prep := range []string{"anon", "login"} {
			if r := run(t, false, prep, nil); r.err != nil || r.ev != nil || !r.cleared {
				t.Fatalf("%s: Destroy = %v (event %v), cleared %v", prep, r.err, r.ev, r.cleared)
			}
		}
	})
}
