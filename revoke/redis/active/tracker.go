// Package active estimates the distinct sessions and subjects (users)
// active across a fleet over the last minutes, hour or day, with Redis
// HyperLogLog (PFADD, PFCOUNT; standard error 0.81%).
//
// The request path never waits on Redis: [Tracker.Add] (or Observe, as the
// manager's Observer) only buffers the id in memory. [Tracker.Run], which
// the caller starts, sends the buffer every FlushInterval (default and minimum
// one second) in one pipelined round trip, whatever the request rate.
//
// Every instance adds to the same per-minute and per-hour HyperLogLogs
// (one key each, sharing a hash tag, so a Redis Cluster keeps them on one
// slot); Count asks PFCOUNT for the union of the window's keys. For one
// instance without Redis, see package github.com/cookieseal/cookieseal/active,
// whose Counts, MaxWindow and ErrWindow this package answers with: the
// package names are the same, so a program that imports both aliases one
// (otel imports this one as redisactive).
package active

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/active"
	"github.com/cookieseal/cookieseal/middleware"
)

// Defaults of [Options].
const (
	DefaultPrefix        = "cookieseal:active"
	DefaultFlushInterval = time.Second
	DefaultMaxBuffer     = 100_000
	// batch bounds the elements of one PFADD.
	batch = 1000
)

// Options configures a [Tracker]. The zero value is the default.
type Options struct {
	// Prefix starts every key, inside a hash tag: "{Prefix}:s:m:<minute>".
	// Default DefaultPrefix.
	Prefix string
	// FlushInterval is how often Run flushes the buffer: at most one
	// round trip per FlushInterval. Default DefaultFlushInterval, which
	// is also the minimum (one second).
	FlushInterval time.Duration
	// MaxBuffer bounds the distinct ids (sessions plus subjects) held
	// between flushes; ids past it are dropped (counted in Dropped), so a
	// flood cannot grow memory. Default DefaultMaxBuffer.
	MaxBuffer int
	// Now is the clock that names the minute and hour buckets. Default
	// time.Now.
	Now func() time.Time
	// OnError, if set, is told of a flush that failed under Run (the
	// buffer is then dropped: the estimate is low for that second).
	OnError func(error)
}

// Tracker buffers session ids and subjects and flushes them to Redis. It
// is safe for concurrent use.
type Tracker struct {
	c    goredis.UniversalClient
	opts Options

	mu       sync.Mutex
	sessions map[string]struct{}
	subjects map[string]struct{}
	dropped  atomic.Uint64
}

// New returns a [Tracker] on client. It makes no Redis call and starts no
// goroutine: call Run.
func New(client goredis.UniversalClient, opts Options) (*Tracker, error) {
	if client == nil {
		return nil, errors.New("active: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxBuffer == 0 {
		opts.MaxBuffer = DefaultMaxBuffer
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FlushInterval < DefaultFlushInterval {
		return nil, fmt.Errorf("active: FlushInterval %v is under one second", opts.FlushInterval)
	}
	if opts.MaxBuffer < 0 {
		return nil, errors.New("active: negative MaxBuffer")
	}
	return &Tracker{c: client, opts: opts, sessions: map[string]struct{}{}, subjects: map[string]struct{}{}}, nil
}

// Add buffers a session id (and its subject, when not empty) as active.
// No I/O.
func (t *Tracker) Add(sessionID, subject string) {
	if sessionID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.put(t.sessions, sessionID)
	if subject != "" {
		t.put(t.subjects, subject)
	}
}

func (t *Tracker) put(m map[string]struct{}, s string) {
	if _, ok := m[s]; ok {
		return
	}
	if len(t.sessions)+len(t.subjects) >= t.opts.MaxBuffer {
		t.dropped.Add(1)
		return
	}
	m[s] = struct{}{}
}

// Observe buffers the session of each [middleware.EventOpened], so a
// [Tracker] can be the manager's Observer (or one of [middleware.Observers]).
func (t *Tracker) Observe(e middleware.Event) {
	if e.Kind == middleware.EventOpened {
		t.Add(e.SessionID, e.Subject)
	}
}

// Dropped counts ids dropped because the buffer was full.
func (t *Tracker) Dropped() uint64 { return t.dropped.Load() }

// key names the HyperLogLog of kind ("s" sessions, "u" subjects) for a
// bucket of width ("m" minute, "h" hour) and index.
func (t *Tracker) key(kind, width string, idx int64) string {
	return "{" + t.opts.Prefix + "}:" + kind + ":" + width + ":" + strconv.FormatInt(idx, 10)
}

// Flush sends the buffer to Redis in one pipeline (PFADD to the current
// minute's and hour's keys, with their expiry) and empties it. Run calls
// it every FlushInterval; call it directly only in tests or at shutdown.
func (t *Tracker) Flush(ctx context.Context) error {
	t.mu.Lock()
	sessions, subjects := t.sessions, t.subjects
	if len(sessions)+len(subjects) == 0 {
		t.mu.Unlock()
		return nil
	}
	t.sessions, t.subjects = make(map[string]struct{}, len(sessions)), make(map[string]struct{}, len(subjects))
	t.mu.Unlock()
	now := t.opts.Now().Unix()
	pipe := t.c.Pipeline()
	for kind, set := range map[string]map[string]struct{}{"s": sessions, "u": subjects} {
		if len(set) == 0 {
			continue
		}
		mk, hk := t.key(kind, "m", now/60), t.key(kind, "h", now/3600)
		elems := make([]any, 0, min(len(set), batch))
		send := func() {
			pipe.PFAdd(ctx, mk, elems...)
			pipe.PFAdd(ctx, hk, elems...)
			elems = elems[:0]
		}
		for id := range set {
			elems = append(elems, id)
			if len(elems) == batch {
				send()
			}
		}
		if len(elems) > 0 {
			send()
		}
		// Minute keys serve windows up to an hour, hour keys up to a day.
		pipe.Expire(ctx, mk, time.Hour+2*time.Minute)
		pipe.Expire(ctx, hk, active.MaxWindow+2*time.Hour)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		return fmt.Errorf("active: flush: %w", err)
	}
	return nil
}

// Run flushes the buffer every FlushInterval until ctx is done, then flushes
// once more (with a short timeout of its own) and returns ctx's error.
// Failed flushes go to OnError and do not stop it.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.opts.FlushInterval)
			t.report(t.Flush(fctx))
			cancel()
			return ctx.Err()
		case <-tick.C:
			t.report(t.Flush(ctx))
		}
	}
}

func (t *Tracker) report(err error) {
	if err != nil && t.opts.OnError != nil {
		t.opts.OnError(err)
	}
}

// Count returns the distinct sessions and subjects every instance flushed
// in the window ending now: PFCOUNT over the union of its minute keys
// (windows up to an hour, the current partial minute included) or hour
// keys (longer windows), in one pipelined round trip. Ids still in some
// instance's buffer (at most one FlushInterval old) are not counted yet.
// The counts are PFCOUNT's, whole numbers. The error matches
// active.ErrWindow for a window outside (0, active.MaxWindow].
func (t *Tracker) Count(ctx context.Context, window time.Duration) (active.Counts, error) {
	if window <= 0 || window > active.MaxWindow {
		return active.Counts{}, active.ErrWindow
	}
	now := t.opts.Now().Unix()
	width, cur, n := "m", now/60, int64((window+time.Minute-1)/time.Minute)
	if window > time.Hour {
		width, cur, n = "h", now/3600, int64((window+time.Hour-1)/time.Hour)
	}
	var cmds [2]*goredis.IntCmd
	pipe := t.c.Pipeline()
	for i, kind := range []string{"s", "u"} {
		keys := make([]string, 0, n)
		for idx := cur - n + 1; idx <= cur; idx++ {
			keys = append(keys, t.key(kind, width, idx))
		}
		cmds[i] = pipe.PFCount(ctx, keys...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return active.Counts{}, fmt.Errorf("active: count: %w", err)
	}
	return active.Counts{Sessions: float64(cmds[0].Val()), Subjects: float64(cmds[1].Val())}, nil
}
