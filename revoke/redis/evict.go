package redis

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The eviction rule.
//
// Every bucket carries a TTL, so a Redis that reaches maxmemory under any
// maxmemory-policy but noeviction drops buckets silently (the volatile-*
// policies pick them first), and every session they revoked works again:
// measured with maxmemory 3mb and volatile-lru, 2,000 of 2,000 revocations
// were gone after 3 MB of other writes, and Check returned nil for each
// (TestEvictingServerIsRefused). So a revoker reads maxmemory-policy (CONFIG
// GET) from every server that holds the list, and answers only while each
// says noeviction:
//
//   - Direct reads it at its first call, again after a call that
//     faulted (a reconnect, a failover to another master) and at least
//     every minute by Options.Now; on a *goredis.Client (standalone or
//     Sentinel) in the check's own pipeline, so that reading it costs no
//     round trip and no wait, on other clients first, one caller at a
//     time, each waiting no longer than its own deadline; either way a
//     check that reads it is bounded by 2 × CheckTimeout. Cached reads it
//     at the start of every load (the first, each periodic reload, and
//     the reload after any re-subscription).
//   - On a Cluster it reads every master (ForEachMaster), on a Ring every
//     shard, on a Sentinel client the current master.
//   - Any other policy, even with maxmemory 0 (no limit yet: one CONFIG SET
//     maxmemory away from dropping entries, with nothing to tell), fails
//     every check and write with an error matching ErrEvictionPolicy (and
//     ErrUnavailable, so the caller's failure policy applies; fail closed
//     refuses the sessions). A write is still made, and reported as not
//     durable, as ErrNotReplicated is.
//   - Where CONFIG is refused (managed services rename or disable it), the
//     policy cannot be read: that too is ErrEvictionPolicy, unless
//     Options.MaxmemoryPolicy vouches "noeviction" for such servers. A
//     server that answers CONFIG GET is always believed over the option.

// ErrEvictionPolicy is matched by the errors of Check, RevokeSession,
// RevokeSubject and [Cached]'s Run (through CachedOptions.OnError) when a
// server holding the list has a maxmemory-policy other than noeviction, or
// refuses CONFIG GET maxmemory-policy while Options.MaxmemoryPolicy does not
// vouch for it: such a server can drop revocations silently. Such an error
// also matches [ErrUnavailable], so the caller's failure policy applies, and
// names the server and its policy. It is never revoke.ErrRevoked.
var ErrEvictionPolicy = errors.New("revoke/redis: maxmemory-policy can drop revocations")

// policyNoEviction is the only maxmemory-policy under which Redis never drops
// a key: a full server refuses writes instead.
const policyNoEviction = "noeviction"

// evictionRecheck is how often, at least, a Direct reads maxmemory-policy
// again while its calls succeed (by Options.Now). A Cached reads it at each
// load instead (CachedOptions.ResyncInterval).
const evictionRecheck = time.Minute

// evictionBadRetry is how long a Direct keeps a bad verdict before reading
// the policy again, so that a fixed server is noticed within it without a
// CONFIG GET on every call of a misconfigured one.
const evictionBadRetry = time.Second

// evictionError is an ErrEvictionPolicy (and ErrUnavailable).
type evictionError struct{ msg string }

func (e *evictionError) Error() string { return e.msg }
func (e *evictionError) Is(target error) bool {
	return target == ErrEvictionPolicy || target == ErrUnavailable
}

// verdict is the result of one reading of the policy: err nil for a good
// one, valid until the Unix ns until.
type verdict struct {
	err   error
	until int64
}

// evictionGuard reads and remembers the maxmemory-policy of the servers
// behind a client.
type evictionGuard struct {
	client  goredis.UniversalClient
	vouched string // Options.MaxmemoryPolicy
	now     func() time.Time

	// turn is held (a value in it) by the one caller reading the policy
	// through ensure; the others wait for it no longer than their own
	// deadline.
	turn chan struct{}
	last atomic.Pointer[verdict]
}

func newEvictionGuard(client goredis.UniversalClient, opts Options) *evictionGuard {
	return &evictionGuard{client: client, vouched: opts.MaxmemoryPolicy, now: opts.Now, turn: make(chan struct{}, 1)}
}

// current returns true and the remembered verdict while it is valid.
func (g *evictionGuard) current() (known bool, verdict error) {
	if v := g.last.Load(); v != nil && g.now().UnixNano() < v.until {
		return true, v.err
	}
	return false, nil
}

// ensure returns the remembered verdict while it is valid, or reads the
// policy again, all within timeout: waiting for another caller's reading
// counts against it. It returns nil, an ErrEvictionPolicy, or an
// ErrUnavailable for a fault of the reading itself (not remembered).
func (g *evictionGuard) ensure(ctx context.Context, timeout time.Duration) error {
	if ok, err := g.current(); ok {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case g.turn <- struct{}{}:
		defer func() { <-g.turn }()
	case <-ctx.Done():
		return unavailable(fmt.Errorf("waiting for another caller's CONFIG GET maxmemory-policy: %w", ctx.Err()))
	}
	if ok, err := g.current(); ok {
		return err // read by another caller meanwhile
	}
	return g.remember(g.read(ctx))
}

// refresh reads the policy of every server now, within timeout, and
// remembers the verdict, unless the reading faulted.
func (g *evictionGuard) refresh(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return g.remember(g.read(ctx))
}

// remember keeps the verdict err of a reading (nil or an ErrEvictionPolicy)
// and returns it; a fault is returned and not kept, so that the next call
// reads again.
func (g *evictionGuard) remember(err error) error {
	if err != nil && !errors.Is(err, ErrEvictionPolicy) {
		return err // a fault: read again next time
	}
	keep := evictionRecheck
	if err != nil {
		keep = evictionBadRetry
	}
	g.last.Store(&verdict{err: err, until: g.now().Add(keep).UnixNano()})
	return err
}

// forget drops the remembered verdict, so that the next ensure reads the
// policy again: called after a fault, which may be a failover to another
// server.
func (g *evictionGuard) forget() {
	if v := g.last.Load(); v != nil && v.err == nil {
		g.last.CompareAndSwap(v, nil)
	}
}

// bad returns the remembered error of a bad verdict, or nil.
func (g *evictionGuard) bad() error {
	if v := g.last.Load(); v != nil {
		return v.err
	}
	return nil
}

// read reads maxmemory-policy from every server behind the client.
func (g *evictionGuard) read(ctx context.Context) error {
	switch c := g.client.(type) {
	case *goredis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			return g.readOne(ctx, node, node.Options().Addr)
		})
	case *goredis.Ring:
		return c.ForEachShard(ctx, func(ctx context.Context, node *goredis.Client) error {
			return g.readOne(ctx, node, node.Options().Addr)
		})
	case *goredis.Client:
		return g.readOne(ctx, c, serverName(c))
	default:
		return g.readOne(ctx, g.client, "the server")
	}
}

// serverName names the server behind a *goredis.Client in errors.
func serverName(c *goredis.Client) string {
	if name := c.Options().Addr; name != "FailoverClient" {
		return name
	}
	return "the Sentinel master"
}

func (g *evictionGuard) readOne(ctx context.Context, c goredis.Cmdable, name string) error {
	m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	return g.judge(m, err, name)
}

// judge turns the reply to CONFIG GET maxmemory-policy from the server
// called name into a verdict: nil, an ErrEvictionPolicy, or an
// ErrUnavailable for a fault.
func (g *evictionGuard) judge(m map[string]string, err error, name string) error {
	var reply goredis.Error
	switch {
	case err != nil && errors.As(err, &reply) && !isTransient(err):
		// An error reply: CONFIG renamed, disabled or denied by an ACL.
		if g.vouched == policyNoEviction {
			return nil
		}
		return &evictionError{fmt.Sprintf("%v: %s refused CONFIG GET maxmemory-policy (%v); "+
			"if the provider guarantees maxmemory-policy noeviction, set Options.MaxmemoryPolicy to %q",
			ErrEvictionPolicy, name, err, policyNoEviction)}
	case err != nil:
		return unavailable(fmt.Errorf("CONFIG GET maxmemory-policy on %s: %w", name, err))
	}
	policy, ok := m["maxmemory-policy"]
	switch {
	case !ok && g.vouched == policyNoEviction:
		return nil
	case !ok:
		return &evictionError{fmt.Sprintf("%v: %s did not report maxmemory-policy; "+
			"if the provider guarantees maxmemory-policy noeviction, set Options.MaxmemoryPolicy to %q",
			ErrEvictionPolicy, name, policyNoEviction)}
	case policy != policyNoEviction:
		return &evictionError{fmt.Sprintf("%v: %s has maxmemory-policy %s; set it to %s on every server that holds the list",
			ErrEvictionPolicy, name, policy, policyNoEviction)}
	}
	return nil
}

// isTransient reports whether an error reply is a server state that passes
// (loading, a failover, a cluster redirection in progress) rather than a
// refusal of the command.
func isTransient(err error) bool {
	for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "MOVED", "ASK"} {
		if goredis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}
