package cookie

import (
	"errors"
	"fmt"

	"github.com/cookieseal/cookieseal/keyring"
)

// Reason says why a cookie value was rejected, for a program to switch on
// (metrics, logs, alerts) without parsing error text. Get it from any
// error with [ReasonOf]. The zero value, [ReasonNone], means "not a
// rejection". Values are stable names in String(); new ones may be added.
type Reason uint8

// Reasons a value is rejected. The codec (this package) reports the
// first group; the middleware the second, with [RejectError] too.
const (
	// ReasonNone: no rejection (a nil error, or one that is not about a
	// cookie value).
	ReasonNone Reason = iota
	// ReasonInvalid: invalid for a reason not listed below (matches
	// ErrInvalid).
	ReasonInvalid
	// ReasonMalformed: not a value of the format at all (bad encoding,
	// too short, bad header, a chunk missing).
	ReasonMalformed
	// ReasonBadVersion: a version byte (or JWE alg/enc) this build does
	// not read.
	ReasonBadVersion
	// ReasonUnknownKey: names a key ID the keyring does not hold (after a
	// deploy: a key removed too early, or an instance without the new
	// key).
	ReasonUnknownKey
	// ReasonEpochOutOfWindow: names an epoch outside the window any live
	// session can have (clock skew between instances, or a forgery).
	ReasonEpochOutOfWindow
	// ReasonTampered: the AEAD refused it: altered, sealed for another
	// purpose (cookie name), or under another key with the same ID.
	ReasonTampered
	// ReasonTimestamps: authentic but its timestamps are impossible here
	// (in the future beyond ClockSkew, refreshed before issued): a clock
	// ahead of this one.
	ReasonTimestamps
	// ReasonIdleExpired: past refreshed-at + IdleTimeout (+ skew).
	ReasonIdleExpired
	// ReasonAbsoluteExpired: past issued-at + AbsoluteTimeout (+ skew).
	ReasonAbsoluteExpired
	// ReasonExpired: expired, neither of the two above (a legacy format's
	// own MaxAge).
	ReasonExpired
	// ReasonTooLarge: over the size budget (matches ErrTooLarge).
	ReasonTooLarge

	// ReasonDuplicate: the cookie came more than once and no single
	// session could be chosen (middleware.ErrDuplicateCookie).
	ReasonDuplicate
	// ReasonPayload: authentic, but not a session envelope
	// (middleware.ErrPayload, or a legacy value that is not JSON).
	ReasonPayload
	// ReasonRevoked: the revocation list holds the session or its subject.
	ReasonRevoked
	// ReasonRevokeFault: the revocation check failed and the policy is
	// fail closed: no session for this request, the cookie is kept.
	ReasonRevokeFault
	// ReasonLegacyRefused: a legacy cookie older than LegacyNotBefore.
	ReasonLegacyRefused

	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:             "none",
	ReasonInvalid:          "invalid",
	ReasonMalformed:        "malformed",
	ReasonBadVersion:       "bad_version",
	ReasonUnknownKey:       "unknown_key",
	ReasonEpochOutOfWindow: "epoch_out_of_window",
	ReasonTampered:         "tampered",
	ReasonTimestamps:       "timestamps_invalid",
	ReasonIdleExpired:      "idle_expired",
	ReasonAbsoluteExpired:  "absolute_expired",
	ReasonExpired:          "expired",
	ReasonTooLarge:         "too_large",
	ReasonDuplicate:        "duplicate",
	ReasonPayload:          "payload",
	ReasonRevoked:          "revoked",
	ReasonRevokeFault:      "revoke_fault",
	ReasonLegacyRefused:    "legacy_refused",
}

// String returns the reason's stable snake_case name ("unknown_key",
// "idle_expired", …), fit for a metric attribute or a log field.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Reasons lists every defined reason, [ReasonNone] first: for a dashboard
// or a test that must cover them all.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// RejectError is a rejected value's error with its reason. It wraps the
// sentinel ([ErrInvalid], [ErrExpired], [ErrTooLarge], or the middleware's), so
// [errors.Is] keeps working; reach it with [errors.As] or [ReasonOf]. KeyID and
// Epoch are what the value's header claimed, set for [ReasonUnknownKey] and
// [ReasonEpochOutOfWindow] (attacker-controlled numbers: fine to log, not
// to trust). It holds no part of the value.
type RejectError struct {
	Reason Reason
	KeyID  uint32
	Epoch  uint32
	Err    error
}

// Error returns the wrapped error's text.
func (e *RejectError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *RejectError) Unwrap() error { return e.Err }

// Reject returns err tagged with reason. Packages above this one (the
// middleware, a LegacyDecoder) use it for their own rejections.
func Reject(reason Reason, err error) error {
	return &RejectError{Reason: reason, Err: err}
}

// ReasonOf returns why err rejected a value: the reason of the outermost
// [RejectError] in err's tree, else one inferred from the sentinel it
// matches ([ErrTooLarge] → [ReasonTooLarge], [ErrExpired] →
// [ReasonExpired], [ErrInvalid] → [ReasonInvalid]), else [ReasonNone] (nil
// included).
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	if re := RejectOf(err); re != nil {
		return re.Reason
	}
	switch {
	case errors.Is(err, ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, ErrExpired):
		return ReasonExpired
	case errors.Is(err, ErrInvalid):
		return ReasonInvalid
	}
	return ReasonNone
}

// RejectOf returns the outermost [RejectError] in err's tree (depth first,
// as [errors.As] walks it), or nil. Unlike errors.As it allocates nothing,
// so observers may call it on every rejection.
func RejectOf(err error) *RejectError {
	for err != nil {
		switch e := err.(type) {
		case *RejectError:
			return e
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if re := RejectOf(inner); re != nil {
					return re
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// Rejections with a fixed text are built once: rejecting costs no
// allocation for them.
var (
	errMalformed      = Reject(ReasonMalformed, fmt.Errorf("%w: malformed", ErrInvalid))
	errBadVersion     = Reject(ReasonBadVersion, fmt.Errorf("%w: unknown version", ErrInvalid))
	errTampered       = Reject(ReasonTampered, fmt.Errorf("%w: authentication failed", ErrInvalid))
	errFuture         = Reject(ReasonTimestamps, fmt.Errorf("%w: timestamps in the future", ErrInvalid))
	errRefreshedFirst = Reject(ReasonTimestamps, fmt.Errorf("%w: refreshed-at before issued-at", ErrInvalid))
	errAbsolute       = Reject(ReasonAbsoluteExpired, fmt.Errorf("%w: absolute timeout", ErrExpired))
	errIdle           = Reject(ReasonIdleExpired, fmt.Errorf("%w: idle timeout", ErrExpired))
	errTooLargeValue  = Reject(ReasonTooLarge, ErrTooLarge)
)

// errEpoch is a value naming an epoch outside the window.
func errEpoch(id, epoch uint32) error {
	return &RejectError{Reason: ReasonEpochOutOfWindow, KeyID: id, Epoch: epoch, Err: fmt.Errorf("%w: epoch out of range", ErrInvalid)}
}

// errKey is a keyring refusal to give a key for id and epoch.
func errKey(id, epoch uint32, err error) error {
	r := ReasonInvalid
	if errors.Is(err, keyring.ErrUnknownKey) {
		r = ReasonUnknownKey
	}
	return &RejectError{Reason: r, KeyID: id, Epoch: epoch, Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
}
