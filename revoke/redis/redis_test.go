package redis_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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
		return !errors.Is(c.Check(context.Background(), revoke.SessionRef{ID: "probe"}), redis.ErrStale)
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
// Cached: the choices the three share beyond package revoke's contract
// (which TestContract checks with revoketest): a session entry matches
// the pair (subject, id), and subjects with Cluster hash-tag braces.
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
	sess := revoke.SessionRef{ID: "id1", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}
	tests := []struct {
		name    string
		ops     []op
		check   revoke.SessionRef
		revoked bool
	}{
		{"session revoked", []op{session("id1", "alice", day)}, sess, true},
		{"session revoked under another subject", []op{session("id1", "bob", day)}, sess, false},
		{"sessionless entry does not match a session with subject", []op{session("id1", "", day)}, sess, false},
		{"subject with braces", []op{subject("}a{b", t0, day)}, revoke.SessionRef{ID: "x", Subject: "}a{b", IssuedAt: t0.Add(-time.Second)}, true},
		{"session of a subject with braces", []op{session("x", "}a{b", day)}, revoke.SessionRef{ID: "x", Subject: "}a{b", IssuedAt: t0}, true},
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

// TestTTL checks layout v2's expiry rules on a real server: a bucket's TTL
// covers its longest-lived entry and only grows, a write whose until has
// passed writes nothing, and every key under the prefix expires.
func TestTTL(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	now := time.Now()
	type step struct {
		name      string
		call      func(d *redis.Direct) error
		bucket    string // subject or id the bucket is chosen by
		field     string
		value     string
		bucketTTL time.Duration // the bucket's TTL must be in (want-1s, want]
	}
	ms := func(d time.Duration) string { return fmt.Sprint(now.Add(d).UnixMilli()) }
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"session", []step{
			{"write", func(d *redis.Direct) error { return d.RevokeSession(ctx, "id1", "alice", now.Add(time.Hour)) },
				"alice", redis.SessionField("alice", "id1"), ms(time.Hour), time.Hour},
			{"shorter until keeps the later until and the longer TTL", func(d *redis.Direct) error { return d.RevokeSession(ctx, "id1", "alice", now.Add(time.Minute)) },
				"alice", redis.SessionField("alice", "id1"), ms(time.Hour), time.Hour},
			{"longer until extends both", func(d *redis.Direct) error { return d.RevokeSession(ctx, "id1", "alice", now.Add(2*time.Hour)) },
				"alice", redis.SessionField("alice", "id1"), ms(2 * time.Hour), 2 * time.Hour},
			{"a shorter entry in the same bucket keeps the bucket's TTL", func(d *redis.Direct) error { return d.RevokeSession(ctx, "id2", "alice", now.Add(time.Minute)) },
				"alice", redis.SessionField("alice", "id2"), ms(time.Minute), 2 * time.Hour},
		}},
		{"sessionless", []step{
			{"write", func(d *redis.Direct) error { return d.RevokeSession(ctx, "id2", "", now.Add(time.Minute)) },
				"id2", redis.SessionField("", "id2"), ms(time.Minute), time.Minute},
		}},
		{"subject", []step{
			{"write", func(d *redis.Direct) error { return d.RevokeSubject(ctx, "alice", now, now.Add(24*time.Hour)) },
				"alice", redis.SubjectField("alice"), fmt.Sprintf("%d:%s", now.UnixMilli(), ms(24*time.Hour)), 24 * time.Hour},
			{"earlier before and shorter until keep the later ones", func(d *redis.Direct) error {
				return d.RevokeSubject(ctx, "alice", now.Add(-time.Hour), now.Add(time.Hour))
			}, "alice", redis.SubjectField("alice"), fmt.Sprintf("%d:%s", now.UnixMilli(), ms(24*time.Hour)), 24 * time.Hour},
		}},
		{"ttl rounds up to whole ms", []step{
			{"write", func(d *redis.Direct) error { return d.RevokeSession(ctx, "id3", "", now.Add(1500*time.Microsecond)) },
				"id3", "", "", 2 * time.Millisecond},
		}},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			prefix := fmt.Sprintf("test:ttl:%d:", i)
			d, err := redis.NewDirect(client, redis.Options{Prefix: prefix, Now: fixed(now)})
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range sc.steps {
				if err := st.call(d); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				bucket := redis.BucketKey(prefix, "", st.bucket)
				if st.field != "" {
					if v, err := client.HGet(ctx, bucket, st.field).Result(); err != nil || v != st.value {
						t.Fatalf("%s: HGET %s %q = %q, %v; want %q", st.name, bucket, st.field, v, err, st.value)
					}
				}
				got, err := client.PTTL(ctx, bucket).Result()
				if err != nil {
					t.Fatal(err)
				}
				// Redis counts down from the write; allow for the time the test took since.
				lo := max(st.bucketTTL-time.Second, 0)
				if got > st.bucketTTL || got < lo && got != -2 { // -2: a ms-short bucket already gone
					t.Fatalf("%s: PTTL %s = %v; want in [%v, %v]", st.name, bucket, got, lo, st.bucketTTL)
				}
			}
		})
	}
	// A revocation whose until has passed writes nothing.
	prefix := "test:ttl:past:"
	d, err := redis.NewDirect(client, redis.Options{Prefix: prefix, Now: fixed(now)})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeSession(ctx, "gone", "", now.Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Exists(ctx, redis.BucketKey(prefix, "", "gone")).Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS after a past-until revoke = %d, %v; want 0", n, err)
	}
	// Every key under the test prefixes has a TTL: the list cleans itself.
	keys, err := client.Keys(ctx, "test:ttl:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("KEYS = %v, %v", keys, err)
	}
	for _, k := range keys {
		if v, err := client.PTTL(ctx, k).Result(); err != nil || v == -1 {
			t.Fatalf("key %s has PTTL %v, %v; every key must expire", k, v, err)
		}
	}
}

// TestWriteSweepsExpired: each write deletes expired entries of its bucket
// (all of them here: a small bucket's HSCAN returns every field) and
// leaves live entries and fields it does not know alone.
func TestWriteSweepsExpired(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	var now atomic.Int64
	now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	prefix := "test:sweep:"
	d, err := redis.NewDirect(client, redis.Options{Prefix: prefix, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	bucket := redis.BucketKey(prefix, "alice", "")
	for i := range 10 {
		if err := d.RevokeSession(ctx, fmt.Sprint("short", i), "alice", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.RevokeSubject(ctx, "alice", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeSession(ctx, "long", "alice", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := client.HSet(ctx, bucket, "g:newer-kind", "7").Err(); err != nil {
		t.Fatal(err)
	}
	if n := client.HLen(ctx, bucket).Val(); n != 13 {
		t.Fatalf("HLEN before = %d; want 13", n)
	}
	now.Add(int64(2 * time.Minute)) // the short entries have expired
	if err := d.RevokeSession(ctx, "new", "alice", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fields, err := client.HKeys(ctx, bucket).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(fields)
	want := []string{"g:newer-kind", redis.SessionField("alice", "long"), redis.SessionField("alice", "new")}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields after the sweep = %q; want %q", fields, want)
	}
}

// TestRedisExpiry lets Redis expire a short entry, and checks that the
// session is accepted again. The wait is Redis's own expiry (a second).
func TestRedisExpiry(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	// The checker's clock stands still: only Redis's own expiry of the
	// bucket (its TTL, 1s of real time) can end the entry, and a loaded
	// machine that takes long to check still sees it first.
	now := time.Now()
	d, err := redis.NewDirect(client, redis.Options{Prefix: "test:expiry:", CheckTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, Now: fixed(now)})
	if err != nil {
		t.Fatal(err)
	}
	sess := revoke.SessionRef{ID: "id", Subject: "alice", IssuedAt: now.Add(-time.Second)}
	if err := d.RevokeSession(ctx, sess.ID, sess.Subject, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := d.Check(ctx, sess); !errors.Is(err, revoke.ErrRevoked) {
		t.Fatalf("right after revoke: %v", err)
	}
	waitFor(t, 5*time.Second, "Redis expiry", func() bool { return d.Check(ctx, sess) == nil })
}

// TestForeignData: what this version cannot read never fails a load or a
// check. Unknown kinds and non-hash buckets are skipped and counted; a
// malformed value revokes the one entry it names, on Direct and Cached
// alike, and nothing else.
func TestForeignData(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	prefix := "test:foreign:"
	issued := time.Now().Add(-time.Minute)
	day := time.Now().Add(24 * time.Hour)
	bucket := func(subject, id string) string { return redis.BucketKey(prefix, subject, id) }
	// Foreign data, as a newer version or an operator's mistake would leave it.
	setup := []struct {
		name string
		cmd  func() error
	}{
		{"a key of a kind nobody reads", func() error { return client.Set(ctx, prefix+"v2:{alice}:g", "7", time.Hour).Err() }},
		{"an unknown field kind in a bucket", func() error { return client.HSet(ctx, bucket("carol", ""), "g:carol", "7").Err() }},
		{"a field with a bad escape", func() error { return client.HSet(ctx, bucket("carol", ""), "u:a%zz", "1:2").Err() }},
		{"a bucket that is not a hash", func() error { return client.Set(ctx, bucket("dave", ""), "x", time.Hour).Err() }},
		{"a malformed session value", func() error {
			return client.HSet(ctx, bucket("erin", ""), redis.SessionField("erin", "bad"), "soon").Err()
		}},
		{"a malformed subject value", func() error {
			return client.HSet(ctx, bucket("frank", ""), redis.SubjectField("frank"), "yesterday").Err()
		}},
		{"a malformed sessionless value", func() error {
			return client.HSet(ctx, bucket("", "anon-bad"), redis.SessionField("", "anon-bad"), "").Err()
		}},
		{"a later layout's key", func() error { return client.HSet(ctx, prefix+"v3:{000}", "u:alice", "1").Err() }},
	}
	for _, st := range setup {
		if err := st.cmd(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	var reported atomic.Int32
	opts := redis.CachedOptions{Options: redis.Options{Prefix: prefix}, OnError: func(error) { reported.Add(1) }}
	d, err := redis.NewDirect(client, opts.Options)
	if err != nil {
		t.Fatal(err)
	}
	c := startCached(t, client, opts)
	// A valid revocation next to the foreign data works as usual.
	if err := d.RevokeSession(ctx, "ok-revoked", "carol", day); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sess    revoke.SessionRef
		revoked bool
	}{
		{"alice untouched by the foreign key", revoke.SessionRef{ID: "a", Subject: "alice", IssuedAt: issued}, false},
		{"carol's valid session", revoke.SessionRef{ID: "fine", Subject: "carol", IssuedAt: issued}, false},
		{"carol's revoked session", revoke.SessionRef{ID: "ok-revoked", Subject: "carol", IssuedAt: issued}, true},
		{"the malformed session entry revokes its session", revoke.SessionRef{ID: "bad", Subject: "erin", IssuedAt: issued}, true},
		{"and no other session of the subject", revoke.SessionRef{ID: "good", Subject: "erin", IssuedAt: issued}, false},
		{"the malformed subject entry revokes the subject", revoke.SessionRef{ID: "any", Subject: "frank", IssuedAt: issued}, true},
		{"the malformed sessionless entry revokes its session", revoke.SessionRef{ID: "anon-bad", IssuedAt: issued}, true},
		{"another sessionless session", revoke.SessionRef{ID: "anon-good", IssuedAt: issued}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    revoke.Revoker
			}{{"direct", d}, {"cached", c}} {
				var err error
				if r.name == "cached" && tt.revoked {
					waitFor(t, 2*time.Second, "cached sees it", func() bool { return errors.Is(r.r.Check(ctx, tt.sess), revoke.ErrRevoked) })
				}
				err = r.r.Check(ctx, tt.sess)
				if got := errors.Is(err, revoke.ErrRevoked); got != tt.revoked || (err != nil && !got) {
					t.Fatalf("%s: Check = %v; want revoked=%v", r.name, err, tt.revoked)
				}
			}
		})
	}
	// A bucket overwritten with another type holds no entry: the cache
	// skips it, Direct reports the fault (its policy decides), nothing
	// reads it as a revocation.
	dave := revoke.SessionRef{ID: "d", Subject: "dave", IssuedAt: issued}
	if err := c.Check(ctx, dave); err != nil {
		t.Fatalf("cached, non-hash bucket: %v; want nil", err)
	}
	if err := d.Check(ctx, dave); !errors.Is(err, redis.ErrUnavailable) || errors.Is(err, revoke.ErrRevoked) {
		t.Fatalf("direct, non-hash bucket: %v; want ErrUnavailable", err)
	}
	st := c.Stats()
	if st.UnknownFields != 2 || st.SkippedBuckets != 1 || st.Malformed != 3 || st.Loads < 1 {
		t.Fatalf("Stats = %+v; want 2 unknown fields, 1 skipped bucket, 3 malformed, a load", st)
	}
	if reported.Load() == 0 {
		t.Fatal("nothing reported to OnError")
	}
	// Repairing a malformed entry (any write of it) lifts the fail-closed
	// verdict on the next write's message.
	if err := d.RevokeSession(ctx, "bad", "erin", time.Now().Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "repaired entry expires", func() bool {
		return c.Check(ctx, revoke.SessionRef{ID: "bad", Subject: "erin", IssuedAt: issued}) == nil &&
			d.Check(ctx, revoke.SessionRef{ID: "bad", Subject: "erin", IssuedAt: issued}) == nil
	})
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
	// Generous timeouts: this test is about propagation, not latency, and
	// a loaded CI machine can take more than the 100ms default per call.
	opts := redis.CachedOptions{Options: redis.Options{Prefix: "test:prop:", CheckTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}}
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
		sess   revoke.SessionRef
	}{
		{"session on A", func() error { return a.RevokeSession(ctx, "s1", "alice", day) },
			revoke.SessionRef{ID: "s1", Subject: "alice", IssuedAt: issued}},
		{"subject on B", func() error { return b.RevokeSubject(ctx, "bob", time.Now(), day) },
			revoke.SessionRef{ID: "s2", Subject: "bob", IssuedAt: issued}},
		{"sessionless via Direct", func() error { return d.RevokeSession(ctx, "s3", "", day) },
			revoke.SessionRef{ID: "s3", IssuedAt: issued}},
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
	sess := revoke.SessionRef{ID: "x", Subject: "alice", IssuedAt: clock()}
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
	sess := revoke.SessionRef{ID: "x", Subject: "alice", IssuedAt: time.Now()}
	if err := d.RevokeSession(ctx, "r", "alice", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	revoked := revoke.SessionRef{ID: "r", Subject: "alice", IssuedAt: time.Now()}
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
	var revoked, valid []revoke.SessionRef
	for i := range 20 {
		subj := fmt.Sprint("user", i%5)
		rs := revoke.SessionRef{ID: fmt.Sprint("rev", i), Subject: subj, IssuedAt: issued}
		if i%4 == 3 {
			rs.Subject = ""
		}
		if err := r.RevokeSession(ctx, rs.ID, rs.Subject, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		revoked = append(revoked, rs, revoke.SessionRef{ID: fmt.Sprint("old", i), Subject: "gone", IssuedAt: issued})
		valid = append(valid, revoke.SessionRef{ID: fmt.Sprint("ok", i), Subject: subj, IssuedAt: issued})
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
// entry and its sessions' entries are in one bucket (one HMGET per check),
// while buckets spread over the cluster's masters.
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
		bucket := redis.BucketKey(prefix, subj, "")
		n, err := client.HExists(ctx, bucket, redis.SessionField(subj, id)).Result()
		if err != nil || !n {
			t.Fatalf("subject %s: session field not in bucket %s: %v", subj, bucket, err)
		}
		if n, err := client.HExists(ctx, bucket, redis.SubjectField(subj)).Result(); err != nil || !n {
			t.Fatalf("subject %s: subject field not in bucket %s: %v", subj, bucket, err)
		}
		node, err := client.MasterForKey(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		masters[node.Options().Addr] = true
		if err := d.Check(ctx, revoke.SessionRef{ID: id, Subject: subj, IssuedAt: time.Now()}); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("session %s: %v", id, err)
		}
		if err := d.Check(ctx, revoke.SessionRef{ID: "other", Subject: subj, IssuedAt: time.Now().Add(-time.Hour)}); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("subject %s: %v", subj, err)
		}
		if err := d.Check(ctx, revoke.SessionRef{ID: "new", Subject: subj, IssuedAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("fresh session of %s: %v", subj, err)
		}
	}
	if len(masters) < 2 {
		t.Fatalf("12 subjects landed on %d masters; want them spread", len(masters))
	}
}

// TestResubscribeForcesReload kills the cache's pub/sub connection on a
// real server. go-redis reconnects and re-subscribes; a revocation written
// while nobody listened (here: written without a message at all, the worst
// case of a gap) must be in the cache once it vouches again, because the new
// subscription forces a full load.
func TestResubscribeForcesReload(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	prefix := "test:resub:"
	c := startCached(t, s.Client(t), redis.CachedOptions{
		Options:           redis.Options{Prefix: prefix},
		HeartbeatInterval: 100 * time.Millisecond,
		ResyncInterval:    time.Hour, // no periodic reload: only the re-subscription can find the entry
	})
	before := c.Stats()
	sess := revoke.SessionRef{ID: "gap", Subject: "alice", IssuedAt: time.Now().Add(-time.Minute)}
	until := time.Now().Add(time.Hour).UnixMilli()
	if err := client.HSet(ctx, redis.BucketKey(prefix, "alice", ""), redis.SessionField("alice", "gap"), until).Err(); err != nil {
		t.Fatal(err)
	}
	wrote := time.Now()
	// Heartbeats keep vouching, but they cannot know about the silent write.
	waitFor(t, 10*time.Second, "a heartbeat after the write", func() bool {
		return time.Now().Add(-c.Stats().Staleness).After(wrote)
	})
	if err := c.Check(ctx, sess); err != nil {
		t.Fatalf("before the re-subscription: %v (the write was silent; only a load can see it)", err)
	}
	if n, err := client.ClientKillByFilter(ctx, "TYPE", "pubsub").Result(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want 1 connection killed", n, err)
	}
	waitFor(t, 10*time.Second, "reload after re-subscription", func() bool {
		return errors.Is(c.Check(ctx, sess), revoke.ErrRevoked) && c.Stats().Loads > before.Loads
	})
	after := c.Stats()
	if after.Resubscriptions <= before.Resubscriptions || after.Loads <= before.Loads {
		t.Fatalf("Stats before %+v, after %+v: want a re-subscription and a load counted", before, after)
	}
}

// TestUpgradeFromV1 writes entries exactly as the previous cookieseal stored
// them (layout v1: its key names, values and TTLs) and checks that none is
// lost: during the
// window (V1Compat) without migration, after MigrateV1 with V1Compat off,
// on Direct and Cached, on one server and on a Cluster.
func TestUpgradeFromV1(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		s := redistest.Start(t)
		upgrade(t, func() goredis.UniversalClient { return s.Client(t) })
	})
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t)
		upgrade(t, func() goredis.UniversalClient { return c.Client(t) })
	})
}

func upgrade(t *testing.T, newClient func() goredis.UniversalClient) {
	client := newClient()
	ctx := context.Background()
	prefix := "test:upgrade:"
	issued := time.Now().Add(-time.Minute)
	day := time.Now().Add(24 * time.Hour)
	// The v1 writer, as the previous version ran it: one key per entry.
	v1 := []struct {
		key, value string
		ttl        time.Duration
	}{
		{redis.V1SessionKey(prefix, "alice", "s1"), fmt.Sprint(day.UnixMilli()), 24 * time.Hour},
		{redis.V1SessionKey(prefix, "", "anon"), fmt.Sprint(day.UnixMilli()), 24 * time.Hour},
		{redis.V1SubjectKey(prefix, "b{o}b%"), fmt.Sprintf("%d:%d", time.Now().UnixMilli(), day.UnixMilli()), 24 * time.Hour},
		{redis.V1SessionKey(prefix, "carol", "broken"), "garbage", time.Hour},
		// Entries whose until has passed by the checker's clock, while
		// Redis still holds them (their TTL ran on a writer's clock that
		// was behind): they no longer count.
		{redis.V1SessionKey(prefix, "alice", "ended"), fmt.Sprint(time.Now().Add(-time.Second).UnixMilli()), time.Hour},
		{redis.V1SessionKey(prefix, "", "ended"), fmt.Sprint(time.Now().Add(-time.Second).UnixMilli()), time.Hour},
		{redis.V1SubjectKey(prefix, "dave"), fmt.Sprintf("%d:%d", time.Now().UnixMilli(), time.Now().Add(-time.Second).UnixMilli()), time.Hour},
	}
	for _, e := range v1 {
		if err := client.Set(ctx, e.key, e.value, e.ttl).Err(); err != nil {
			t.Fatal(err)
		}
	}
	revoked := []revoke.SessionRef{
		{ID: "s1", Subject: "alice", IssuedAt: issued},
		{ID: "anon", IssuedAt: issued},
		{ID: "any", Subject: "b{o}b%", IssuedAt: issued},
		{ID: "broken", Subject: "carol", IssuedAt: issued}, // malformed: fail closed for this entry
	}
	valid := []revoke.SessionRef{
		{ID: "s2", Subject: "alice", IssuedAt: issued},
		{ID: "other", Subject: "carol", IssuedAt: issued},
		{ID: "new", Subject: "b{o}b%", IssuedAt: time.Now().Add(time.Second)},
		{ID: "ended", Subject: "alice", IssuedAt: issued},
		{ID: "ended", IssuedAt: issued},
		{ID: "any", Subject: "dave", IssuedAt: issued},
	}
	verify := func(t *testing.T, name string, r revoke.Revoker) {
		t.Helper()
		for _, s := range revoked {
			if err := r.Check(ctx, s); !errors.Is(err, revoke.ErrRevoked) {
				t.Errorf("%s: %+v: %v; want revoked", name, s, err)
			}
		}
		for _, s := range valid {
			if err := r.Check(ctx, s); err != nil {
				t.Errorf("%s: %+v: %v; want valid", name, s, err)
			}
		}
	}
	compat := redis.Options{Prefix: prefix, V1Compat: true}
	t.Run("window", func(t *testing.T) {
		d, err := redis.NewDirect(newClient(), compat)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, "direct", d)
		verify(t, "cached", startCached(t, newClient(), redis.CachedOptions{Options: compat}))
		// A revocation by a v2 instance in the window reaches v1 readers.
		if err := d.RevokeSession(ctx, "s3", "alice", day); err != nil {
			t.Fatal(err)
		}
		if n, err := client.Exists(ctx, redis.V1SessionKey(prefix, "alice", "s3")).Result(); err != nil || n != 1 {
			t.Fatalf("v1 key of a write in the window: EXISTS = %d, %v", n, err)
		}
		// A revocation by a v1 instance in the window reaches the v2 cache
		// through the v1 channel.
		c := startCached(t, newClient(), redis.CachedOptions{Options: compat})
		key := redis.V1SessionKey(prefix, "alice", "s4")
		if err := client.Set(ctx, key, day.UnixMilli(), time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if err := client.Publish(ctx, prefix+"events", fmt.Sprintf("%d\n%s", day.UnixMilli(), key)).Err(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, "v1 message applied", func() bool {
			return errors.Is(c.Check(ctx, revoke.SessionRef{ID: "s4", Subject: "alice", IssuedAt: issued}), revoke.ErrRevoked)
		})
	})
	t.Run("migrated", func(t *testing.T) {
		res, err := redis.MigrateV1(ctx, newClient(), redis.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		if res.Copied < 3 || res.Malformed != 1 {
			t.Fatalf("MigrateV1 = %+v; want ≥3 copied, 1 malformed", res)
		}
		v2 := redis.Options{Prefix: prefix}
		d, err := redis.NewDirect(newClient(), v2)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, "direct", d)
		verify(t, "cached", startCached(t, newClient(), redis.CachedOptions{Options: v2}))
		// The v1 keys keep their TTL: the old layout cleans itself.
		if ttl := client.PTTL(ctx, v1[0].key).Val(); ttl <= 0 {
			t.Fatalf("v1 key PTTL = %v after migration; want it left to expire", ttl)
		}
		// Migrating again changes nothing.
		if _, err := redis.MigrateV1(ctx, newClient(), redis.Options{Prefix: prefix}); err != nil {
			t.Fatal(err)
		}
		verify(t, "direct after a second migration", d)
	})
}

// TestLoadResumes makes a quarter of the buckets readable and the rest
// refused (a Redis ACL on key patterns, so the server really fails those
// pages), then lifts the refusal. The failed load attempts must resume
// where they stopped: the server counts exactly one successful read
// (HGETALL of a small bucket) per bucket over all attempts, not a fresh
// pass per attempt.
func TestLoadResumes(t *testing.T) {
	s := redistest.Start(t)
	admin := s.Client(t)
	ctx := context.Background()
	prefix := "test:resume:"
	d, err := redis.NewDirect(admin, redis.Options{Prefix: prefix, CheckTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var revoked []revoke.SessionRef
	for i := range 200 {
		sess := revoke.SessionRef{ID: fmt.Sprint("id", i), Subject: fmt.Sprint("user", i), IssuedAt: time.Now()}
		if err := d.RevokeSession(ctx, sess.ID, sess.Subject, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		revoked = append(revoked, sess)
	}
	// Buckets 000 to 0ff only (and every channel): the other buckets' reads
	// fail with NOPERM.
	if err := admin.Do(ctx, "ACL", "SETUSER", "loader", "on", ">pw", "+@all", "~"+prefix+"v2:{0*", "&*").Err(); err != nil {
		t.Fatal(err)
	}
	hscans := func() int64 { // successful bucket reads, of either command
		info := admin.Info(ctx, "commandstats").Val()
		var total int64
		for line := range strings.Lines(info) {
			for _, cmd := range []string{"hscan", "hgetall"} {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls="); ok {
					n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
					total += n
				}
			}
		}
		return total
	}
	base := hscans()
	opts := s.Options()
	opts.Username, opts.Password = "loader", "pw"
	loader := goredis.NewClient(opts)
	defer loader.Close()
	c, err := redis.NewCached(loader, redis.CachedOptions{Options: redis.Options{Prefix: prefix}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 10*time.Second, "two failed attempts", func() bool { return c.Stats().LoadFailures >= 2 })
	if err := c.Check(ctx, revoked[0]); !errors.Is(err, redis.ErrStale) {
		t.Fatalf("Check during failed loads = %v; want ErrStale", err)
	}
	if err := admin.Do(ctx, "ACL", "SETUSER", "loader", "~*").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "load completes", func() bool { return c.Stats().Loads == 1 })
	if got := hscans() - base; got != redis.Buckets {
		t.Fatalf("%d successful bucket reads over all attempts; want %d, one per bucket", got, redis.Buckets)
	}
	for _, sess := range revoked {
		if err := c.Check(ctx, sess); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("%+v: %v", sess, err)
		}
	}
}

// TestFailedResyncKeepsFreshness refuses bucket reads (a Redis ACL) after the first
// load, so that every periodic reload fails, and checks that the cache
// stays fresh on heartbeats for several staleness bounds: a failed reload
// is a reported fault, not a reason to stop vouching for a stream with no
// gap.
func TestFailedResyncKeepsFreshness(t *testing.T) {
	s := redistest.Start(t)
	admin := s.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "loader", "on", ">pw", "+@all", "~*", "&*").Err(); err != nil {
		t.Fatal(err)
	}
	opts := s.Options()
	opts.Username, opts.Password = "loader", "pw"
	loader := goredis.NewClient(opts)
	defer loader.Close()
	const bound = 3 * time.Second
	c := startCached(t, loader, redis.CachedOptions{
		Options:        redis.Options{Prefix: "test:resync:"},
		StalenessBound: bound,
		ResyncInterval: time.Millisecond, // as often as the duty stretch allows
	})
	if err := admin.Do(ctx, "ACL", "SETUSER", "loader", "-hscan", "-hgetall").Err(); err != nil {
		t.Fatal(err)
	}
	refused := time.Now()
	sess := revoke.SessionRef{ID: "x", Subject: "alice", IssuedAt: time.Now()}
	for time.Since(refused) < 3*bound || c.Stats().LoadFailures < 2 {
		if err := c.Check(ctx, sess); err != nil {
			t.Fatalf("%v after reloads started failing (Stats %+v): %v", time.Since(refused), c.Stats(), err)
		}
		if time.Since(refused) > 30*time.Second {
			t.Fatalf("no failed reload within 30s: %+v", c.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := c.Stats(); st.Loads != 1 || st.Staleness > bound {
		t.Fatalf("Stats = %+v; want the first load only, and fresh", st)
	}
}
