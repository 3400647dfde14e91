package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/internal/redistest"
	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
)

// EnvFailoverLong, set to 1, makes TestFailoverWhatUsersSee use Sentinel's
// default detection (down-after-milliseconds 30000) instead of 1000; the
// test then takes about 45s.
const envFailoverLong = "COOKIESEAL_FAILOVER_LONG"

func failoverClient(t *testing.T, sn *redistest.Sentinel) *goredis.Client {
	t.Helper()
	c := goredis.NewFailoverClient(sn.FailoverOptions())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestFailoverKeepsAcknowledgedRevocations is issue 10's scenario: a
// master, one replica and three Sentinels; revocations are acknowledged in
// a loop; the replication link is cut, so the replica lags; the master is
// killed (SIGKILL) mid-load and Sentinel promotes the replica. Then every
// acknowledged revocation is checked through a Direct on the new master.
// With WaitReplicas (auto: 1 on a Sentinel client), none may be missing;
// with NoWait, the ones acknowledged while the link was cut are lost, which
// shows that the scenario does lose data without the option.
func TestFailoverKeepsAcknowledgedRevocations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wait     int
		replicas int // the link of the first is cut
	}{
		{"WaitReplicasAuto/one replica", redis.WaitReplicasAuto, 1},
		{"WaitReplicasAuto/two replicas", redis.WaitReplicasAuto, 2},
		{"NoWait/one replica", redis.NoWait, 1},
	} {
		t.Run(tc.name, func(t *testing.T) { failoverLoad(t, tc.wait, tc.replicas) })
	}
}

type writeLog struct {
	mu       sync.Mutex
	acked    []revoke.Session
	ackedAt  []time.Time
	notRepl  int // ErrNotReplicated results
	faults   int // other errors
	attempts int
	reached  []time.Time // nil or ErrNotReplicated: the master ran the write
}

func (w *writeLog) record(s revoke.Session, at time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts++
	switch {
	case err == nil:
		w.acked = append(w.acked, s)
		w.ackedAt = append(w.ackedAt, at)
		w.reached = append(w.reached, at)
	case errors.Is(err, redis.ErrNotReplicated):
		w.notRepl++
		w.reached = append(w.reached, at)
	default:
		w.faults++
	}
}

func (w *writeLog) snapshot() (acked, notRepl, attempts int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked), w.notRepl, w.attempts
}

// ackedAfter returns the number of writes acknowledged after t, and the
// time of the first.
func (w *writeLog) ackedAfter(t time.Time) (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, first := 0, time.Time{}
	for _, at := range w.ackedAt {
		if at.After(t) {
			if n == 0 {
				first = at
			}
			n++
		}
	}
	return n, first
}

// reachedAfter returns the time of the first write after t that a master
// ran (acknowledged or not by replicas).
func (w *writeLog) reachedAfter(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.reached {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

func failoverLoad(t *testing.T, wait, replicas int) {
	sn := redistest.StartSentinel(t, redistest.SentinelOptions{Replicas: replicas, DownAfter: time.Second})
	client := failoverClient(t, sn)
	d, err := redis.NewDirect(client, redis.Options{WaitReplicas: wait, WaitTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	var log writeLog
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the load: one revocation after another, at most 5000
		defer close(done)
		for i := range 5000 {
			select {
			case <-stop:
				return
			default:
			}
			s := revoke.Session{ID: fmt.Sprintf("s-%d", i), Subject: "alice", IssuedAt: time.Now()}
			err := d.RevokeSession(ctx, s.ID, s.Subject, until)
			log.record(s, time.Now(), err)
			if err != nil {
				time.Sleep(10 * time.Millisecond) // pace the retries while Redis is away
			}
		}
	}()
	defer func() { close(stop); <-done }()

	waitFor(t, 10*time.Second, "50 acknowledged revocations", func() bool { a, _, _ := log.snapshot(); return a >= 50 })
	sn.Links[0].Hold() // the replica stops receiving: it lags
	a0, n0, at0 := log.snapshot()
	waitFor(t, 10*time.Second, "10 revocations while the replica lags", func() bool { _, _, at := log.snapshot(); return at >= at0+10 })
	a1, n1, _ := log.snapshot()
	t.Logf("while the replica lagged: %d acknowledged, %d ErrNotReplicated", a1-a0, n1-n0)

	old := sn.Master.Addr
	t.Logf("SIGKILL master %s (pid %d)", old, sn.Master.PID())
	kill := time.Now()
	sn.Master.Kill()
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	promoted := sn.WaitPromotion(pctx, old)
	promotedAt := time.Since(kill)
	// A supervisor restarts the crashed server; Sentinel makes it a
	// replica of the new master, so that WAIT 1 can succeed again.
	sn.Master.Restart()
	waitFor(t, 30*time.Second, "20 revocations acknowledged after the kill", func() bool { n, _ := log.ackedAfter(kill); return n >= 20 })
	_, first := log.ackedAfter(kill)
	reached := log.reachedAfter(kill)
	close(stop)
	<-done
	stop = make(chan struct{}) // for the deferred close

	// Check every acknowledged revocation on the new master, with a new
	// client (and so new connections).
	checker, err := redis.NewDirect(failoverClient(t, sn), redis.Options{CheckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	acked := append([]revoke.Session(nil), log.acked...)
	notRepl, faults, attempts := log.notRepl, log.faults, log.attempts
	log.mu.Unlock()
	accepted := 0
	for _, s := range acked {
		switch err := checker.Check(ctx, s); {
		case err == nil:
			accepted++
		case !errors.Is(err, revoke.ErrRevoked):
			t.Fatalf("check %s on the new master: %v", s.ID, err)
		}
	}
	t.Logf("WaitReplicas %d, %d replica(s): %d attempts, %d acknowledged, %d ErrNotReplicated, %d other faults; "+
		"after the kill: promoted %s at %v, first write run by the new master at %v, first acknowledged write at %v; "+
		"revoked sessions accepted by Direct on the new master: %d of %d",
		wait, replicas, attempts, len(acked), notRepl, faults, promoted, promotedAt.Round(time.Millisecond),
		reached.Sub(kill).Round(time.Millisecond), first.Sub(kill).Round(time.Millisecond), accepted, len(acked))
	if wait == redis.NoWait {
		// The control: the revocations acknowledged while the link was
		// cut never reached the replica.
		if accepted == 0 {
			t.Errorf("without WAIT, no acknowledged revocation was lost; the scenario does not reproduce the lag")
		}
		return
	}
	if accepted != 0 {
		t.Errorf("with WaitReplicas, %d acknowledged revocations were lost in the failover", accepted)
	}
	if replicas == 1 && n1-n0 == 0 {
		t.Errorf("with WaitReplicas and its only replica lagging, no write failed")
	}
	if replicas == 2 && promoted != sn.Replicas[1].Addr {
		t.Errorf("promoted %s; want the replica in sync, %s", promoted, sn.Replicas[1].Addr)
	}
}
