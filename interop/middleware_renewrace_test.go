package interop_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
	rredis "github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// The renew race (issue 24, item 2) and the Destroy-during-Renew race
// against a real redis-server through revoke/redis's Direct, with
// net/http/cookiejar applying the responses in the racy order. The same
// cases run against revoke.Memory in middleware/renewrace_test.go and
// middleware/destroyrace_test.go.

// hookedRevoker runs a hook once, after the next Check answered or
// before the next RevokeSubject, to land another request in the middle
// of a renewal.
type hookedRevoker struct {
	revoke.Revoker
	mu                        sync.Mutex
	afterCheck, beforeSubject func()
}

func (h *hookedRevoker) take(f *func()) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := *f
	*f = nil
	return g
}

func (h *hookedRevoker) Check(ctx context.Context, rs revoke.SessionRef) error {
	err := h.Revoker.Check(ctx, rs)
	if f := h.take(&h.afterCheck); f != nil {
		f()
	}
	return err
}

func (h *hookedRevoker) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if f := h.take(&h.beforeSubject); f != nil {
		f()
	}
	return h.Revoker.RevokeSubject(ctx, subject, before, until)
}

// redisRace is a manager on a Direct revoker over a fresh redis-server,
// behind UserApp and a /hold route that loads the session, runs during,
// then Renews (or, /hold-others, calls RevokeOthers).
type redisRace struct {
	clk    *clock
	m      *middleware.Manager
	h      http.Handler
	rv     *hookedRevoker
	during func()
}

func newRedisRace(t *testing.T) *redisRace {
	srv := redistest.Start(t) // skips without redis-server, fails with COOKIESEAL_REQUIRE_REDIS=1
	// A test clock that starts at the real time: Redis expires entries
	// by its own clock, so their deadlines must lie in its future.
	clk := clockAt(time.Now())
	// Generous timeouts: a loaded test machine must not turn the race
	// into a store fault (which the fail policy answers instead).
	d, err := rredis.NewDirect(srv.Client(t), rredis.Options{Now: clk.Now, CheckTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := &redisRace{clk: clk, rv: &hookedRevoker{Revoker: d}, during: func() {}}
	e.m = newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, Revoker: e.rv, RevokeCheckTimeout: 5 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/", userApp(e.m))
	hold := func(others bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s, _ := e.m.Session(r)
			if s.Subject() == "" {
				http.Error(w, "no session at load", http.StatusForbidden)
				return
			}
			e.during()
			var err error
			if others {
				err = s.RevokeOthers(r.Context())
			} else {
				err = s.Renew()
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			w.Write([]byte("ok"))
		}
	}
	mux.HandleFunc("/hold", hold(false))
	mux.HandleFunc("/hold-others", hold(true))
	e.h = e.m.Handler(mux)
	return e
}

// request builds a request for path with the cookies b holds now.
func request(b *fixtures.Browser, path string) *http.Request {
	r := httptest.NewRequest("GET", "https://"+b.Host+path, nil)
	for _, c := range b.Jar.Cookies(b.URL()) {
		r.AddCookie(c)
	}
	return r
}

func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func (e *redisRace) login(t *testing.T) *fixtures.Browser {
	t.Helper()
	b := fixtures.NewBrowser(t, "app.example")
	if w := b.Do(t, e.h, "/login?user=alice"); w.Body.String() != "ok" {
		t.Fatalf("login: %d %q", w.Code, w.Body.String())
	}
	e.clk.Advance(time.Minute)
	return b
}

// TestRedisRenewRace: tab A renews (a login again, RevokeOthers) while
// tab B's request carries the pre-renew cookie; B's response lands last
// and must leave A's session in the browser.
func TestRedisRenewRace(t *testing.T) {
	for _, a := range []string{"/login?user=alice", "/pw"} {
		t.Run(a, func(t *testing.T) {
			e := newRedisRace(t)
			b := e.login(t)
			reqB := request(b, "/whoami")
			wA := serveReq(e.h, request(b, a))
			if wA.Code != http.StatusOK {
				t.Fatalf("tab A: %d %q", wA.Code, wA.Body.String())
			}
			wB := serveReq(e.h, reqB)
			if wB.Body.String() != "-" {
				t.Fatalf("tab B with the pre-renew cookie: %q, want no session", wB.Body.String())
			}
			b.Jar.SetCookies(b.URL(), wA.Result().Cookies())
			b.Jar.SetCookies(b.URL(), wB.Result().Cookies())
			if l := wB.Header().Values("Set-Cookie"); len(l) != 0 {
				t.Errorf("tab B's response set %q", l)
			}
			if got := b.Do(t, e.h, "/whoami").Body.String(); got != "alice/alice" {
				t.Fatalf("after the race: %q, want alice/alice", got)
			}
		})
	}
}

// TestRedisDestroyDuringRenew: a Destroy of the same session from another
// tab lands during a Renew (after its check) or during RevokeOthers'
// RevokeSubject; after both, neither the destroyed session nor a renewed
// one opens, whatever order the responses land in.
func TestRedisDestroyDuringRenew(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		arm        func(rv *hookedRevoker, f func())
	}{
		{"Renew", "/hold", func(rv *hookedRevoker, f func()) { rv.afterCheck = f }},
		{"RevokeOthers", "/hold-others", func(rv *hookedRevoker, f func()) { rv.beforeSubject = f }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRedisRace(t)
			b := e.login(t)
			old := request(b, "/whoami").Cookies()
			var wD *httptest.ResponseRecorder
			e.during = func() {
				e.rv.mu.Lock()
				tc.arm(e.rv, func() { wD = serveReq(e.h, request(b, "/logout")) })
				e.rv.mu.Unlock()
			}
			wR := serveReq(e.h, request(b, tc.path))
			if wD == nil {
				t.Fatal("the Destroy never ran")
			}
			if wD.Body.String() != "ok" {
				t.Fatalf("the Destroy: %d %q", wD.Code, wD.Body.String())
			}
			opens := func(cs []*http.Cookie) string {
				r := httptest.NewRequest("GET", "https://app.example/whoami", nil)
				for _, c := range cs {
					if c.MaxAge >= 0 && c.Value != "" {
						r.AddCookie(c)
					}
				}
				return serveReq(e.h, r).Body.String()
			}
			if got := opens(wR.Result().Cookies()); got != "-" {
				t.Errorf("the renewed session outlives the Destroy: %q (renewal answered %d %q)", got, wR.Code, strings.TrimSpace(wR.Body.String()))
			}
			if got := opens(old); got != "-" {
				t.Errorf("the destroyed session opens: %q", got)
			}
			b.Jar.SetCookies(b.URL(), wD.Result().Cookies())
			b.Jar.SetCookies(b.URL(), wR.Result().Cookies())
			if got := b.Do(t, e.h, "/whoami").Body.String(); got != "-" {
				t.Errorf("after both the browser is logged in as %q", got)
			}
		})
	}
}
