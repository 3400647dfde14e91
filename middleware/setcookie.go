package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The request's hot path without net/http's general-purpose cookie
// handling, which re-validates what this package already knows: a sealed
// value is base64url (or JWE compact: base64url and dots), so the
// Set-Cookie line is written directly instead of through
// http.Cookie.String (whose sanitizeCookieValue walks every byte again);
// and a request's Cookie header is scanned once for the session's own
// cookies instead of parsing every cookie with Request.Cookies. Both are
// checked against net/http, byte for byte, by hotpath_test.go. Scanning
// the Cookie header is in request.go (scanCookies).

// lineParts returns the attributes of the cookie's Set-Cookie lines as
// http.Cookie.String writes them: mid (Path and Domain, which come before
// Expires and Max-Age) and tail (HttpOnly, Secure, SameSite and
// Partitioned, which come after). They are the same for every name.
func (c *config) lineParts() (mid, tail string) {
	base := c.baseCookie("x", "")
	flags := http.Cookie{Name: "x", HttpOnly: base.HttpOnly, Secure: base.Secure, SameSite: base.SameSite, Partitioned: base.Partitioned}
	tail = strings.TrimPrefix(flags.String(), "x=")
	mid = strings.TrimSuffix(strings.TrimPrefix(base.String(), "x="), tail)
	return mid, tail
}

// setCookieLine is http.Cookie.String of m.cfg.baseCookie(name, value)
// with MaxAge maxAge and Expires now+maxAge when maxAge > 0 (neither for
// a browser-session cookie, maxAge 0), for a value that needs no sanitizing (a
// sealed value or a piece of one: http.Cookie.String would leave it as it
// is).
func (m *Manager) setCookieLine(name string, value []byte, now time.Time, maxAge int) string {
	c := &m.cfg
	var b strings.Builder
	b.Grow(len(name) + 1 + len(value) + len(c.lineMid) + len(c.lineTail) + len("; Expires=; Max-Age=") + len(http.TimeFormat) + 20)
	b.WriteString(name)
	b.WriteByte('=')
	b.Write(value)
	b.WriteString(c.lineMid)
	if maxAge > 0 {
		var buf [len(http.TimeFormat)]byte
		b.WriteString("; Expires=")
		b.Write(now.Add(time.Duration(maxAge)*time.Second).UTC().AppendFormat(buf[:0], http.TimeFormat))
		b.WriteString("; Max-Age=")
		b.Write(strconv.AppendInt(buf[:0], int64(maxAge), 10))
	}
	b.WriteString(c.lineTail)
	return b.String()
}

// keepScratch returns b emptied for reuse by the next request, or nil when
// it grew past 64 KiB (a rare huge session should not pin its buffer).
func keepScratch(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b[:0]
}

// addSetCookie appends line to h's Set-Cookie lines (h.Add without
// canonicalizing a key that already is).
func addSetCookie(h http.Header, line string) {
	h["Set-Cookie"] = append(h["Set-Cookie"], line)
}

// cookie building

// setCookie adds a Set-Cookie for name with value and maxAge (from
// state.maxAge; 0 for a browser-session cookie). value is a sealed
// value or a piece of one, which needs no sanitizing: the line is written
// directly (setCookieLine), as http.Cookie.String would.
func (m *Manager) setCookie(h http.Header, name string, value []byte, now time.Time, maxAge int) {
	addSetCookie(h, m.setCookieLine(name, value, now, maxAge))
}

// clearCookie adds a Set-Cookie that deletes name, with the same
// attributes it was set with.
func (m *Manager) clearCookie(h http.Header, name string) {
	h.Add("Set-Cookie", m.clearLine(name))
}

// clearLine is the Set-Cookie line that deletes name: Max-Age=0 with the
// attributes that select the cookie to delete (Path, Domain, Partitioned)
// or that a browser checks before accepting it (Secure for a __Host- or
// __Secure- name, SameSite=None in a cross-site context). No Expires:
// every browser honours Max-Age, which RFC 6265 §5.3 puts first, and the
// 40 bytes saved count on every chunked write (see
// Options.MaxResponseCookieBytes).
func (m *Manager) clearLine(name string) string {
	c := m.cfg.baseCookie(name, "")
	c.MaxAge = -1
	return c.String()
}
