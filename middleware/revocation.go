package middleware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/revoke"
)

// revokeSubject writes the revocation of every session of subject issued
// before before. A store fault matches ErrRevokeFault; the caller tells
// the observer of it.
func (m *Manager) revokeSubject(ctx context.Context, subject string, before time.Time) error {
	// No bound of ours: ctx's, and the Revoker's own (revoke/redis:
	// Options.WriteTimeout, whose WAIT for replicas RevokeCheckTimeout
	// would cut short).
	err := m.cfg.Revoker.RevokeSubject(ctx, subject, before, before.Add(m.revokeTTL()))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, revoke.ErrInvalidArgument):
		return fmt.Errorf("middleware: %w", err) // a caller bug, not a store fault
	}
	return withReason(cookie.ReasonRevokeFault, fmt.Errorf("%w: %w", ErrRevokeFault, err))
}

// revokeTTL is how long after a session's issued-at it may still open on
// some instance: AbsoluteTimeout, plus ClockSkew for the instance that
// reads it, plus ClockSkew for a revocation store whose clock is behind,
// plus revokeMargin for truncation. A revocation entry lasts that long.
func (m *Manager) revokeTTL() time.Duration {
	return m.cfg.AbsoluteTimeout + 2*m.cfg.ClockSkew + revokeMargin
}

// check asks the Revoker about a session that authenticated. It returns
// revoked, an error matching revoke.ErrRevoked (reject), or fault,
// one matching ErrRevokeFault, for the caller's policy; both nil: accept.
// Each carries its reason (cookie.ReasonOf).
func (m *Manager) check(ctx context.Context, s revoke.SessionRef) (revoked, fault error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RevokeCheckTimeout)
	defer cancel()
	err := m.cfg.Revoker.Check(ctx, s)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, revoke.ErrRevoked):
		return withReason(cookie.ReasonRevoked, err), nil
	}
	return nil, withReason(cookie.ReasonRevokeFault, fmt.Errorf("%w: check: %w", ErrRevokeFault, err))
}

// revokeSession revokes one session until no copy of it can open on any
// instance (revokeTTL after its issued-at).
func (m *Manager) revokeSession(ctx context.Context, id, subject string, issuedAt time.Time) error {
	// Bounded by ctx and the Revoker's own write bound, as revokeSubject.
	until := issuedAt.Add(m.revokeTTL())
	if err := m.cfg.Revoker.RevokeSession(ctx, id, subject, until); err != nil {
		return withReason(cookie.ReasonRevokeFault, fmt.Errorf("%w: revoking session: %w", ErrRevokeFault, err))
	}
	return nil
}

// checkRevoked is Manager.check, timed and told to the observer as
// EventRevokeChecked. A fault is the caller's to report (queueFault, or
// EventRevokeFault beside the error it returns).
func (st *state) checkRevoked(ctx context.Context, rs revoke.SessionRef) (revoked, fault error) {
	m := st.m
	if !m.observing() {
		return m.check(ctx, rs)
	}
	start := time.Now()
	revoked, fault = m.check(ctx, rs)
	err := revoked
	if fault != nil {
		err = fault
	}
	st.queue(Event{Kind: EventRevokeChecked, Duration: time.Since(start), Err: err})
	return revoked, fault
}

// queueRetire tells the observers of a Renew or Destroy (with err as
// its Err), and of the revocation fault it met, if any.
func (st *state) queueRetire(kind EventKind, rerr, err error) {
	if rerr != nil {
		st.queue(Event{Kind: EventRevokeFault, Err: rerr})
	}
	st.queue(Event{Kind: kind, Err: err})
}

// renew gives the session a new id issued at issued, after revoking the
// old one (retire). The error is that revocation's fault, or what settling
// found (see below): then the session is not renewed.
//
// Settling closes the gap between the step's check (recheck) and the
// new cookie: a Destroy of the same session in another request (a
// second tab, the same cookie) that lands in it would otherwise be
// erased by the renewed id, which that Destroy cannot name. Destroy
// writes a tombstone of the session before anything else (see
// tombstoneID); renew, after its own revocation, checks the tombstone,
// as issued at the renewed session's issue time. So a Destroy whose
// tombstone lands before that check wins: the session is emptied, no
// cookie written, and the error matches revoke.ErrRevoked (a
// RevokeSubject that covers the renewed session is found the same way).
// One that lands after it comes after the old id was revoked here: it
// ends a session that was already renewed, as a logout from a stale tab
// does. Only a session with a subject is settled: Destroy revokes
// nothing of an anonymous one, so there is nothing to erase. A fault
// of that check follows the fail policy, as recheck's.
func (st *state) renew(ctx context.Context, issued time.Time, step string) error {
	m := st.m
	settle := m.cfg.Revoker != nil && st.opened.valid && !st.opened.retired && st.opened.openSub != ""
	rerr := st.retire(ctx, true)
	var fault error
	if settle {
		ref := revoke.SessionRef{ID: tombstoneID(st.opened.openID), Subject: st.opened.openSub, IssuedAt: issued}
		var stop error
		fault, stop = st.recheck(ctx, ref, step+": the session was revoked during it")
		if stop != nil {
			if rerr != nil {
				st.queue(Event{Kind: EventRevokeFault, Err: rerr})
			}
			return errors.Join(stop, rerr)
		}
	}
	st.edit.id = newID()
	st.edit.issuedAt = issued
	st.edit.dirty = true
	st.queueRetire(EventRenewed, rerr, nil)
	return errors.Join(fault, rerr)
}

// tombstonePrefix makes a session's tombstone id: a per-session
// revocation entry that Destroy writes before revoking the session
// itself, so that a Renew or RevokeOthers of the same session running
// at the same time finds it (see renew) and never renews a destroyed
// session. '/' is outside the base64url alphabet of session ids (native
// and legacy), so no session has a tombstone's id. It is under the
// session's subject, beside its other entries, and lasts as long.
const tombstonePrefix = "destroyed/"

// tombstoneID is the tombstone id of the session id.
func tombstoneID(id string) string { return tombstonePrefix + id }

// tombstone writes the tombstone of the session the cookie carried (see
// tombstonePrefix), for Destroy: when it has a subject and a Revoker is
// configured, else nothing.
func (st *state) tombstone(ctx context.Context) error {
	if st.m.cfg.Revoker == nil || st.opened.openSub == "" || st.opened.openID == "" {
		return nil
	}
	return st.m.revokeSession(ctx, tombstoneID(st.opened.openID), st.opened.openSub, st.opened.meta.IssuedAt)
}

// recheck checks the session rs against the revocation list before a
// step that renews it (Renew, RevokeOthers; step names it in errors). A
// revoked session is emptied (its cookie left as it is, as any revoked
// cookie's: see state.invalid); a fault is told to the observer and,
// unless the manager fails open, empties and freezes the session. stop
// is the error the step must return at once; fault is the check's fault
// that a fail-open manager goes on past.
func (st *state) recheck(ctx context.Context, rs revoke.SessionRef, step string) (fault, stop error) {
	revoked, fault := st.checkRevoked(ctx, rs)
	if fault != nil {
		st.queue(Event{Kind: EventRevokeFault, Err: fault})
	}
	switch {
	case revoked != nil:
		st.opened.stale = st.opened.stale || (st.opened.valid && !st.opened.retired)
		st.empty()
		return nil, fmt.Errorf("middleware: %s: %w", step, revoked)
	case fault != nil && !st.m.cfg.InsecureRevokeFailOpen:
		st.empty()
		st.opened.frozen, st.opened.fault = true, fault
		return nil, fault
	}
	return fault, nil
}

// retire revokes the session the request's cookie carried (opened, or
// refused only because its check faulted), once: the pair (subject, id)
// it carried and, after SetSubject, the pair with the current subject. A
// pair without a subject is skipped unless anonymous is set (Renew) or
// the session is a legacy one (see Destroy). Without anonymous (Destroy),
// the session's tombstone is written first (see renew).
func (st *state) retire(ctx context.Context, anonymous bool) error {
	m := st.m
	if m.cfg.Revoker == nil || st.opened.retired || !(st.opened.valid || st.opened.frozen) || st.opened.openID == "" {
		return nil
	}
	id, iat := st.opened.openID, st.opened.meta.IssuedAt
	legacy := st.opened.valid && !st.opened.env.ID.Ok()
	var errs []error
	if !anonymous {
		errs = append(errs, st.tombstone(ctx))
	}
	if st.opened.openSub != "" || legacy || anonymous {
		errs = append(errs, m.revokeSession(ctx, id, st.opened.openSub, iat))
	}
	if st.edit.mat && st.edit.id == id && st.edit.sub != st.opened.openSub && st.edit.sub != "" {
		errs = append(errs, m.revokeSession(ctx, id, st.edit.sub, iat))
	}
	err := errors.Join(errs...)
	st.opened.retired = err == nil
	return err
}

// current returns the session a revocation check must cover now: the
// one the cookie carried, or, once a Renew in this request retired it,
// the renewed one (its id, subject and issue time). ok is false when the
// request holds no such session.
func (st *state) current() (rs revoke.SessionRef, ok bool) {
	switch {
	case st.opened.retired && st.edit.mat && st.edit.id != "" && !st.edit.issuedAt.IsZero():
		return revoke.SessionRef{ID: st.edit.id, Subject: st.edit.sub, IssuedAt: st.edit.issuedAt}, true
	case st.opened.valid && !st.opened.retired:
		return revoke.SessionRef{ID: st.rawID(), Subject: st.rawSub(), IssuedAt: st.opened.meta.IssuedAt}, true
	}
	return revoke.SessionRef{}, false
}

// RevokeSubject logs subject out everywhere: every session of subject
// issued before now is rejected from now on, on every instance that shares
// the Revoker, the caller's own session included whatever ctx holds (to
// keep the caller logged in, use [Session.RevokeOthers]). The request that
// calls it keeps its session until its handler returns (its check ran
// when it opened the session; a Renew in it fails with [revoke.ErrRevoked]);
// its next request has none. The entry lasts until no such session can
// open anywhere: AbsoluteTimeout plus twice ClockSkew plus a second.
// Sessions issued after the call (a new login) are not affected. ctx
// bounds the call, with the Revoker's own write bound (not
// Options.RevokeCheckTimeout). The error matches [ErrNoRevoker] when no
// Revoker is configured, [revoke.ErrInvalidArgument] for an empty
// subject, and [ErrRevokeFault] when the store fails (then nothing is
// revoked, and the [Observer] hears an [EventRevokeFault] without a Request).
//
// "Now" is this instance's clock: revocation ordering across a fleet
// assumes clocks synchronised to NTP precision (milliseconds), as
// ordering by time always does. ClockSkew is an acceptance tolerance for
// cookies, not a revocation window: a session issued on an instance whose
// clock runs ahead, in the instants just before the call, is issued
// "after" it and survives, by at most that clock's lead.
func (m *Manager) RevokeSubject(ctx context.Context, subject string) error {
	if m.cfg.Revoker == nil {
		return ErrNoRevoker
	}
	err := m.revokeSubject(ctx, subject, m.cfg.Now())
	if err != nil && errors.Is(err, ErrRevokeFault) && m.observing() {
		m.emit(Event{Kind: EventRevokeFault, Err: err})
	}
	return err
}
