package middleware

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
)

// A session's own lifetime: two optional members of the envelope, sealed
// with the rest, so the client can neither extend nor drop them.
//
//	"dl": the session's absolute deadline, Unix milliseconds (an integer).
//	      The session ends when now is past dl + ClockSkew, as it does past
//	      issued-at + AbsoluteTimeout + ClockSkew; the earlier rule wins.
//	"p":  true for a persistent cookie (Max-Age), false for a
//	      browser-session cookie; absent, Options.BrowserSession decides.
//
// Envelopes without them (every envelope written before they existed)
// read as before.

// lifetime is the session's "dl" and "p".
type lifetime struct {
	deadline time.Time // zero: only the manager's AbsoluteTimeout
	persist  int8      // 0: the manager's choice; 1 persistent; -1 browser session
}

// The rejections of a malformed "dl" or "p", built once.
var (
	errDeadlineField = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: \"dl\" is not a positive integer of milliseconds", ErrPayload, cookie.ErrInvalid))
	errPersistField  = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: \"p\" is not a boolean", ErrPayload, cookie.ErrInvalid))
)

// parseLifetime reads "dl" and "p" from an indexed envelope. A "dl" that
// is not a positive integer, or a "p" that is not a boolean, is
// malformed: the session does not open.
func parseLifetime(b []byte, e envelope) (lifetime, error) {
	var l lifetime
	if e.dl.ok() {
		ms, ok := parseInt(b[e.dl.start:e.dl.end], 64)
		if !ok || ms <= 0 {
			return l, errDeadlineField
		}
		l.deadline = time.UnixMilli(ms)
	}
	if e.p.ok() {
		switch string(b[e.p.start:e.p.end]) {
		case "true":
			l.persist = 1
		case "false":
			l.persist = -1
		default:
			return l, errPersistField
		}
	}
	return l, nil
}

// appendTo adds "dl" and "p" to an encoded envelope (which ends in '}').
func (l lifetime) appendTo(b []byte) []byte {
	if l.deadline.IsZero() && l.persist == 0 {
		return b
	}
	b = b[:len(b)-1]
	if !l.deadline.IsZero() {
		b = append(b, `,"dl":`...)
		b = strconv.AppendInt(b, l.deadline.UnixMilli(), 10)
	}
	switch l.persist {
	case 1:
		b = append(b, `,"p":true`...)
	case -1:
		b = append(b, `,"p":false`...)
	}
	return append(b, '}')
}

// capDeadline returns the earlier of t and the session's own deadline.
func (l lifetime) capDeadline(t time.Time) time.Time {
	if !l.deadline.IsZero() && l.deadline.Before(t) {
		return l.deadline
	}
	return t
}

// checkLifetime applies the session's own deadline at open, with the
// codec's skew allowance.
func (st *state) checkLifetime(l lifetime) error {
	if !l.deadline.IsZero() && st.m.cfg.Now().After(l.deadline.Add(st.m.cfg.ClockSkew)) {
		return fmt.Errorf("%w: the session's own deadline", cookie.ErrExpired)
	}
	return nil
}

// persistent reports whether the session's cookie has a Max-Age.
func (st *state) persistent() bool {
	if st.life.persist != 0 {
		return st.life.persist > 0
	}
	return !st.m.cfg.BrowserSession
}

// maxAge is the Max-Age of the session's cookie set at now for a session
// ending at deadline: whole seconds, at least 1; 0 for a browser-session
// cookie.
func (st *state) maxAge(now, deadline time.Time) int {
	if !st.persistent() {
		return 0
	}
	return max(int(deadline.Sub(now)/time.Second), 1)
}

// expiresAttrLen is what a persistent cookie's line has that a
// browser-session one lacks, Max-Age's digits aside:
// "; Max-Age=" and "; Expires=" with an http.TimeFormat date.
const expiresAttrLen = len("; Max-Age=") + len("; Expires=") + len(http.TimeFormat)

// lineLen is config.lineLen for this session's cookie, which may be
// persistent when the manager's are browser-session cookies or the
// other way round.
func (st *state) lineLen(nameLen, valueLen, maxAge int) int {
	c := &st.m.cfg
	switch p := st.persistent(); {
	case p == !c.BrowserSession:
		return c.lineLen(nameLen, valueLen, maxAge)
	case p:
		return c.lineLen(nameLen, valueLen, maxAge) + expiresAttrLen + decimalLen(maxAge)
	default:
		return c.lineLen(nameLen, valueLen, 1) - expiresAttrLen - decimalLen(1)
	}
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

// Status reports what the response will do with the cookie, as things
// stand: it follows the same rule as the write before the first byte of
// the response. After the response has started, it is what was done.
// Unmodified when the handler has returned.
func (s *Session) Status() SaveStatus {
	st, err := s.lock()
	if err != nil {
		return Unmodified
	}
	defer s.unlock()
	return st.status()
}

func (st *state) status() SaveStatus {
	m := st.m
	switch {
	case st.frozen:
		return Unmodified
	case st.dirty:
		return Modified
	case st.valid:
		now := m.cfg.Now()
		kr := m.keys.Keyring()
		if st.reseal || now.Sub(st.meta.RefreshedAt) >= m.cfg.RefreshAfter || m.outdated(st.meta, kr, now) {
			return Refreshed
		}
	case st.clear && st.destroyed && m.cfg.MaxChunks > 1, st.clear && len(st.present()) > 0:
		return Cleared
	}
	return Unmodified
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

func (st *state) absDeadline() time.Time {
	var iat time.Time
	switch {
	case st.mat:
		iat = st.issuedAt
	case st.valid:
		iat = st.meta.IssuedAt
	}
	if iat.IsZero() {
		return time.Time{}
	}
	return st.life.capDeadline(iat.Add(st.m.cfg.AbsoluteTimeout))
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
	refreshed := st.meta.RefreshedAt
	if st.status() != Unmodified || !st.valid {
		refreshed = laterOf(st.m.now(), st.issuedAt)
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
// with an error matching ErrValue (use Destroy to end a session now).
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
		t = st.life.capAt(t, st.issuedAt.Add(st.m.cfg.AbsoluteTimeout))
	}
	if !t.Equal(st.life.deadline) {
		st.life.deadline = t
		st.dirty = true
	}
	return nil
}

// capAt returns the earlier of t and limit.
func (lifetime) capAt(t, limit time.Time) time.Time {
	if t.After(limit) {
		return limit
	}
	return t
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
	if st.life.persist != p {
		st.life.persist = p
		st.dirty = true
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
