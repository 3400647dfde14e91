package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cookieseal/cookieseal/cookie"
)

var (
	// ErrNoMiddleware is returned when a session is asked of a request that
	// did not pass through Manager.Handler. It is a wiring bug in the
	// program, reported as an error rather than a panic.
	ErrNoMiddleware = errors.New("middleware: no session in the request context; wrap the handler with Manager.Handler")

	// ErrDone is returned by a Session used after the handler of its request
	// returned, or, for a session of Manager.LoadHeader, after its Commit
	// (a second Commit, concurrent or not, included). Sessions belong to
	// one request; copy what a background task needs before starting it.
	ErrDone = errors.New("middleware: session used after its request ended (handler returned or Commit called)")

	// ErrResponseStarted is returned by a change to the session made after the
	// response's headers went out (first Write, WriteHeader, Flush or
	// Hijack): the cookie can no longer carry it, so the change is refused
	// rather than silently lost. It is also returned (wrapped) by the first
	// read of a session untouched until then, unless the response as sent
	// keeps shared caches out (Cache-Control private or no-store, no
	// targeted field such as CDN-Cache-Control allowing storage) or the
	// connection was hijacked: the response carries no Vary: Cookie, so
	// the read must not personalise a page a cache may store.
	ErrResponseStarted = errors.New("middleware: response already started; session changes can no longer be saved")

	// ErrType is returned (wrapped) by Get and PopFlashes when a stored value
	// does not decode into the requested type.
	ErrType = errors.New("middleware: stored value does not decode into the requested type")

	// ErrValue is returned (wrapped) by Set and AddFlash when a value cannot
	// be encoded as JSON.
	ErrValue = errors.New("middleware: value cannot be encoded as JSON")

	// ErrDuplicateCookie is the Err of an EventRejected when the copies of
	// the session cookie a request carries disagree (for example one set
	// for a parent domain by a sibling host beside the user's own): two
	// values of the plain cookie or of one chunk, the plain cookie beside
	// chunks, or chunks with a gap. No copy is ever picked: such a
	// request has no session, and its response clears what it carried
	// at every place a copy can be (see "Copies of the cookie" in the
	// package doc). Its reason is cookie.ReasonDuplicate.
	ErrDuplicateCookie = errors.New("middleware: session cookie sent more than once")

	// ErrPayload is the Err of an EventRejected when a cookie
	// authenticates but its payload is not a session envelope. It matches
	// cookie.ErrInvalid too; its reason is cookie.ReasonPayload.
	ErrPayload = errors.New("middleware: malformed session payload")

	// ErrRevokeFault wraps a fault of the Revoker (a store that is down or
	// too slow), as told to Options.Observer (EventRevokeFault) or
	// returned by Renew, Destroy, Session.RevokeOthers and
	// Manager.RevokeSubject, and by every change (Set, AddFlash, Delete,
	// Clear, SetSubject, Renew, RevokeOthers) to the session of a request
	// whose revocation check faulted under fail closed: the change is
	// dropped and the cookie kept. It never matches revoke.ErrRevoked; its
	// reason is cookie.ReasonRevokeFault.
	ErrRevokeFault = errors.New("middleware: revocation store fault")

	// ErrNoRevoker is returned by Manager.RevokeSubject and
	// Session.RevokeOthers when no Revoker is configured.
	ErrNoRevoker = errors.New("middleware: no Revoker configured")

	// ErrNoSubject says that a session has no subject, so nothing
	// revoked it (call SetSubject at login). Session.RevokeOthers
	// returns it for such a session: it has no other sessions to revoke.
	// Session.Destroy returns it (wrapped), with a Revoker, for such a
	// session that the request's cookie carried, and EventDestroyed
	// carries it: the cookie is cleared but a copy of it stays valid
	// until it expires. Harmless for a session that grants nothing (a
	// cart), a bug for one that does.
	ErrNoSubject = errors.New("middleware: the session has no subject")
	// ErrInvalidConfig is matched by every error New returns: a name,
	// options or a keyring it refuses. The message says which rule they
	// break; an error from the codec also matches cookie.ErrInvalidConfig,
	// and one from the key set's recorded lifetime
	// keyring.ErrInvalidKeySet.
	ErrInvalidConfig = errors.New("middleware: invalid configuration")
)

// configError is an error of New: it reads as err, and matches both
// ErrInvalidConfig and what err matches.
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }

// errFrozen is the ErrRevokeFault that a change to the session answers
// when the request's revocation check faulted (fail closed).
var errFrozen = cookie.Reject(cookie.ReasonRevokeFault, fmt.Errorf("%w: the session could not be checked", ErrRevokeFault))

// errDifferentCopies rejects a request whose copies of the session
// cookie disagree.
var errDifferentCopies = cookie.Reject(cookie.ReasonDuplicate, fmt.Errorf("%w: copies that disagree", ErrDuplicateCookie))

// withReason returns err tagged with reason for cookie.ReasonOf, unless
// it already carries a more telling one (any but ReasonNone and
// ReasonInvalid): a copy that was tampered with is "tampered". Every error the manager reports (Event.Err, and the errors
// its methods return for a rejection or a revocation fault) carries its
// reason this way.
func withReason(reason cookie.Reason, err error) error {
	if r := cookie.ReasonOf(err); r != cookie.ReasonNone && r != cookie.ReasonInvalid {
		return err
	}
	return cookie.Reject(reason, err)
}

// ErrBypassed reports, as an [EventSaveFailed] (logged to [slog.Default] with
// no [Observer]), a response that was
// written around the session middleware: the handler wrote to the
// ResponseWriter the middleware was given, not to the one it passed on,
// so the Set-Cookie it had to add came too late and the session change
// is lost. It is the first adapter most people write for a framework
// with its own response writer (Gin: run Handler, call c.Next() inside;
// the handlers keep writing to c.Writer). Route the framework's writer
// through the one Handler passes on (see examples/frameworks for Gin and
// Echo).
var ErrBypassed = errors.New("middleware: the response was written around the session middleware: its cookie change is lost")

// Sessions without a net/http server: LoadHeader reads the session from
// a request's Cookie header lines and Session.Commit returns the response
// headers, for handlers that receive something other than an
// *http.Request (a raw AWS Lambda event, a wasm host's request type).
// They drive the same state as Handler, so every rule is the same.

// ErrHandlerSession is returned by [Session.Commit] on a session that
// [Manager.Handler] manages: the handler's response writes its cookie.
var ErrHandlerSession = errors.New("middleware: Commit called on a session of Manager.Handler; its response writes the cookie")

func logFault(r *http.Request, err error) {
	slog.Default().ErrorContext(r.Context(), "cookieseal: session fault", "method", r.Method, "path", r.URL.Path, "err", err)
}

func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	slog.Default().ErrorContext(r.Context(), "cookieseal: session not saved", "method", r.Method, "path", r.URL.Path, "err", err)
	internalError(w, r, err)
}

func internalError(w http.ResponseWriter, _ *http.Request, _ error) {
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
