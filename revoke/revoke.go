package revoke

import (
	"context"
	"errors"
	"time"
)

// ErrRevoked is returned (possibly wrapped) by Check when the session is revoked.
var ErrRevoked = errors.New("revoke: session revoked")

// ErrFull is returned (wrapped) by RevokeSession and RevokeSubject when the
// list is at its cap (MemoryOptions.MaxEntries) and holds no expired entry
// to forget: the revocation did not happen, and the caller must treat it as
// a failed logout, not a done one. errors.Is(err, [ErrRevoked]) is false.
var ErrFull = errors.New("revoke: revocation list full")

// ErrInvalidArgument is returned (wrapped, with the offending argument named)
// when a [Revoker] method is called with an argument it cannot accept, such as
// an empty session id or subject, or a zero time. It is a caller bug, not a
// revocation: errors.Is(err, [ErrRevoked]) is false.
var ErrInvalidArgument = errors.New("revoke: invalid argument")

// SessionRef is what a check needs to know about a session: its id,
// subject and issue time, not the session itself (a handler's session is
// middleware.Session).
type SessionRef struct {
	ID       string    // the session id
	Subject  string    // the user; may be empty
	IssuedAt time.Time // when the session was issued (ms precision)
}

// Revoker is a revocation list. Implementations are safe for concurrent use.
//
// Ids and subjects are opaque strings of any bytes, compared exactly.
// Times are kept to the millisecond. An entry counts while the
// implementation's clock is before its until (an implementation may end
// it at the start of until's millisecond), judged when Check runs; an
// until that has already passed is a no-op that returns nil. Invalid
// arguments (an empty id or subject, a zero time) return an error matching
// [ErrInvalidArgument] and change nothing.
//
// An implementation that waits (on a network, a disk) honours ctx: when
// ctx is done, a call returns an error matching ctx.Err() or completes in
// full; one that never waits may ignore ctx. No call reports a revocation
// it did not make, and no fault matches [ErrRevoked]. Package
// github.com/cookieseal/cookieseal/revoke/revoketest checks all of this
// against an implementation.
type Revoker interface {
	// Check returns nil if s is not revoked, an error matching ErrRevoked if it is,
	// and any other error for a system fault (store unreachable, timeout).
	Check(ctx context.Context, s SessionRef) error

	// RevokeSession revokes one session id. until is the session's absolute deadline;
	// after it the entry can no longer matter and is forgotten. subject may be empty; when
	// set, implementations may co-locate the entry with the subject's (Redis hash tag).
	// A later call with an earlier until must not shorten an existing entry.
	//
	// Pass the subject the session carries (its SessionRef.Subject): the
	// implementations in this module match a session entry on the pair
	// (subject, id), so a Check with another subject does not see it.
	// Others may match on the id alone.
	RevokeSession(ctx context.Context, id, subject string, until time.Time) error

	// RevokeSubject revokes every session of subject issued strictly before `before`
	// at millisecond precision (IssuedBefore): logout everywhere, password change.
	// before is the caller's time, used as given, whatever the store's clock says.
	// until is when the longest-lived such session expires (before + AbsoluteTimeout),
	// after which the entry is forgotten. A later call must not weaken an existing
	// entry: the entry keeps the later before and the later until.
	RevokeSubject(ctx context.Context, subject string, before, until time.Time) error
}

// IssuedBefore reports whether a session issued at issuedAt counts as issued
// strictly before before, at the millisecond precision sessions carry: both
// times are truncated to the millisecond first. A session issued in the same
// millisecond as a subject revocation is therefore not revoked, so a caller
// that revokes a subject and then issues a fresh session at once keeps it.
//
// Every [Revoker] in this module uses this rule; a new implementation
// should too.
func IssuedBefore(issuedAt, before time.Time) bool {
	return issuedAt.UnixMilli() < before.UnixMilli()
}

// validateSession checks the arguments of RevokeSession.
func validateSession(id string, until time.Time) error {
	switch {
	case id == "":
		return argError("empty session id")
	case until.IsZero():
		return argError("zero until for session")
	}
	return nil
}

// validateSubject checks the arguments of RevokeSubject.
func validateSubject(subject string, before, until time.Time) error {
	switch {
	case subject == "":
		return argError("empty subject")
	case before.IsZero():
		return argError("zero before for subject")
	case until.IsZero():
		return argError("zero until for subject")
	}
	return nil
}

// validateCheck checks the argument of Check.
func validateCheck(s SessionRef) error {
	if s.ID == "" {
		return argError("empty session id")
	}
	return nil
}

// argError is an ErrInvalidArgument with the reason.
type argError string

func (e argError) Error() string        { return "revoke: invalid argument: " + string(e) }
func (e argError) Is(target error) bool { return target == ErrInvalidArgument }
