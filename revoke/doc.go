// Package revoke gives forced logout to stateless sessions.
//
// A cookieseal session lives entirely in a sealed cookie, so the server cannot
// take it back by deleting anything. A revocation list can: the middleware
// asks a [Revoker] about every session it opens, and rejects the ones on the
// list. Most programs use [NewMemory] for one instance, or the Redis
// implementation in package github.com/cookieseal/cookieseal/revoke/redis for
// a fleet, and call only RevokeSession (logout) and RevokeSubject (logout
// everywhere, password change) themselves.
//
// # Entries
//
// There are two kinds of entry:
//
//   - A session entry revokes one session, named by its subject and id, until
//     the session's absolute deadline.
//   - A subject entry revokes every session of one subject (user) issued
//     strictly before a time, until the longest-lived such session expires
//     (before + AbsoluteTimeout). Times are compared at the millisecond
//     precision that sessions carry; see [IssuedBefore].
//
// Every entry carries the time after which it can no longer matter, because
// every session it could match has expired anyway. Implementations forget
// entries after that time, so the list stays as small as the set of sessions
// that are revoked and not yet expired. Revoking again never weakens an entry:
// the later until and the later before are kept.
//
// # Size
//
// A list holds one entry per revoked, unexpired session or subject. [Memory]
// caps it (MemoryOptions.MaxEntries, [DefaultMaxEntries] by default): at the
// cap it forgets every expired entry, and if none is, the revocation fails
// with [ErrFull]. A live revocation is never dropped to make room, and a
// failed one is reported, never silently lost. [Memory.Stats] reports the
// size, the cap and the refusals ([MemoryStats]), for metrics and alerts.
//
// # Errors and failure policy
//
// Check returns nil, an error matching [ErrRevoked], or any other error for a
// fault (a store that is unreachable or too slow, or invalid input). What to
// do on a fault is the caller's policy, applied by the middleware: fail closed
// (treat the fault as revoked, the default) or fail open (treat it as not
// revoked). Memory never faults on valid input.
//
// RevokeSession and RevokeSubject fail with an error matching ErrFull when
// a capped list is full of live entries: the logout did not happen, and
// the caller must say so.
//
// Invalid input (an empty session id or subject, a zero time) returns an
// error matching [ErrInvalidArgument]. An until that has already passed is not
// invalid: the revocation has nothing left to do and is a no-op.
//
// # Implementing a Revoker
//
// A store of your own (SQL, a key-value service) implements the three
// methods of Revoker under the contract its doc states. Run the
// conformance suite in package
// github.com/cookieseal/cookieseal/revoke/revoketest from one of its
// tests: it checks every rule above with an injected clock, and the
// Revokers in this module pass it.
package revoke
