package redis_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/internal/redistest"
	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// waitFor polls cond every 5ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startCached creates a Cached, runs it until the test ends, and waits for
// its first load.
func startCached(t testing.TB, client goredis.UniversalClient, opts redis.CachedOptions) *redis.Cached {
	t.Helper()
	c, err := redis.NewCached(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v; want context.Canceled", err)
		}
	})
	waitFor(t, 5*time.Second, "first load", func() bool {
		return !errors.Is(c.Check(context.Background(), revoke.Session{ID: "probe"}), redis.ErrStale)
	})
	return c
}

type factory struct {
	name string
	new  func(t *testing.T, prefix string, now func() time.Time) revoke.Revoker
}

func factories(client goredis.UniversalClient) []factory {
	return []factory{
		{"memory", func(t *testing.T, _ string, now func() time.Time) revoke.Revoker {
			return revoke.NewMemory(revoke.MemoryOptions{Now: now})
		}},
		{"direct", func(t *testing.T, prefix string, now func() time.Time) revoke.Revoker {
			d, err := redis.NewDirect(client, redis.Options{Prefix: prefix, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"cached", func(t *testing.T, prefix string, now func() time.Time) revoke.Revoker {
			return startCached(t, client, redis.CachedOptions{Options: redis.Options{Prefix: prefix, Now: now}})
		}},
	}
}

// conformance runs one table against Memory (the reference), Direct and
// Cached, so that the three agree.
func conformance(t *testing.T, client goredis.UniversalClient) {
	ctx := context.Background()
	type op func(r revoke.Revoker) error
	session := func(id, subject string, until time.Time) op {
		return func(r revoke.Revoker) error { return r.RevokeSession(ctx, id, subject, until) }
	}
	subject := func(subject string, before, until time.Time) op {
		return func(r revoke.Revoker) error { return r.RevokeSubject(ctx, subject, before, until) }
	}
	day := t0.Add(24 * time.Hour)
	sess := revoke.Session{ID: "id1", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}
	tests := []struct {
		name    string
		ops     []op
		check   revoke.Session
		revoked bool
	}{
		{"empty list", nil, sess, false},
		{"session revoked", []op{session("id1", "alice", day)}, sess, true},
		{"other session id", []op{session("id2", "alice", day)}, sess, false},
		{"session revoked under another subject", []op{session("id1", "bob", day)}, sess, false},
		{"session without subject", []op{session("id1", "", day)}, revoke.Session{ID: "id1", IssuedAt: t0}, true},
		{"sessionless entry does not match a session with subject", []op{session("id1", "", day)}, sess, false},
		{"subject revoked, issued before", []op{subject("alice", t0, day)}, sess, true},
		{"subject revoked, other subject", []op{subject("bob", t0, day)}, sess, false},
		{"subject with braces", []op{subject("}a{b", t0, day)}, revoke.Session{ID: "x", Subject: "}a{b", IssuedAt: t0.Add(-time.Second)}, true},
		{"boundary: issued 1ms before", []op{subject("alice", t0, day)},
			revoke.Session{ID: "x", Subject: "alice", IssuedAt: t0.Add(-time.Millisecond)}, true},
		{"boundary: issued at before", []op{subject("alice", t0, day)},
			revoke.Session{ID: "x", Subject: "alice", IssuedAt: t0}, false},
		{"boundary: issued 1ms after", []op{subject("alice", t0, day)},
			revoke.Session{ID: "x", Subject: "alice", IssuedAt: t0.Add(time.Millisecond)}, false},
		{"boundary: before with sub-ms part, issued same ms", []op{subject("alice", t0.Add(999*time.Microsecond), day)},
			revoke.Session{ID: "x", Subject: "alice", IssuedAt: t0}, false},
		{"max before: earlier call does not weaken", []op{subject("alice", t0, day), subject("alice", t0.Add(-2*time.Hour), day)},
			revoke.Session{ID: "x", Subject: "alice", IssuedAt: t0.Add(-time.Minute)}, true},
		{"max before: later call strengthens", []op{subject("alice", t0.Add(-2*time.Hour), day), subject("alice", t0, day)},
			revoke.Session{ID: "x", Subject: "alice", IssuedAt: t0.Add(-time.Minute)}, true},
		{"max before: earlier call alone", []op{subject("alice", t0.Add(-2*time.Hour), day)},
			revoke.Session{ID: "x", Subject: "alice", IssuedAt: t0.Add(-time.Minute)}, false},
		{"until passed is a no-op", []op{session("id1", "alice", t0.Add(-time.Second))}, sess, false},
		{"subject until passed is a no-op", []op{subject("alice", t0, t0)}, sess, false},
	}
	for _, f := range factories(client) {
		t.Run(f.name, func(t *testing.T) {
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := f.new(t, fmt.Sprintf("test:%s:%d:", t.Name(), i), fixed(t0))
					for j, op := range tt.ops {
						if err := op(r); err != nil {
							t.Fatalf("op %d: %v", j, err)
						}
					}
					err := r.Check(ctx, tt.check)
					if got := errors.Is(err, revoke.ErrRevoked); got != tt.revoked || (err != nil && !got) {
						t.Fatalf("Check(%+v) = %v; want revoked=%v", tt.check, err, tt.revoked)
					}
				})
			}
		})
	}
}

func TestConformance(t *testing.T) {
	s := redistest.Start(t)
	conformance(t, s.Client(t))
}

func TestClusterConformance(t *testing.T) {
	c := redistest.StartCluster(t)
	conformance(t, c.Client(t))
}

func TestInvalidArguments(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	day := time.Now().Add(24 * time.Hour)
	for _, f := range factories(s.Client(t)) {
		r := f.new(t, "test:invalid:"+f.name+":", time.Now)
		tests := []struct {
			name string
			call func() error
		}{
			{"check empty id", func() error { return r.Check(ctx, revoke.Session{Subject: "a", IssuedAt: t0}) }},
			{"session empty id", func() error { return r.RevokeSession(ctx, "", "a", day) }},
			{"session zero until", func() error { return r.RevokeSession(ctx, "id", "a", time.Time{}) }},
			{"subject empty", func() error { return r.RevokeSubject(ctx, "", t0, day) }},
			{"subject zero before", func() error { return r.RevokeSubject(ctx, "a", time.Time{}, day) }},
			{"subject zero until", func() error { return r.RevokeSubject(ctx, "a", t0, time.Time{}) }},
		}
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				if err := tt.call(); !errors.Is(err, revoke.ErrInvalidArgument) || errors.Is(err, revoke.ErrRevoked) {
					t.Fatalf("err = %v; want ErrInvalidArgument", err)
				}
			})
		}
	}
}

func TestTTL(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	now := time.Now()
	prefix := "test:ttl:"
	d, err := redis.NewDirect(client, redis.Options{Prefix: prefix, Now: fixed(now)})
	if err != nil {
		t.Fatal(err)
	}
	pttl := func(key string) time.Duration {
		t.Helper()
		v, err := client.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	steps := []struct {
		name    string
		call    func() error
		key     string
		wantTTL time.Duration // upper bound; the key must have a TTL in (want-1s, want]
	}{
		{"session", func() error { return d.RevokeSession(ctx, "id1", "alice", now.Add(time.Hour)) },
			prefix + "{alice}:s:id1", time.Hour},
		{"session: shorter until keeps the longer TTL", func() error { return d.RevokeSession(ctx, "id1", "alice", now.Add(time.Minute)) },
			prefix + "{alice}:s:id1", time.Hour},
		{"session: longer until extends", func() error { return d.RevokeSession(ctx, "id1", "alice", now.Add(2*time.Hour)) },
			prefix + "{alice}:s:id1", 2 * time.Hour},
		{"sessionless", func() error { return d.RevokeSession(ctx, "id2", "", now.Add(time.Minute)) },
			prefix + "s:id2", time.Minute},
		{"subject", func() error { return d.RevokeSubject(ctx, "alice", now, now.Add(24*time.Hour)) },
			prefix + "{alice}:u", 24 * time.Hour},
		{"subject: shorter until keeps the longer TTL", func() error { return d.RevokeSubject(ctx, "alice", now, now.Add(time.Hour)) },
			prefix + "{alice}:u", 24 * time.Hour},
		{"ttl rounds up to whole ms", func() error { return d.RevokeSession(ctx, "id3", "", now.Add(1500*time.Microsecond)) },
			prefix + "s:id3", 2 * time.Millisecond},
	}
	for _, st := range steps {
		if err := st.call(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := pttl(st.key)
		// Redis counts down from the write; allow for the time the test took since.
		lo := max(st.wantTTL-time.Second, 0)
		if got > st.wantTTL || got < lo && got != -2 { // -2: a ms-short entry already gone
			t.Fatalf("%s: PTTL %s = %v; want in [%v, %v]", st.name, st.key, got, lo, st.wantTTL)
		}
	}
	// A revocation whose until has passed writes nothing.
	if err := d.RevokeSession(ctx, "gone", "", now.Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Exists(ctx, prefix+"s:gone").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS after a past-until revoke = %d, %v; want 0", n, err)
	}
	// Every key under the prefix has a TTL: the list cleans itself.
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("KEYS = %v, %v", keys, err)
	}
	for _, k := range keys {
		if v := pttl(k); v == -1 {
			t.Fatalf("key %s has PTTL %v; every key must expire", k, v)
		}
	}
}

// TestRedisExpiry lets Redis expire a short entry, and checks that the
// session is accepted again. The wait is Redis's own expiry (tens of ms).
func TestRedisExpiry(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	d, err := redis.NewDirect(client, redis.Options{Prefix: "test:expiry:"})
	if err != nil {
		t.Fatal(err)
	}
	sess := revoke.Session{ID: "id", Subject: "alice", IssuedAt: time.Now().Add(-time.Second)}
	if err := d.RevokeSession(ctx, sess.ID, sess.Subject, time.Now().Add(30*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := d.Check(ctx, sess); !errors.Is(err, revoke.ErrRevoked) {
		t.Fatalf("right after revoke: %v", err)
	}
	waitFor(t, 2*time.Second, "Redis expiry", func() bool { return d.Check(ctx, sess) == nil })
}

func TestMalformedEntryIsAFault(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	prefix := "test:malformed:"
	if err := client.Set(ctx, prefix+"{alice}:u", "garbage", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	d, err := redis.NewDirect(client, redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Check(ctx, revoke.Session{ID: "x", Subject: "alice", IssuedAt: time.Now()})
	if !errors.Is(err, redis.ErrUnavailable) || errors.Is(err, revoke.ErrRevoked) {
		t.Fatalf("Check = %v; want ErrUnavailable", err)
	}
	// A Cached refuses to vouch for a list it cannot read.
	var reported atomic.Int32
	c, err := redis.NewCached(client, redis.CachedOptions{Options: redis.Options{Prefix: prefix},
		OnError: func(error) { reported.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx2) }()
	waitFor(t, 5*time.Second, "OnError report", func() bool { return reported.Load() > 0 })
	if err := c.Check(ctx, revoke.Session{ID: "x", Subject: "bob", IssuedAt: time.Now()}); !errors.Is(err, redis.ErrStale) {
		t.Fatalf("Cached.Check = %v; want ErrStale", err)
	}
	cancel()
	<-done
}

func TestCachedPropagation(t *testing.T) {
	s := redistest.Start(t)
	propagation(t, s.Client(t), s.Client(t), s.Client(t))
}

func TestClusterCachedPropagation(t *testing.T) {
	c := redistest.StartCluster(t)
	propagation(t, c.Client(t), c.Client(t), c.Client(t))
}

// propagation: two Cached instances and a Direct on one list; a revocation
// through any of them shows on the others promptly.
func propagation(t *testing.T, ca, cb, cd goredis.UniversalClient) {
	ctx := context.Background()
	opts := redis.CachedOptions{Options: redis.Options{Prefix: "test:prop:"}}
	a := startCached(t, ca, opts)
	b := startCached(t, cb, opts)
	d, err := redis.NewDirect(cd, opts.Options)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().Add(24 * time.Hour)
	issued := time.Now().Add(-time.Minute)
	tests := []struct {
		name   string
		revoke func() error
		sess   revoke.Session
	}{
		{"session on A", func() error { return a.RevokeSession(ctx, "s1", "alice", day) },
			revoke.Session{ID: "s1", Subject: "alice", IssuedAt: issued}},
		{"subject on B", func() error { return b.RevokeSubject(ctx, "bob", time.Now(), day) },
			revoke.Session{ID: "s2", Subject: "bob", IssuedAt: issued}},
		{"sessionless via Direct", func() error { return d.RevokeSession(ctx, "s3", "", day) },
			revoke.Session{ID: "s3", IssuedAt: issued}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []revoke.Revoker{a, b, d} {
				if err := r.Check(ctx, tt.sess); err != nil {
					t.Fatalf("before revoke: %v", err)
				}
			}
			if err := tt.revoke(); err != nil {
				t.Fatal(err)
			}
			for j, r := range []revoke.Revoker{a, b, d} {
				waitFor(t, 2*time.Second, fmt.Sprintf("case %d instance %d sees it", i, j), func() bool {
					return errors.Is(r.Check(ctx, tt.sess), revoke.ErrRevoked)
				})
			}
		})
	}
	// A third instance started later loads them all.
	c := startCached(t, cd, opts)
	for _, tt := range tests {
		if err := c.Check(ctx, tt.sess); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("late instance, %s: %v", tt.name, err)
		}
	}
}

func TestCachedStaleness(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	opts := redis.CachedOptions{Options: redis.Options{Prefix: "test:stale:", Now: clock}}
	c, err := redis.NewCached(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	sess := revoke.Session{ID: "x", Subject: "alice", IssuedAt: clock()}
	assertStale := func(when string) {
		t.Helper()
		err := c.Check(ctx, sess)
		if !errors.Is(err, redis.ErrStale) || !errors.Is(err, redis.ErrUnavailable) || errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("%s: Check = %v; want ErrStale", when, err)
		}
	}
	assertStale("before Run")

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 5*time.Second, "first load", func() bool { return c.Check(ctx, sess) == nil })

	// The cache goes stale exactly past the bound, by the injected clock.
	now.Add(int64(redis.DefaultStalenessBound))
	if err := c.Check(ctx, sess); err != nil {
		t.Fatalf("at the bound: %v", err)
	}
	now.Add(int64(time.Millisecond))
	assertStale("past the bound")
	if err := c.Run(ctx); err == nil {
		t.Fatal("second Run did not fail")
	}
}

// TestTimeoutBoundsHungServer pauses Redis (SIGSTOP: connections stay open,
// nothing answers) and checks that a Direct check gives up within its
// timeout while a Cached keeps answering from memory.
func TestTimeoutBoundsHungServer(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	opts := redis.CachedOptions{Options: redis.Options{Prefix: "test:hung:", CheckTimeout: 50 * time.Millisecond}}
	d, err := redis.NewDirect(client, opts.Options)
	if err != nil {
		t.Fatal(err)
	}
	c := startCached(t, s.Client(t), opts)
	sess := revoke.Session{ID: "x", Subject: "alice", IssuedAt: time.Now()}
	if err := d.RevokeSession(ctx, "r", "alice", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	revoked := revoke.Session{ID: "r", Subject: "alice", IssuedAt: time.Now()}
	waitFor(t, 2*time.Second, "cached sees revocation", func() bool { return errors.Is(c.Check(ctx, revoked), revoke.ErrRevoked) })

	s.Pause()
	defer s.Resume()
	for i := range 5 {
		start := time.Now()
		err := d.Check(ctx, sess)
		took := time.Since(start)
		if !errors.Is(err, redis.ErrUnavailable) || errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("check %d on hung server = %v; want ErrUnavailable", i, err)
		}
		// 50ms timeout; the slack absorbs a loaded CI machine, and is far
		// below go-redis's own 3s read timeout that would apply otherwise.
		if took > 500*time.Millisecond {
			t.Fatalf("check %d on hung server took %v; want about 50ms", i, took)
		}
	}
	if err := c.Check(ctx, revoked); !errors.Is(err, revoke.ErrRevoked) {
		t.Fatalf("cached on hung server: %v", err)
	}
	if err := c.Check(ctx, sess); err != nil {
		t.Fatalf("cached on hung server: %v", err)
	}
}

// TestOutage kills Redis under concurrent checks and restarts it. A
// fail-closed caller (any error rejects) never accepts a revoked session, a
// fail-open caller (only ErrRevoked rejects) never rejects a valid one, the
// checks recover after the restart, and nothing leaks goroutines.
func TestOutage(t *testing.T) {
	for _, mode := range []string{"direct", "cached"} {
		t.Run(mode, func(t *testing.T) { outage(t, mode) })
	}
}

func outage(t *testing.T, mode string) {
	s := redistest.Start(t)
	ctx := context.Background()
	goroutines := runtime.NumGoroutine()

	client := goredis.NewClient(s.Options())
	opts := redis.CachedOptions{
		Options:        redis.Options{Prefix: "test:outage:"},
		StalenessBound: 2 * time.Second, // short, so that the outage outlives it
	}
	var r revoke.Revoker
	runCtx, cancelRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	if mode == "direct" {
		d, err := redis.NewDirect(client, opts.Options)
		if err != nil {
			t.Fatal(err)
		}
		r = d
		close(runDone)
	} else {
		c, err := redis.NewCached(client, opts)
		if err != nil {
			t.Fatal(err)
		}
		go func() { runDone <- c.Run(runCtx) }()
		r = c
	}

	issued := time.Now().Add(-time.Minute)
	var revoked, valid []revoke.Session
	for i := range 20 {
		subj := fmt.Sprint("user", i%5)
		rs := revoke.Session{ID: fmt.Sprint("rev", i), Subject: subj, IssuedAt: issued}
		if i%4 == 3 {
			rs.Subject = ""
		}
		if err := r.RevokeSession(ctx, rs.ID, rs.Subject, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		revoked = append(revoked, rs, revoke.Session{ID: fmt.Sprint("old", i), Subject: "gone", IssuedAt: issued})
		valid = append(valid, revoke.Session{ID: fmt.Sprint("ok", i), Subject: subj, IssuedAt: issued})
	}
	if err := r.RevokeSubject(ctx, "gone", time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	allGood := func() bool {
		for _, s := range revoked {
			if !errors.Is(r.Check(ctx, s), revoke.ErrRevoked) {
				return false
			}
		}
		for _, s := range valid {
			if r.Check(ctx, s) != nil {
				return false
			}
		}
		return true
	}
	waitFor(t, 5*time.Second, "healthy before outage", allGood)

	var (
		stop                                       atomic.Bool
		checks, faults, closedAccepts, openRejects atomic.Int64
		wg                                         sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := w; !stop.Load(); i++ {
				rs, vs := revoked[i%len(revoked)], valid[i%len(valid)]
				errR, errV := r.Check(ctx, rs), r.Check(ctx, vs)
				checks.Add(2)
				if errR != nil && !errors.Is(errR, revoke.ErrRevoked) {
					faults.Add(1)
				}
				if errR == nil { // fail closed rejects on any error; nil means accept
					closedAccepts.Add(1)
				}
				if errors.Is(errV, revoke.ErrRevoked) { // fail open rejects only on ErrRevoked
					openRejects.Add(1)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let the checkers run against a healthy server
	s.Kill()
	// Keep it down past the staleness bound, so a Cached must go stale.
	waitFor(t, 10*time.Second, "checks fault during the outage", func() bool {
		return faults.Load() > 0 && errors.Is(r.Check(ctx, valid[0]), redis.ErrUnavailable)
	})
	s.Restart()
	waitFor(t, 10*time.Second, "checks recover after restart", allGood)
	stop.Store(true)
	wg.Wait()

	t.Logf("%s: %d checks, %d faults", mode, checks.Load(), faults.Load())
	if n := closedAccepts.Load(); n != 0 {
		t.Errorf("fail-closed caller accepted a revoked session %d times", n)
	}
	if n := openRejects.Load(); n != 0 {
		t.Errorf("fail-open caller rejected a valid session %d times", n)
	}

	cancelRun()
	if err := <-runDone; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	_ = client.Close()
	waitFor(t, 5*time.Second, fmt.Sprintf("goroutines back to %d (now %d)", goroutines, runtime.NumGoroutine()), func() bool {
		return runtime.NumGoroutine() <= goroutines
	})
}

// TestClusterHashTags checks the key layout on a real Cluster: a subject's
// entry and its sessions' entries share a slot (one MGET per check), while
// subjects spread over the cluster.
func TestClusterHashTags(t *testing.T) {
	cl := redistest.StartCluster(t)
	client := cl.Client(t)
	ctx := context.Background()
	prefix := "test:slots:"
	d, err := redis.NewDirect(client, redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().Add(24 * time.Hour)
	slots := map[int64]bool{}
	masters := map[string]bool{}
	for i := range 12 {
		subj := fmt.Sprintf("user-%d", i)
		id := fmt.Sprintf("sess-%d", i)
		if err := d.RevokeSession(ctx, id, subj, day); err != nil {
			t.Fatal(err)
		}
		if err := d.RevokeSubject(ctx, subj, time.Now(), day); err != nil {
			t.Fatal(err)
		}
		us, err := client.ClusterKeySlot(ctx, prefix+"{"+subj+"}:u").Result()
		if err != nil {
			t.Fatal(err)
		}
		ss, err := client.ClusterKeySlot(ctx, prefix+"{"+subj+"}:s:"+id).Result()
		if err != nil {
			t.Fatal(err)
		}
		if us != ss {
			t.Fatalf("subject %s: keys in slots %d and %d", subj, us, ss)
		}
		slots[us] = true
		node, err := client.MasterForKey(ctx, prefix+"{"+subj+"}:u")
		if err != nil {
			t.Fatal(err)
		}
		masters[node.Options().Addr] = true
		if err := d.Check(ctx, revoke.Session{ID: id, Subject: subj, IssuedAt: time.Now()}); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("session %s: %v", id, err)
		}
		if err := d.Check(ctx, revoke.Session{ID: "other", Subject: subj, IssuedAt: time.Now().Add(-time.Hour)}); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("subject %s: %v", subj, err)
		}
		if err := d.Check(ctx, revoke.Session{ID: "new", Subject: subj, IssuedAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("fresh session of %s: %v", subj, err)
		}
	}
	if len(slots) < 10 || len(masters) < 2 {
		t.Fatalf("12 subjects landed in %d slots on %d masters; want them spread", len(slots), len(masters))
	}
}
