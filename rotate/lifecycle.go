package rotate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

var (
	// ErrNotFound reports a key ID that is not in the key set.
	ErrNotFound = errors.New("rotate: no such key")
	// ErrState reports a step that does not apply to the key's status:
	// promoting a disabled key, removing the primary, and the like.
	ErrState = errors.New("rotate: key is in the wrong state for this step")
	// ErrTooSoon reports a promotion, or a demotion (which promotes the
	// successor), before the roll-out delay has passed since the key to
	// be promoted was added or last enabled: some instance may not have
	// loaded it in its usable state yet, and would reject every value
	// sealed under it. The error names the step the caller took and the
	// key IDs, never key material.
	ErrTooSoon = errors.New("rotate: too soon")
	// ErrInUse reports a removal or disable while a cookie sealed under the
	// key may still be valid: it would log those sessions out.
	ErrInUse = errors.New("rotate: key may still be in use")
	// ErrInvalidConfig reports a Policy or options value out of range, or
	// a Policy duration that disagrees with the lifetime policy the key
	// set records (see Policy.Resolve).
	ErrInvalidConfig = errors.New("rotate: invalid configuration")
)

// stampPrecision is the precision of the lifecycle timestamps this package
// writes: whole seconds, truncated. The guards add it once so that the
// truncation never shortens a wait.
const stampPrecision = time.Second

// Policy holds the guards of the key lifecycle. The zero value is the safe
// default. The two Emergency fields turn a guard off and exist for a
// leaked key only.
//
// Its durations are the key set's lifetime policy ([keyring.Lifetime]),
// which the key set records once for every reader: each step takes them
// from the set it is given (see Resolve), and a Policy leaves Lifetime
// zero. A nonzero field of Lifetime is used only for a key set that
// records none for it (a key file from before the lifetime section, a
// compact form without it); one that disagrees with the recorded value is
// refused with [ErrInvalidConfig]. With neither, keyring's default applies.
type Policy struct {
	// Lifetime holds the durations the guards use, where the key set
	// records none:
	//
	//   - RolloutDelay: how long a change to the key set takes to reach
	//     every instance (the reload interval, or the time a deploy takes
	//     when keys come from the environment, plus a margin). A key is
	//     promoted no sooner than this after it was added or last enabled
	//     (see UsableSince), and a demoted key is counted as sealing for
	//     this long after its demotion.
	//   - AbsoluteTimeout: the longest AbsoluteTimeout of any codec or
	//     session manager on the key set (they refuse a longer one than
	//     the key set records). A demoted key is removed no sooner than
	//     RolloutDelay + AbsoluteTimeout + ClockSkew after its demotion.
	//     (Every refresh re-seals under the primary, so a value under a
	//     demoted key also dies IdleTimeout after its last refresh; the
	//     guard does not count on it.)
	//   - ClockSkew: the codecs' clock-skew allowance, at most
	//     keyring.MaxClockSkew.
	//
	// IdleTimeout is resolved like the others but no guard uses it.
	// Default: the key set's record, else keyring's defaults.
	Lifetime keyring.Lifetime

	// EmergencySkipRolloutDelay lets Promote (and Demote) promote a key
	// before RolloutDelay has passed. Instances that have not loaded the
	// key yet reject every value sealed under it until they do: use it
	// only to stop sealing under a leaked primary at once.
	EmergencySkipRolloutDelay bool
	// EmergencyRemove lets Remove and Disable take a key out of use while
	// cookies sealed under it may still be valid. Those sessions end at
	// once: use it only for a leaked key.
	EmergencyRemove bool
}

func (p Policy) withDefaults() (Policy, error) {
	l := p.Lifetime
	if l.RolloutDelay < 0 || l.AbsoluteTimeout < 0 || l.IdleTimeout < 0 || l.ClockSkew < 0 || l.ClockSkew > keyring.MaxClockSkew {
		return p, fmt.Errorf("%w: negative duration or ClockSkew over %v", ErrInvalidConfig, keyring.MaxClockSkew)
	}
	p.Lifetime = l.WithDefaults()
	return p, nil
}

// Resolve returns p with every duration of its Lifetime filled in for the
// key set set: the value set.Lifetime records, else p's own, else
// keyring's default. The guards of every step use it, and PromotableAt
// and RemovableAt of the result give the times those guards enforce for
// set's keys: the cookieseal command prints them from there.
//
// A duration that p sets and set records differently is refused with an
// error matching [ErrInvalidConfig] that names both values: the key set is
// the one place the policy is written (change it there, or leave p's
// field zero). So is a negative one, or a ClockSkew over one minute.
// Resolving a resolved [Policy] again for the same set changes nothing.
func (p Policy) Resolve(set keyring.Set) (Policy, error) {
	out, conflict := p.resolve(set.Lifetime)
	if conflict != nil {
		return Policy{}, conflict
	}
	return out.withDefaults()
}

// resolve fills p's durations from the recorded lifetime l, which wins
// over p's own; conflict lists those p set differently (ErrInvalidConfig).
// The result still has p's values, or zero, where l records nothing.
func (p Policy) resolve(l keyring.Lifetime) (out Policy, conflict error) {
	out = p
	var diffs []string
	for _, f := range []struct {
		name     string
		dst      *time.Duration
		recorded time.Duration
	}{
		{"IdleTimeout", &out.Lifetime.IdleTimeout, l.IdleTimeout},
		{"RolloutDelay", &out.Lifetime.RolloutDelay, l.RolloutDelay},
		{"AbsoluteTimeout", &out.Lifetime.AbsoluteTimeout, l.AbsoluteTimeout},
		{"ClockSkew", &out.Lifetime.ClockSkew, l.ClockSkew},
	} {
		if f.recorded == 0 {
			continue
		}
		if *f.dst != 0 && *f.dst != f.recorded {
			diffs = append(diffs, fmt.Sprintf("Policy.Lifetime.%s %v, the key set records %v", f.name, *f.dst, f.recorded))
		}
		*f.dst = f.recorded
	}
	if diffs != nil {
		return out, fmt.Errorf("%w: %s; the key set is the one place the lifetime policy is written: change it there (cookieseal keys policy set) or leave the Policy field zero", ErrInvalidConfig, strings.Join(diffs, "; "))
	}
	return out, nil
}

// Validate reports whether p is usable: no negative duration, ClockSkew at
// most one minute. Errors match [ErrInvalidConfig].
func (p Policy) Validate() error {
	_, err := p.withDefaults()
	return err
}

// UsableSince returns when k last became usable, the time from which
// every roll-out guard counts: when it was added, or when [Enable] last
// brought it back from disabled (the later of k.Added and k.Enabled): a
// disabled key opens nothing, so for the guards enabling it is adding it
// again, while Added keeps the day the key entered the set. It is zero
// when the key has no recorded time (keys parsed from the compact
// environment form carry none).
func UsableSince(k keyring.Key) time.Time {
	if k.Enabled.After(k.Added) {
		return k.Enabled
	}
	return k.Added
}

// PromotableAt returns the earliest time k may be promoted without the
// emergency override: RolloutDelay after UsableSince(k), the step that
// made it usable (add or enable). ok is false when that time is not
// recorded, so no wait can be proven enough. For the time [Promote]
// enforces on a key set, call it on the [Policy] that Resolve returns for
// that set; on any other Policy it uses p's durations or the defaults.
func (p Policy) PromotableAt(k keyring.Key) (t time.Time, ok bool) {
	p, err := p.withDefaults()
	since := UsableSince(k)
	if err != nil || since.IsZero() {
		return time.Time{}, false
	}
	return since.Add(p.Lifetime.RolloutDelay + stampPrecision), true
}

// RemovableAt returns the earliest time k may be removed or disabled
// without the emergency override. As for PromotableAt, call it on the
// [Policy] that Resolve returns for k's key set.
//
//   - A decrypt-only key that was demoted: RolloutDelay + AbsoluteTimeout +
//     ClockSkew after Demoted. Instances may seal under it until the
//     demotion reaches them, and a value sealed then stays valid for up to
//     AbsoluteTimeout plus the skew allowance.
//   - A key that never sealed (decrypt-only and never promoted) or a
//     disabled key (it opens nothing): any time, so t is zero.
//   - The primary, or a decrypt-only key whose history is not recorded:
//     ok is false.
func (p Policy) RemovableAt(k keyring.Key) (t time.Time, ok bool) {
	p, err := p.withDefaults()
	if err != nil {
		return time.Time{}, false
	}
	switch {
	case k.Status == keyring.StatusDisabled:
		return time.Time{}, true
	case k.Status != keyring.StatusDecryptOnly:
		return time.Time{}, false
	case !k.Demoted.IsZero():
		return k.Demoted.Add(p.Lifetime.RolloutDelay + p.Lifetime.AbsoluteTimeout + p.Lifetime.ClockSkew + stampPrecision), true
	case k.Promoted.IsZero() && !UsableSince(k).IsZero():
		return time.Time{}, true
	}
	return time.Time{}, false
}

func stamp(now time.Time) time.Time { return now.UTC().Truncate(stampPrecision) }

// find validates set and returns a deep copy of it and the index of key id.
func find(set keyring.Set, id uint32) (keyring.Set, int, error) {
	if err := set.Validate(); err != nil {
		return keyring.Set{}, 0, err
	}
	out := set.Clone()
	i := slices.IndexFunc(out.Keys, func(k keyring.Key) bool { return k.ID == id })
	if i < 0 {
		return keyring.Set{}, 0, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return out, i, nil
}

func primaryIndex(set keyring.Set) int {
	return slices.IndexFunc(set.Keys, func(k keyring.Key) bool { return k.Status == keyring.StatusPrimary })
}

// checked validates a result before it is returned, so that every step
// hands back a set that passes Set.Validate.
func checked(set keyring.Set) (keyring.Set, error) {
	if err := set.Validate(); err != nil {
		return keyring.Set{}, fmt.Errorf("rotate: internal error: %w", err)
	}
	return set, nil
}

// Add returns a copy of set with a new decrypt-only key, added at now, and
// that key. The new key opens values at once but seals none until it is
// promoted, which [Promote] allows RolloutDelay later, once every instance
// has loaded it.
func Add(set keyring.Set, now time.Time) (keyring.Set, keyring.Key, error) {
	if err := set.Validate(); err != nil {
		return keyring.Set{}, keyring.Key{}, err
	}
	for range 16 {
		k, err := keyring.GenerateKey(keyring.StatusDecryptOnly, now)
		if err != nil {
			return keyring.Set{}, keyring.Key{}, err
		}
		if slices.ContainsFunc(set.Keys, func(o keyring.Key) bool { return o.ID == k.ID }) {
			continue // a 32-bit ID collision: draw again
		}
		out := set.Clone()
		out.Keys = append(out.Keys, k)
		out, err = checked(out)
		return out, k, err
	}
	return keyring.Set{}, keyring.Key{}, errors.New("rotate: could not draw an unused key id")
}

// Promote returns a copy of set in which key id is the primary, promoted
// at now, and the old primary is decrypt-only, demoted at now. The key
// must be decrypt-only and, unless p.EmergencySkipRolloutDelay, added or
// enabled at least the rollout delay ago (PromotableAt of p resolved for
// set, see [Policy.Resolve]); otherwise the error matches [ErrTooSoon].
func Promote(set keyring.Set, id uint32, now time.Time, p Policy) (keyring.Set, error) {
	return promote(set, id, now, p, 0)
}

// promote is Promote; demoted is the primary that Demote was asked to
// demote (0 for Promote), which its errors name: the caller's step.
func promote(set keyring.Set, id uint32, now time.Time, p Policy, demoted uint32) (keyring.Set, error) {
	out, i, err := find(set, id)
	if err != nil {
		return keyring.Set{}, err
	}
	if p, err = p.Resolve(set); err != nil {
		return keyring.Set{}, err
	}
	k := out.Keys[i]
	switch k.Status {
	case keyring.StatusPrimary:
		return keyring.Set{}, fmt.Errorf("%w: key %d is already the primary", ErrState, id)
	case keyring.StatusDisabled:
		return keyring.Set{}, fmt.Errorf("%w: key %d is disabled; enable it and let it roll out first", ErrState, id)
	}
	if !p.EmergencySkipRolloutDelay {
		// The step the caller took, and the key whose roll-out it waits
		// for, as the message names them.
		step, subject, again, it := fmt.Sprintf("promote key %d", id), "it", "promote it", "it"
		if demoted != 0 {
			step, subject, it = fmt.Sprintf("demote key %d", demoted), fmt.Sprintf("its successor, key %d,", id), fmt.Sprintf("key %d", id)
			again = step
		}
		at, ok := p.PromotableAt(k)
		if !ok {
			return keyring.Set{}, fmt.Errorf("%w to %s: %s has no recorded time of addition or enabling, so its roll-out cannot be proven; use the emergency override", ErrTooSoon, step, subject)
		}
		if now.Before(at) {
			return keyring.Set{}, fmt.Errorf("%w to %s: %s was added or enabled at %s; %s at %s or later, once every instance has loaded %s", ErrTooSoon, step, subject, UsableSince(k).UTC().Format(time.RFC3339), again, at.UTC().Format(time.RFC3339), it)
		}
	}
	ts := stamp(now)
	old := primaryIndex(out)
	out.Keys[old].Status = keyring.StatusDecryptOnly
	out.Keys[old].Demoted = ts
	out.Keys[i].Status = keyring.StatusPrimary
	out.Keys[i].Promoted = ts
	return checked(out)
}

// Demote returns a copy of set in which the primary key id is
// decrypt-only and its successor is the primary. The successor is the one
// decrypt-only key with a recorded [UsableSince] time that has never been
// primary (a key added for this rotation); with none or several, it fails with
// [ErrState], and [Promote] picks one by ID. The roll-out guard is Promote's.
func Demote(set keyring.Set, id uint32, now time.Time, p Policy) (keyring.Set, error) {
	out, i, err := find(set, id)
	if err != nil {
		return keyring.Set{}, err
	}
	if out.Keys[i].Status != keyring.StatusPrimary {
		return keyring.Set{}, fmt.Errorf("%w: key %d is %v, not the primary", ErrState, id, out.Keys[i].Status)
	}
	var candidates []uint32
	for _, k := range out.Keys {
		if k.Status == keyring.StatusDecryptOnly && k.Promoted.IsZero() && k.Demoted.IsZero() && !UsableSince(k).IsZero() {
			candidates = append(candidates, k.ID)
		}
	}
	switch len(candidates) {
	case 0:
		return keyring.Set{}, fmt.Errorf("%w: no successor for key %d: add a key, wait for its roll-out, then demote", ErrState, id)
	case 1:
		return promote(set, candidates[0], now, p, id)
	}
	return keyring.Set{}, fmt.Errorf("%w: several possible successors %v; promote one of them", ErrState, candidates)
}

// Disable returns a copy of set in which key id is disabled: kept, but
// used for nothing, so values sealed under it no longer open. Its guard is
// [Remove]'s.
func Disable(set keyring.Set, id uint32, now time.Time, p Policy) (keyring.Set, error) {
	out, i, err := retire(set, id, now, p, "disable")
	if err != nil {
		return keyring.Set{}, err
	}
	if out.Keys[i].Status == keyring.StatusDisabled {
		return keyring.Set{}, fmt.Errorf("%w: key %d is already disabled", ErrState, id)
	}
	out.Keys[i].Status = keyring.StatusDisabled
	return checked(out)
}

// Enable returns a copy of set in which the disabled key id is
// decrypt-only again, enabled at now: values sealed under it open again.
// Enable records now as the key's Added time (see [UsableSince]), so that
// [Promote] waits RolloutDelay from now, as after [Add]: instances that still
// hold the key disabled would reject every value it sealed.
func Enable(set keyring.Set, id uint32, now time.Time) (keyring.Set, error) {
	out, i, err := find(set, id)
	if err != nil {
		return keyring.Set{}, err
	}
	if out.Keys[i].Status != keyring.StatusDisabled {
		return keyring.Set{}, fmt.Errorf("%w: key %d is %v, not disabled", ErrState, id, out.Keys[i].Status)
	}
	out.Keys[i].Status = keyring.StatusDecryptOnly
	out.Keys[i].Enabled = stamp(now)
	return checked(out)
}

// Remove returns a copy of set without key id. The primary is never
// removed ([ErrState]). A decrypt-only key is removed only once no value
// sealed under it can still be valid, as RemovableAt of p resolved for
// set computes (see [Policy.Resolve]), unless p.EmergencyRemove; otherwise
// the error matches [ErrInUse].
func Remove(set keyring.Set, id uint32, now time.Time, p Policy) (keyring.Set, error) {
	out, i, err := retire(set, id, now, p, "remove")
	if err != nil {
		return keyring.Set{}, err
	}
	out.Keys = slices.Delete(out.Keys, i, i+1)
	return checked(out)
}

// retire applies the guard shared by Remove and Disable.
func retire(set keyring.Set, id uint32, now time.Time, p Policy, step string) (keyring.Set, int, error) {
	out, i, err := find(set, id)
	if err != nil {
		return keyring.Set{}, 0, err
	}
	if p, err = p.Resolve(set); err != nil {
		return keyring.Set{}, 0, err
	}
	k := out.Keys[i]
	if k.Status == keyring.StatusPrimary {
		return keyring.Set{}, 0, fmt.Errorf("%w: cannot %s key %d, the primary; promote another key first", ErrState, step, id)
	}
	if p.EmergencyRemove {
		return out, i, nil
	}
	at, ok := p.RemovableAt(k)
	if !ok {
		return keyring.Set{}, 0, fmt.Errorf("%w: key %d has no recorded demotion time, so no wait can be proven enough; use the emergency override", ErrInUse, id)
	}
	if now.Before(at) {
		return keyring.Set{}, 0, fmt.Errorf("%w: cookies sealed under key %d (demoted at %s) may be valid until %s; %s it then, or use the emergency override to log those sessions out", ErrInUse, id, k.Demoted.Format(time.RFC3339), at.UTC().Format(time.RFC3339), step)
	}
	return out, i, nil
}

// EmergencyReplace is the one step for a leaked key: it returns a copy of
// set without key id and, if id was the primary, with a new primary key
// (returned) in its place, both at once, with both guards off. Every
// session sealed under id ends, and instances that reload the result
// before others reject the others' new cookies until every instance has
// reloaded: reload the whole fleet at once. When id is not the primary,
// the returned key is the zero Key.
func EmergencyReplace(set keyring.Set, id uint32, now time.Time) (keyring.Set, keyring.Key, error) {
	_, i, err := find(set, id)
	if err != nil {
		return keyring.Set{}, keyring.Key{}, err
	}
	p := Policy{EmergencySkipRolloutDelay: true, EmergencyRemove: true}
	var fresh keyring.Key
	if set.Keys[i].Status == keyring.StatusPrimary {
		if set, fresh, err = Add(set, now); err != nil {
			return keyring.Set{}, keyring.Key{}, err
		}
		if set, err = Promote(set, fresh.ID, now, p); err != nil {
			return keyring.Set{}, keyring.Key{}, err
		}
		fresh, _ = findKey(set, fresh.ID)
	}
	out, err := Remove(set, id, now, p)
	if err != nil {
		return keyring.Set{}, keyring.Key{}, err
	}
	return out, fresh, nil
}

func findKey(set keyring.Set, id uint32) (keyring.Key, bool) {
	i := slices.IndexFunc(set.Keys, func(k keyring.Key) bool { return k.ID == id })
	if i < 0 {
		return keyring.Key{}, false
	}
	return set.Keys[i], true
}
