package middleware

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
	"github.com/cookieseal/cookieseal/keyring"
)

// state is one request's session, recycled through the manager's pool.
// Every field is guarded by sess.mu, except w's own bookkeeping, which
// only the handler's goroutine touches (as net/http requires).
//
// Its fields are grouped by phase, each group owned by the room (file)
// that writes it; other rooms only read it:
//
//	carried  what the request carried            request.go
//	opened   the session the cookie opened       request.go, revocation.go
//	edit     the session as the handler left it state.go, session.go
//	resp     the response's commit bookkeeping   response.go, writer.go
//	scratch  pooled buffers, kept across reuse   request.go, response.go
//
// reset zeroes every group and keeps only the scratch buffers, the
// envelope's field index and the pending queue's capacity.
type state struct {
	m    *Manager
	sess *Session
	r    *http.Request
	w    *writer // the request's writer (in its reqCtx); nil when pooled

	loaded bool // the cookie was read (lazily, at first access)

	pending []pendingCall // hooks to run once the lock is released

	carried carriedCookies
	opened  openedSession
	edit    editedSession
	resp    responseState
	scratch scratchBufs
}

// carriedCookies is what the request's Cookie header carried (request.go
// reads it; duplicates.go and budget.go decide from it).
type carriedCookies struct {
	nplain  int    // plain cookies named name
	chunked bool   // some chunk name of name came
	seen    uint32 // bit i: chunk index i (below MaxChunks) came
	// beyond: the chunk names past MaxChunks that came (at most
	// maxBeyond), for the response to clear; kept across reuse.
	beyond []string
	// dup: the request carried anything but one copy of the session that
	// opens (see state.read and state.invalid); the response clears the
	// session's names at every place a copy can be (sweep), as it clears
	// the names past MaxChunks the request carried (beyond).
	dup bool
	// split: the request carried more than one value for the session
	// (copies that disagree, the plain cookie beside chunks, a gap), or a
	// chunk set that does not open (the user's chunks may be followed by
	// a planted one): one of them may be the user's own copy, so a
	// response without a write of its own leaves the configured place as
	// it is (see keepsOwn).
	split bool
}

// openedSession is the session the request's cookie opened, valid when
// valid is true, and what its checks found (request.go, revocation.go).
type openedSession struct {
	valid   bool
	payload []byte // in scratch.buf
	meta    cookie.Meta
	env     jsonscan.Envelope

	// frozen: the revocation check of the cookie faulted (fail closed).
	// The request has no session and the response leaves the cookie as
	// it is: no write, no clear (until Destroy). fault is that error.
	frozen bool
	fault  error
	// reseal: write the opened session back even if no refresh is due
	// (it came in identical copies: see state.load).
	reseal bool
	// retired: the opened session's id is revoked (Renew or Destroy ran).
	retired bool
	// stale: the cookie authenticated but its session was found revoked
	// (at load, or by a Renew's recheck); openID and openSub stay its
	// own, for the tombstone a Destroy of it writes.
	stale bool
	// openID and openSub are the id and subject the cookie carried, for
	// revocation.
	openID  string
	openSub string
}

// editedSession is the session as changed by the handler, once
// materialized (mat), and what the response must do with it (state.go,
// session.go; request.go sets dirty and clear for what it found).
type editedSession struct {
	mat      bool
	id, sub  string
	issuedAt time.Time
	data     map[string]json.RawMessage
	flashes  []json.RawMessage
	life     lifetime // the session's own deadline and cookie kind
	// floor is the earliest issue time a Renew may give the session: the
	// cut-off of a RevokeOthers in this request, which must not cover it.
	floor time.Time

	dirty     bool // re-encode and write
	clear     bool // clear every session cookie the request carried
	destroyed bool // Destroy ran: with chunking, clear every cookie name too
}

// responseState is the commit's bookkeeping (response.go, writer.go,
// cache.go, header.go).
type responseState struct {
	committed bool // the response started; no more changes
	hijacked  bool // the connection was hijacked (after commit)
	ending    bool // a Commit is ending the session: any other answers ErrDone
	// lateOK: the response started before the session was touched, and
	// its header kept every shared cache out (sharedUncacheable), so a
	// late first read may personalise it (lateReadAllowed).
	lateOK bool
	// committedEv is what commit wrote, told to the observers once the
	// response's cookies pass the budget (writer.start).
	committedEv Event
}

// scratchBufs are the pooled buffers a state keeps across requests.
type scratchBufs struct {
	buf []byte // the opened payload lives here
	// joined is the buffer a chunk set is joined into (see value).
	joined []byte
	// enc holds the encoded payload (plaintext, wiped by reset), sealed
	// the sealed value, for a write.
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
	clear(st.scratch.buf[:cap(st.scratch.buf)])
	buf := st.scratch.buf[:0]
	if cap(buf) > 64<<10 {
		buf = nil
	}
	pending := st.pending[:0]
	fields := st.opened.env.Fields[:0]
	if cap(fields) > 256 {
		fields = nil
	}
	clear(st.scratch.enc[:cap(st.scratch.enc)])
	enc, sealed, joined := keepScratch(st.scratch.enc), keepScratch(st.scratch.sealed), keepScratch(st.scratch.joined)
	clear(st.carried.beyond) // names from the request's header
	*st = state{
		pending: pending,
		carried: carriedCookies{beyond: st.carried.beyond[:0]},
		opened:  openedSession{env: jsonscan.Envelope{Fields: fields}},
		scratch: scratchBufs{buf: buf, joined: joined, enc: enc, sealed: sealed},
	}
}

// rawID returns the id the cookie carried.
func (st *state) rawID() string {
	if st.opened.openID == "" && st.opened.env.ID.Ok() {
		st.opened.openID = jsonscan.Unquote(st.opened.payload[st.opened.env.ID.Start+1 : st.opened.env.ID.End-1])
	}
	return st.opened.openID
}

// rawSub returns the subject the cookie carried.
func (st *state) rawSub() string {
	if st.opened.openSub == "" && st.opened.env.Sub.Ok() {
		st.opened.openSub = jsonscan.Unquote(st.opened.payload[st.opened.env.Sub.Start+1 : st.opened.env.Sub.End-1])
	}
	return st.opened.openSub
}

// materialize copies the opened session into editable form.
func (st *state) materialize() error {
	if st.edit.mat {
		return nil
	}
	if !st.opened.valid {
		st.edit.mat = true
		return nil
	}
	// The values stay where they are, in the opened payload: it is
	// written once (load) and lives in the state's buffer until reset,
	// which drops these maps with it; nothing hands a value out without
	// decoding or copying it, and each is capped at its end, so nothing
	// can append into its neighbour.
	var data map[string]json.RawMessage
	var flashes []json.RawMessage
	if st.opened.env.Data.Ok() {
		data = make(map[string]json.RawMessage, len(st.opened.env.Fields))
		for _, f := range st.opened.env.Fields {
			data[jsonscan.Unquote(st.opened.payload[f.Key.Start:f.Key.End])] = st.opened.payload[f.Val.Start:f.Val.End:f.Val.End]
		}
	}
	if st.opened.env.Flashes.Ok() {
		err := jsonscan.EachElement(st.opened.payload, st.opened.env.Flashes, func(v jsonscan.Span) error {
			flashes = append(flashes, st.opened.payload[v.Start:v.End:v.End])
			return nil
		})
		if err != nil {
			return cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w", ErrPayload, err))
		}
	}
	st.edit.id, st.edit.sub = st.rawID(), st.rawSub()
	st.edit.issuedAt = st.opened.meta.IssuedAt
	st.edit.data, st.edit.flashes = data, flashes
	st.edit.mat = true
	return nil
}

// ensure gives a new session its id and issue time.
func (st *state) ensure() {
	if st.edit.id == "" {
		st.edit.id = newID()
		st.edit.issuedAt = st.m.now()
	}
}

// get returns the raw JSON of key.
func (st *state) get(key string) (json.RawMessage, bool) {
	if st.edit.mat {
		v, ok := st.edit.data[key]
		return v, ok
	}
	if !st.opened.valid {
		return nil, false
	}
	return jsonscan.Lookup(st.opened.payload, st.opened.env.Fields, key)
}

// empty leaves the request with no session.
func (st *state) empty() {
	st.opened.valid = false
	st.opened.payload = nil
	st.edit.id, st.edit.sub, st.edit.issuedAt = "", "", time.Time{}
	st.edit.life = lifetime{}
	st.edit.data, st.edit.flashes = nil, nil
	st.edit.dirty = false
	st.opened.reseal = false
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

// Session is one request's session. Reach it with [From] (or
// [Manager.Session]) inside a handler wrapped by [Manager.Handler]. It is safe
// for use by several goroutines of the same request; after the handler
// returns, every method answers [ErrDone] (or a zero value).
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
	// Cleared: the response clears the cookie (Destroy, or a cookie
	// that does not authenticate, or copies that disagree). An authentic
	// cookie that expired or was revoked is not cleared: Unmodified; nor
	// are copies that disagree when one of them opens on its own (it may
	// be the user's: see the package doc's rule 3): Unmodified.
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
// format Options.Codec.Format does not write (a format switch draining the
// other one).
func (m *Manager) outdated(meta cookie.Meta, kr *keyring.Keyring, now time.Time) bool {
	return meta.KeyID != kr.Primary().ID || (kr.EpochPeriod() != 0 && meta.Epoch != kr.Epoch(now)) ||
		meta.Format != m.cfg.Format
}
