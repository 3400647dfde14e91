package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ErrNotReplicated is matched by the error of RevokeSession and
// RevokeSubject when Options.WaitReplicas replicas did not acknowledge the
// revocation within the wait (Redis WAIT returned fewer). The entry is on
// the master, and the [Cached] instances that saw it published apply it, but
// a failover may lose it: call again (a later entry never weakens an
// earlier one), or treat the logout as not done. Such an error also
// matches [ErrUnavailable]. It is never revoke.ErrRevoked.
var ErrNotReplicated = errors.New("revoke/redis: revocation not acknowledged by enough replicas")

// notReplicated is an ErrNotReplicated (and ErrUnavailable) with the WAIT
// call and its result.
type notReplicated struct {
	want, got int64
	wait      time.Duration
	node      string
}

func (e *notReplicated) Error() string {
	if e.got < 0 {
		return fmt.Sprintf("%v: WAIT %d %d on %s: no reply before the deadline", ErrNotReplicated, e.want, e.wait.Milliseconds(), e.node)
	}
	return fmt.Sprintf("%v: WAIT %d %d on %s: %d acknowledged", ErrNotReplicated, e.want, e.wait.Milliseconds(), e.node, e.got)
}

func (e *notReplicated) Is(target error) bool {
	return target == ErrNotReplicated || target == ErrUnavailable
}

// normalizeWait validates WaitReplicas and WaitTimeout and sets the
// default WaitTimeout; WriteTimeout must be set already.
func (o Options) normalizeWait() (Options, error) {
	switch {
	case o.WaitReplicas < NoWait:
		return o, configError("WaitReplicas %d below NoWait (-1)", o.WaitReplicas)
	case o.WaitTimeout < 0:
		return o, configError("negative WaitTimeout %v", o.WaitTimeout)
	case o.WaitTimeout == 0:
		o.WaitTimeout = o.WriteTimeout / 2
	case o.WaitTimeout >= o.WriteTimeout:
		return o, configError("WaitTimeout %v must be below WriteTimeout %v", o.WaitTimeout, o.WriteTimeout)
	}
	return o, nil
}

// waitReplicas resolves WaitReplicasAuto for client: 1 on a Sentinel
// client, none otherwise. A Ring cannot wait (it has no replicas to wait
// for, and no one connection per key).
func waitReplicas(client goredis.UniversalClient, n int) (int, error) {
	if n == WaitReplicasAuto {
		if isSentinelClient(client) {
			return 1, nil
		}
		return NoWait, nil
	}
	if _, ok := client.(*goredis.Ring); ok && n > 0 {
		return 0, configError("WaitReplicas %d on a Ring: a Ring has no replicas to wait for", n)
	}
	return n, nil
}

// isSentinelClient reports whether c is a go-redis failover client
// (NewFailoverClient, or NewUniversalClient with MasterName): go-redis
// builds its Options with the Addr "FailoverClient". If go-redis changes
// that, TestFailoverKeepsAcknowledgedRevocations fails (auto would no
// longer wait).
func isSentinelClient(c goredis.UniversalClient) bool {
	cl, ok := c.(*goredis.Client)
	return ok && cl.Options().Addr == "FailoverClient"
}

// eval runs a revocation script on key and returns its text reply. With
// WaitReplicas > 0 it sends WAIT after the script on the same connection
// (one pipeline, one round trip), so that WAIT counts the replicas that
// have this write; on a Cluster, on the master of key's slot.
func (s *store) eval(ctx context.Context, script *goredis.Script, key string, args ...any) (string, error) {
	keys := []string{key}
	if s.opts.WaitReplicas <= 0 {
		v, err := script.Run(ctx, s.client, keys, args...).Text()
		if err != nil {
			return "", unavailable(err)
		}
		return v, nil
	}
	var node *goredis.Client
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		n, err := c.MasterForKey(ctx, key)
		if err != nil {
			return "", unavailable(fmt.Errorf("master for %q: %w", key, err))
		}
		node = n
	case *goredis.Client:
		node = c
	}
	var pipeliner func() goredis.Pipeliner
	name := "master"
	if node != nil {
		pipeliner = node.Pipeline
		if node.Options().Addr != "FailoverClient" {
			name = node.Options().Addr
		}
	} else {
		pipeliner = s.client.Pipeline // another UniversalClient: trusted to keep a pipeline on one connection
	}
	wait := s.opts.WaitTimeout
	if dl, ok := ctx.Deadline(); ok {
		// Leave a quarter of the time left for the round trip, so that
		// WAIT answers with its count before the context ends.
		wait = min(wait, time.Until(dl)*3/4)
	}
	wait = max(wait, time.Millisecond) // WAIT 0 would block for ever
	// The script goes as its body (EVAL), not by SHA: a new master (after
	// a failover or a restart) has an empty script cache, and a NOSCRIPT
	// retry would cost a second round trip and a second WAIT. Revocations
	// are rare; the body is a few hundred bytes.
	pipe := pipeliner()
	run := script.Eval(ctx, pipe, keys, args...)
	// WAIT is not in go-redis's Pipeliner; its reply is an integer.
	acked := goredis.NewIntCmd(ctx, "wait", s.opts.WaitReplicas, wait.Milliseconds())
	_ = pipe.Process(ctx, acked)
	_, _ = pipe.Exec(ctx) // each command carries its own error
	// A pipeline that fails part way sets its error on every command,
	// also on those whose reply it had read: a script reply that was read
	// shows in Val.
	v, ran := run.Val().(string)
	if err := run.Err(); err != nil && !ran {
		return "", unavailable(err)
	}
	got, err := acked.Result()
	if err != nil {
		if ran && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)) {
			// The master ran the script; no replica count came back
			// before the deadline (Redis ends a WAIT on its own timeout
			// only at its next tick, up to 1/hz = 100ms late).
			return "", &notReplicated{want: int64(s.opts.WaitReplicas), got: -1, wait: wait, node: name}
		}
		return "", unavailable(fmt.Errorf("WAIT: %w", err))
	}
	if got < int64(s.opts.WaitReplicas) {
		return "", &notReplicated{want: int64(s.opts.WaitReplicas), got: got, wait: wait, node: name}
	}
	return v, nil
}
