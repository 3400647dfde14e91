package redis

import (
	"errors"
	"fmt"
)

// ErrUnavailable is wrapped by the errors of Check, RevokeSession and
// RevokeSubject for a store fault: Redis unreachable, a timeout, an error
// reply. The underlying error is wrapped too. (An entry Redis holds in a
// form this version cannot parse is not a fault: it revokes what it names.)
// It is never ErrRevoked: the caller's failure policy decides.
var ErrUnavailable = errors.New("revoke/redis: store unavailable")

// ErrStale is matched by the error of a [Cached]'s Check when the cache cannot
// vouch for its content: Run has not finished its first load, or nothing has
// confirmed the cache fresh within CachedOptions.StalenessBound. Such an
// error also matches [ErrUnavailable]. It is never ErrRevoked: the caller's
// failure policy decides.
var ErrStale = errors.New("revoke/redis: revocation cache is stale")

func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// staleError matches both ErrStale and ErrUnavailable.
type staleError struct{ msg string }

func (e *staleError) Error() string { return e.msg }
func (e *staleError) Is(target error) bool {
	return target == ErrStale || target == ErrUnavailable
}

var errNotLoaded = &staleError{ErrStale.Error() + ": Run has not completed a first load"}
