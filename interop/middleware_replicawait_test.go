package interop_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/middleware"
	rredis "github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// TestRevocationWritesWaitForTheReplica: every revocation the middleware
// writes (Renew's of the old id, RevokeOthers', Destroy's,
// Manager.RevokeSubject's) waits for a replica as long as the store's
// WaitTimeout allows, not the 100 ms that bounds a check
// (Options.RevokeCheckTimeout): a real replica whose link is held for
// 300 ms acknowledges, and the logout succeeds. Before, the check's
// bound cut every write's WAIT to 75 ms, and a logout on a Sentinel
// fleet (WaitReplicas 1 by default) failed with ErrNotReplicated
// whenever the replica took longer. The stolen cookie is then refused.
func TestRevocationWritesWaitForTheReplica(t *testing.T) {
	master := redistest.Start(t) // skips without redis-server, fails with COOKIESEAL_REQUIRE_REDIS=1
	_, link := redistest.StartReplica(t, master)
	// Generous store bounds, so that a loaded machine does not fail the
	// case that must pass; the middleware keeps its default check bound.
	d, err := rredis.NewDirect(master.Client(t), rredis.Options{WaitReplicas: 1, WriteTimeout: 5 * time.Second, WaitTimeout: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// A test clock from the real time (Redis expires entries by its own
	// clock): each case moves it a second past the login, since
	// RevokeSubject revokes sessions issued strictly before its call, to
	// the millisecond, and a fast machine logs in and revokes within one.
	clk := clockAt(time.Now())
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: d})
	h := m.Handler(userApp(m))
	revokeSubject := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.RevokeSubject(r.Context(), "alice"); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})
	for _, tc := range []struct {
		name, path string
		h          http.Handler
	}{
		{"Renew (a second login)", "/login?user=alice", h},
		{"RevokeOthers", "/pw", h},
		{"Destroy", "/logout", h},
		{"Manager.RevokeSubject", "/", revokeSubject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fixtures.NewBrowser(t, "app.example")
			if w := b.Do(t, h, "/login?user=alice"); w.Body.String() != "ok" {
				t.Fatalf("login: %d %q", w.Code, w.Body.String())
			}
			stolen := fixtures.NewBrowser(t, "app.example")
			stolen.Jar.SetCookies(stolen.URL(), b.Jar.Cookies(b.URL()))
			if w := stolen.Do(t, h, "/whoami"); w.Body.String() != "alice/alice" {
				t.Fatalf("the copied cookie before: %q", w.Body.String())
			}
			clk.Advance(time.Second)

			link.Hold()
			release := time.AfterFunc(300*time.Millisecond, link.Release)
			t.Cleanup(func() { release.Stop(); link.Release() })
			start := time.Now()
			w := b.Do(t, tc.h, tc.path)
			took := time.Since(start)
			if w.Code != http.StatusOK || w.Body.String() != "ok" {
				t.Fatalf("%s with the replica 300 ms behind: %d %q", tc.path, w.Code, w.Body.String())
			}
			if took < 250*time.Millisecond {
				t.Fatalf("answered in %v: the write did not wait for the held replica", took)
			}
			if w := stolen.Do(t, h, "/whoami"); w.Body.String() != "-" {
				t.Fatalf("the copied cookie after %s: %q, want no session", tc.path, w.Body.String())
			}
		})
	}
	// The check keeps its bound: with the store stopped (SIGSTOP), a
	// request answers as a fault (no session, fail closed) within the
	// check's 100 ms plus scheduling, though the store's own CheckTimeout
	// is 5 s.
	t.Run("the check is still bounded", func(t *testing.T) {
		srv := redistest.Start(t)
		d, err := rredis.NewDirect(srv.Client(t), rredis.Options{CheckTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		m := newManager(t, testKeyring(t), middleware.Options{Revoker: d})
		h := m.Handler(userApp(m))
		b := fixtures.NewBrowser(t, "app.example")
		if w := b.Do(t, h, "/login?user=alice"); w.Body.String() != "ok" {
			t.Fatalf("login: %d %q", w.Code, w.Body.String())
		}
		srv.Pause()
		defer srv.Resume()
		start := time.Now()
		w := b.Do(t, h, "/whoami")
		if took := time.Since(start); took > 2*time.Second || w.Body.String() != "-" {
			t.Fatalf("a check on a stopped store answered %q after %v; want no session within the check's bound", w.Body.String(), took)
		}
	})
}
