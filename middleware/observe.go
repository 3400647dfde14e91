package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
)

// EventKind says what happened to a session. The zero value is not an
// event.
type EventKind uint8

// Event kinds, in the order a request meets them.
const (
	_ EventKind = iota
	// EventRejected: the request's session cookie was refused (Reason and
	// Err say why); the request goes on with no session. Reason
	// cookie.ReasonRevokeFault is not told here: see EventRevokeFault.
	EventRejected
	// EventOpened: a session cookie authenticated, passed the expiry rule
	// and the revocation check; SessionID and Subject are its own, KeyID
	// and Epoch the key that sealed it. For counting active sessions (see
	// package active); never logged.
	EventOpened
	// EventRevokeChecked: the Revoker answered a check; Duration is how
	// long it took (wall time, the process's monotonic clock), Err is nil,
	// or matches revoke.ErrRevoked or ErrRevokeFault.
	EventRevokeChecked
	// EventRevokeFault: a Revoker call failed (a check, the revocation
	// that Renew, Destroy, Session.RevokeOthers or a legacy cookie's
	// migration writes, or Manager.RevokeSubject, whose event has no
	// Request); Err matches ErrRevokeFault, and its reason is
	// cookie.ReasonRevokeFault.
	EventRevokeFault
	// EventRefreshed: a valid, unchanged session was re-sealed because
	// RefreshAfter passed (the sliding refresh).
	EventRefreshed
	// EventResealed: a valid, unchanged session was re-sealed because
	// the key or epoch that sealed it (KeyID, Epoch) is no longer the
	// primary (rotation draining an old key), or because it came in the
	// format Options.Codec.Format does not write (a format switch draining the
	// other). A re-seal that is both due and one of these counts here.
	EventResealed
	// EventSaved: a changed session was written (new, or Set, SetSubject,
	// flashes, Renew…).
	EventSaved
	// EventSaveFailed: the session could not be written; Err says why:
	// cookie.ErrTooLarge or a key that cannot seal (then the
	// Options.ErrorHandler answered the request), or ErrBypassed (the
	// response went out around the middleware and the change is lost).
	EventSaveFailed
	// EventRenewed: Session.Renew gave the session a new id and issued-at.
	EventRenewed
	// EventDestroyed: Session.Destroy ended the session. Err matches
	// ErrNoSubject when it revoked nothing because the session the
	// cookie carried had no subject (a copy of the cookie stays valid).
	EventDestroyed

	numEventKinds
)

var eventNames = [numEventKinds]string{
	"none", "rejected", "opened", "revoke_checked", "revoke_fault",
	"refreshed", "resealed", "saved", "save_failed", "renewed", "destroyed",
}

// String returns the kind's stable snake_case name ("rejected",
// "resealed", …).
func (k EventKind) String() string {
	if k < numEventKinds {
		return eventNames[k]
	}
	return "unknown"
}

// EventKinds lists every event kind.
func EventKinds() []EventKind {
	out := make([]EventKind, 0, numEventKinds-1)
	for k := EventRejected; k < numEventKinds; k++ {
		out = append(out, k)
	}
	return out
}

// Event is what a [Manager] tells its [Observer]. It is a value: observing
// costs the manager no allocation. Fields not listed for a kind are zero.
type Event struct {
	Kind EventKind
	// Cookie is the manager's cookie name.
	Cookie string
	// Request is the request the event belongs to. Read it, do not keep
	// it past Observe.
	Request *http.Request
	// Reason is why a cookie was rejected (EventRejected), as
	// cookie.ReasonOf(Err).
	Reason cookie.Reason
	// Err is the error of EventRejected, EventRevokeChecked,
	// EventRevokeFault and EventSaveFailed, and of an EventDestroyed that
	// revoked nothing (ErrNoSubject). Its text never holds a cookie value
	// or key material.
	Err error
	// KeyID and Epoch name the key that sealed the cookie
	// (EventOpened, EventRefreshed, EventResealed) or that a rejected
	// cookie claimed (EventRejected for ReasonUnknownKey and
	// ReasonEpochOutOfWindow).
	KeyID, Epoch uint32
	// Duration is how long a revocation check took (EventRevokeChecked).
	Duration time.Duration
	// SessionID and Subject are the opened session's (EventOpened only).
	// They identify a user: do not log them. Building them costs a
	// listened request one small allocation (none with a Revoker, which
	// needs them anyway).
	SessionID, Subject string
}

// Observer is told of every [Event] of a [Manager] (Options.Observer). Observe
// runs in the request's goroutine, after the session's lock is released
// (never while it is held), so it may call the [Session]; keep it fast and
// never block on I/O. It must be safe for concurrent use.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Observers returns an [Observer] that tells each of obs in turn (nil ones
// skipped): one for metrics, one for active-session counting, ….
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) Observe(e Event) {
	for _, o := range m {
		o.Observe(e)
	}
}

// rejected is the event of a rejected cookie.
func rejected(err error) Event {
	e := Event{Kind: EventRejected, Err: err, Reason: cookie.ReasonOf(err)}
	if re := cookie.RejectOf(err); re != nil {
		e.KeyID, e.Epoch = re.KeyID, re.Epoch
	}
	return e
}

// NewLogObserver returns an [Observer] that logs to l ([slog.Default] when l
// is nil) one record per event worth an operator's attention, at these
// levels:
//
//   - Debug: a rejected cookie (reason "tampered", "idle_expired",
//     "malformed", "revoked", …), a refresh, a rotation re-seal, a renew,
//     a destroy. Clients send junk all day; at Debug it costs nothing in
//     production and answers "why was I logged out?" when turned on.
//   - Warn: a rejected cookie whose reason points at the fleet rather than
//     the client: "unknown_key" and "epoch_out_of_window" (a deploy that
//     removed a key too early, an instance without the new key, clocks
//     apart) and "timestamps_invalid" (a clock ahead). The claimed key ID
//     and epoch are logged. A destroy that revoked nothing because the
//     session had no subject ([ErrNoSubject], logged as "err"): an app
//     whose logged-in sessions lack a subject gets logouts that a copied
//     cookie survives. A forger or an anonymous visitor can produce these
//     too; nothing is rate-limited, so filter or sample in the handler if
//     that matters.
//   - Error: a revocation fault (store down or too slow) and a session
//     that could not be saved (the ErrorHandler answered, by default a
//     500; or, [ErrBypassed], the change was lost).
//
// Opens, revocation checks and saves happen on every request: they are
// for metrics, and it never logs them. Never logged: cookie values, keys,
// payloads, session ids, subjects. Every record has "cookie" (the name),
// "event", and the request's "method" and "path" (none for
// [Manager.RevokeSubject]'s fault); rejections add "reason", faults and
// failed saves "err" (whose text never holds a cookie value or key).
//
// Set it as Options.Observer, alone or beside others ([Observers]); it
// then takes over the default logging of faults and failed saves, so
// each is logged once, by it. It is safe for concurrent use.
func NewLogObserver(l *slog.Logger) Observer {
	return logObserver{l}
}

type logObserver struct{ l *slog.Logger }

func (o logObserver) Observe(e Event) {
	l := o.l
	if l == nil {
		l = slog.Default()
	}
	logEvent(l, e)
}

// logEvent logs e to l as NewLogObserver says.
func logEvent(l *slog.Logger, e Event) {
	level := slog.LevelDebug
	switch e.Kind {
	case EventOpened, EventRevokeChecked, EventSaved:
		return // per request: metrics, not logs
	case EventRejected:
		switch e.Reason {
		case cookie.ReasonUnknownKey, cookie.ReasonEpochOutOfWindow, cookie.ReasonTimestamps:
			level = slog.LevelWarn
		}
	case EventRevokeFault, EventSaveFailed:
		level = slog.LevelError
	case EventDestroyed:
		if e.Err != nil {
			level = slog.LevelWarn
		}
	}
	ctx := context.Background()
	if e.Request != nil {
		ctx = e.Request.Context()
	}
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("cookie", e.Cookie), slog.String("event", e.Kind.String()))
	if e.Request != nil {
		attrs = append(attrs, slog.String("method", e.Request.Method), slog.String("path", e.Request.URL.Path))
	}
	switch e.Kind {
	case EventRejected:
		attrs = append(attrs, slog.String("reason", e.Reason.String()))
		if level == slog.LevelWarn {
			attrs = append(attrs, slog.Uint64("key_id", uint64(e.KeyID)), slog.Uint64("epoch", uint64(e.Epoch)))
		}
	case EventResealed:
		attrs = append(attrs, slog.Uint64("key_id", uint64(e.KeyID)), slog.Uint64("epoch", uint64(e.Epoch)))
	case EventRevokeFault, EventSaveFailed:
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	case EventDestroyed:
		if e.Err != nil {
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
	}
	l.LogAttrs(ctx, level, "cookieseal: session "+e.Kind.String(), attrs...)
}
