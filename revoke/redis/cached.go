package redis

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
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
	// for expiry.
	pruneOnApply = 16
	// loadPageCount is the COUNT of one HSCAN page during a load.
	loadPageCount = 1000
	// wholeBucketMax is the largest bucket a load reads in one HGETALL
	// (about 2.5 times cheaper for Redis than HSCAN pages, and 50,000
	// fields take Redis about 15ms); a larger bucket is read with HSCAN.
	wholeBucketMax = 50_000
	// loadWorkers is how many buckets a load reads at once.
	loadWorkers = 8
	// pageRetries is how many times a load retries one page that failed
	// before the load attempt reports the fault; the next attempt resumes
	// where this one stopped.
	pageRetries = 3
	// resyncDuty stretches the periodic reload of a large list: the next
	// one starts no sooner than resyncDuty times the last load's duration
	// after it, so that reloads take at most 1/resyncDuty of the time of
	// each instance and of Redis.
	resyncDuty = 60
	// loadPoll bounds how long Run waits for a message while a load runs,
	// so that it sees the load finish promptly.
	loadPoll = 50 * time.Millisecond
)

// never is the confirmation time of a cache that Run has not loaded yet.
const never = math.MinInt64

// Cached is a Revoker that answers checks from memory, with no Redis call at
// steady state. Run keeps the memory in step with Redis: it loads the whole
// list, applies each revocation that any instance publishes, confirms the
// subscription with heartbeats, and reloads periodically. When the memory
// cannot be vouched for within CachedOptions.StalenessBound, Check returns an
// error matching [ErrStale] instead of guessing. Create it with [NewCached] and
// start Run yourself.
//
// Memory holds each entry under a 128-bit seeded hash of its field
// (hash/maphash, two random seeds per Cached), not its strings: about 40
// bytes an entry, so 10 million entries fit in about half a gigabyte. Two
// fields would have to collide in 128 bits for one entry to revoke another
// session; the seeds are secret and random per process.
//
// Cached is safe for concurrent use.
type Cached struct {
	s    store
	opts CachedOptions
	seed [2]maphash.Seed

	running   atomic.Bool
	confirmed atomic.Int64 // Unix ns of the last confirmation, or never

	shards [shardCount]shard

	stats struct {
		sync.Mutex
		loads, loadFailures, resubscriptions, unknownFields, skippedBuckets uint64
		lastLoadDuration                                                    time.Duration
		lastLoadEntries                                                     int
	}
}

var _ revoke.Revoker = (*Cached)(nil)

// shardCount is the number of independently locked parts of memory, so
// that a load's workers merge pages in parallel and checks rarely wait.
const shardCount = 16

// shard is one part of memory, chosen by hkey.a.
type shard struct {
	mu      sync.RWMutex
	entries map[hkey]entry
	bad     map[hkey]int64 // malformed entries, held as revoked; value: Unix ns last seen
}

func (c *Cached) shard(k hkey) *shard { return &c.shards[k.a%shardCount] }

// hkey is the 128-bit seeded hash of a field.
type hkey struct{ a, b uint64 }

// entry is what memory holds for a field: a session entry has beforeMS 0.
type entry struct{ beforeMS, untilMS int64 }

// NewCached returns a [Cached] on client, with the same requirements on client
// as [NewDirect]. It makes no Redis call and starts no goroutine: until Run has
// completed its first load, Check returns an error matching [ErrStale] (or
// [ErrEvictionPolicy], once a load has found a server that may evict).
// Invalid options or client return an error matching [ErrInvalidConfig].
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
		s:    s,
		opts: opts,
		seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
	}
	for i := range c.shards {
		c.shards[i].entries = make(map[hkey]entry)
		c.shards[i].bad = make(map[hkey]int64)
	}
	c.confirmed.Store(never)
	return c, nil
}

// hashField returns the hkey of a field as Redis holds it.
func (c *Cached) hashField(field string) hkey {
	return hkey{maphash.String(c.seed[0], field), maphash.String(c.seed[1], field)}
}

// hashParts returns hashField(kind + esub [+ ":" + id]) without building
// the string, so that a check allocates nothing; esub is the escaped subject.
func (c *Cached) hashParts(kind, esub string, withID bool, id string) hkey {
	var k [2]uint64
	for i := range k {
		var h maphash.Hash
		h.SetSeed(c.seed[i])
		h.WriteString(kind)
		h.WriteString(esub)
		if withID {
			h.WriteByte(':')
			h.WriteString(id)
		}
		k[i] = h.Sum64()
	}
	return hkey{k[0], k[1]}
}

// Check reports whether s is revoked, from memory. It returns nil,
// [revoke.ErrRevoked], an error matching [ErrStale] (and [ErrUnavailable]) when
// Run has not loaded the list yet or has not confirmed it within
// StalenessBound, or one matching [ErrEvictionPolicy] (and ErrUnavailable)
// while the last reading of the servers' maxmemory-policy (at the start of
// each load) found one that may drop entries. It makes no Redis call, and does not allocate unless the
// subject holds '%' or ':'. An entry
// that Redis holds in a form this version cannot parse revokes what it names.
func (c *Cached) Check(_ context.Context, s revoke.SessionRef) error {
	if err := checkSession(s); err != nil {
		return err
	}
	if err := c.s.evict.bad(); err != nil {
		return err // a server may have dropped entries: memory cannot vouch
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
	esub := s.Subject
	if strings.IndexByte(esub, '%') >= 0 || strings.IndexByte(esub, ':') >= 0 {
		esub = escapeSubject(esub)
	}
	sk := c.hashParts(fieldSession, esub, true, s.ID)
	var uk hkey
	if s.Subject != "" {
		uk = c.hashParts(fieldSubject, esub, false, "")
	}
	if err := c.lookup(sk, func(e entry) bool { return e.untilMS > nowMS }); err != nil {
		return err
	}
	if s.Subject != "" {
		issuedMS := s.IssuedAt.UnixMilli()
		return c.lookup(uk, func(e entry) bool { return e.untilMS > nowMS && issuedMS < e.beforeMS })
	}
	return nil
}

// lookup returns revoke.ErrRevoked if memory holds k and revokes(k's
// entry), an error matching it if k is held as malformed, and nil otherwise.
func (c *Cached) lookup(k hkey, revokes func(entry) bool) error {
	sh := c.shard(k)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if e, ok := sh.entries[k]; ok && revokes(e) {
		return revoke.ErrRevoked
	}
	if _, ok := sh.bad[k]; ok {
		return errMalformedRevoked
	}
	return nil
}

// RevokeSession is [Direct.RevokeSession]; the entry also takes effect in
// this [Cached]'s memory as soon as Redis has it.
func (c *Cached) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	field, value, done, err := c.s.revokeSession(ctx, id, subject, until)
	if done {
		c.apply(field, value)
	}
	return err
}

// RevokeSubject is [Direct.RevokeSubject]; the entry also takes effect in
// this [Cached]'s memory as soon as Redis has it.
func (c *Cached) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	field, value, done, err := c.s.revokeSubject(ctx, subject, before, until)
	if done {
		c.apply(field, value)
	}
	return err
}

// entries returns the number of entries in memory, sessions and subjects
// together, including expired ones not yet pruned: Stats().Entries.
func (c *Cached) entries() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.entries)
		sh.mu.RUnlock()
	}
	return n
}

// Stats returns a snapshot of the cache's size and freshness, for metrics
// (the otel module's ObserveRevokeCache reads it) and health checks. It is
// safe to call at any time and makes no Redis call.
func (c *Cached) Stats() revoke.CacheStats {
	var st revoke.CacheStats
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		st.Entries += len(sh.entries)
		st.Malformed += len(sh.bad)
		sh.mu.RUnlock()
	}
	st.Staleness = -1
	if conf := c.confirmed.Load(); conf != never {
		st.Staleness = time.Duration(c.s.opts.Now().UnixNano() - conf)
	}
	c.stats.Lock()
	defer c.stats.Unlock()
	st.LastLoadDuration = c.stats.lastLoadDuration
	st.LastLoadEntries = c.stats.lastLoadEntries
	st.Loads, st.LoadFailures = c.stats.loads, c.stats.loadFailures
	st.Resubscriptions = c.stats.resubscriptions
	st.UnknownFields, st.SkippedBuckets = c.stats.unknownFields, c.stats.skippedBuckets
	return st
}

// Run keeps the cache in step with Redis until ctx is done, then returns
// ctx's error. It subscribes to the prefix's channel, loads the whole list
// (the 1024 buckets, resumable bucket by bucket and page by page), then
// applies every published entry, pings the subscription every
// HeartbeatInterval and reloads every ResyncInterval (or 60 times the last
// load's duration, if longer: a list that takes 5s to load is reloaded
// every 5 minutes), the loads running beside the subscription.
//
// A heartbeat's reply vouches for the cache only if a full load has
// completed since the subscription was (re-)established: when go-redis
// re-subscribes on its own (a reconnect, a maintenance handoff), messages
// may have been missed, so Run starts a full load and no heartbeat confirms
// until it completes. A periodic reload that fails is reported and retried
// from the page that failed; it does not end the session, and heartbeats
// keep the cache fresh meanwhile.
//
// Each load first reads every server's maxmemory-policy (CONFIG GET): a
// policy that may drop entries, or a server that refuses CONFIG GET without
// Options.MaxmemoryPolicy, fails the load with an error matching
// [ErrEvictionPolicy], reported to OnError and retried like any failed load
// (50ms doubling to 1s), and Check returns it until a load finds every
// server at noeviction. So a policy changed at runtime is found by the next
// periodic reload (ResyncInterval), and a new master's by the load that
// follows a re-subscription.
//
// On a fault of the subscription it reports to CachedOptions.OnError, backs
// off (50ms doubling to 1s) and starts over with a new subscription and a
// full load; checks keep being answered from memory until StalenessBound
// passes. Run returns an error at once if it is already running.
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
		c.report(err)
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

func (c *Cached) report(err error) {
	if c.opts.OnError != nil && err != nil {
		c.opts.OnError(err)
	}
}

// channels returns the channels Run subscribes to.
func (c *Cached) channels() []string {
	if c.s.opts.V1Compat {
		return []string{c.s.keys.channel, c.s.v1.channel}
	}
	return []string{c.s.keys.channel}
}

// session runs one subscription until a fault or ctx is done.
func (c *Cached) session(ctx context.Context) (err error) {
	channels := c.channels()
	subCtx, cancel := context.WithTimeout(ctx, c.opts.SyncTimeout)
	ps := c.s.client.Subscribe(subCtx, channels...)
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
	for range channels {
		msg, err := ps.ReceiveTimeout(ctx, c.opts.SyncTimeout)
		if err != nil {
			return unavailable(fmt.Errorf("subscribe: %w", err))
		}
		if _, ok := msg.(*goredis.Subscription); !ok {
			return unavailable(fmt.Errorf("subscribe: unexpected %T", msg))
		}
	}

	var (
		gen         = 1     // subscription generation: bumped at each re-subscription
		synced      = false // a full load completed in this generation
		awaitingSub = false // a receive failed; wait for go-redis's re-subscription
		awaitBy     time.Time
		errStreak   int // receive errors in a row
		load        *loadRun
		prog        = c.newProgress(gen)
		loadAt      time.Time // earliest start of the next load attempt
		loadBackoff = minBackoff

		token      int
		pending    bool      // a heartbeat is waiting for its reply
		pingGen    int       // generation the pending heartbeat was sent in
		pingSentAt time.Time // clock time the pending heartbeat was sent
		pongBy     time.Time // wall time by which it must be answered
		nextPing   = time.Now().Add(c.opts.HeartbeatInterval)
		nextResync time.Time
	)
	defer func() {
		if load != nil {
			load.cancel()
			<-load.done
		}
	}()
	restartLoad := func() {
		if load != nil {
			load.cancel()
			<-load.done
			load = nil
		}
		prog = c.newProgress(gen)
		loadAt = time.Time{}
		loadBackoff = minBackoff
	}
	for {
		now := time.Now()
		// Collect a finished load.
		if load != nil {
			select {
			case r := <-load.done:
				load = nil
				if r.err != nil {
					c.countLoadFailure()
					c.report(r.err)
					loadAt = time.Now().Add(loadBackoff/2 + jitter(loadBackoff/2+1))
					loadBackoff = min(2*loadBackoff, maxBackoff)
				} else if r.prog.gen == gen {
					synced = true
					took := c.finishLoad(r.prog)
					prog = nil
					loadBackoff = minBackoff
					nextResync = time.Now().Add(max(c.opts.ResyncInterval, resyncDuty*took))
					// The load vouches for writes before its start, which
					// for a long load may already be past the bound: a
					// heartbeat now vouches for the present at once.
					if !pending {
						nextPing = time.Now()
					}
				}
			default:
			}
		}
		if prog == nil && synced && !now.Before(nextResync) {
			prog = c.newProgress(gen)
		}
		if load == nil && prog != nil && !awaitingSub && !now.Before(loadAt) {
			load = c.startLoad(ctx, prog)
		}
		if !pending && !awaitingSub && !now.Before(nextPing) {
			token++
			pingSentAt = c.s.opts.Now()
			pctx, cancel := context.WithTimeout(ctx, c.opts.SyncTimeout)
			err := ps.Ping(pctx, strconv.Itoa(token))
			cancel()
			if err != nil {
				return unavailable(fmt.Errorf("heartbeat: %w", err))
			}
			pending, pingGen = true, gen
			pongBy = now.Add(c.opts.SyncTimeout)
			nextPing = now.Add(c.opts.HeartbeatInterval)
		}
		wait := nextPing
		if synced && prog == nil && nextResync.Before(wait) {
			wait = nextResync
		}
		if pending && pongBy.Before(wait) {
			wait = pongBy
		}
		if awaitingSub {
			wait = earliest(wait, awaitBy)
		}
		if load != nil || (prog != nil && !awaitingSub) {
			wait = earliest(wait, now.Add(loadPoll))
			if load == nil && loadAt.After(now) {
				wait = earliest(wait, loadAt)
			}
		}
		timeout := max(time.Until(wait), time.Millisecond)
		msg, err := ps.ReceiveTimeout(ctx, timeout)
		if err != nil {
			if isTimeout(err) && ctx.Err() == nil {
				if pending && !time.Now().Before(pongBy) {
					return unavailable(errors.New("heartbeat: no reply within SyncTimeout"))
				}
				if awaitingSub && !time.Now().Before(awaitBy) {
					return unavailable(errors.New("no re-subscription within SyncTimeout"))
				}
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// go-redis has dropped the connection and re-subscribes on the
			// next receive; what was published meanwhile is lost to us.
			// Wait for its confirmation once, then reload; a second error
			// in a row ends the session.
			if errStreak++; errStreak > 1 {
				return unavailable(fmt.Errorf("receive: %w", err))
			}
			c.report(unavailable(fmt.Errorf("receive: %w", err)))
			gen++
			synced, awaitingSub, pending = false, true, false
			awaitBy = time.Now().Add(c.opts.SyncTimeout)
			restartLoad()
			continue
		}
		errStreak = 0
		switch m := msg.(type) {
		case *goredis.Message:
			value, field, ok := strings.Cut(m.Payload, "\n")
			if !ok {
				c.report(unavailable(fmt.Errorf("malformed message on %s", m.Channel)))
				continue
			}
			if m.Channel != c.s.keys.channel { // v1 channel (V1Compat)
				if field, ok = c.s.v1.field(field); !ok {
					continue
				}
			}
			c.apply(field, value)
		case *goredis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			// A new confirmation: go-redis re-subscribed on a new
			// connection. Messages may have been missed: nothing vouches
			// for the cache until a full load of this generation completes.
			c.countResubscription()
			gen++
			synced, awaitingSub, pending = false, false, false
			restartLoad()
		case *goredis.Pong:
			// Redis answers in order: every entry published before the
			// ping reached it has been applied above.
			if pending && m.Payload == strconv.Itoa(token) {
				pending = false
				if synced && pingGen == gen {
					c.confirm(pingSentAt)
				}
			}
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
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

// apply merges one entry into memory, keeping the later times. A value
// that does not parse holds the entry as revoked; a field of unknown kind
// is skipped and counted.
func (c *Cached) apply(field, value string) {
	it, ok := c.parseEntry(field, value)
	if !ok {
		c.countUnknown(1)
		c.report(unknownField(field))
		return
	}
	nowMS := c.s.opts.Now().UnixMilli()
	sh := c.shard(it.k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.mergeLocked(it, c.s.opts.Now().UnixNano())
	sh.pruneLocked(nowMS, pruneOnApply)
}

// item is one parsed field, ready to merge.
type item struct {
	k   hkey
	e   entry
	bad bool // the value did not parse: held as revoked
}

// parseEntry parses one field and its value; ok is false for a field of
// unknown kind.
func (c *Cached) parseEntry(field, value string) (it item, ok bool) {
	kind, _, _ := parseField(field)
	if kind == kindUnknown {
		return item{}, false
	}
	it.k = c.hashField(field)
	var good bool
	if kind == kindSession {
		it.e.untilMS, good = parseSession(value)
	} else {
		it.e.beforeMS, it.e.untilMS, good = parseSubject(value)
	}
	it.bad = !good
	return it, true
}

// mergeLocked merges one item; seen is the Unix ns recorded for a
// malformed entry.
func (sh *shard) mergeLocked(it item, seen int64) {
	if it.bad {
		sh.bad[it.k] = seen
		return
	}
	if len(sh.bad) > 0 {
		delete(sh.bad, it.k)
	}
	e := it.e
	if cur, ok := sh.entries[it.k]; ok {
		e.beforeMS = max(e.beforeMS, cur.beforeMS)
		e.untilMS = max(e.untilMS, cur.untilMS)
	}
	sh.entries[it.k] = e
}

// pruneLocked examines at most limit entries (from a random point of Go's
// map order) and deletes the expired ones.
func (sh *shard) pruneLocked(nowMS int64, limit int) {
	n := 0
	for k, e := range sh.entries {
		if n++; n > limit {
			break
		}
		if e.untilMS <= nowMS {
			delete(sh.entries, k)
		}
	}
}

func unknownField(field string) error {
	kind, _, _ := strings.Cut(field, ":")
	if len(kind) > 8 {
		kind = kind[:8]
	}
	return fmt.Errorf("revoke/redis: skipped a field of unknown kind %q (a newer version's?)", kind)
}

func (c *Cached) countUnknown(n int) {
	c.stats.Lock()
	c.stats.unknownFields += uint64(n)
	c.stats.Unlock()
}

func (c *Cached) countLoadFailure() {
	c.stats.Lock()
	c.stats.loadFailures++
	c.stats.Unlock()
}

func (c *Cached) countResubscription() {
	c.stats.Lock()
	c.stats.resubscriptions++
	c.stats.Unlock()
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
