package middleware

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// state is one request's session, recycled through the manager's pool.
// Every field is guarded by sess.mu, except w's own bookkeeping, which
// only the handler's goroutine touches (as net/http requires).
type state struct {
	m    *Manager
	sess *Session
	r    *http.Request
	w    *writer // the request's writer (in its reqCtx); nil when pooled

	loaded bool // the cookie was read (lazily, at first access)

	// What the request carried.
	nplain  int            // plain cookies named name
	chunked bool           // some cookie looked like a chunk of name
	cookies []*http.Cookie // those named name.*, kept only when chunked
	// joined is the pooled buffer a chunk set is joined into (see join).
	joined []byte

	// The opened session, valid when valid is true.
	valid   bool
	buf     []byte // pooled; payload lives here
	payload []byte
	meta    cookie.Meta
	env     envelope
	life    lifetime // the session's own deadline and cookie kind

	// frozen: the revocation check of the cookie faulted (fail closed).
	// The request has no session and the response leaves the cookie as
	// it is: no write, no clear (until Destroy). fault is that error.
	frozen bool
	fault  error
	// dup: the request carried the session cookie more than once; the
	// response expires every copy it does not write (expireCopies).
	dup bool
	// reseal: write the opened session back even if no refresh is due.
	reseal bool
	// retired: the opened session's id is revoked (Renew or Destroy ran).
	retired bool
	// floor is the earliest issue time a Renew may give the session: the
	// cut-off of a RevokeOthers in this request, which must not cover it.
	floor time.Time

	// The session as changed by the handler, once materialized.
	mat      bool
	id, sub  string
	openID   string // id and subject the cookie carried, for revocation
	openSub  string
	issuedAt time.Time
	data     map[string]json.RawMessage
	flashes  []json.RawMessage

	dirty     bool // re-encode and write
	clear     bool // clear every session cookie the request carried
	destroyed bool // Destroy ran: with chunking, clear every cookie name too
	committed bool // the response started; no more changes
	hijacked  bool // the connection was hijacked (after commit)
	ending    bool // a Commit is ending the session: any other answers ErrDone
	// lateOK: the response started before the session was touched, and
	// its header kept every shared cache out (sharedUncacheable), so a
	// late first read may personalise it (lateReadAllowed).
	lateOK bool

	pending []pendingCall // hooks to run once the lock is released
	// committedEv is what commit wrote, told to the observers once the
	// response's cookies pass the budget (writer.start).
	committedEv Event

	// Pooled scratch for a write: enc holds the encoded payload
	// (plaintext, wiped by reset), sealed the sealed value.
	enc, sealed []byte
}

// pendingCall is a report to make once the session's lock is released:
// an event for the observer, or, with none, a fault to log.
type pendingCall struct {
	ev     Event // for the observer, when ev.Kind is set
	logErr error // for slog.Default (no observer), when not nil
}

// reset clears the state for reuse; buffers keep their capacity. The
// decrypted payload is wiped, so no session's plaintext lingers in the
// pool.
func (st *state) reset() {
	clear(st.buf[:cap(st.buf)])
	buf := st.buf[:0]
	if cap(buf) > 64<<10 {
		buf = nil
	}
	pending := st.pending[:0]
	fields := st.env.fields[:0]
	if cap(fields) > 256 {
		fields = nil
	}
	clear(st.enc[:cap(st.enc)])
	enc, sealed, joined := keepScratch(st.enc), keepScratch(st.sealed), keepScratch(st.joined)
	*st = state{buf: buf, pending: pending, env: envelope{fields: fields}, enc: enc, sealed: sealed, joined: joined}
}

// rawID returns the id the cookie carried.
func (st *state) rawID() string {
	if st.openID == "" && st.env.id.ok() {
		st.openID = unquote(st.payload[st.env.id.start+1 : st.env.id.end-1])
	}
	return st.openID
}

// rawSub returns the subject the cookie carried.
func (st *state) rawSub() string {
	if st.openSub == "" && st.env.sub.ok() {
		st.openSub = unquote(st.payload[st.env.sub.start+1 : st.env.sub.end-1])
	}
	return st.openSub
}

// materialize copies the opened session into editable form.
func (st *state) materialize() error {
	if st.mat {
		return nil
	}
	if !st.valid {
		st.mat = true
		return nil
	}
	// The values stay where they are, in the opened payload: it is
	// written once (load) and lives in the state's buffer until reset,
	// which drops these maps with it; nothing hands a value out without
	// decoding or copying it, and each is capped at its end, so nothing
	// can append into its neighbour.
	var data map[string]json.RawMessage
	var flashes []json.RawMessage
	if st.env.data.ok() {
		data = make(map[string]json.RawMessage, len(st.env.fields))
		for _, f := range st.env.fields {
			data[unquote(st.payload[f.key.start:f.key.end])] = st.payload[f.val.start:f.val.end:f.val.end]
		}
	}
	if st.env.flashes.ok() {
		err := eachElement(st.payload, st.env.flashes, func(v span) error {
			flashes = append(flashes, st.payload[v.start:v.end:v.end])
			return nil
		})
		if err != nil {
			return cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w", ErrPayload, err))
		}
	}
	st.id, st.sub = st.rawID(), st.rawSub()
	st.issuedAt = st.meta.IssuedAt
	st.data, st.flashes = data, flashes
	st.mat = true
	return nil
}

// ensure gives a new session its id and issue time.
func (st *state) ensure() {
	if st.id == "" {
		st.id = newID()
		st.issuedAt = st.m.now()
	}
}

// get returns the raw JSON of key.
func (st *state) get(key string) (json.RawMessage, bool) {
	if st.mat {
		v, ok := st.data[key]
		return v, ok
	}
	if !st.valid {
		return nil, false
	}
	return lookup(st.payload, st.env.fields, key)
}

// empty leaves the request with no session.
func (st *state) empty() {
	st.valid = false
	st.payload = nil
	st.id, st.sub, st.issuedAt = "", "", time.Time{}
	st.life = lifetime{}
	st.data, st.flashes = nil, nil
	st.dirty = false
	st.reseal = false
}

// queueFault reports a revocation fault that no call returns to the
// handler (a failed check while loading, a legacy cookie's revocation at
// migration): to the observer as EventRevokeFault, or, with none, to
// slog.Default, once the session's lock is released.
func (st *state) queueFault(err error) {
	if st.m.observing() {
		st.queue(Event{Kind: EventRevokeFault, Err: err})
		return
	}
	st.pending = append(st.pending, pendingCall{logErr: err})
}

// queue records e for the observers, told once the session's lock is
// released (Session.unlock).
func (st *state) queue(e Event) {
	if st.m.observing() {
		e.Request = st.r
		st.pending = append(st.pending, pendingCall{ev: e})
	}
}

// Session is one request's session. Reach it with From (or
// Manager.Session) inside a handler wrapped by Manager.Handler. It is safe
// for use by several goroutines of the same request; after the handler
// returns, every method answers ErrDone (or a zero value).
//
// A request without a valid session cookie has an empty session: ID is
// empty and Get finds nothing. It comes into existence, with a new random
// id, when something is stored in it.
type Session struct {
	mu sync.Mutex
	st *state
}

// SaveStatus is what the response will do with the session's cookie.
type SaveStatus uint8

const (
	// Unmodified: the response leaves the cookie as it is.
	Unmodified SaveStatus = iota
	// Refreshed: the response writes the session back unchanged, with
	// new timestamps (a refresh is due, or the key that sealed it is no
	// longer primary).
	Refreshed
	// Modified: the session changed; the response writes it.
	Modified
	// Cleared: the response clears the cookie (Destroy, or a bad,
	// expired or revoked cookie).
	Cleared
)

// String returns the status's name.
func (s SaveStatus) String() string {
	switch s {
	case Unmodified:
		return "unmodified"
	case Refreshed:
		return "refreshed"
	case Modified:
		return "modified"
	case Cleared:
		return "cleared"
	}
	return "SaveStatus(" + strconv.Itoa(int(s)) + ")"
}

// outdated reports whether a valid session's cookie, with header meta,
// is re-sealed even when no refresh is due: the key or epoch that sealed
// it no longer seals (rotation draining an old key), or it is in the
// format Options.Format does not write (a format switch draining the
// other one).
func (m *Manager) outdated(meta cookie.Meta, kr *keyring.Keyring, now time.Time) bool {
	return meta.KeyID != kr.Primary().ID || (kr.EpochPeriod() != 0 && meta.Epoch != kr.Epoch(now)) ||
		meta.Format != m.cfg.Format
}
