package keyring

import (
	"fmt"
	"time"
)

// Defaults of a [Lifetime]'s fields that a key set does not record. They
// are the one set of defaults of every reader of the policy: cookie.Options
// (IdleTimeout, AbsoluteTimeout, ClockSkew, which a session manager takes
// in middleware.Options.Codec), rotate.Policy's Lifetime, the cookieseal
// command and the Python peer.
const (
	DefaultIdleTimeout     = 24 * time.Hour
	DefaultAbsoluteTimeout = 7 * 24 * time.Hour
	DefaultClockSkew       = 30 * time.Second
	DefaultRolloutDelay    = time.Hour
)

// Bounds of a [Lifetime], recorded or set in cookie.Options.
const (
	// MaxTimeout bounds IdleTimeout, AbsoluteTimeout and RolloutDelay:
	// browsers cap a cookie's lifetime at 400 days (RFC 6265bis §5.5,
	// §5.6), so a longer session cannot outlive its cookie, and deadlines
	// stay far from the largest time.Duration.
	MaxTimeout = 400 * 24 * time.Hour
	// MaxClockSkew bounds ClockSkew.
	MaxClockSkew = time.Minute
)

// Lifetime is the lifetime policy of the sessions sealed under a key set,
// written once in the key set (Set.Lifetime, the "lifetime" section of a
// key set file, or entries of the compact form) so that every part reads
// the same values:
//
//   - the session manager and the cookie codec take IdleTimeout,
//     AbsoluteTimeout and ClockSkew from it when their options leave them
//     zero, and refuse an AbsoluteTimeout or ClockSkew longer than the
//     recorded one (the removal guard below would not cover it);
//   - package rotate's guards wait RolloutDelay before a promotion and
//     RolloutDelay + AbsoluteTimeout + ClockSkew after a demotion before a
//     removal;
//   - the cookieseal command computes and prints those times from it, and
//     the Python peer reads its expiry rule from it.
//
// A zero field is not recorded, and every reader uses its default
// ([DefaultIdleTimeout], [DefaultAbsoluteTimeout], [DefaultClockSkew],
// [DefaultRolloutDelay]). A key set from before the lifetime section
// records nothing and keeps working with those defaults. Recorded values
// are whole seconds; IdleTimeout and AbsoluteTimeout are at most 400 days
// (the browsers' cap on a cookie), ClockSkew at most one minute,
// RolloutDelay at most 400 days; AbsoluteTimeout is at least IdleTimeout,
// defaults included.
type Lifetime struct {
	// IdleTimeout ends a session that no request refreshed for this long.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after it was issued,
	// whatever its activity. It is the longest that any manager or codec
	// on the key set may use.
	AbsoluteTimeout time.Duration
	// ClockSkew is how far the clocks of the instances sharing the key
	// set may disagree: the acceptance tolerance of every time check.
	ClockSkew time.Duration
	// RolloutDelay is how long a change to the key set takes to reach
	// every instance: the reload interval, or a deploy's duration when
	// keys come from the environment, plus a margin.
	RolloutDelay time.Duration
}

// WithDefaults returns l with each field that is not recorded (zero) set
// to its default.
func (l Lifetime) WithDefaults() Lifetime {
	if l.IdleTimeout == 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.AbsoluteTimeout == 0 {
		l.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if l.ClockSkew == 0 {
		l.ClockSkew = DefaultClockSkew
	}
	if l.RolloutDelay == 0 {
		l.RolloutDelay = DefaultRolloutDelay
	}
	return l
}

// validate checks the bounds of the recorded fields, and that the
// absolute timeout is at least the idle one once defaults are applied.
func (l Lifetime) validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
		max  time.Duration
	}{
		{"idle_timeout", l.IdleTimeout, MaxTimeout},
		{"absolute_timeout", l.AbsoluteTimeout, MaxTimeout},
		{"clock_skew", l.ClockSkew, MaxClockSkew},
		{"rollout_delay", l.RolloutDelay, MaxTimeout},
	} {
		if f.d < 0 || f.d > f.max || f.d%time.Second != 0 {
			return fmt.Errorf("%w: lifetime %s %v outside [0, %v] or not whole seconds", ErrInvalidKeySet, f.name, f.d, f.max)
		}
	}
	if d := l.WithDefaults(); d.AbsoluteTimeout < d.IdleTimeout {
		return fmt.Errorf("%w: lifetime absolute_timeout %v is shorter than idle_timeout %v", ErrInvalidKeySet, d.AbsoluteTimeout, d.IdleTimeout)
	}
	return nil
}

// lifetimeFields names the fields in both text forms of a key set, in
// the order they are written.
var lifetimeFields = [...]string{"idle_timeout", "absolute_timeout", "clock_skew", "rollout_delay"}

// field returns a pointer to the field named by one of lifetimeFields.
func (l *Lifetime) field(name string) *time.Duration {
	switch name {
	case "idle_timeout":
		return &l.IdleTimeout
	case "absolute_timeout":
		return &l.AbsoluteTimeout
	case "clock_skew":
		return &l.ClockSkew
	case "rollout_delay":
		return &l.RolloutDelay
	}
	return nil
}
