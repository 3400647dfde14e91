package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// ErrEpochChange reports a reload that turned epoch keys on or off or
// changed their period. Package cookie accepts a value only when its
// epoch lies in the window the keyring in force computes, so such a
// change ends every session sealed before it.
var ErrEpochChange = errors.New("rotate: epoch period changed")

// ErrLifetimeChange reports a reload whose key set records another
// lifetime policy ([keyring.Lifetime]) than the keyring in force. The
// guards judge the change, and later ones, by the new policy at once,
// but a session manager or codec reads the policy when it is built:
// those built before keep their timeouts and skew until the process
// restarts. A shorter AbsoluteTimeout or ClockSkew lets a key be removed
// while cookies they sealed under the old one may be valid.
var ErrLifetimeChange = errors.New("rotate: lifetime policy changed")

// Defaults and bounds for [ReloaderOptions].
const (
	DefaultInterval = 10 * time.Second
	MinInterval     = 100 * time.Millisecond
)

// ReloaderOptions configures a [Reloader]. The zero value is the default.
type ReloaderOptions struct {
	// Interval is how often Run polls the source. Default 10s; at least
	// 100ms.
	Interval time.Duration
	// Ticks, if set, replaces Interval: Run reloads each time it receives
	// a value. It is for tests, and for callers that reload on their own
	// schedule or on a signal.
	Ticks <-chan time.Time
	// Now is the clock used to judge a change against Policy. Default
	// time.Now.
	Now func() time.Time
	// Policy is used to judge a change: removing a key that may still be
	// in use, promoting one too soon. Such a change is applied (the file
	// is the operator's word, and it may be an emergency) and reported in
	// Change.Warnings. Its durations are resolved for each new key set
	// (Policy.Resolve): what the key set records wins. NewReloader refuses
	// one that disagrees with the keyring in force; a reloaded set that
	// records other values is judged by them, with a warning matching
	// ErrInvalidConfig.
	Policy Policy
	// OnError is told of each failed reload, after which the keyring in
	// force stays, and of each warning about a change that was applied
	// (see Change.Warnings: those match ErrInUse, ErrTooSoon,
	// ErrEpochChange, ErrLifetimeChange or ErrInvalidConfig), so that a caller who logs only errors still sees
	// a change that ended sessions. Default: errors are only kept for
	// Status.
	OnError func(error)
	// OnChange is told of each new keyring swapped in, after the swap.
	OnChange func(Change)
}

// Change describes a reload that swapped in a new keyring.
type Change struct {
	// Old and New are the keyrings before and after.
	Old, New *keyring.Keyring
	// Added and Removed list the key IDs that entered and left the set.
	Added, Removed []uint32
	// Primary is the new primary's ID when the primary changed, else 0.
	Primary uint32
	// Warnings lists what in the change can end valid sessions, each
	// matching ErrInUse (a key removed or disabled while cookies sealed
	// under it may be valid), ErrTooSoon (a primary promoted before its
	// roll-out delay counted from its add or enable, or one this instance
	// had not loaded, or held disabled, before), ErrEpochChange,
	// ErrLifetimeChange (the key set records another lifetime policy) or
	// ErrInvalidConfig (ReloaderOptions.Policy disagrees with the policy
	// the new key set records, which the guards used).
	Warnings []error
}

// ReloadStatus is a [Reloader]'s last outcome, for health checks.
type ReloadStatus struct {
	// LastAttempt and LastSuccess are when a reload last ran and last
	// succeeded (including reloads that found nothing new).
	LastAttempt, LastSuccess time.Time
	// LastError is the last reload's error, or nil if it succeeded.
	LastError error
}

// Reloader loads key sets from a [Source] into a [Holder]: on demand with
// Reload, and every Interval in Run. A key set that fails to load or to
// validate never replaces the keyring in force: the error goes to OnError
// and the old keyring stays. A set equal to the one in force is not
// swapped in, so derived keys cached on the snapshot are kept.
//
// Reloads also refuse a key set that gives a key ID in force a different
// secret ([ErrState]): no lifecycle step does that, so it is a mistake, and
// it would make every value sealed under that ID fail.
//
// A Reloader is safe for concurrent use. Reloads run one at a time.
type Reloader struct {
	h    *Holder
	src  Source
	opts ReloaderOptions

	mu      sync.Mutex // serializes reloads
	running atomic.Bool
	status  atomic.Pointer[ReloadStatus]
}

// NewReloader returns a [Reloader] that loads src into h. It starts nothing:
// call Run. Invalid options, and a [Policy] whose durations disagree with
// the lifetime policy that h's keyring records (see [Policy.Resolve]), are
// refused with an error matching [ErrInvalidConfig].
func NewReloader(h *Holder, src Source, opts ReloaderOptions) (*Reloader, error) {
	if h == nil || src == nil {
		return nil, fmt.Errorf("%w: nil holder or source", ErrInvalidConfig)
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Interval < MinInterval {
		return nil, fmt.Errorf("%w: Interval under %v", ErrInvalidConfig, MinInterval)
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if _, err := opts.Policy.Resolve(h.Keyring().Set()); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Reloader{h: h, src: src, opts: opts}
	r.status.Store(&ReloadStatus{})
	return r, nil
}

// Reload loads the source now, even if a [FileSource]'s stat says the file
// is unchanged, and swaps in the new keyring if it differs. It returns the
// error that OnError is also told of.
func (r *Reloader) Reload(ctx context.Context) error {
	if fs, ok := r.src.(*FileSource); ok {
		fs.invalidate()
	}
	return r.reload(ctx)
}

// Run polls the source every Interval (or on each of Ticks) until ctx is
// done, then returns ctx's error. It reloads once as it starts. Errors go
// to OnError, and Run carries on. Run returns an error at once if it is
// already running.
func (r *Reloader) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("rotate: Reloader.Run is already running")
	}
	defer r.running.Store(false)
	ticks := r.opts.Ticks
	if ticks == nil {
		t := time.NewTicker(r.opts.Interval)
		defer t.Stop()
		ticks = t.C
	}
	_ = r.reload(ctx)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-ticks:
			if !ok {
				<-ctx.Done()
				return ctx.Err()
			}
			_ = r.reload(ctx)
		}
	}
}

// Status returns the last reload's outcome.
func (r *Reloader) Status() ReloadStatus { return *r.status.Load() }

func (r *Reloader) reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	st := ReloadStatus{LastAttempt: now, LastSuccess: r.status.Load().LastSuccess}
	ch, err := r.apply(ctx, now)
	if err != nil {
		st.LastError = err
		r.status.Store(&st)
		if r.opts.OnError != nil {
			r.opts.OnError(err)
		}
		return err
	}
	st.LastSuccess = now
	r.status.Store(&st)
	if ch == nil {
		return nil
	}
	if r.opts.OnError != nil {
		for _, w := range ch.Warnings {
			r.opts.OnError(w)
		}
	}
	if r.opts.OnChange != nil {
		r.opts.OnChange(*ch)
	}
	return nil
}

func (r *Reloader) apply(ctx context.Context, now time.Time) (*Change, error) {
	set, err := r.src.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("rotate: reload: %w", err)
	}
	next, err := keyring.New(set)
	if err != nil {
		return nil, fmt.Errorf("rotate: reload: %w", err)
	}
	old := r.h.Keyring()
	if sameKeys(old, next) {
		return nil, nil
	}
	ch, err := diff(old, next, now, r.opts.Policy)
	if err != nil {
		return nil, err
	}
	if !r.h.CompareAndSwap(old, next) {
		// Someone called Holder.Store meanwhile; their keyring wins and
		// the next reload compares against it.
		return nil, fmt.Errorf("rotate: reload: the keyring was replaced during the reload; retry")
	}
	return ch, nil
}

// sameKeys reports whether a and b hold the same keys, statuses,
// timestamps and settings.
func sameKeys(a, b *keyring.Keyring) bool {
	if a.EpochPeriod() != b.EpochPeriod() || a.Lifetime() != b.Lifetime() {
		return false
	}
	ak, bk := a.Keys(), b.Keys()
	return slices.EqualFunc(ak, bk, func(x, y keyring.Key) bool {
		return x.ID == y.ID && x.Status == y.Status && x.Added.Equal(y.Added) &&
			x.Promoted.Equal(y.Promoted) && x.Demoted.Equal(y.Demoted) && x.SameSecret(y)
	})
}

// diff describes the change from old to next and judges it against p
// resolved for next's recorded lifetime. It refuses a key whose secret
// changed under the same ID.
func diff(old, next *keyring.Keyring, now time.Time, p Policy) (*Change, error) {
	ch := &Change{Old: old, New: next}
	p, conflict := p.resolve(next.Lifetime())
	if conflict != nil {
		ch.Warnings = append(ch.Warnings, fmt.Errorf("rotate: reload: the guards judged this change by the new key set's lifetime policy: %w", conflict))
	}
	if ol, nl := old.Lifetime(), next.Lifetime(); ol != nl {
		ch.Warnings = append(ch.Warnings, fmt.Errorf("%w: from %s to %s; session managers and codecs built before keep the old values until they restart", ErrLifetimeChange, describeLifetime(ol), describeLifetime(nl)))
	}
	for _, k := range next.Keys() {
		o, ok := old.Lookup(k.ID)
		if !ok {
			ch.Added = append(ch.Added, k.ID)
			continue
		}
		if !o.SameSecret(k) {
			return nil, fmt.Errorf("%w: reload refused: key %d has a different secret than the key in force under that id", ErrState, k.ID)
		}
		if k.Status == keyring.StatusDisabled && o.Status != keyring.StatusDisabled {
			if w := inUse(o, now, p, "disabled"); w != nil {
				ch.Warnings = append(ch.Warnings, w)
			}
		}
	}
	for _, o := range old.Keys() {
		if _, ok := next.Lookup(o.ID); !ok {
			ch.Removed = append(ch.Removed, o.ID)
			if w := inUse(o, now, p, "removed"); w != nil {
				ch.Warnings = append(ch.Warnings, w)
			}
		}
	}
	if np := next.Primary(); np.ID != old.Primary().ID {
		ch.Primary = np.ID
		o, known := old.Lookup(np.ID)
		switch at, ok := p.PromotableAt(np); {
		case !known:
			ch.Warnings = append(ch.Warnings, fmt.Errorf("%w: key %d became primary before this instance had loaded it", ErrTooSoon, np.ID))
		case o.Status == keyring.StatusDisabled:
			ch.Warnings = append(ch.Warnings, fmt.Errorf("%w: key %d became primary while this instance still held it disabled", ErrTooSoon, np.ID))
		case !ok || np.Promoted.Before(at):
			ch.Warnings = append(ch.Warnings, fmt.Errorf("%w: key %d was promoted before its roll-out delay had passed since it was added or enabled", ErrTooSoon, np.ID))
		}
	}
	if old.EpochPeriod() != next.EpochPeriod() {
		ch.Warnings = append(ch.Warnings, fmt.Errorf("%w: from %v to %v; sessions sealed before this change no longer open", ErrEpochChange, old.EpochPeriod(), next.EpochPeriod()))
	}
	return ch, nil
}

// inUse returns a warning if cookies sealed under k may still be valid at
// now. k is the key as it was before the change: the primary, if it is
// removed in the same step as demoted, counts from now.
func inUse(k keyring.Key, now time.Time, p Policy, what string) error {
	if k.Status == keyring.StatusPrimary {
		k.Status, k.Demoted = keyring.StatusDecryptOnly, stamp(now)
	}
	at, ok := p.RemovableAt(k)
	switch {
	case !ok:
		return fmt.Errorf("%w: key %d was %s and its history is not recorded; sessions sealed under it may have ended", ErrInUse, k.ID, what)
	case now.Before(at):
		return fmt.Errorf("%w: key %d was %s while cookies sealed under it may be valid until %s; those sessions have ended", ErrInUse, k.ID, what, at.UTC().Format(time.RFC3339))
	}
	return nil
}

// describeLifetime prints a recorded lifetime with its defaults, marking
// those that are not recorded.
func describeLifetime(l keyring.Lifetime) string {
	d := l.WithDefaults()
	mark := func(recorded time.Duration) string {
		if recorded == 0 {
			return " (default)"
		}
		return ""
	}
	return fmt.Sprintf("idle %v%s, absolute %v%s, skew %v%s, rollout %v%s",
		d.IdleTimeout, mark(l.IdleTimeout), d.AbsoluteTimeout, mark(l.AbsoluteTimeout),
		d.ClockSkew, mark(l.ClockSkew), d.RolloutDelay, mark(l.RolloutDelay))
}
