package revoke

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// pruneBatch bounds how many expired entries one call forgets, so that no
// call pays for a large batch of entries expiring together. Expired entries
// that are not yet forgotten already have no effect on Check.
const pruneBatch = 32

// DefaultMaxEntries is the cap of a [Memory] whose MemoryOptions.MaxEntries
// is zero: a million entries, about 200 MB with 22-byte ids. A single
// instance with 100k logouts a day and a 7-day absolute timeout holds about
// 700k; one that needs more sets MaxEntries, or is a fleet and uses
// revoke/redis.
const DefaultMaxEntries = 1_000_000

// MemoryOptions configures a [Memory]. The zero value is ready to use.
type MemoryOptions struct {
	// Now returns the current time. Nil means time.Now. Tests inject a clock
	// here instead of sleeping.
	Now func() time.Time

	// MaxEntries caps the number of entries held, sessions and subjects
	// together. Default DefaultMaxEntries; negative means no cap. When a
	// revocation would add an entry to a full list, Memory first forgets
	// every expired entry, and if the list is still full the revocation
	// fails with an error matching ErrFull: a live revocation is never
	// dropped to make room. Revoking an entry already held (a later until,
	// a later before) always succeeds.
	//
	// The cap is shared by everyone: the session manager writes an entry
	// on every Renew (each login) that lives about its AbsoluteTimeout, so
	// one authenticated account logging in over and over can fill it, and
	// then every logout fails with ErrFull until entries expire. Memory is
	// for one instance: size MaxEntries for the logins and logouts of one
	// AbsoluteTimeout with room to spare, rate-limit logins per account
	// and per client, and watch Stats. A fleet uses revoke/redis, which
	// has no cap.
	MaxEntries int
}

// Memory is an in-process revocation list, the default [Revoker] for a single
// instance. It starts no goroutine: entries whose until has passed are
// forgotten a few at a time during later calls, so every call does bounded
// work. The zero value is not usable; call [NewMemory].
//
// Memory holds at most MemoryOptions.MaxEntries entries ([DefaultMaxEntries]
// by default); a revocation that would exceed the cap fails with [ErrFull]
// rather than forget a live one. Stats reports the size.
//
// Memory is safe for concurrent use. Its entries are lost when the process
// exits and are not shared between instances; a fleet uses revoke/redis.
type Memory struct {
	now func() time.Time
	max int // cap on len(sessions)+len(subjects); 0: none

	// next is the earliest until (Unix nanoseconds) in exp, or MaxInt64. It
	// lets Check see without the lock that there is nothing to prune.
	next atomic.Int64

	mu       sync.RWMutex
	sessions map[sessionKey]int64 // until, Unix nanoseconds
	subjects map[string]subjectEntry
	exp      expiryHeap
	rejected uint64 // revocations refused with ErrFull
}

var _ Revoker = (*Memory)(nil)

type sessionKey struct{ subject, id string }

type subjectEntry struct {
	beforeMS int64 // sessions issued strictly before this Unix millisecond are revoked
	until    int64 // Unix nanoseconds
}

// NewMemory returns an empty [Memory].
func NewMemory(opts MemoryOptions) *Memory {
	m := &Memory{
		now:      opts.Now,
		sessions: make(map[sessionKey]int64),
		subjects: make(map[string]subjectEntry),
	}
	if m.now == nil {
		m.now = time.Now
	}
	switch {
	case opts.MaxEntries == 0:
		m.max = DefaultMaxEntries
	case opts.MaxEntries > 0:
		m.max = opts.MaxEntries
	}
	m.next.Store(math.MaxInt64)
	return m
}

// roomLocked makes room for one new entry: if the list is at its cap, it
// forgets every expired entry, and returns ErrFull if that was not enough.
func (m *Memory) roomLocked(now int64) error {
	if m.max == 0 || len(m.sessions)+len(m.subjects) < m.max {
		return nil
	}
	m.pruneLocked(now, math.MaxInt)
	if len(m.sessions)+len(m.subjects) < m.max {
		return nil
	}
	m.rejected++
	return fmt.Errorf("%w: %d live entries, MaxEntries %d", ErrFull, len(m.sessions)+len(m.subjects), m.max)
}

// Check returns [ErrRevoked] if s was revoked by id (with its subject) or if
// its subject was revoked for sessions issued before s.IssuedAt, and nil
// otherwise. An entry whose until has passed no longer counts. Check never
// fails for any other reason than an empty s.ID ([ErrInvalidArgument]).
func (m *Memory) Check(_ context.Context, s SessionRef) error {
	if err := validateCheck(s); err != nil {
		return err
	}
	now := m.now().UnixNano()
	if m.next.Load() <= now && m.mu.TryLock() {
		m.pruneLocked(now, pruneBatch)
		m.mu.Unlock()
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if s.Subject != "" {
		if e, ok := m.subjects[s.Subject]; ok && e.until > now && s.IssuedAt.UnixMilli() < e.beforeMS {
			return ErrRevoked
		}
	}
	if until, ok := m.sessions[sessionKey{s.Subject, s.ID}]; ok && until > now {
		return ErrRevoked
	}
	return nil
}

// RevokeSession revokes the session (subject, id) until until. An until that
// has already passed is a no-op. Revoking an entry again keeps the later
// until.
func (m *Memory) RevokeSession(_ context.Context, id, subject string, until time.Time) error {
	if err := validateSession(id, until); err != nil {
		return err
	}
	now := m.now().UnixNano()
	u := until.UnixNano()
	if u <= now {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(now, pruneBatch)
	k := sessionKey{subject, id}
	cur, ok := m.sessions[k]
	if ok && cur >= u {
		return nil
	}
	if !ok {
		if err := m.roomLocked(now); err != nil {
			return err
		}
	}
	m.sessions[k] = u
	m.pushLocked(expiry{until: u, key: k})
	return nil
}

// RevokeSubject revokes every session of subject issued strictly before
// before, at millisecond precision (see [IssuedBefore]), until until. An until
// that has already passed is a no-op. An existing entry is never weakened:
// the entry keeps the later before and the later until.
func (m *Memory) RevokeSubject(_ context.Context, subject string, before, until time.Time) error {
	if err := validateSubject(subject, before, until); err != nil {
		return err
	}
	now := m.now().UnixNano()
	e := subjectEntry{beforeMS: before.UnixMilli(), until: until.UnixNano()}
	if e.until <= now {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(now, pruneBatch)
	cur, ok := m.subjects[subject]
	if !ok {
		if err := m.roomLocked(now); err != nil {
			return err
		}
	}
	if ok {
		e.beforeMS = max(e.beforeMS, cur.beforeMS)
		if cur.until >= e.until {
			e.until = cur.until
			m.subjects[subject] = e
			return nil
		}
	}
	m.subjects[subject] = e
	m.pushLocked(expiry{until: e.until, key: sessionKey{subject: subject}, isSubject: true})
	return nil
}

// MemoryStats is a snapshot of a revocation list's size, for metrics and health
// checks. Suggested metric names (OpenTelemetry style) are given with each
// field.
type MemoryStats struct {
	// Entries is the number of entries held, sessions and subjects,
	// including expired ones not yet forgotten (cookieseal.revoke.entries).
	Entries int
	// MaxEntries is the cap (cookieseal.revoke.entries.limit); 0 means none.
	MaxEntries int
	// Rejected counts revocations refused with ErrFull since creation
	// (cookieseal.revoke.rejected). Any rise deserves an alert: a full list
	// refuses logouts.
	Rejected uint64
}

// CacheStats is a snapshot of a revocation cache: a list held in memory
// and kept in step with a shared store, such as revoke/redis's Cached
// (Cached.Stats), for metrics and health checks. It lives here, beside
// [MemoryStats], so that a metrics package can read it without importing
// the store's client (the otel module does not depend on go-redis).
// Suggested metric names (OpenTelemetry style) are given with each field.
type CacheStats struct {
	// Entries is the number of entries in memory, sessions and subjects,
	// including expired ones not yet pruned (cookieseal.revoke.entries).
	Entries int
	// Malformed is the number of entries whose value did not parse, each
	// held as revoked for as long as the store holds it
	// (cookieseal.revoke.entries.malformed).
	Malformed int
	// Staleness is the age of the last confirmation (a full load or an
	// answered heartbeat) by the cache's clock; revoke/redis's Check fails
	// with its ErrStale once it exceeds StalenessBound. -1 before the first
	// load
	// (cookieseal.revoke.staleness, seconds).
	Staleness time.Duration
	// LastLoadDuration is the wall time of the last completed full load,
	// from its first page to its last, retries included
	// (cookieseal.revoke.load.duration, seconds). 0 before the first.
	LastLoadDuration time.Duration
	// LastLoadEntries is the number of fields the last completed load read.
	LastLoadEntries int
	// Loads counts completed full loads; LoadFailures counts load attempts
	// that failed (the next attempt resumes from the failed page).
	Loads, LoadFailures uint64
	// Resubscriptions counts the times the subscription was re-established
	// under the cache's Run (a reconnect by the client, a failover, a
	// maintenance handoff); each forces a full load before heartbeats vouch again.
	Resubscriptions uint64
	// UnknownFields counts fields skipped because this version does not
	// know their kind (a newer version's, or foreign data in a bucket);
	// SkippedBuckets counts bucket keys skipped because they do not hold a
	// hash. Both are cumulative, and both are reported to the cache's error
	// hook (revoke/redis: Options.OnError).
	UnknownFields, SkippedBuckets uint64
}

// Stats returns a snapshot of the list's size. It is safe for concurrent use.
func (m *Memory) Stats() MemoryStats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return MemoryStats{Entries: len(m.sessions) + len(m.subjects), MaxEntries: m.max, Rejected: m.rejected}
}

func (m *Memory) pushLocked(e expiry) {
	heap.Push(&m.exp, e)
	// An entry revoked again leaves its older expiry in the heap; rebuild
	// the heap from the maps when such leftovers outnumber the entries, so
	// that the heap stays within twice the cap.
	if n := len(m.sessions) + len(m.subjects); len(m.exp) > 2*n+64 {
		m.exp = m.exp[:0]
		for k, u := range m.sessions {
			m.exp = append(m.exp, expiry{until: u, key: k})
		}
		for s, e := range m.subjects {
			m.exp = append(m.exp, expiry{until: e.until, key: sessionKey{subject: s}, isSubject: true})
		}
		heap.Init(&m.exp)
	}
	m.next.Store(m.exp[0].until)
}

// pruneLocked forgets at most limit entries whose until is at or before now.
func (m *Memory) pruneLocked(now int64, limit int) {
	for range limit {
		if len(m.exp) == 0 || m.exp[0].until > now {
			break
		}
		e := heap.Pop(&m.exp).(expiry)
		// The map holds the latest until; an older heap entry for a key that
		// was extended since is dropped without touching the map.
		if e.isSubject {
			if cur, ok := m.subjects[e.key.subject]; ok && cur.until == e.until {
				delete(m.subjects, e.key.subject)
			}
		} else if cur, ok := m.sessions[e.key]; ok && cur == e.until {
			delete(m.sessions, e.key)
		}
	}
	if len(m.exp) == 0 {
		m.next.Store(math.MaxInt64)
	} else {
		m.next.Store(m.exp[0].until)
	}
}

// expiry is one entry's forget time in the min-heap.
type expiry struct {
	until     int64
	key       sessionKey // for a subject entry only key.subject is set
	isSubject bool
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = expiry{}
	*h = old[:n-1]
	return x
}
