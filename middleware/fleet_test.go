package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/rotate"
)

// TestFleet runs three instances on real http.Servers (127.0.0.1, ports
// from the OS) that share keys through a rotate.Holder and one revocation
// store, with clocks apart by up to ClockSkew both ways, and a bounded set
// of concurrent clients, each with its own cookie jar (cookies ignore the
// port, so every client's cookie goes to every instance, as behind a load
// balancer). Through logins, writes, refreshes on every instance, a full
// key rotation (add, promote, which demotes the old key, remove once every
// cookie is re-sealed), RevokeSubject, Destroy and a revocation-store
// outage, it counts valid sessions refused and revoked sessions accepted:
// both must be 0.
func TestFleet(t *testing.T) {
	const (
		clients = 12
		rounds  = 4 // requests per client per phase
	)
	skew := keyring.DefaultClockSkew
	offsets := []time.Duration{-skew / 2, 0, skew / 2}
	requireSkewSafe(t, cookie.Native)

	base := newClock()
	kr0 := testKeyring(t)
	holder := rotate.NewHolder(kr0)
	store := newSwitchRevoker(base.Now)
	var faults atomic.Int64
	var managers []*middleware.Manager
	var urls []string
	for _, off := range offsets {
		m, err := middleware.New(holder, "session", middleware.Options{InsecureNoHostPrefix: true,
			InsecureAllowHTTP: true, // plain http on loopback
			Revoker:           store,
			Codec:             cookie.Options{Now: func() time.Time { return base.Now().Add(off) }},
			Observer:          observeKind(middleware.EventRevokeFault, func(error) { faults.Add(1) }),
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(m.Handler(userApp(m)))
		t.Cleanup(srv.Close)
		managers = append(managers, m)
		urls = append(urls, srv.URL)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	t.Cleanup(transport.CloseIdleConnections)
	site := &url.URL{Scheme: "http", Host: "127.0.0.1", Path: "/"}

	type client struct {
		user  string
		http  *http.Client
		valid bool // holds a session that must open
	}
	cs := make([]*client, clients)
	for i := range cs {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = &client{user: fmt.Sprintf("u%d", i), http: &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Second}}
	}
	bare := &http.Client{Transport: transport, Timeout: 10 * time.Second} // replays stolen copies

	var refusedValid, acceptedRevoked atomic.Int64
	get := func(c *http.Client, inst int, path string, cookies ...*http.Cookie) (int, string, bool) {
		req, err := http.NewRequest("GET", urls[inst]+path, nil)
		if err != nil {
			t.Error(err)
			return 0, "", false
		}
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return 0, "", false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), len(resp.Header["Set-Cookie"]) > 0
	}
	// phase runs fn for every client at once.
	phase := func(name string, fn func(i int, c *client)) {
		t.Helper()
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(i, c)
			}()
		}
		wg.Wait()
		if refusedValid.Load() != 0 || acceptedRevoked.Load() != 0 {
			t.Fatalf("after %s: %d valid sessions refused, %d revoked sessions accepted", name, refusedValid.Load(), acceptedRevoked.Load())
		}
	}
	// traffic: reads and writes spread over every instance; a valid
	// session must be seen by each.
	traffic := func(name string) {
		phase(name, func(i int, c *client) {
			for r := range rounds {
				inst := (i + r) % len(urls)
				path := "/whoami"
				if r%2 == 1 {
					path = fmt.Sprintf("/set?r=%d", r)
				}
				code, body, _ := get(c.http, inst, path)
				switch {
				case !c.valid:
				case path == "/whoami" && body != c.user+"/"+c.user:
					refusedValid.Add(1)
					t.Errorf("%s: %s refused on instance %d: %q", name, c.user, inst, body)
				case path != "/whoami" && code != http.StatusOK:
					refusedValid.Add(1)
					t.Errorf("%s: %s write on instance %d: %d %q", name, c.user, inst, code, body)
				}
			}
		})
	}
	login := func(i int, c *client) {
		if code, body, _ := get(c.http, i%len(urls), "/login?user="+c.user); code != http.StatusOK {
			t.Errorf("login %s: %d %q", c.user, code, body)
			return
		}
		c.valid = true
	}
	stolen := func(c *client) []*http.Cookie { return c.http.Jar.Cookies(site) }
	// refused checks that a revoked copy opens on no instance.
	refused := func(name string, copies []*http.Cookie) {
		for inst := range urls {
			if _, body, _ := get(bare, inst, "/whoami", copies...); body != "-" {
				acceptedRevoked.Add(1)
				t.Errorf("%s: revoked copy accepted on instance %d: %q", name, inst, body)
			}
		}
	}

	phase("login", login)
	for range 3 {
		base.Advance(7 * time.Hour) // past RefreshAfter: every read re-seals, on whichever instance
		traffic("refresh")
	}

	// Rotation, first half: add a key everywhere, then promote it.
	set, added, err := rotate.Add(holder.Keyring().Set(), base.Now())
	if err != nil {
		t.Fatal(err)
	}
	holder.Store(mustKeyring(t, set))
	traffic("key added")
	base.Advance(keyring.DefaultRolloutDelay + time.Second)
	set, err = rotate.Promote(set, added.ID, base.Now(), rotate.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	holder.Store(mustKeyring(t, set))
	traffic("key promoted (the old one demoted)")

	// RevokeSubject from an instance for a third of the users, Destroy
	// (logout) for another third; copies taken before must stop opening.
	var copies [clients][]*http.Cookie
	phase("revoke", func(i int, c *client) {
		copies[i] = stolen(c)
		switch i % 3 {
		case 0:
			if err := managers[(i+1)%len(managers)].RevokeSubject(context.Background(), c.user); err != nil {
				t.Error(err)
			}
			c.valid = false
		case 1:
			if code, body, _ := get(c.http, (i+2)%len(urls), "/logout"); code != http.StatusOK {
				t.Errorf("logout %s: %d %q", c.user, code, body)
			}
			c.valid = false
		}
	})
	phase("revoked copies", func(i int, c *client) {
		if i%3 != 2 {
			refused(c.user, copies[i])
			if _, body, _ := get(c.http, i%len(urls), "/whoami"); body != "-" {
				acceptedRevoked.Add(1)
				t.Errorf("%s: the revoked client itself still has %q", c.user, body)
			}
		}
	})
	traffic("after revocations")
	// Revocation ordering holds for clocks within NTP precision; these
	// clocks are up to ClockSkew apart, so new logins come once that has
	// passed (see Manager.RevokeSubject).
	base.Advance(skew + time.Second)
	phase("logins again", func(i int, c *client) {
		if !c.valid {
			login(i, c)
		}
	})
	traffic("after logins again")

	// An outage of the revocation store: fail closed, so no session, but
	// no response may touch a cookie; after it, every session is back.
	store.Down.Store(true)
	phase("outage", func(i int, c *client) {
		for r := range rounds {
			path := "/whoami"
			if r%2 == 1 {
				path = "/flash"
			}
			code, body, wrote := get(c.http, (i+r)%len(urls), path)
			if wrote {
				refusedValid.Add(1)
				t.Errorf("outage: a response to %s wrote a cookie (%d %q)", c.user, code, body)
			}
			if path == "/flash" && code != http.StatusServiceUnavailable {
				t.Errorf("outage: AddFlash for %s answered %d, want the fault reported", c.user, code)
			}
		}
	})
	store.Down.Store(false)
	if faults.Load() == 0 {
		t.Fatal("the outage reached no EventRevokeFault")
	}
	base.Advance(7 * time.Hour)
	traffic("after the outage")

	// Rotation, second half: every client has made requests since the
	// promotion, so every live cookie is sealed under the new key; remove
	// the old one (early: its AbsoluteTimeout wait is what this shows is
	// not needed for these cookies).
	set, err = rotate.Remove(set, kr0.Primary().ID, base.Now(), rotate.Policy{EmergencyRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	holder.Store(mustKeyring(t, set))
	traffic("old key removed")
	phase("revoked copies, last", func(i int, c *client) {
		if i%3 != 2 {
			refused(c.user, copies[i])
		}
	})
}
