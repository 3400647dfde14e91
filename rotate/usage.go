package rotate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// Defaults and bounds for [UsageOptions].
const (
	DefaultMaxPairs = 1024
	PairLimit       = 1 << 16
)

// UsageOptions configures a [Usage]. The zero value is the default.
type UsageOptions struct {
	// MaxPairs bounds how many (key ID, epoch) pairs are counted. When a
	// new pair arrives at the bound, the pair seen least recently is
	// dropped and counted in Evicted. Default 1024, at most 65536.
	MaxPairs int
	// Now is the clock for LastSeen. Default time.Now.
	Now func() time.Time
}

// UsageCount is what a [Usage] counted for one key and epoch.
type UsageCount struct {
	KeyID uint32 `json:"key_id"`
	Epoch uint32 `json:"epoch"`
	// Seals and Opens count values sealed and successfully opened.
	Seals uint64 `json:"seals"`
	Opens uint64 `json:"opens"`
	// LastSeen is the last seal or open, to the second.
	LastSeen time.Time `json:"last_seen"`
}

// Usage counts seals and opens per key ID and epoch. Pass it as
// cookie.Options.Usage (it is a [keyring.UsageRecorder]) and read it with
// Snapshot: once a demoted key's opens stop growing, no client still
// presents a cookie sealed under it.
//
// Recording is lock-free and allocates nothing for a pair already seen;
// the first record of a new pair takes a lock and copies the index. It is
// safe for concurrent use. Counts are per process: sum them over a fleet.
type Usage struct {
	max int
	now func() time.Time

	idx     atomic.Pointer[map[uint64]*usageEntry] // copy on write
	mu      sync.Mutex                             // serializes writers of idx
	evicted atomic.Uint64
}

type usageEntry struct {
	seals, opens atomic.Uint64
	last         atomic.Int64 // Unix seconds
}

var _ keyring.UsageRecorder = (*Usage)(nil)

// NewUsage returns an empty [Usage]. Options out of range are refused with
// an error matching [ErrInvalidConfig].
func NewUsage(opts UsageOptions) (*Usage, error) {
	if opts.MaxPairs == 0 {
		opts.MaxPairs = DefaultMaxPairs
	}
	if opts.MaxPairs < 1 || opts.MaxPairs > PairLimit {
		return nil, fmt.Errorf("%w: MaxPairs must be within [1, %d]", ErrInvalidConfig, PairLimit)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	u := &Usage{max: opts.MaxPairs, now: opts.Now}
	m := map[uint64]*usageEntry{}
	u.idx.Store(&m)
	return u, nil
}

// RecordSeal counts one value sealed under key id in epoch.
func (u *Usage) RecordSeal(id, epoch uint32) { u.entry(id, epoch).seals.Add(1) }

// RecordOpen counts one value opened under key id in epoch.
func (u *Usage) RecordOpen(id, epoch uint32) { u.entry(id, epoch).opens.Add(1) }

func (u *Usage) entry(id, epoch uint32) *usageEntry {
	k := uint64(id)<<32 | uint64(epoch)
	e := (*u.idx.Load())[k]
	if e == nil {
		e = u.insert(k)
	}
	s := u.now().Unix()
	for {
		last := e.last.Load()
		if last >= s || e.last.CompareAndSwap(last, s) {
			return e
		}
	}
}

func (u *Usage) insert(k uint64) *usageEntry {
	u.mu.Lock()
	defer u.mu.Unlock()
	cur := *u.idx.Load()
	if e := cur[k]; e != nil {
		return e
	}
	next := make(map[uint64]*usageEntry, len(cur)+1)
	maps.Copy(next, cur)
	if len(next) >= u.max {
		var oldest uint64
		first := true
		for kk, e := range next {
			if l := e.last.Load(); first || l < next[oldest].last.Load() {
				oldest, first = kk, false
			}
		}
		delete(next, oldest)
		u.evicted.Add(1)
	}
	e := &usageEntry{}
	e.last.Store(u.now().Unix()) // so that it is not the next one evicted
	next[k] = e
	u.idx.Store(&next)
	return e
}

// Snapshot returns the counts, sorted by key ID and then epoch.
func (u *Usage) Snapshot() []UsageCount {
	m := *u.idx.Load()
	out := make([]UsageCount, 0, len(m))
	for k, e := range m {
		c := UsageCount{KeyID: uint32(k >> 32), Epoch: uint32(k), Seals: e.seals.Load(), Opens: e.opens.Load()}
		if l := e.last.Load(); l != 0 {
			c.LastSeen = time.Unix(l, 0).UTC()
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b UsageCount) int {
		return cmp.Or(cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Epoch, b.Epoch))
	})
	return out
}

// ByKey returns the counts summed over epochs, one per key ID, sorted by
// key ID, with the latest LastSeen and Epoch 0.
func (u *Usage) ByKey() []UsageCount {
	var out []UsageCount
	for _, c := range u.Snapshot() {
		if n := len(out); n > 0 && out[n-1].KeyID == c.KeyID {
			out[n-1].Seals += c.Seals
			out[n-1].Opens += c.Opens
			if c.LastSeen.After(out[n-1].LastSeen) {
				out[n-1].LastSeen = c.LastSeen
			}
			continue
		}
		c.Epoch = 0
		out = append(out, c)
	}
	return out
}

// Evicted returns how many pairs were dropped at the MaxPairs bound.
func (u *Usage) Evicted() uint64 { return u.evicted.Load() }
