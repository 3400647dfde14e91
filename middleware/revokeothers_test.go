package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/sessiontest"
)

// othersApp is userApp with the flows of these tests:
//
//	/id             the session's id
//	/others         RevokeOthers; the error's text, or "ok"
//	/others-renew   RevokeOthers, then Renew in the same request
//	/everywhere     RevokeSubject(r.Context(), own subject), then Set (the response writes the cookie)
//	/everywhere-renew  RevokeSubject(r.Context(), own subject), then Renew: its error's text
func othersApp(t *testing.T, m *middleware.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", userApp(m))
	sess := func(r *http.Request) *middleware.Session {
		s, err := m.Session(r)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	answer := func(w http.ResponseWriter, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.Write([]byte("ok"))
	}
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(sess(r).ID()))
	})
	mux.HandleFunc("/others", func(w http.ResponseWriter, r *http.Request) {
		answer(w, sess(r).RevokeOthers(r.Context()))
	})
	mux.HandleFunc("/others-renew", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		answer(w, errors.Join(s.RevokeOthers(r.Context()), s.Renew()))
	})
	mux.HandleFunc("/everywhere", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		answer(w, errors.Join(m.RevokeSubject(r.Context(), s.Subject()), s.Set("k", "v")))
	})
	mux.HandleFunc("/everywhere-renew", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if err := m.RevokeSubject(r.Context(), s.Subject()); err != nil {
			t.Fatal(err)
		}
		answer(w, s.Renew())
	})
	return mux
}

// TestRevokeOthers: "log out my other devices, keep this one", and its
// counterpart RevokeSubject, which now logs the caller out too whatever
// context it is given; with the in-memory list and with a store the test
// can take down.
func TestRevokeOthers(t *testing.T) {
	revokers := []struct {
		name string
		make func(now func() time.Time) revoke.Revoker
	}{
		{"memory", func(now func() time.Time) revoke.Revoker { return revoke.NewMemory(revoke.MemoryOptions{Now: now}) }},
		{"switchable store", func(now func() time.Time) revoke.Revoker { return newSwitchRevoker(now) }},
	}
	for _, rk := range revokers {
		setup := func(t *testing.T) (*clock, *middleware.Manager, http.Handler) {
			clk := newClock()
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: rk.make(clk.Now)})
			return clk, m, m.Handler(othersApp(t, m))
		}
		login := func(t *testing.T, clk *clock, h http.Handler, user string) jar {
			j := jar{}
			j.Update(do(t, h, "GET", "/login?user="+user))
			clk.Advance(time.Minute)
			return j
		}
		whoami := func(t *testing.T, h http.Handler, j jar) string {
			t.Helper()
			return do(t, h, "GET", "/whoami", j.List()...).Body.String()
		}

		t.Run(rk.name+"/the caller survives, every other session of the subject is refused", func(t *testing.T) {
			clk, _, h := setup(t)
			laptop, phone, tablet := login(t, clk, h, "alice"), login(t, clk, h, "alice"), login(t, clk, h, "alice")
			bob := login(t, clk, h, "bob")
			before := laptop.List() // a copy of the laptop's cookie, as it was
			idBefore := do(t, h, "GET", "/id", laptop.List()...).Body.String()
			w := do(t, h, "GET", "/others", laptop.List()...)
			if w.Body.String() != "ok" {
				t.Fatalf("RevokeOthers: %d %q", w.Code, w.Body.String())
			}
			laptop.Update(w)
			if got := whoami(t, h, laptop); got != "alice/alice" {
				t.Errorf("the caller after RevokeOthers: %q (its data kept)", got)
			}
			if id := do(t, h, "GET", "/id", laptop.List()...).Body.String(); id == "" || id == idBefore {
				t.Errorf("the kept session's id %q, before %q: want a new one (renewed)", id, idBefore)
			}
			for name, j := range map[string]jar{"phone": phone, "tablet": tablet} {
				if got := whoami(t, h, j); got != "-" {
					t.Errorf("%s, another device of alice, after RevokeOthers: %q", name, got)
				}
			}
			if got := do(t, h, "GET", "/whoami", before...).Body.String(); got != "-" {
				t.Errorf("the laptop's cookie from before RevokeOthers: %q", got)
			}
			if got := whoami(t, h, bob); got != "bob/bob" {
				t.Errorf("another user: %q", got)
			}
			clk.Advance(time.Millisecond)
			if got := whoami(t, h, login(t, clk, h, "alice")); got != "alice/alice" {
				t.Errorf("a new login after RevokeOthers: %q", got)
			}
		})

		t.Run(rk.name+"/a Renew in the same millisecond keeps the caller", func(t *testing.T) {
			clk, _, h := setup(t)
			laptop, phone := login(t, clk, h, "alice"), login(t, clk, h, "alice")
			w := do(t, h, "GET", "/others-renew", laptop.List()...) // the clock does not move inside
			if w.Body.String() != "ok" {
				t.Fatalf("RevokeOthers, Renew: %d %q", w.Code, w.Body.String())
			}
			laptop.Update(w)
			if got := whoami(t, h, laptop); got != "alice/alice" {
				t.Errorf("the caller: %q", got)
			}
			if got := whoami(t, h, phone); got != "-" {
				t.Errorf("the other device: %q", got)
			}
		})

		t.Run(rk.name+"/RevokeSubject from inside a request logs the caller out too", func(t *testing.T) {
			clk, _, h := setup(t)
			laptop, phone := login(t, clk, h, "alice"), login(t, clk, h, "alice")
			w := do(t, h, "GET", "/everywhere", laptop.List()...)
			if w.Body.String() != "ok" {
				t.Fatalf("RevokeSubject: %d %q", w.Code, w.Body.String())
			}
			laptop.Update(w) // the response wrote the session: still issued before the cut
			clk.Advance(time.Millisecond)
			for name, j := range map[string]jar{"the caller": laptop, "the phone": phone} {
				if got := whoami(t, h, j); got != "-" {
					t.Errorf("%s after RevokeSubject(r.Context(), own subject): %q", name, got)
				}
			}
			// A Renew after it, in the same request, does not escape it.
			again := login(t, clk, h, "alice")
			w = do(t, h, "GET", "/everywhere-renew", again.List()...)
			if w.Code != http.StatusConflict {
				t.Fatalf("Renew after RevokeSubject of its own subject: %d %q, want revoke.ErrRevoked", w.Code, w.Body.String())
			}
			again.Update(w)
			if got := whoami(t, h, again); got != "-" {
				t.Errorf("the caller after RevokeSubject then Renew: %q", got)
			}
		})
	}
}

// TestRevokeOthersErrors: without a Revoker, without a subject, and when
// the store fails at each step, RevokeOthers says so with a sentinel and
// claims nothing it did not do.
func TestRevokeOthersErrors(t *testing.T) {
	t.Run("no Revoker", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{})
		h := m.Handler(othersApp(t, m))
		j := jar{}
		j.Update(do(t, h, "GET", "/login?user=alice"))
		var err error
		do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := m.Session(r)
			err = s.RevokeOthers(r.Context())
		})), "GET", "/", j.List()...)
		if !errors.Is(err, middleware.ErrNoRevoker) {
			t.Fatalf("RevokeOthers = %v, want ErrNoRevoker", err)
		}
	})

	type env struct {
		clk    *clock
		rv     *switchRevoker
		m      *middleware.Manager
		h      http.Handler
		laptop jar
		phone  jar
		events *events
	}
	setup := func(t *testing.T, failOpen bool) *env {
		e := &env{clk: newClock(), events: &events{}}
		e.rv = newSwitchRevoker(e.clk.Now)
		e.m = newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: e.clk.Now}, Revoker: e.rv, InsecureRevokeFailOpen: failOpen, Observer: e.events})
		e.h = e.m.Handler(othersApp(t, e.m))
		e.laptop, e.phone = jar{}, jar{}
		e.laptop.Update(do(t, e.h, "GET", "/login?user=alice"))
		e.phone.Update(do(t, e.h, "GET", "/login?user=alice"))
		e.clk.Advance(time.Minute)
		e.events.take()
		return e
	}
	// run calls RevokeOthers on the laptop's session, with during run
	// after the session loaded.
	run := func(t *testing.T, e *env, during func()) ([]*http.Cookie, error) {
		var err error
		w := do(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := e.m.Session(r)
			s.Subject() // load
			if during != nil {
				during()
			}
			err = s.RevokeOthers(r.Context())
		})), "GET", "/", e.laptop.List()...)
		return w.Result().Cookies(), err
	}
	// stillIn fails unless both devices are still logged in: nothing was
	// revoked, and the laptop's cookie was kept.
	stillIn := func(t *testing.T, e *env) {
		t.Helper()
		e.rv.Down.Store(false)
		e.clk.Advance(time.Millisecond)
		for name, j := range map[string]jar{"laptop": e.laptop, "phone": e.phone} {
			if got := do(t, e.h, "GET", "/whoami", j.List()...).Body.String(); got != "alice/alice" {
				t.Errorf("%s after a failed RevokeOthers: %q", name, got)
			}
		}
	}

	t.Run("no subject", func(t *testing.T) {
		e := setup(t, false)
		anon := jar{}
		anon.Update(do(t, e.h, "GET", "/set?k=v"))
		writes := e.rv.Subjects.Load()
		w := do(t, e.h, "GET", "/others", anon.List()...)
		if w.Code != http.StatusConflict || w.Body.String() != middleware.ErrNoSubject.Error()+"\n" {
			t.Fatalf("anonymous RevokeOthers: %d %q, want ErrNoSubject", w.Code, w.Body.String())
		}
		if e.rv.Subjects.Load() != writes || len(w.Result().Cookies()) != 0 {
			t.Fatalf("an anonymous RevokeOthers wrote %d revocations, Set-Cookie %v", e.rv.Subjects.Load()-writes, w.Result().Cookies())
		}
	})

	t.Run("store down for the check, fail closed", func(t *testing.T) {
		e := setup(t, false)
		set, err := run(t, e, func() { e.rv.Down.Store(true) })
		if !errors.Is(err, middleware.ErrRevokeFault) || !errors.Is(err, sessiontest.ErrStoreDown) || errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("RevokeOthers = %v, want ErrRevokeFault", err)
		}
		if len(set) != 0 {
			t.Fatalf("a fault touched the cookie: %v", set)
		}
		if k := kinds(e.events.take()); k != "revoke_checked opened revoke_checked revoke_fault" {
			t.Fatalf("events %q", k)
		}
		stillIn(t, e)
	})

	t.Run("store down for the check, fail open", func(t *testing.T) {
		e := setup(t, true)
		set, err := run(t, e, func() { e.rv.Down.Store(true) })
		if !errors.Is(err, middleware.ErrRevokeFault) {
			t.Fatalf("RevokeOthers = %v, want ErrRevokeFault", err)
		}
		if len(set) != 0 {
			t.Fatalf("a fault touched the cookie: %v", set)
		}
		stillIn(t, e)
	})

	t.Run("store fails the revocation", func(t *testing.T) {
		e := setup(t, false)
		// The check answers, then the store goes down before the write.
		set, err := run(t, e, func() { e.rv.Hook(func() { e.rv.Down.Store(true) }) })
		if !errors.Is(err, middleware.ErrRevokeFault) || !errors.Is(err, sessiontest.ErrStoreDown) {
			t.Fatalf("RevokeOthers = %v, want ErrRevokeFault", err)
		}
		if len(set) != 0 {
			t.Fatalf("a failed RevokeOthers wrote %v", set)
		}
		if k := kinds(e.events.take()); k != "revoke_checked opened revoke_checked revoke_fault" {
			t.Fatalf("events %q", k)
		}
		stillIn(t, e)
	})

	t.Run("already revoked from elsewhere", func(t *testing.T) {
		e := setup(t, false)
		set, err := run(t, e, func() {
			e.clk.Advance(time.Millisecond)
			if err := e.m.RevokeSubject(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(time.Millisecond)
		})
		if !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("RevokeOthers = %v, want revoke.ErrRevoked", err)
		}
		// Left as it is: another tab may hold a newer cookie.
		if len(set) != 0 {
			t.Fatalf("the revoked session's response set %v", set)
		}
	})
}
