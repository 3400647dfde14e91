package redis

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
)

// Backoff between Run's attempts after a fault.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
	// pruneOnApply bounds how many entries one applied message examines
	// for expiry; a full load prunes them all.
	pruneOnApply = 16
	// scanCount is the COUNT hint of one SCAN call during a load.
	scanCount = 1000
)

// never is the confirmation time of a cache that Run has not loaded yet.
const never = math.MinInt64

// Cached is a Revoker that answers checks from memory, with no Redis call at
// steady state. Run keeps the memory in step with Redis: it loads the whole
// list, applies each revocation that any instance publishes, confirms the
// subscription with heartbeats, and reloads periodically. When the memory
// cannot be vouched for within CachedOptions.StalenessBound, Check returns an
// error matching ErrStale instead of guessing. Create it with NewCached and
// start Run yourself.
//
// Cached is safe for concurrent use.
type Cached struct {
	s    store
	opts CachedOptions

	running   atomic.Bool
	confirmed atomic.Int64 // Unix ns of the last confirmation, or never

	mu       sync.RWMutex
	sessions map[sessionKey]int64 // until, Unix ms
	subjects map[string]subjectEntry
}

var _ revoke.Revoker = (*Cached)(nil)

type sessionKey struct{ subject, id string }

type subjectEntry struct{ beforeMS, untilMS int64 }

// NewCached returns a Cached on client, with the same requirements on client
// as NewDirect. It makes no Redis call and starts no goroutine: until Run has
// completed its first load, Check returns an error matching ErrStale.
// Invalid options or client return an error matching ErrConfig.
func NewCached(client goredis.UniversalClient, opts CachedOptions) (*Cached, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	s, err := newStore(client, opts.Options)
	if err != nil {
		return nil, err
	}
	c := &Cached{
		s:        s,
		opts:     opts,
		sessions: make(map[sessionKey]int64),
		subjects: make(map[string]subjectEntry),
	}
	c.confirmed.Store(never)
	return c, nil
}

// Check reports whether s is revoked, from memory. It returns nil,
// revoke.ErrRevoked, or an error matching ErrStale (and ErrUnavailable) when
// Run has not loaded the list yet or has not confirmed it within
// StalenessBound. It makes no Redis call.
func (c *Cached) Check(_ context.Context, s revoke.Session) error {
	if err := checkSession(s); err != nil {
		return err
	}
	now := c.s.opts.Now()
	conf := c.confirmed.Load()
	if conf == never {
		return errNotLoaded
	}
	if age := time.Duration(now.UnixNano() - conf); age > c.opts.StalenessBound {
		return &staleError{fmt.Sprintf("%v: last confirmed %v ago, bound %v", ErrStale, age.Round(time.Millisecond), c.opts.StalenessBound)}
	}
	nowMS := now.UnixMilli()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if s.Subject != "" {
		if e, ok := c.subjects[s.Subject]; ok && e.untilMS > nowMS && s.IssuedAt.UnixMilli() < e.beforeMS {
			return revoke.ErrRevoked
		}
	}
	if until, ok := c.sessions[sessionKey{s.Subject, s.ID}]; ok && until > nowMS {
		return revoke.ErrRevoked
	}
	return nil
}

// RevokeSession is Direct.RevokeSession; the entry also takes effect in
// this Cached's memory as soon as Redis has it.
func (c *Cached) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	key, value, done, err := c.s.revokeSession(ctx, id, subject, until)
	if err != nil || !done {
		return err
	}
	return c.apply(key, value)
}

// RevokeSubject is Direct.RevokeSubject; the entry also takes effect in
// this Cached's memory as soon as Redis has it.
func (c *Cached) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	key, value, done, err := c.s.revokeSubject(ctx, subject, before, until)
	if err != nil || !done {
		return err
	}
	return c.apply(key, value)
}

// Len returns the number of entries in memory, sessions and subjects
// together, including expired ones not yet pruned.
func (c *Cached) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.sessions) + len(c.subjects)
}

// Run keeps the cache in step with Redis until ctx is done, then returns
// ctx's error. It subscribes to the prefix's channel, loads the whole list
// (SCAN over the prefix; on a Cluster, over every master), then applies
// every published entry, pings the subscription every HeartbeatInterval and
// reloads every ResyncInterval. On a fault it reports to
// CachedOptions.OnError, backs off (50ms doubling to 1s) and starts over
// with a new subscription and a full load; checks keep being answered from
// memory until StalenessBound passes. Run returns an error at once if it is
// already running.
func (c *Cached) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("revoke/redis: Cached.Run is already running")
	}
	defer c.running.Store(false)
	backoff := minBackoff
	for {
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if c.opts.OnError != nil {
			c.opts.OnError(err)
		}
		if time.Since(start) > c.opts.StalenessBound {
			backoff = minBackoff // it was healthy for a while
		}
		wait := backoff/2 + jitter(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session runs one subscription until a fault or ctx is done.
func (c *Cached) session(ctx context.Context) (err error) {
	subCtx, cancel := context.WithTimeout(ctx, c.opts.SyncTimeout)
	ps := c.s.client.Subscribe(subCtx, c.s.keys.channel)
	cancel()
	// Closing the PubSub is what unblocks a pending receive when ctx is done.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		if stop() {
			_ = ps.Close()
		}
	}()

	// Wait for the subscription to be in place before loading, so that no
	// revocation falls between the load and the subscription.
	msg, err := ps.ReceiveTimeout(ctx, c.opts.SyncTimeout)
	if err != nil {
		return unavailable(fmt.Errorf("subscribe: %w", err))
	}
	if _, ok := msg.(*goredis.Subscription); !ok {
		return unavailable(fmt.Errorf("subscribe: unexpected %T", msg))
	}
	if err := c.load(ctx); err != nil {
		return err
	}

	var (
		token      int
		pending    bool      // a heartbeat is waiting for its reply
		pingSentAt time.Time // clock time the pending heartbeat was sent
		pongBy     time.Time // wall time by which it must be answered
		nextPing   = time.Now().Add(c.opts.HeartbeatInterval)
		nextResync = time.Now().Add(c.opts.ResyncInterval)
	)
	for {
		now := time.Now()
		if !now.Before(nextResync) {
			if err := c.load(ctx); err != nil {
				return err
			}
			nextResync = time.Now().Add(c.opts.ResyncInterval)
		}
		if !pending && !now.Before(nextPing) {
			token++
			pingSentAt = c.s.opts.Now()
			pctx, cancel := context.WithTimeout(ctx, c.opts.SyncTimeout)
			err := ps.Ping(pctx, strconv.Itoa(token))
			cancel()
			if err != nil {
				return unavailable(fmt.Errorf("heartbeat: %w", err))
			}
			pending = true
			pongBy = now.Add(c.opts.SyncTimeout)
			nextPing = now.Add(c.opts.HeartbeatInterval)
		}
		wait := nextPing
		if nextResync.Before(wait) {
			wait = nextResync
		}
		if pending {
			wait = pongBy
		}
		timeout := max(time.Until(wait), time.Millisecond)
		msg, err := ps.ReceiveTimeout(ctx, timeout)
		if err != nil {
			if isTimeout(err) && ctx.Err() == nil {
				if pending && !time.Now().Before(pongBy) {
					return unavailable(errors.New("heartbeat: no reply within SyncTimeout"))
				}
				continue
			}
			return unavailable(fmt.Errorf("receive: %w", err))
		}
		switch m := msg.(type) {
		case *goredis.Message:
			value, key, ok := strings.Cut(m.Payload, "\n")
			if !ok {
				return unavailable(fmt.Errorf("malformed message %q", m.Payload))
			}
			if err := c.apply(key, value); err != nil {
				return err
			}
		case *goredis.Pong:
			// Redis answers in order: every entry published before the
			// ping reached it has been applied above.
			if pending && m.Payload == strconv.Itoa(token) {
				pending = false
				c.confirm(pingSentAt)
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// confirm records that every entry written before t is in memory.
func (c *Cached) confirm(t time.Time) {
	n := t.UnixNano()
	for {
		cur := c.confirmed.Load()
		if cur >= n || c.confirmed.CompareAndSwap(cur, n) {
			return
		}
	}
}

// apply merges one entry into memory, keeping the later times.
func (c *Cached) apply(key, value string) error {
	kind, subject, id := c.s.keys.parse(key)
	nowMS := c.s.opts.Now().UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch kind {
	case kindSession:
		u, ok := parseSession(value)
		if !ok {
			return malformed(key, value)
		}
		mergeSession(c.sessions, sessionKey{subject, id}, u)
	case kindSubject:
		b, u, ok := parseSubject(value)
		if !ok {
			return malformed(key, value)
		}
		mergeSubject(c.subjects, subject, subjectEntry{b, u})
	default:
		return malformed(key, value)
	}
	c.pruneLocked(nowMS, pruneOnApply)
	return nil
}

func mergeSession(m map[sessionKey]int64, k sessionKey, u int64) {
	if cur, ok := m[k]; !ok || u > cur {
		m[k] = u
	}
}

func mergeSubject(m map[string]subjectEntry, subject string, e subjectEntry) {
	if cur, ok := m[subject]; ok {
		e.beforeMS = max(e.beforeMS, cur.beforeMS)
		e.untilMS = max(e.untilMS, cur.untilMS)
	}
	m[subject] = e
}

// pruneLocked examines at most limit entries of each map (in Go's random
// map order) and deletes the expired ones.
func (c *Cached) pruneLocked(nowMS int64, limit int) {
	n := 0
	for k, u := range c.sessions {
		if n++; n > limit {
			break
		}
		if u <= nowMS {
			delete(c.sessions, k)
		}
	}
	n = 0
	for k, e := range c.subjects {
		if n++; n > limit {
			break
		}
		if e.untilMS <= nowMS {
			delete(c.subjects, k)
		}
	}
}

// load reads every entry under the prefix, merges it into memory, prunes
// expired entries and confirms the cache as of the load's start. Entries in
// memory that Redis no longer has are kept until they expire: entries only
// leave Redis by expiring, unless its data was lost, and then keeping them
// is the safe side.
func (c *Cached) load(ctx context.Context) error {
	start := c.s.opts.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.SyncTimeout)
	defer cancel()

	var (
		mu       sync.Mutex
		sessions = make(map[sessionKey]int64)
		subjects = make(map[string]subjectEntry)
	)
	scan := func(ctx context.Context, cl goredis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := cl.Scan(ctx, cursor, c.s.keys.match, scanCount).Result()
			if err != nil {
				return unavailable(fmt.Errorf("load: %w", err))
			}
			if len(keys) > 0 {
				pipe := cl.Pipeline()
				cmds := make([]*goredis.StringCmd, len(keys))
				for i, k := range keys {
					cmds[i] = pipe.Get(ctx, k)
				}
				if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
					return unavailable(fmt.Errorf("load: %w", err))
				}
				mu.Lock()
				for i, cmd := range cmds {
					v, err := cmd.Result()
					if errors.Is(err, goredis.Nil) {
						continue // expired since SCAN
					}
					if err != nil {
						mu.Unlock()
						return unavailable(fmt.Errorf("load: %w", err))
					}
					switch kind, subject, id := c.s.keys.parse(keys[i]); kind {
					case kindSession:
						u, ok := parseSession(v)
						if !ok {
							mu.Unlock()
							return malformed(keys[i], v)
						}
						mergeSession(sessions, sessionKey{subject, id}, u)
					case kindSubject:
						b, u, ok := parseSubject(v)
						if !ok {
							mu.Unlock()
							return malformed(keys[i], v)
						}
						mergeSubject(subjects, subject, subjectEntry{b, u})
					default:
						mu.Unlock()
						return malformed(keys[i], v)
					}
				}
				mu.Unlock()
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	var err error
	switch cl := c.s.client.(type) {
	case *goredis.ClusterClient:
		err = cl.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error { return scan(ctx, node) })
	case *goredis.Ring:
		err = cl.ForEachShard(ctx, func(ctx context.Context, shard *goredis.Client) error { return scan(ctx, shard) })
	default:
		err = scan(ctx, cl)
	}
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			err = unavailable(fmt.Errorf("load: %w", err))
		}
		return err
	}

	nowMS := c.s.opts.Now().UnixMilli()
	c.mu.Lock()
	for k, u := range c.sessions {
		mergeSession(sessions, k, u)
	}
	for s, e := range c.subjects {
		mergeSubject(subjects, s, e)
	}
	c.sessions, c.subjects = sessions, subjects
	c.pruneLocked(nowMS, math.MaxInt)
	c.mu.Unlock()
	c.confirm(start)
	return nil
}

// jitter returns a random duration in [0, n), from crypto/rand like every
// random number in this module; 0 if n <= 0 or the reader fails.
func jitter(n time.Duration) time.Duration {
	var b [8]byte
	if n <= 0 {
		return 0
	}
	if _, err := rand.Read(b[:]); err != nil {
		return 0
	}
	return time.Duration(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}
