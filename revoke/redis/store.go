package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
)

// store is the Redis side shared by Direct and Cached: keys, writes, options.
type store struct {
	client goredis.UniversalClient
	opts   Options
	keys   *keys
	v1     *v1Keys        // layout v1, read and written only with Options.V1Compat
	evict  *evictionGuard // the servers' maxmemory-policy (evict.go)
}

func newStore(client goredis.UniversalClient, opts Options) (store, error) {
	if err := checkClient(client); err != nil {
		return store{}, err
	}
	opts, err := opts.normalize()
	if err != nil {
		return store{}, err
	}
	if opts.WaitReplicas, err = waitReplicas(client, opts.WaitReplicas); err != nil {
		return store{}, err
	}
	return store{client: client, opts: opts, keys: newKeys(opts.Prefix), v1: newV1Keys(opts.Prefix),
		evict: newEvictionGuard(client, opts)}, nil
}

// ttl returns until-now rounded up to the millisecond, or 0 if until has passed.
func ttl(until, now time.Time) int64 {
	d := until.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// revokeSession writes a session entry and returns its field and resulting
// value; done is false if until had passed and nothing was written.
func (s *store) revokeSession(ctx context.Context, id, subject string, until time.Time) (key, value string, done bool, err error) {
	switch {
	case id == "":
		return "", "", false, argError("empty session id")
	case until.IsZero():
		return "", "", false, argError("zero until for session")
	}
	t := ttl(until, s.opts.Now())
	if t == 0 {
		return "", "", false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	policyErr := s.evict.ensure(ctx, s.opts.WriteTimeout)
	key, value, err = s.write(ctx, subject, id, 0, until.UnixMilli(), t)
	return s.written(key, value, err, policyErr)
}

// revokeSubject writes a subject entry and returns its field and resulting
// value; done is false if until had passed and nothing was written.
func (s *store) revokeSubject(ctx context.Context, subject string, before, until time.Time) (key, value string, done bool, err error) {
	switch {
	case subject == "":
		return "", "", false, argError("empty subject")
	case before.IsZero():
		return "", "", false, argError("zero before for subject")
	case until.IsZero():
		return "", "", false, argError("zero until for subject")
	}
	t := ttl(until, s.opts.Now())
	if t == 0 {
		return "", "", false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	policyErr := s.evict.ensure(ctx, s.opts.WriteTimeout)
	key, value, err = s.write(ctx, subject, "", before.UnixMilli(), until.UnixMilli(), t)
	return s.written(key, value, err, policyErr)
}

// written ends a write: a write that faulted is not done; one that Redis
// took on a server that may evict it (policyErr, from evictionGuard.ensure)
// is done but reported, as an unacknowledged WAIT is.
func (s *store) written(key, value string, err, policyErr error) (string, string, bool, error) {
	if err != nil {
		if errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrNotReplicated) {
			s.evict.forget()
		}
		return "", "", false, err
	}
	if policyErr != nil {
		return key, value, true, policyErr
	}
	return key, value, true, nil
}

func argError(reason string) error {
	return fmt.Errorf("revoke/redis: %s: %w", reason, revoke.ErrInvalidArgument)
}

func checkSession(s revoke.SessionRef) error {
	if s.ID == "" {
		return argError("empty session id")
	}
	return nil
}

// Direct is a Revoker that asks Redis on every Check: one HGET, or one HMGET
// of two fields of one key when the session has a subject. It holds no state
// of its own and starts no goroutine. Create it with [NewDirect].
//
// Direct is safe for concurrent use.
type Direct struct {
	s store
}

var _ revoke.Revoker = (*Direct)(nil)

// NewDirect returns a [Direct] on client, which may be any go-redis v9
// UniversalClient: standalone, Sentinel (failover) or Cluster. A *Client,
// *ClusterClient or *Ring must have ContextTimeoutEnabled set, so that
// Options.CheckTimeout and WriteTimeout bound every call; other
// implementations cannot be inspected and are trusted to honor context
// deadlines. NewDirect makes no Redis call: the servers' maxmemory-policy
// is read by the first Check or write (see [ErrEvictionPolicy]). Invalid options or client return
// an error matching [ErrInvalidConfig].
func NewDirect(client goredis.UniversalClient, opts Options) (*Direct, error) {
	s, err := newStore(client, opts)
	if err != nil {
		return nil, err
	}
	return &Direct{s: s}, nil
}

// Check reports whether s is revoked, in one round trip bounded by
// Options.CheckTimeout. It returns nil, [revoke.ErrRevoked], or an error
// matching [ErrUnavailable] for a store fault, which is [ErrEvictionPolicy]
// when a server holding the list may evict it. Its first call, the first after
// a fault and then one at least once a minute (by Options.Now) also read
// the servers' maxmemory-policy (CONFIG GET), which adds a CheckTimeout to
// their bound: on a standalone or Sentinel client in the same round trip
// as the check (one pipeline on one connection, so that the policy is
// that of the server that answers); on a Cluster or Ring first, one round
// trip per master, waiting for another caller's reading no longer than
// that. However many calls run at once, none waits longer for the others.
func (d *Direct) Check(ctx context.Context, s revoke.SessionRef) error {
	if err := checkSession(s); err != nil {
		return err
	}
	known, perr := d.s.evict.current()
	c, single := d.s.client.(*goredis.Client)
	if !known && !single {
		known, perr = true, d.s.evict.ensure(ctx, d.s.opts.CheckTimeout)
	}
	if perr != nil {
		return perr
	}
	timeout := d.s.opts.CheckTimeout
	if !known {
		// The reading of the policy gets its own CheckTimeout, as it does
		// when it comes first: after a fault the pipeline often needs a
		// new connection too.
		timeout *= 2
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	if known {
		err = d.s.check(ctx, s)
	} else {
		err = d.s.checkReadingPolicy(ctx, c, s)
	}
	if err != nil && errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrEvictionPolicy) {
		d.s.evict.forget() // perhaps another server now: read its policy
	}
	return err
}

// RevokeSession revokes the session (subject, id) until until, in one round
// trip bounded by Options.WriteTimeout that also publishes the entry to
// every [Cached] on the same prefix. An until that has passed is a no-op.
// Pass the subject the session carries: the entry is stored next to the
// subject's (same hash slot) and found only by checks with that subject.
// With Options.WaitReplicas (on by default on a Sentinel client), it
// returns nil only once that many replicas hold the entry, else an error
// matching [ErrNotReplicated]. On a server that may evict the entry it writes
// it and returns an error matching [ErrEvictionPolicy]: the logout may not
// stick.
func (d *Direct) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	_, _, _, err := d.s.revokeSession(ctx, id, subject, until)
	return err
}

// RevokeSubject revokes every session of subject issued strictly before
// before (at millisecond precision, see [revoke.IssuedBefore]) until until, in
// one round trip bounded by Options.WriteTimeout that keeps the later before
// and until of an existing entry atomically and publishes the result to
// every [Cached] on the same prefix. An until that has passed is a no-op.
// With Options.WaitReplicas, it returns nil only once that many replicas
// hold the entry, else an error matching [ErrNotReplicated]. On a server that
// may evict the entry it writes it and returns an error matching
// [ErrEvictionPolicy].
func (d *Direct) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	_, _, _, err := d.s.revokeSubject(ctx, subject, before, until)
	return err
}
