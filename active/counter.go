package active

import (
	"errors"
	"sync"
	"time"

	"github.com/cookieseal/cookieseal/middleware"
)

// Counts is an estimate of the distinct sessions and subjects (users)
// seen over a window: Counter.Count's for one instance, and the fleet's
// from the Redis Tracker (revoke/redis/active), whose counts are whole
// numbers. Each is within the sketch's standard error (StdError) of the
// true count.
type Counts struct {
	Sessions float64
	Subjects float64
}

// Bucket widths and how far back a Counter sees.
const (
	// MaxWindow is the longest window Count answers, Counter's and the
	// Redis Tracker's: one day.
	MaxWindow = 24 * time.Hour
	minutes   = 60
	hours     = 24
)

// ErrWindow is returned by Count (Counter's, and the Redis Tracker's in
// revoke/redis/active) for a window that is not positive or is longer than
// MaxWindow.
var ErrWindow = errors.New("active: window must be in (0, 24h]")

// Counter estimates, for one instance, how many distinct sessions and
// subjects were active over the last minutes, hours or day, each within
// the sketch's standard error (StdError, 0.81%), whatever the numbers.
//
// It keeps one sketch per minute for the last hour and one per hour for
// the last day, for sessions and for subjects: 168 sketches of 16 KiB,
// about 2.7 MiB. A window of up to an hour is the union of its minute
// buckets (the current, partial minute included), so "5 minutes" covers
// between 4 and 5 full minutes back; a longer window is the union of hour
// buckets, with the same rounding to the hour.
//
// Add costs a hash and four register updates under a mutex: no I/O, no
// allocation. For a fleet, use the Redis Tracker (revoke/redis/active),
// which counts across every instance. Counter is safe for concurrent use.
type Counter struct {
	now func() time.Time

	mu      sync.Mutex
	minute  [2][minutes]bucket // [0] sessions, [1] subjects
	hour    [2][hours]bucket
	scratch Sketch
}

type bucket struct {
	idx int64 // the minute or hour (Unix time / width) it holds; 0 empty
	sk  Sketch
}

// CounterOptions configures a Counter. The zero value is the default.
type CounterOptions struct {
	// Now is the clock that places each Add in its minute and hour.
	// Default time.Now. Give it the manager's clock
	// (middleware.Options.Codec.Now) when the Counter is its Observer.
	Now func() time.Time
}

// NewCounter returns a Counter.
func NewCounter(opts CounterOptions) *Counter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Counter{now: opts.Now}
}

// Add counts a session id (and its subject, when not empty) as active now.
func (c *Counter) Add(sessionID, subject string) {
	if sessionID == "" {
		return
	}
	t := c.now().Unix()
	hs := Hash(sessionID)
	var hu uint64
	if subject != "" {
		hu = Hash(subject)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slot(&c.minute[0], t/60).sk.AddHash(hs)
	c.hourSlot(0, t/3600).sk.AddHash(hs)
	if subject != "" {
		c.slot(&c.minute[1], t/60).sk.AddHash(hu)
		c.hourSlot(1, t/3600).sk.AddHash(hu)
	}
}

// Observe adds the session of each middleware.EventOpened, so a Counter
// can be the manager's Observer (or one of middleware.Observers).
func (c *Counter) Observe(e middleware.Event) {
	if e.Kind == middleware.EventOpened {
		c.Add(e.SessionID, e.Subject)
	}
}

func (c *Counter) slot(ring *[minutes]bucket, idx int64) *bucket {
	b := &ring[idx%minutes]
	if b.idx != idx {
		b.idx = idx
		b.sk.Reset()
	}
	return b
}

func (c *Counter) hourSlot(kind int, idx int64) *bucket {
	b := &c.hour[kind][idx%hours]
	if b.idx != idx {
		b.idx = idx
		b.sk.Reset()
	}
	return b
}

// Count returns the estimated distinct sessions and subjects active in
// the window ending now (rounded up to whole minutes up to an hour, to
// whole hours beyond). The error matches ErrWindow for a window outside
// (0, MaxWindow].
func (c *Counter) Count(window time.Duration) (Counts, error) {
	if window <= 0 || window > MaxWindow {
		return Counts{}, ErrWindow
	}
	t := c.now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [2]float64
	for kind := range 2 {
		c.scratch.Reset()
		if window <= time.Hour {
			n := int64((window + time.Minute - 1) / time.Minute)
			for i := t/60 - n + 1; i <= t/60; i++ {
				if b := &c.minute[kind][i%minutes]; b.idx == i {
					c.scratch.Merge(&b.sk)
				}
			}
		} else {
			n := int64((window + time.Hour - 1) / time.Hour)
			for i := t/3600 - n + 1; i <= t/3600; i++ {
				if b := &c.hour[kind][i%hours]; b.idx == i {
					c.scratch.Merge(&b.sk)
				}
			}
		}
		out[kind] = c.scratch.Estimate()
	}
	return Counts{Sessions: out[0], Subjects: out[1]}, nil
}
