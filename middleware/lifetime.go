package middleware

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
)

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
	if st.edit.life.persist != 0 {
		return st.edit.life.persist > 0
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

func (st *state) absDeadline() time.Time {
	var iat time.Time
	switch {
	case st.edit.mat:
		iat = st.edit.issuedAt
	case st.opened.valid:
		iat = st.opened.meta.IssuedAt
	}
	if iat.IsZero() {
		return time.Time{}
	}
	return st.edit.life.capDeadline(iat.Add(st.m.cfg.AbsoluteTimeout))
}
