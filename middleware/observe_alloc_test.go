package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// TestObserverCostsNoAllocation: the events (value types, queued in the
// pooled state, told from a stack buffer) cost a listened request no
// allocation beyond EventOpened's session id string (22 bytes; none when
// a Revoker already needed it). With no listener the event code is not
// reached at all (bench/ shows allocs/op unchanged from before events).
func TestObserverCostsNoAllocation(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts: the race detector allocates on its own")
	}
	clk := newClock()
	k1, k2 := fixedKey(t, 1, keyring.StatusPrimary), fixedKey(t, 2, keyring.StatusPrimary)
	old := keyringOf(t, k1)
	measure := func(obs middleware.Observer, path string, rotate bool) float64 {
		keys := &swapKeys{kr: old}
		m := newManager(t, keys, middleware.Options{Codec: cookie.Options{Now: clk.Now}, RefreshAfter: time.Nanosecond, Observer: obs})
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.From(r)
			if r.URL.Path == "/set" {
				s.Set("k", "v")
			}
			middleware.Get[string](s, "k")
		}))
		c := do(t, h, "GET", "/set").Result().Cookies()[0]
		if path == "/bad" {
			c.Value = c.Value[:len(c.Value)-40] + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}
		if rotate {
			d1 := k1
			d1.Status = keyring.StatusDecryptOnly
			keys.Set(keyringOf(t, d1, func() keyring.Key { k := k2; k.Status = keyring.StatusPrimary; return k }()))
		}
		r := httptest.NewRequest("GET", "/get", nil)
		r.AddCookie(c)
		return testing.AllocsPerRun(200, func() {
			h.ServeHTTP(httptest.NewRecorder(), r)
		})
	}
	noop := middleware.ObserverFunc(func(middleware.Event) {})
	for _, tc := range []struct {
		name   string
		path   string
		rotate bool
		extra  float64 // the session id of EventOpened
	}{
		{"refresh", "/get", false, 1},
		{"rotation re-seal", "/get", true, 1},
		{"rejected", "/bad", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			none, listened := measure(nil, tc.path, tc.rotate), measure(noop, tc.path, tc.rotate)
			t.Logf("allocs/request: no observer %v, no-op observer %v", none, listened)
			if listened > none+tc.extra {
				t.Fatalf("an observer adds %v allocations per request, want at most %v", listened-none, tc.extra)
			}
		})
	}
}
