package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Code the caller supplied runs while s.mu is held: the Revoker, the
// LegacyDecoder, the keyring.Provider, Options.Codec.Now and Options.Codec.Usage
// (through load, commit and status), and a value's UnmarshalJSON (Get).
// The rule: no such call can leave the lock held. If one panics (or
// calls runtime.Goexit), the lock is released as the panic unwinds, and
// the panic goes on up to net/http unchanged, which logs it (apart from
// http.ErrAbortHandler) and drops the connection. A lock left held would
// block Handler's deferred release forever: the goroutine and the
// connection would leak, and the panic would never be logged. So every
// section that holds s.mu and calls out releases it in a defer: lock's
// callers defer s.unlock as soon as it returns, commitUnlock (writer.start,
// Commit) and freeze (writer.finish) defer it, and lock itself, which
// keeps the lock on success, releases it in load's deferred unlockUnless.
// Nothing calls out between taking the lock and deferring its release;
// the sections with no defer (Hijack, end, mutateFrozen's checks) call
// nothing the caller supplied.

// lock locks s and returns its loaded state, or ErrDone / ErrNoMiddleware.
// On success the caller must call s.unlock (in a defer, when it calls
// out before releasing).
func (s *Session) lock() (*state, error) {
	if s == nil {
		return nil, ErrNoMiddleware
	}
	s.mu.Lock()
	st := s.st
	if st == nil {
		s.mu.Unlock()
		return nil, ErrDone
	}
	if !st.loaded {
		if st.resp.committed && !st.lateReadAllowed() {
			s.mu.Unlock()
			return nil, errLateRead
		}
		s.load(st)
	}
	return st, nil
}

// load reads and opens the request's cookie (state.load), s locked. The
// lock stays held when it returns, and is released if it panics.
func (s *Session) load(st *state) {
	loaded := false
	defer s.unlockUnless(&loaded)
	st.load()
	loaded = true
}

// unlockUnless releases s unless *done: deferred, it releases the lock
// when the code between the defer and setting *done panics.
func (s *Session) unlockUnless(done *bool) {
	if !*done {
		s.mu.Unlock()
	}
}

// commitUnlock commits st, with s locked by the caller, and releases s
// whatever the commit does (it calls the clock, the key provider and
// Usage). It returns what commit wrote for the observers, whether the
// response depends on the session, and the commit's error.
func (s *Session) commitUnlock(st *state) (ev Event, private bool, err error) {
	defer s.unlock()
	err = st.commit()
	private = err == nil && st.dependsOnSession()
	if h := st.w.ResponseWriter.Header(); !st.loaded && len(h["Cache-Control"]) > 0 {
		// The header as it goes out, for a first read after it
		// (lateReadAllowed): taken now, on the handler's goroutine.
		st.resp.lateOK = sharedUncacheable(h)
	}
	return st.resp.committedEv, private, err
}

// unlock releases s and then runs the hooks that loading queued, so that
// they may take as long as they like.
func (s *Session) unlock() {
	st := s.st
	if st == nil || len(st.pending) == 0 {
		s.mu.Unlock()
		return
	}
	var small [4]pendingCall // most requests queue fewer: no allocation
	calls := append(small[:0], st.pending...)
	clear(st.pending)
	st.pending = st.pending[:0]
	r, m := st.r, st.m
	s.mu.Unlock()
	for _, c := range calls {
		if c.logErr != nil {
			logFault(r, c.logErr)
		}
		if c.ev.Kind != 0 {
			m.emit(c.ev)
		}
	}
}

// mutate locks s for a change: the session is materialized and the
// response must not have started. A request whose revocation check
// faulted (fail closed) refuses every change but Destroy, with an error
// matching ErrRevokeFault: writing it would replace the user's cookie.
func (s *Session) mutate() (*state, error) {
	return s.mutateFrozen(false)
}

func (s *Session) mutateFrozen(allowFrozen bool) (*state, error) {
	st, err := s.lock()
	if err != nil {
		return nil, err
	}
	if st.resp.committed {
		s.unlock()
		return nil, ErrResponseStarted
	}
	if st.opened.frozen && !allowFrozen {
		err := fmt.Errorf("%w; the change is dropped and the cookie kept: %w", errFrozen, st.opened.fault)
		s.unlock()
		return nil, err
	}
	if err := st.materialize(); err != nil {
		s.unlock()
		return nil, err
	}
	return st, nil
}

// ID returns the session's id: 22 characters of base64url for 128 random
// bits, or "" when the request has no session yet.
func (s *Session) ID() string {
	return current(s, func(st *state) string { return st.edit.id }, (*state).rawID)
}

// Subject returns the session's subject (the user), or "".
func (s *Session) Subject() string {
	return current(s, func(st *state) string { return st.edit.sub }, (*state).rawSub)
}

// Authenticated reports whether the session has a subject: SetSubject
// was called with one, in this request or in an earlier one whose cookie
// this request carried. It is the logged-in check. [From] always returns a
// session, anonymous or not (an anonymous one may hold a cart or a
// flash), so neither its error nor an ID or a stored value says who is
// logged in; Authenticated does. False for a rejected, expired or revoked
// cookie, after Destroy, when a revocation check faulted under fail
// closed, and once the handler has returned. [RequireSubject] puts it in
// front of a handler.
func (s *Session) Authenticated() bool {
	return s.Subject() != ""
}

// current reads a field of the session as the handler sees it: from the
// edited session once materialized, else from the opened cookie; the zero
// value when there is no session or the handler has returned.
func current[T any](s *Session, edited, opened func(*state) T) T {
	var zero T
	st, err := s.lock()
	if err != nil {
		return zero
	}
	defer s.unlock()
	switch {
	case st.edit.mat:
		return edited(st)
	case st.opened.valid:
		return opened(st)
	}
	return zero
}

// SetSubject sets the session's subject, the user it belongs to (any
// string of bytes, compared exactly). Revocation by subject
// ([Manager.RevokeSubject], RevokeOthers) finds the session through it, and
// Destroy revokes it only when it has one. Call Renew first when the
// subject changes at login. An empty subject removes it: the session
// stays, anonymous (Authenticated is false), with its values; to log out,
// call Destroy. The error matches [ErrResponseStarted] when the response
// has begun, [ErrRevokeFault] when the request's revocation check faulted
// (fail closed: the change is dropped), [ErrDone] after the handler
// returned.
func (s *Session) SetSubject(subject string) error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	st.ensure()
	if st.edit.sub != subject {
		st.edit.sub = subject
		st.edit.dirty = true
	}
	return nil
}

// IssuedAt returns when the session was issued (created, or last renewed),
// at millisecond precision, or the zero time when there is no session.
func (s *Session) IssuedAt() time.Time {
	return current(s, func(st *state) time.Time { return st.edit.issuedAt }, func(st *state) time.Time { return st.opened.meta.IssuedAt })
}

// Get returns the value stored under key, decoded into a T, and whether
// the key is present. A value that does not decode into a T gives an error
// matching [ErrType]. Numbers keep their exact value: an int64 stored is the
// int64 read; numbers decoded into interface types are [json.Number].
//
//	uid, ok, err := middleware.Get[int64](sess, "user_id")
func Get[T any](s *Session, key string) (T, bool, error) {
	var v T
	st, err := s.lock()
	if err != nil {
		return v, false, err
	}
	defer s.unlock()
	raw, ok := st.get(key)
	if !ok {
		return v, false, nil
	}
	if f, ok := decodeFast[T](raw); ok {
		return f, true, nil
	}
	return getSlow[T](st.m, raw, key)
}

// Get is the dynamic form of the package's Get: the value under key as an
// any (strings, bools, [json.Number], []any, map[string]any or nil).
func (s *Session) Get(key string) (any, bool, error) {
	return Get[any](s, key)
}

// Set stores v, encoded as JSON, under key. The error matches [ErrValue]
// when v does not encode, [ErrResponseStarted] when the response has begun.
func (s *Session) Set(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrValue, key, err)
	}
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	st.ensure()
	if st.edit.data == nil {
		st.edit.data = map[string]json.RawMessage{}
	}
	st.edit.data[key] = raw
	st.edit.dirty = true
	return nil
}

// Delete removes key.
func (s *Session) Delete(key string) error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	if _, ok := st.edit.data[key]; ok {
		delete(st.edit.data, key)
		st.edit.dirty = true
	}
	return nil
}

// Clear removes every value and flash, keeping the session's id and
// subject. To end the session, use Destroy.
func (s *Session) Clear() error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	if len(st.edit.data) > 0 || len(st.edit.flashes) > 0 {
		clear(st.edit.data)
		st.edit.flashes = nil
		st.edit.dirty = true
	}
	return nil
}

// Keys returns the stored keys, sorted.
func (s *Session) Keys() []string {
	st, err := s.lock()
	if err != nil {
		return nil
	}
	defer s.unlock()
	if st.materialize() != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(st.edit.data))
}

// Values returns a copy of every stored value, decoded as by
// [Session.Get].
func (s *Session) Values() (map[string]any, error) {
	st, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.unlock()
	if err := st.materialize(); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(st.edit.data))
	for k, raw := range st.edit.data {
		var v any
		if err := decode(st.m, raw, &v); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrType, k, err)
		}
		out[k] = v
	}
	return out, nil
}

// AddFlash queues a one-time message (any JSON-encodable value) for a
// later request, which reads it with [PopFlashes] or [Session.Flashes]. At
// most Options.MaxFlashes are kept: past it, and whenever the flashes
// would make the session too large for its cookie, the oldest are
// dropped, so repetition by a client that never reads them cannot grow
// the session or fail the response.
func (s *Session) AddFlash(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: flash: %w", ErrValue, err)
	}
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	st.ensure()
	if over := len(st.edit.flashes) + 1 - st.m.cfg.MaxFlashes; over > 0 {
		st.edit.flashes = slices.Delete(st.edit.flashes, 0, min(over, len(st.edit.flashes))) // the oldest go
	}
	st.edit.flashes = append(st.edit.flashes, raw)
	st.edit.dirty = true
	return nil
}

// PopFlashes returns the queued flashes decoded into T and removes them:
// each is seen once. If one does not decode, none is removed and the error
// matches [ErrType].
func PopFlashes[T any](s *Session) ([]T, error) {
	st, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.unlock()
	if !st.edit.mat && !(st.opened.valid && st.opened.env.Flashes.Ok()) {
		return nil, nil // nothing queued: no need to materialize
	}
	if err := st.materialize(); err != nil {
		return nil, err
	}
	if len(st.edit.flashes) == 0 {
		return nil, nil
	}
	if st.resp.committed {
		return nil, ErrResponseStarted
	}
	out := make([]T, len(st.edit.flashes))
	for i, raw := range st.edit.flashes {
		if err := decode(st.m, raw, &out[i]); err != nil {
			return nil, fmt.Errorf("%w: flash %d: %w", ErrType, i, err)
		}
	}
	st.edit.flashes = nil
	st.edit.dirty = true
	return out, nil
}

// Flashes is the dynamic form of [PopFlashes].
func (s *Session) Flashes() ([]any, error) {
	return PopFlashes[any](s)
}

// Renew gives the session a new id and issue time, keeping its data. Call
// it at login and at every privilege change: an attacker who planted or
// learned the old id (session fixation) is left holding a session that no
// longer exists. The absolute timeout restarts from now. A request with
// no session (no cookie, or one refused: revoked, expired, tampered) has
// nothing to renew: Renew does nothing and returns nil, and the response
// writes no cookie unless something is then stored (SetSubject, Set…),
// so that a stale tab's Renew cannot overwrite a newer session.
//
// With a Revoker, Renew first checks the session again (a revocation may
// have landed since the request opened it), and the renewed session's
// issue time is the instant that check started, so a revocation that
// lands during or after the check still covers it: there is no gap
// between check and renewal. A revoked session cannot be renewed: the
// error matches [github.com/cookieseal/cookieseal/revoke.ErrRevoked] and the
// session becomes empty; its cookie is left as it is, like every revoked
// cookie's (another tab may hold a newer one). That holds for a
// [Manager.RevokeSubject] of the session's own subject made earlier in the same
// request: it logs this session out too ([Session.RevokeOthers] is the call
// that keeps it). When the check faults, the fail policy applies: fail closed,
// the error matches [ErrRevokeFault], the request has no session and its cookie
// is left as it is; with InsecureRevokeFailOpen, the session is renewed and
// the error matches ErrRevokeFault.
//
// Every Renew checks, a second one in the same request included: it
// checks the session the first one issued, so a revocation that landed
// between them still holds. A session with a subject is then renewed as
// issued one millisecond before the check starts, so a RevokeSubject in
// the same millisecond covers it too (an anonymous session, or none, is
// renewed as issued at the instant Renew starts); after a RevokeOthers in
// the same request, never earlier than that call's instant, which its own
// revocation does not cover.
//
// Then the old id is revoked until no copy of it can open, whether or
// not the session has a subject (a planted anonymous id is what session
// fixation uses): call Renew after authenticating someone, not on
// requests any stranger can make. If that fails, the session is renewed
// anyway and the error matches ErrRevokeFault.
//
// A Destroy of the same session by another request (a second tab, a copy
// of the cookie) that lands while Renew runs is never erased by the
// renewed id: after revoking the old id, Renew checks for that Destroy's
// tombstone, and when it finds one the session is not renewed, it
// becomes empty (no cookie written) and the error matches
// revoke.ErrRevoked. A Destroy that lands after that check ends a
// session already renewed, like a logout from a stale tab: the renewed
// session lives. A fault of that check follows the fail policy, as the
// first check's.
func (s *Session) Renew() error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	m := st.m
	if st.edit.id == "" {
		return nil // no session: nothing to renew, nothing to write
	}
	start := m.now()
	rs, checked := st.current()
	checked = checked && m.cfg.Revoker != nil
	// When a session with a subject is checked, the renewed one is issued
	// a millisecond before the check starts: a RevokeSubject whose instant
	// falls in the same millisecond as the check (instants are kept to
	// the millisecond, and a session is revoked when issued strictly
	// before) still covers it. An anonymous session has no subject to
	// revoke (and its id is revoked below), and a new login right after a
	// "log out everywhere" must not be covered by it.
	issued := start
	if checked && rs.Subject != "" {
		issued = start.Add(-time.Millisecond)
	}
	issued = laterOf(issued, st.edit.floor)
	var ferr error
	if checked {
		fault, stop := st.recheck(st.r.Context(), rs, "renew")
		if stop != nil {
			return stop
		}
		ferr = fault
	}
	return errors.Join(ferr, st.renew(st.r.Context(), issued, "renew"))
}

// RevokeOthers logs the session's user out of every other session and
// keeps this one: "log out my other devices", and the step after a
// password change. Every session of the session's subject issued before
// the call is revoked on every instance that shares the Revoker, as
// [Manager.RevokeSubject] does, and this session is renewed as Renew does
// (a new id, its data and subject kept, the old id revoked, the absolute
// timeout restarted), issued at the call's instant so that the
// revocation does not cover it. The response writes its cookie. ctx
// bounds the calls to the Revoker; RevokeCheckTimeout bounds its check.
//
// It first checks this session, as Renew does, so that it never erases
// a revocation from elsewhere: a session already revoked (a "log out
// everywhere" or a Destroy of a copy of its cookie that landed earlier)
// is not revived by its own RevokeOthers: the error matches
// [github.com/cookieseal/cookieseal/revoke.ErrRevoked] and the session becomes
// empty, its cookie left as it is. Nor is a Destroy of this session by another
// request that lands while RevokeOthers runs (during its revocation of the
// subject, say): the renewal checks for it last, as Renew does, and then this
// session is not renewed, it becomes empty (no cookie written), and the error
// matches revoke.ErrRevoked, the other sessions revoked all the same. A
// RevokeSubject that lands after the check is timed after the call, so it
// covers the renewed session too (unless it falls in the call's very
// millisecond, the precision of the instants; across instances,
// revocation ordering assumes synchronised clocks, see
// Manager.RevokeSubject).
//
// The error matches [ErrNoRevoker] without a Revoker, [ErrNoSubject] when
// the session has no subject (it revokes nothing then), and
// [ErrRevokeFault] when the store fails: a failed check follows the fail
// policy as in Renew (fail closed: the request has no session, its cookie
// is kept; fail open: the session is kept as it is) and revokes nothing;
// a failed revocation leaves everything as it was; a failed revocation of
// the old id after the subject's revocation leaves the session renewed,
// as in Renew. It also matches [ErrResponseStarted], [ErrDone] or
// [ErrNoMiddleware] as every change does.
func (s *Session) RevokeOthers(ctx context.Context) error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	m := st.m
	if m.cfg.Revoker == nil {
		return ErrNoRevoker
	}
	subject := st.edit.sub
	if subject == "" {
		return ErrNoSubject
	}
	// The cut-off: the revocation covers sessions issued strictly before
	// it, and the renewed session is issued at it. It is taken before the
	// check, so the check sees every revocation timed before the cut-off.
	cut := m.now()
	if rs, ok := st.current(); ok {
		fault, stop := st.recheck(ctx, rs, "revoke others")
		if stop != nil {
			return stop
		}
		if fault != nil {
			return fault
		}
	}
	if err := m.revokeSubject(ctx, subject, cut); err != nil {
		if errors.Is(err, ErrRevokeFault) {
			st.queue(Event{Kind: EventRevokeFault, Err: err})
		}
		return err
	}
	st.edit.floor = cut
	return st.renew(ctx, cut, "revoke others")
}

// Destroy ends the session: its data goes, and the response clears its
// cookie (every chunk included). Storing something afterwards starts a new
// session with a new id. When the clearing lines cannot fit the response
// beside the Set-Cookie lines the handler already added
// (Options.MaxResponseCookieBytes), the error matches
// [github.com/cookieseal/cookieseal/cookie.ErrTooLarge]: the cookie would not
// be cleared, and the response fails.
//
// Destroy always clears the cookie. It also clears it when the request's
// cookie was found revoked or expired (that request has no session, and
// without Destroy its response would leave the cookie as it is).
//
// With a Revoker, a session that has a subject is revoked until no copy
// of it can open on any instance, so a copy of the cookie stops working
// too: both the (subject, id) pair its cookie carried and, after a
// SetSubject in this request, the new pair. Before them it writes the
// session's tombstone, a second entry of the same size and lifetime, so
// that a Renew or RevokeOthers of the same session running in another
// request at the same time does not erase this logout with a renewed id
// (see Renew). A cookie found already revoked gets its tombstone too. If
// a write fails (the store is down), the cookie is cleared anyway and the
// error matches [ErrRevokeFault]: the revocation did not happen, and a copy
// of the cookie opens again once the store is back. This holds too when
// the request's own revocation check faulted.
//
// A session without a subject writes no revocation entry: it is
// anonymous, and anyone can get one, so revoking it would let
// unauthenticated clients grow the revocation list without bound. With a
// Revoker, Destroy of such a session (one its cookie carried, not one
// made in this request) says so: the error matches [ErrNoSubject], and
// means the cookie is cleared but a copy of it stays valid until it
// expires; the [EventDestroyed] carries the same error. That is harmless
// for a session that grants nothing (a cart) and a bug for one that
// does: an app that keeps its user as a value (Set("user_id", …))
// without SetSubject gets logouts that a copied cookie survives. Give
// every session that grants something a subject (SetSubject at login).
// Without a Revoker no Destroy revokes anything, with a subject or not:
// every copy of a cookie stays valid until it expires, as the
// configuration says, and Destroy returns nil for that.
//
// With a Revoker, a legacy cookie is retired by the request
// that migrates it (the first that opens it): its derived id is revoked,
// subject or not, and the native session gets another id, so the legacy
// cookie cannot be replayed, even after a Destroy of the (anonymous)
// native session. The cost: a request carrying the same legacy cookie
// concurrently with the migrating one has no session. When that
// revocation faults, the request has no session and the legacy cookie is
// kept, to migrate once the store answers (InsecureRevokeFailOpen:
// migrated anyway, keeping the legacy id).
func (s *Session) Destroy() error {
	st, err := s.mutateFrozen(true)
	if err != nil {
		return err
	}
	defer s.unlock()
	ctx := st.r.Context()
	// The cookie carried a session that nothing retired yet, without a
	// subject and not a legacy one (retired at migration whatever its
	// subject): no entry is written for it, and a copy stays valid. (With
	// a Revoker, admit read the cookie's id and subject for its check.)
	var noSubject error
	if st.m.cfg.Revoker != nil && (st.opened.valid || st.opened.frozen) && !st.opened.retired && st.opened.openID != "" &&
		st.opened.openSub == "" && !(st.opened.valid && !st.opened.env.ID.Ok()) {
		noSubject = fmt.Errorf("%w: Destroy revoked nothing; the cookie is cleared, but a copy of it stays valid until it expires", ErrNoSubject)
	}
	var rerr error
	if st.opened.stale {
		rerr = st.tombstone(ctx)
	} else {
		rerr = st.retire(ctx, false)
	}
	st.empty()
	st.opened.frozen = false
	st.edit.clear = true
	st.edit.destroyed = true
	st.queueRetire(EventDestroyed, rerr, noSubject)
	return errors.Join(noSubject, rerr, st.clearFits())
}

// Status reports what the response will do with the cookie, as things
// stand: it follows the same rule as the write before the first byte of
// the response. After the response has started, it is what was done.
// [Unmodified] when the handler has returned.
func (s *Session) Status() SaveStatus {
	st, err := s.lock()
	if err != nil {
		return Unmodified
	}
	defer s.unlock()
	return st.status()
}

// Deadline returns the session's absolute deadline: issued-at plus
// AbsoluteTimeout, or the session's own deadline (SetDeadline) when that
// is earlier. It is the instant the session ends however active it is,
// without the ClockSkew allowance, at millisecond precision. The zero
// time when the request has no session.
func (s *Session) Deadline() time.Time {
	st, err := s.lock()
	if err != nil {
		return time.Time{}
	}
	defer s.unlock()
	return st.absDeadline()
}

// IdleDeadline returns when the session ends if no further request comes:
// IdleTimeout after its last refresh (now, when this response writes it),
// and never after Deadline. No ClockSkew allowance, millisecond
// precision; the zero time when the request has no session.
func (s *Session) IdleDeadline() time.Time {
	st, err := s.lock()
	if err != nil {
		return time.Time{}
	}
	defer s.unlock()
	abs := st.absDeadline()
	if abs.IsZero() {
		return abs
	}
	refreshed := st.opened.meta.RefreshedAt
	if st.status() != Unmodified || !st.opened.valid {
		refreshed = laterOf(st.m.now(), st.edit.issuedAt)
	}
	idle := refreshed.Add(st.m.cfg.IdleTimeout)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// SetDeadline gives the session its own absolute deadline, sealed in the
// cookie so the client cannot extend it: a guest session shorter than the
// manager's AbsoluteTimeout, say. A t later than the manager's deadline
// (issued-at plus AbsoluteTimeout) is lowered to it; the zero time removes
// the session's own deadline. t is kept to the millisecond; the session
// ends when now is past t plus ClockSkew. A t not after now is refused
// with an error matching [ErrValue] (use Destroy to end a session now).
// Renew keeps the deadline. Like Set, it starts a session when the
// request has none.
func (s *Session) SetDeadline(t time.Time) error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	if !t.IsZero() {
		t = time.UnixMilli(t.UnixMilli())
		if !t.After(st.m.now()) {
			return fmt.Errorf("%w: deadline %v is not in the future", ErrValue, t)
		}
	}
	st.ensure()
	if !t.IsZero() {
		t = st.edit.life.capAt(t, st.edit.issuedAt.Add(st.m.cfg.AbsoluteTimeout))
	}
	if !t.Equal(st.edit.life.deadline) {
		st.edit.life.deadline = t
		st.edit.dirty = true
	}
	return nil
}

// SetRememberMe chooses the session's cookie kind: persistent (true: it
// has a Max-Age and outlives the browser) or a browser-session cookie
// (false: the browser drops it when it closes), whatever
// Options.BrowserSession says. The choice is sealed in the session and
// kept by every later write, Renew included. Either way the sealed
// timestamps still end the session (IdleTimeout, AbsoluteTimeout,
// SetDeadline). Like Set, it starts a session when the request has none.
func (s *Session) SetRememberMe(persistent bool) error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	st.ensure()
	p := int8(-1)
	if persistent {
		p = 1
	}
	if st.edit.life.persist != p {
		st.edit.life.persist = p
		st.edit.dirty = true
	}
	return nil
}

// RememberMe reports whether the session's cookie is persistent: the
// session's own choice (SetRememberMe), else the opposite of
// Options.BrowserSession. False when the handler has returned.
func (s *Session) RememberMe() bool {
	st, err := s.lock()
	if err != nil {
		return false
	}
	defer s.unlock()
	return st.persistent()
}
