package redis_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// wantEviction fails t unless err matches ErrEvictionPolicy and
// ErrUnavailable (so that fail closed applies), not ErrRevoked, and its
// text contains each of want.
func wantEviction(t testing.TB, what string, err error, want ...string) {
	t.Helper()
	switch {
	case !errors.Is(err, redis.ErrEvictionPolicy):
		t.Fatalf("%s: %v; want ErrEvictionPolicy", what, err)
	case !errors.Is(err, redis.ErrUnavailable):
		t.Fatalf("%s: %v does not match ErrUnavailable", what, err)
	case errors.Is(err, revoke.ErrRevoked):
		t.Fatalf("%s: %v matches ErrRevoked", what, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%s: %q does not name %q", what, err, w)
		}
	}
}

// errorLog collects what Run reports to OnError.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) { l.mu.Lock(); l.errs = append(l.errs, err); l.mu.Unlock() }

// has reports whether an error matching target has been reported.
func (l *errorLog) has(target error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, err := range l.errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// runCached starts Run on a new Cached until the test ends, without
// waiting for a load.
func runCached(t testing.TB, client goredis.UniversalClient, opts redis.CachedOptions) *redis.Cached {
	t.Helper()
	c, err := redis.NewCached(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// bucketFields counts the fields of every bucket hash under the default
// prefix: the revocations Redis holds.
func bucketFields(t testing.TB, c *goredis.Client) int64 {
	t.Helper()
	ctx := context.Background()
	var n int64
	iter := c.Scan(ctx, 0, redis.DefaultPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		l, err := c.HLen(ctx, iter.Val()).Result()
		if err != nil {
			t.Fatal(err)
		}
		n += l
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// fillUntilOOM writes keys without a TTL until the server refuses one with
// OOM, as the other users of a shared Redis would. Under a volatile-*
// policy, Redis first evicts every key with a TTL.
func fillUntilOOM(t testing.TB, c *goredis.Client) {
	t.Helper()
	ctx := context.Background()
	value := strings.Repeat("x", 16<<10)
	for i := range 10_000 {
		err := c.Set(ctx, "filler:"+strconv.Itoa(i), value, 0).Err()
		if err != nil {
			if !strings.HasPrefix(err.Error(), "OOM") {
				t.Fatalf("fill: %v", err)
			}
			return
		}
	}
	t.Fatal("fill: no OOM after 160 MB; is maxmemory set?")
}

const revocations = 2000

func revokedSession(i int) revoke.SessionRef {
	return revoke.SessionRef{ID: "id-" + strconv.Itoa(i), Subject: "user-" + strconv.Itoa(i), IssuedAt: time.Now()}
}

// TestEvictingServerIsRefused reproduces the report: revocations on a Redis
// with maxmemory 3mb and volatile-lru, then other writes fill it. Redis
// evicts every bucket (all 2,000 revocations are gone from it), and the
// revokers must not answer nil for any of those sessions: every write said
// the logout may not stick, and every check fails with ErrEvictionPolicy.
func TestEvictingServerIsRefused(t *testing.T) {
	srv := redistest.StartWith(t, "--maxmemory", "3mb", "--maxmemory-policy", "volatile-lru")
	raw := srv.Client(t)
	ctx := context.Background()
	d, err := redis.NewDirect(srv.Client(t), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	acked := 0 // revocations that returned nil: a logout that says it sticks
	for i := range revocations {
		s := revokedSession(i)
		werr := d.RevokeSession(ctx, s.ID, s.Subject, until)
		if werr == nil {
			acked++
			continue
		}
		wantEviction(t, "RevokeSession", werr, srv.Addr, "volatile-lru")
	}
	if n := bucketFields(t, raw); n != revocations {
		t.Fatalf("Redis holds %d entries before the fill; want %d (written, and reported)", n, revocations)
	}
	fillUntilOOM(t, raw)
	if n := bucketFields(t, raw); n != 0 {
		t.Fatalf("Redis holds %d entries after the fill; the scenario wants all %d evicted", n, revocations)
	}

	var log errorLog
	c := runCached(t, srv.Client(t), redis.CachedOptions{OnError: log.add})
	waitFor(t, 5*time.Second, "Cached answers", func() bool {
		return !errors.Is(c.Check(ctx, revoke.SessionRef{ID: "probe"}), redis.ErrStale)
	})
	lostDirect, lostCached := 0, 0 // evicted revocations that Check answers nil for
	for i := range revocations {
		s := revokedSession(i)
		if err := d.Check(ctx, s); err == nil {
			lostDirect++
		} else {
			wantEviction(t, "Direct.Check of an evicted revocation", err, "volatile-lru")
		}
		if err := c.Check(ctx, s); err == nil {
			lostCached++
		} else {
			wantEviction(t, "Cached.Check of an evicted revocation", err, "volatile-lru")
		}
	}
	if acked+lostDirect+lostCached > 0 {
		t.Fatalf("of %d revocations, %d were acknowledged as done, and after eviction Direct.Check answered nil for %d, Cached.Check for %d; want 0, 0, 0",
			revocations, acked, lostDirect, lostCached)
	}
	waitFor(t, 5*time.Second, "Run reports ErrEvictionPolicy to OnError", func() bool { return log.has(redis.ErrEvictionPolicy) })
}

// TestEvictingPoliciesAreRefused checks every policy but noeviction, with
// and without maxmemory (a policy with maxmemory 0 is one CONFIG SET away
// from evicting, so it is refused too), on checks and writes of both
// revokers.
func TestEvictingPoliciesAreRefused(t *testing.T) {
	srv := redistest.Start(t)
	raw := srv.Client(t)
	ctx := context.Background()
	for _, maxmemory := range []string{"0", "100mb"} {
		for _, policy := range []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
			"allkeys-lru", "allkeys-lfu", "allkeys-random"} {
			t.Run(policy+"/maxmemory="+maxmemory, func(t *testing.T) {
				if err := raw.ConfigSet(ctx, "maxmemory", maxmemory).Err(); err != nil {
					t.Fatal(err)
				}
				if err := raw.ConfigSet(ctx, "maxmemory-policy", policy).Err(); err != nil {
					t.Fatal(err)
				}
				s := revoke.SessionRef{ID: "a", Subject: "alice", IssuedAt: time.Now()}
				for _, kind := range []string{"direct", "cached"} {
					r := newRevoker(t, kind, raw, redis.Options{})
					wantEviction(t, kind+" RevokeSubject", r.RevokeSubject(ctx, s.Subject, time.Now(), time.Now().Add(time.Hour)), policy)
				}
				d := newRevoker(t, "direct", raw, redis.Options{})
				wantEviction(t, "Direct.Check", d.Check(ctx, s), policy)
				var log errorLog
				c := runCached(t, raw, redis.CachedOptions{OnError: log.add})
				waitFor(t, 5*time.Second, "OnError gets ErrEvictionPolicy", func() bool { return log.has(redis.ErrEvictionPolicy) })
				wantEviction(t, "Cached.Check", c.Check(ctx, s), policy)
			})
		}
	}
}

// TestNoEvictionIsAccepted is the control: with maxmemory set and
// noeviction, both revokers work; a full server keeps every revocation it
// took, and one it refuses says so (ErrUnavailable, not ErrEvictionPolicy).
func TestNoEvictionIsAccepted(t *testing.T) {
	srv := redistest.StartWith(t, "--maxmemory", "3mb", "--maxmemory-policy", "noeviction")
	raw := srv.Client(t)
	ctx := context.Background()
	d, err := redis.NewDirect(srv.Client(t), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	for i := range revocations {
		s := revokedSession(i)
		if err := d.RevokeSession(ctx, s.ID, s.Subject, until); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
	}
	fillUntilOOM(t, raw)
	// Redis 7.0 runs a script whose first command writes even over
	// maxmemory, so the next revocation may be taken or refused; either
	// way it is reported truly and nothing is dropped.
	last := revocations
	s := revokedSession(revocations)
	werr := d.RevokeSession(ctx, s.ID, s.Subject, until)
	switch {
	case werr == nil:
		last++
	case !errors.Is(werr, redis.ErrUnavailable) || errors.Is(werr, redis.ErrEvictionPolicy):
		t.Fatalf("RevokeSession on a full server: %v; want nil or ErrUnavailable (OOM)", werr)
	}
	c := startCached(t, srv.Client(t), redis.CachedOptions{})
	for i := range last {
		s := revokedSession(i)
		if err := d.Check(ctx, s); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("Direct.Check(%s): %v; want ErrRevoked", s.ID, err)
		}
		if err := c.Check(ctx, s); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("Cached.Check(%s): %v; want ErrRevoked", s.ID, err)
		}
	}
	if err := c.Check(ctx, revoke.SessionRef{ID: "valid", Subject: "bob"}); err != nil {
		t.Fatalf("Cached.Check of a valid session: %v", err)
	}
}

// TestEvictionPolicyChangedAtRuntime changes the policy with CONFIG SET
// under running revokers: a Direct finds it at its next reading (a minute
// later by its clock, or at once after a fault), a Cached at its next
// reload; both recover once the policy is noeviction again.
func TestEvictionPolicyChangedAtRuntime(t *testing.T) {
	srv := redistest.Start(t)
	raw := srv.Client(t)
	ctx := context.Background()
	setPolicy := func(p string) {
		t.Helper()
		if err := raw.ConfigSet(ctx, "maxmemory-policy", p).Err(); err != nil {
			t.Fatal(err)
		}
	}
	s := revoke.SessionRef{ID: "a", Subject: "alice", IssuedAt: time.Now()}

	t.Run("direct", func(t *testing.T) {
		defer setPolicy("noeviction")
		var now atomic.Int64
		now.Store(time.Now().UnixNano())
		clock := func() time.Time { return time.Unix(0, now.Load()) }
		advance := func(d time.Duration) { now.Add(int64(d)) }
		d, err := redis.NewDirect(srv.Client(t), redis.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Check(ctx, s); err != nil {
			t.Fatalf("Check: %v", err)
		}
		setPolicy("allkeys-lru")
		advance(59 * time.Second)
		if err := d.Check(ctx, s); err != nil {
			t.Fatalf("Check within the minute: %v; want nil (read once a minute)", err)
		}
		advance(time.Second)
		wantEviction(t, "Check a minute later", d.Check(ctx, s), "allkeys-lru")
		setPolicy("noeviction")
		advance(time.Second)
		if err := d.Check(ctx, s); err != nil {
			t.Fatalf("Check after noeviction is back: %v", err)
		}

		// A fault (as on a failover to another server) makes the next
		// call read the policy again, whatever the clock.
		setPolicy("volatile-ttl")
		srv.Pause()
		ferr := d.Check(ctx, s)
		srv.Resume()
		if !errors.Is(ferr, redis.ErrUnavailable) {
			t.Fatalf("Check of a paused server: %v; want ErrUnavailable", ferr)
		}
		wantEviction(t, "Check after the fault", d.Check(ctx, s), "volatile-ttl")
	})

	t.Run("cached", func(t *testing.T) {
		defer setPolicy("noeviction")
		var log errorLog
		c := runCached(t, srv.Client(t), redis.CachedOptions{ResyncInterval: 50 * time.Millisecond, OnError: log.add})
		waitFor(t, 5*time.Second, "first load", func() bool { return c.Check(ctx, s) == nil })
		setPolicy("volatile-lru")
		// The next periodic reload comes after max(ResyncInterval, 60 ×
		// the last load's duration): under -race a load of every bucket
		// takes ~100ms, so the reload may be 6s or more away.
		waitFor(t, 60*time.Second, "the next reload finds volatile-lru", func() bool {
			return errors.Is(c.Check(ctx, s), redis.ErrEvictionPolicy)
		})
		wantEviction(t, "Cached.Check", c.Check(ctx, s), "volatile-lru")
		waitFor(t, 5*time.Second, "OnError gets ErrEvictionPolicy", func() bool { return log.has(redis.ErrEvictionPolicy) })
		setPolicy("noeviction")
		waitFor(t, 60*time.Second, "a reload finds noeviction again", func() bool { return c.Check(ctx, s) == nil })
	})
}

// TestConfigCommandRefused runs a server with CONFIG renamed away, as managed
// services do: the policy cannot be read, so both revokers refuse unless
// Options.MaxmemoryPolicy vouches for noeviction; a server that does
// answer CONFIG GET is believed over the option.
func TestConfigCommandRefused(t *testing.T) {
	srv := redistest.StartWith(t, "--rename-command", "CONFIG", "")
	ctx := context.Background()
	s := revoke.SessionRef{ID: "a", Subject: "alice", IssuedAt: time.Now()}
	until := time.Now().Add(time.Hour)

	t.Run("not vouched", func(t *testing.T) {
		for _, kind := range []string{"direct", "cached"} {
			r := newRevoker(t, kind, srv.Client(t), redis.Options{})
			wantEviction(t, kind+" RevokeSession", r.RevokeSession(ctx, s.ID, s.Subject, until), "MaxmemoryPolicy")
		}
		d := newRevoker(t, "direct", srv.Client(t), redis.Options{})
		wantEviction(t, "Direct.Check", d.Check(ctx, s), srv.Addr, "CONFIG GET", "MaxmemoryPolicy")
		var log errorLog
		c := runCached(t, srv.Client(t), redis.CachedOptions{OnError: log.add})
		waitFor(t, 5*time.Second, "OnError gets ErrEvictionPolicy", func() bool { return log.has(redis.ErrEvictionPolicy) })
		wantEviction(t, "Cached.Check", c.Check(ctx, s), "MaxmemoryPolicy")
	})

	t.Run("vouched", func(t *testing.T) {
		opts := redis.Options{MaxmemoryPolicy: "noeviction"}
		d := newRevoker(t, "direct", srv.Client(t), opts)
		if err := d.RevokeSession(ctx, s.ID, s.Subject, until); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		if err := d.Check(ctx, s); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("Direct.Check: %v; want ErrRevoked", err)
		}
		c := startCached(t, srv.Client(t), redis.CachedOptions{Options: opts})
		if err := c.Check(ctx, s); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("Cached.Check: %v; want ErrRevoked", err)
		}
	})

	t.Run("only noeviction can be vouched", func(t *testing.T) {
		for _, p := range []string{"volatile-lru", "allkeys-lru", "NOEVICTION", "yes"} {
			if _, err := redis.NewDirect(srv.Client(t), redis.Options{MaxmemoryPolicy: p}); !errors.Is(err, redis.ErrInvalidConfig) {
				t.Errorf("NewDirect with MaxmemoryPolicy %q: %v; want ErrInvalidConfig", p, err)
			}
			if _, err := redis.NewCached(srv.Client(t), redis.CachedOptions{Options: redis.Options{MaxmemoryPolicy: p}}); !errors.Is(err, redis.ErrInvalidConfig) {
				t.Errorf("NewCached with MaxmemoryPolicy %q: %v; want ErrInvalidConfig", p, err)
			}
		}
	})

	t.Run("the server wins over the option", func(t *testing.T) {
		evicting := redistest.StartWith(t, "--maxmemory-policy", "allkeys-lru")
		d := newRevoker(t, "direct", evicting.Client(t), redis.Options{MaxmemoryPolicy: "noeviction"})
		wantEviction(t, "Direct.Check", d.Check(ctx, s), "allkeys-lru")
	})
}

// TestClusterEvictionPolicy sets an evicting policy on one master at a
// time: every check and load fails and names that master, whichever slot
// the session is in.
func TestClusterEvictionPolicy(t *testing.T) {
	cl := redistest.StartCluster(t)
	ctx := context.Background()
	s := revoke.SessionRef{ID: "a", Subject: "alice", IssuedAt: time.Now()}
	for i, node := range cl.Nodes {
		t.Run("master "+strconv.Itoa(i), func(t *testing.T) {
			nc := node.Client(t)
			if err := nc.ConfigSet(ctx, "maxmemory-policy", "volatile-lfu").Err(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := nc.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
					t.Fatal(err)
				}
			}()
			client := cl.Client(t)
			d := newRevoker(t, "direct", client, redis.Options{})
			wantEviction(t, "Direct.Check", d.Check(ctx, s), node.Addr, "volatile-lfu")
			var log errorLog
			c := runCached(t, client, redis.CachedOptions{OnError: log.add})
			waitFor(t, 10*time.Second, "OnError gets ErrEvictionPolicy", func() bool { return log.has(redis.ErrEvictionPolicy) })
			wantEviction(t, "Cached.Check", c.Check(ctx, s), node.Addr, "volatile-lfu")
		})
	}
	// All masters at noeviction: accepted.
	d := newRevoker(t, "direct", cl.Client(t), redis.Options{})
	if err := d.Check(ctx, s); err != nil {
		t.Fatalf("Direct.Check with every master at noeviction: %v", err)
	}
}

// TestCheckBoundedWhileReadingPolicy: a Check that must read the policy
// again (after a fault, as in a failover) is bounded by CheckTimeout
// however many run at once. Before, one caller at a time read it, under a
// lock that the others' deadlines did not bound, so the n-th of n
// concurrent checks on a paused server took n readings (measured in a
// Sentinel failover: checks of 0.5–1.3s with CheckTimeout 100ms).
func TestCheckBoundedWhileReadingPolicy(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		name   string
		client func() goredis.UniversalClient
	}{
		// The policy is read in the check's own round trip.
		{"standalone", func() goredis.UniversalClient { return srv.Client(t) }},
		// The policy is read first, by one caller at a time.
		{"ring", func() goredis.UniversalClient {
			r := goredis.NewRing(&goredis.RingOptions{Addrs: map[string]string{"a": srv.Addr},
				ContextTimeoutEnabled: true, DisableIdentity: true})
			t.Cleanup(func() { _ = r.Close() })
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout, n = 100 * time.Millisecond, 16
			d, err := redis.NewDirect(tc.client(), redis.Options{CheckTimeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s := revoke.SessionRef{ID: "a", Subject: "alice", IssuedAt: time.Now()}
			if err := d.Check(ctx, s); err != nil {
				t.Fatalf("Check: %v", err)
			}
			srv.Pause()
			resumed := false
			defer func() {
				if !resumed {
					srv.Resume()
				}
			}()
			if err := d.Check(ctx, s); !errors.Is(err, redis.ErrUnavailable) {
				t.Fatalf("Check of a paused server: %v; want ErrUnavailable", err)
			}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				longest time.Duration
			)
			for range n {
				wg.Go(func() {
					start := time.Now()
					err := d.Check(ctx, s)
					took := time.Since(start)
					if !errors.Is(err, redis.ErrUnavailable) {
						t.Errorf("Check of a paused server: %v; want ErrUnavailable", err)
					}
					mu.Lock()
					longest = max(longest, took)
					mu.Unlock()
				})
			}
			wg.Wait()
			srv.Resume()
			resumed = true
			t.Logf("%d concurrent checks on a paused server, CheckTimeout %v: the longest took %v", n, timeout, longest)
			// One reading each would be n × timeout; the bound leaves room
			// for a loaded machine's scheduling delays.
			if longest > n/2*timeout {
				t.Errorf("a check took %v; want at most %v (CheckTimeout %v)", longest, n/2*timeout, timeout)
			}
			waitFor(t, 5*time.Second, "checks succeed after Resume", func() bool { return d.Check(ctx, s) == nil })
		})
	}
}
