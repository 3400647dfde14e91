package redis_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// writers are the two write paths of both revokers, so that every rule
// about a revocation's durability is tested on each. Each returns the
// session that the write revokes.
func writers() []struct {
	name  string
	write func(ctx context.Context, r revoke.Revoker, n int) (revoke.SessionRef, error)
} {
	until := time.Now().Add(time.Hour)
	return []struct {
		name  string
		write func(ctx context.Context, r revoke.Revoker, n int) (revoke.SessionRef, error)
	}{
		{"session", func(ctx context.Context, r revoke.Revoker, n int) (revoke.SessionRef, error) {
			s := revoke.SessionRef{ID: "id-" + strconv.Itoa(n), Subject: "alice", IssuedAt: time.Now()}
			return s, r.RevokeSession(ctx, s.ID, s.Subject, until)
		}},
		{"subject", func(ctx context.Context, r revoke.Revoker, n int) (revoke.SessionRef, error) {
			s := revoke.SessionRef{ID: "x", Subject: "user-" + strconv.Itoa(n), IssuedAt: time.Now().Add(-time.Minute)}
			return s, r.RevokeSubject(ctx, s.Subject, time.Now(), until)
		}},
	}
}

func newRevoker(t *testing.T, kind string, client goredis.UniversalClient, opts redis.Options) revoke.Revoker {
	t.Helper()
	switch kind {
	case "direct":
		d, err := redis.NewDirect(client, opts)
		if err != nil {
			t.Fatal(err)
		}
		return d
	default:
		// Writes need no Run: the Cached writes through its store.
		c, err := redis.NewCached(client, redis.CachedOptions{Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func TestWaitReplicas(t *testing.T) {
	master := redistest.Start(t)
	replica, link := redistest.StartReplica(t, master)
	alone := redistest.Start(t)
	mc, ac := master.Client(t), alone.Client(t)
	// Direct reads (GET, MGET) work on a replica.
	onReplica, err := redis.NewDirect(replica.Client(t), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// wait bounds the cases that must time out; ackWait the ones a
	// replica in sync acknowledges. WAIT returns at the first ack, so
	// ackWait costs nothing when it passes, and its margin (under the
	// default 1 s WriteTimeout) keeps a loaded machine's scheduling
	// delays from failing it: 200 ms was too little under CI load.
	wait := 200 * time.Millisecond
	ackWait := 900 * time.Millisecond
	tests := []struct {
		name    string
		client  *goredis.Client
		opts    redis.Options
		held    bool // the replication link is cut
		flush   bool // SCRIPT FLUSH first, as on a new master
		ctxTime time.Duration
		want    error // nil, or ErrNotReplicated
	}{
		{"replica in sync, wait 1", mc, redis.Options{WaitReplicas: 1, WaitTimeout: ackWait}, false, false, 0, nil},
		{"replica in sync, wait 2", mc, redis.Options{WaitReplicas: 2, WaitTimeout: wait}, false, false, 0, redis.ErrNotReplicated},
		{"link cut, wait 1", mc, redis.Options{WaitReplicas: 1, WaitTimeout: wait}, true, false, 0, redis.ErrNotReplicated},
		{"link cut, NoWait", mc, redis.Options{WaitReplicas: redis.NoWait}, true, false, 0, nil},
		{"link cut, auto on a plain client is NoWait", mc, redis.Options{}, true, false, 0, nil},
		{"no script cache, wait 1", mc, redis.Options{WaitReplicas: 1, WaitTimeout: ackWait}, false, true, 0, nil},
		{"link cut, context shorter than WaitTimeout", mc, redis.Options{WaitReplicas: 1}, true, false, 300 * time.Millisecond, redis.ErrNotReplicated},
		{"no replica, wait 1", ac, redis.Options{WaitReplicas: 1, WaitTimeout: wait}, false, false, 0, redis.ErrNotReplicated},
		{"no replica, auto", ac, redis.Options{}, false, false, 0, nil},
	}
	n := 0
	for _, tc := range tests {
		for _, kind := range []string{"direct", "cached"} {
			for _, w := range writers() {
				t.Run(tc.name+"/"+kind+"/"+w.name, func(t *testing.T) {
					if tc.held {
						link.Hold()
						defer link.Release()
					}
					if tc.flush {
						if err := tc.client.ScriptFlush(context.Background()).Err(); err != nil {
							t.Fatal(err)
						}
					}
					r := newRevoker(t, kind, tc.client, tc.opts)
					ctx := context.Background()
					if tc.ctxTime > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tc.ctxTime)
						defer cancel()
					}
					n++
					sess, err := w.write(ctx, r, n)
					switch {
					case tc.want == nil && err != nil:
						t.Fatalf("write: %v; want nil", err)
					case tc.want != nil && !errors.Is(err, tc.want):
						t.Fatalf("write: %v; want %v", err, tc.want)
					case errors.Is(err, revoke.ErrRevoked):
						t.Fatalf("write: %v matches ErrRevoked", err)
					case err != nil && !errors.Is(err, redis.ErrUnavailable):
						t.Fatalf("write: %v does not match ErrUnavailable", err)
					}
					if err == nil && tc.opts.WaitReplicas >= 1 && tc.client == mc {
						// Acknowledged with WAIT: the replica has it now.
						if err := onReplica.Check(context.Background(), sess); !errors.Is(err, revoke.ErrRevoked) {
							t.Fatalf("check on the replica after an acknowledged write: %v; want ErrRevoked", err)
						}
					}
				})
			}
		}
	}
}

func TestWaitReplicasConfig(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ring := goredis.NewRing(&goredis.RingOptions{Addrs: map[string]string{"a": s.Addr}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = ring.Close() })
	tests := []struct {
		name   string
		client goredis.UniversalClient
		opts   redis.Options
	}{
		{"WaitReplicas below NoWait", c, redis.Options{WaitReplicas: -2}},
		{"negative WaitTimeout", c, redis.Options{WaitTimeout: -time.Second}},
		{"WaitTimeout equal to WriteTimeout", c, redis.Options{WaitTimeout: time.Second}},
		{"WaitTimeout above a set WriteTimeout", c, redis.Options{WriteTimeout: 100 * time.Millisecond, WaitTimeout: 200 * time.Millisecond}},
		{"wait on a Ring", ring, redis.Options{WaitReplicas: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := redis.NewDirect(tc.client, tc.opts); !errors.Is(err, redis.ErrInvalidConfig) {
				t.Errorf("NewDirect: %v; want ErrInvalidConfig", err)
			}
			if _, err := redis.NewCached(tc.client, redis.CachedOptions{Options: tc.opts}); !errors.Is(err, redis.ErrInvalidConfig) {
				t.Errorf("NewCached: %v; want ErrInvalidConfig", err)
			}
		})
	}
	// A Ring with the default (auto) does not wait, and works.
	d, err := redis.NewDirect(ring, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeSession(context.Background(), "x", "", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Ring with auto: %v", err)
	}
}

// TestClusterWaitGoesToTheSlotMaster checks that, on a Cluster, WAIT runs
// on the master of the entry's slot: with no replicas every revocation
// fails with ErrNotReplicated, naming that master, for keys in all three
// masters' slot ranges.
func TestClusterWaitGoesToTheSlotMaster(t *testing.T) {
	cl := redistest.StartCluster(t)
	client := cl.Client(t)
	d, err := redis.NewDirect(client, redis.Options{WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seen := map[string]bool{}
	for i := 0; len(seen) < 3 && i < 100; i++ {
		subject := "user-" + strconv.Itoa(i)
		werr := d.RevokeSubject(ctx, subject, time.Now(), time.Now().Add(time.Hour))
		if !errors.Is(werr, redis.ErrNotReplicated) {
			t.Fatalf("RevokeSubject(%s) on a Cluster without replicas: %v; want ErrNotReplicated", subject, werr)
		}
		// Layout v2: a subject's entries live in bucket hash v2:{bbb}, bbb
		// the low 10 bits of the subject's CRC-32 (IEEE) in 3 hex digits.
		bucket := fmt.Sprintf("{%03x}", crc32.ChecksumIEEE([]byte(subject))&1023)
		slot, err := client.ClusterKeySlot(ctx, bucket).Result()
		if err != nil {
			t.Fatal(err)
		}
		owner := cl.Nodes[0].Addr // slot ranges as StartCluster assigns them
		switch {
		case slot > 10922:
			owner = cl.Nodes[2].Addr
		case slot > 5460:
			owner = cl.Nodes[1].Addr
		}
		if !strings.Contains(werr.Error(), " on "+owner+":") {
			t.Fatalf("slot %d: %v; want WAIT on %s", slot, werr, owner)
		}
		seen[owner] = true
	}
	if len(seen) != 3 {
		t.Fatalf("revocations reached %d masters; want 3", len(seen))
	}
}

// TestMinReplicasToWrite checks the server-side companion that failover.go
// documents: a master with min-replicas-to-write 1 and no replica refuses
// the revocation, and the error is a store fault, not a revocation.
func TestMinReplicasToWrite(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "min-replicas-to-write", "1").Err(); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"direct", "cached"} {
		for _, w := range writers() {
			t.Run(kind+"/"+w.name, func(t *testing.T) {
				sess, err := w.write(ctx, newRevoker(t, kind, c, redis.Options{}), 1)
				if !errors.Is(err, redis.ErrUnavailable) || errors.Is(err, revoke.ErrRevoked) {
					t.Fatalf("write without replicas: %v; want ErrUnavailable (NOREPLICAS)", err)
				}
				d, err := redis.NewDirect(c, redis.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Check(ctx, sess); err != nil {
					t.Fatalf("refused write left an entry: Check = %v", err)
				}
			})
		}
	}
}
