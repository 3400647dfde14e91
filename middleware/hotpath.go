package middleware

import (
	"encoding/binary"
	"net/http"
	"net/textproto"
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
// checked against net/http, byte for byte, by hotpath_test.go.

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

// scanCookiesMax is how many cookies a request may carry for
// scanCookies to parse its chunks itself; past it, Request.Cookies decides (it returns
// none past its own limit, 3000 by default, GODEBUG httpcookiemaxnum).
// Browsers keep at most about 180 cookies per domain.
const scanCookiesMax = 180

// scanCookies reads the request's Cookie header lines once for the cookie
// name. It calls plain with the value of every cookie named name (quotes
// removed, not checked: the codec refuses what it cannot open). It returns
// the cookies whose names start with name + "." exactly as Request.Cookies
// parses them (names that are tokens, values unquoted and checked, in
// order), without parsing the other cookies' values or allocating for
// them; and chunked, whether some name is name + "." and more. With check
// false, those values are not checked byte by byte (validCookieValue): a
// cookie Request.Cookies drops for a byte it refuses is returned (see
// state.load for when that gives the same result).
func scanCookies(r *http.Request, name string, check bool, plain func(v string)) (cookies []*http.Cookie, chunked bool) {
	n := 0 // cookies as Request.Cookies counts them, for scanCookiesMax
	for _, line := range r.Header["Cookie"] {
		n++
		for len(line) > 0 {
			var part string
			var more bool
			part, line, more = strings.Cut(line, ";")
			if more {
				n++
			}
			part = textproto.TrimString(part)
			k, v, _ := strings.Cut(part, "=")
			k = textproto.TrimString(k)
			if k == name {
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				plain(v)
				continue
			}
			if len(k) <= len(name) || k[len(name)] != '.' || k[:len(name)] != name {
				continue
			}
			chunked = chunked || len(k) > len(name)+1
			if !isToken(k) {
				continue
			}
			quoted := false
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v, quoted = v[1:len(v)-1], true
			}
			if check && !validCookieValue(v) {
				continue
			}
			cookies = append(cookies, &http.Cookie{Name: k, Value: v, Quoted: quoted})
		}
	}
	if n > scanCookiesMax {
		// Past it, Request.Cookies decides.
		cookies = nil
		for _, c := range r.Cookies() {
			if len(c.Name) > len(name) && c.Name[len(name)] == '.' && c.Name[:len(name)] == name {
				cookies = append(cookies, c)
			}
		}
	}
	return cookies, chunked
}

// isToken reports whether s is a non-empty RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// validCookieValue reports whether every byte of v may appear in a cookie
// value as net/http reads one: 0x20 to 0x7e but '"', ';' and '\\'. A
// sealed value is several kilobytes, so the three excluded bytes are
// searched with strings.IndexByte (vectorized) and the range is tested
// 32 bytes at a time, branch-free, with one test at the end.
func validCookieValue(v string) bool {
	if strings.IndexByte(v, '"') >= 0 || strings.IndexByte(v, ';') >= 0 || strings.IndexByte(v, '\\') >= 0 {
		return false
	}
	// In each byte of acc, the top bit ends up set when some byte of v
	// is below 0x20 (x - 0x20 borrows into it), is 0x7f (x + 1 carries
	// into it) or is 0x80 or above (x has it). A borrow or carry that
	// crosses into the next byte only follows a byte already caught.
	var acc uint64
	i := 0
	for ; i+32 <= len(v); i += 32 {
		b := v[i : i+32]
		x, y := binary.LittleEndian.Uint64([]byte(b[0:8])), binary.LittleEndian.Uint64([]byte(b[8:16]))
		z, w := binary.LittleEndian.Uint64([]byte(b[16:24])), binary.LittleEndian.Uint64([]byte(b[24:32]))
		acc |= (x - swarLo*0x20) | (x + swarLo) | x | (y - swarLo*0x20) | (y + swarLo) | y |
			(z - swarLo*0x20) | (z + swarLo) | z | (w - swarLo*0x20) | (w + swarLo) | w
	}
	for ; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f {
			return false
		}
	}
	return acc&swarHi == 0
}

// Word-at-a-time byte tests: each is non-zero exactly when some byte of x
// matches.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// hasLess: some byte of x is below n (n <= 128).
func hasLess(x uint64, n byte) uint64 { return (x - swarLo*uint64(n)) & ^x & swarHi }

// hasByte: some byte of x is c.
func hasByte(x uint64, c byte) uint64 {
	y := x ^ (swarLo * uint64(c))
	return (y - swarLo) & ^y & swarHi
}
