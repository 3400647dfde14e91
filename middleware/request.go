package middleware

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/chunkname"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
	"github.com/cookieseal/cookieseal/revoke"
)

// scanCookiesMax is how many cookies a request may carry for
// scanCookies to read the header itself; past it, Request.Cookies
// decides (it returns none past its own limit, 3000 by default, GODEBUG
// httpcookiemaxnum). Browsers keep at most about 180 cookies per domain.
const scanCookiesMax = 180

// scanCookies reads the request's Cookie header lines once for the
// session's cookies and calls f with each cookie named name (index -1)
// or name.N, N a decimal index without leading zeros (index N, at most
// math.MaxInt), in order, with its value unquoted: exactly the cookies
// Request.Cookies returns with those names, without parsing the other
// cookies' values or allocating for them. With check false, values are
// not checked byte by byte (validCookieValue), so a cookie
// Request.Cookies drops for a byte it refuses is passed too (see
// state.load for when that gives the same result). Past scanCookiesMax
// cookies, Request.Cookies itself is read.
func scanCookies(r *http.Request, name string, check bool, f func(index int, cname, v string)) {
	n := 0 // cookies as Request.Cookies counts them
	for _, line := range r.Header["Cookie"] {
		n += strings.Count(line, ";") + 1
	}
	if n > scanCookiesMax {
		for _, c := range r.Cookies() {
			if i, ok := cookieIndex(c.Name, name); ok {
				f(i, c.Name, c.Value)
			}
		}
		return
	}
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			k, v, _ := strings.Cut(part, "=")
			k = textproto.TrimString(k)
			i, ok := cookieIndex(k, name)
			if !ok {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if check && !validCookieValue(v) {
				continue
			}
			f(i, k, v)
		}
	}
}

// cookieIndex reports whether cookieName is one of the session's cookie
// names: name itself (index -1) or name.N, N a decimal index without
// leading zeros (saturated at math.MaxInt), as package chunk parses it.
func cookieIndex(cookieName, name string) (int, bool) {
	if cookieName == name {
		return -1, true
	}
	return chunkname.Index(cookieName, name)
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

// Word-at-a-time constants of validCookieValue: 0x01 and 0x80 in every
// byte.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// copies is what a request carried of the session's cookies (scanned
// by state.read): the copies, and whether they agree.
type copies struct {
	nplain int    // plain cookies named name
	plain  string // the first one's value
	// chunks[i] is the first value of chunk index i (below MaxChunks);
	// bit i of seen says it was carried.
	chunks [cookie.ChunkLimit]string
	seen   uint32
	more   bool // some name came more than once
	differ bool // some name came with two different values
}

// agree reports whether the request carried one copy of the session
// (rule 2 of the package doc): the plain cookie or chunks 0 … k-1 (k at
// most MaxChunks), not both, every name with one value however often it
// came. It returns the number of chunks (0 for the plain cookie).
func (c *copies) agree() (k int, ok bool) {
	if c.differ || (c.nplain > 0 && c.seen != 0) {
		return 0, false
	}
	k = bits.TrailingZeros32(^c.seen)
	return k, c.seen == 1<<k-1
}

// load reads and opens the request's cookie once. Bad cookies leave no
// session (and are cleared at commit unless authentic: see invalid); the
// observer is told after the lock is released.
//
// The rules are the package doc's ("Copies of the cookie"): the request
// is read as Request.Cookies reads it; the session is read only when its
// copies agree (copies.agree), else there is no session
// (ErrDuplicateCookie); a request that carried anything but one copy of
// each name is marked dup, and its response clears what it carried
// (state.sweep), as it clears chunk names past MaxChunks.
func (st *state) load() {
	if st.loaded {
		return
	}
	st.loaded = true
	var c copies
	st.read(&c, false)
	if k, ok := c.agree(); ok && (c.nplain > 0 || k > 0) {
		// The values were read without checking their bytes as net/http
		// does. A value that opens is base64url (or JWE compact), whose
		// bytes net/http keeps, and every copy of it is the same bytes,
		// so this is what the checked view gives. Anything else is read
		// again with the check (and only then by the legacy reader).
		var f found
		if st.open(&f, st.scratch.buf[:0], st.opened.env.Fields, st.value(&c, k), false) == nil {
			st.admit(&f)
			st.opened.reseal = st.carried.dup && st.opened.valid
			return
		}
	}
	c = copies{}
	st.read(&c, true)
	k, ok := c.agree()
	switch {
	case c.nplain == 0 && k == 0 && ok:
		return // no session cookie: a new, empty session
	case !ok:
		st.carried.split = st.mayHoldSession()
		st.invalid(errDifferentCopies)
		return
	}
	value := st.value(&c, k)
	if k > 0 && len(value) > st.m.cfg.maxLen {
		st.carried.split = k > 1 && st.mayHoldSession()
		st.invalid(fmt.Errorf("%w: %d-byte chunked value", cookie.ErrTooLarge, len(value)))
		return
	}
	var f found
	if err := st.open(&f, st.scratch.buf[:0], st.opened.env.Fields, value, k == 0); err != nil {
		// A chunk set that does not open may be the user's chunks
		// followed by a planted one (name.k past the user's set).
		if k > 1 && !errors.Is(err, cookie.ErrExpired) {
			st.carried.split = st.mayHoldSession()
		}
		st.invalid(err)
		return
	}
	st.admit(&f)
	// Identical copies: the response clears them elsewhere and writes the
	// session back where it belongs (a browser that keys cookies as RFC
	// 6265 does, without the host-only flag, drops the host-only copy
	// when the same name is cleared with Domain set to the host).
	st.opened.reseal = st.carried.dup && st.opened.valid
}

// maxHoldTries bounds the values mayHoldSession opens: distinct plain
// values, and sets of chunks (one value of each chunk name) to try; past
// it, some value is taken to be a session.
const maxHoldTries = 16

// mayHoldSession reports, for a request whose cookie did not open because
// its copies were split (carried.split), whether some value it carried
// for the session opens on its own: a plain copy, or chunks 0 … j-1 made
// of one value of each of those names (the chunks of one write: all of
// the first one's length but the last, which is not longer). Such a value
// may be the user's session, and the response keeps the configured place
// as it is (keepsOwn). The work is bounded (maxHoldTries values, four
// times the longest value a session can have); past it, the answer is
// yes. Only this path pays it: a request with one copy of the session
// never comes here.
func (st *state) mayHoldSession() bool {
	m := st.m
	limit := min(m.cfg.MaxChunks, cookie.ChunkLimit)
	var plains []string
	var vals [cookie.ChunkLimit][]string // distinct values of each chunk name
	over := false
	scanCookies(st.r, m.name, true, func(i int, _, v string) {
		switch {
		case over:
		case i < 0:
			if !slices.Contains(plains, v) {
				over = len(plains) == maxHoldTries
				plains = append(plains, v)
			}
		case i < limit:
			if !slices.Contains(vals[i], v) {
				over = len(vals[i]) == maxHoldTries
				vals[i] = append(vals[i], v)
			}
		}
	})
	if over {
		return true
	}
	budget := 4 * m.cfg.maxLen
	var buf []byte
	opens := func(v string, plain bool) bool {
		budget -= len(v)
		var err error
		buf, _, err = m.codec.AppendOpen(buf[:0], v)
		if err != nil && plain && m.cfg.Legacy != nil && !errors.Is(err, cookie.ErrExpired) {
			_, err = m.cfg.Legacy.DecodeSession(m.name, v)
		}
		return err == nil
	}
	for _, v := range plains {
		if budget < len(v) {
			return true
		}
		if (len(v) <= m.cfg.MaxValueSize || m.cfg.Legacy != nil) && opens(v, true) {
			return true
		}
	}
	// Every set of chunks: one value of each name 0 … run-1, as a mixed
	// radix counter over choice.
	run, sets := 0, 1
	for run < limit && len(vals[run]) > 0 {
		if sets *= len(vals[run]); sets > maxHoldTries {
			return true
		}
		run++
	}
	if run < 2 {
		return false // a write sets two chunks or more
	}
	var choice [cookie.ChunkLimit]int
	var joined []byte
	for range sets {
		joined = joined[:0]
		first := len(vals[0][choice[0]])
		for j := 1; j <= run; j++ {
			v := vals[j-1][choice[j-1]]
			if len(v) > first {
				break // not the chunks of one write
			}
			joined = append(joined, v...)
			if j > 1 && len(joined) <= m.cfg.maxLen {
				if budget < len(joined) {
					return true
				}
				if opens(string(joined), false) {
					return true
				}
			}
			if len(v) < first {
				break // the last chunk of a write: no longer set is one
			}
		}
		for i := 0; i < run; i++ {
			if choice[i]++; choice[i] < len(vals[i]) {
				break
			}
			choice[i] = 0
		}
	}
	return false
}

// found is a cookie value that authenticated and passed the expiry rule:
// a native (or JWE) payload, or a legacy session.
type found struct {
	payload []byte
	meta    cookie.Meta
	env     jsonscan.Envelope
	life    lifetime
	legacy  *legacySession
}

// legacySession is a legacy cookie's session, converted.
type legacySession struct {
	id, sub string
	// native is the id the session has once migrated: with a Revoker,
	// derived from id (the legacy id is revoked at migration), else id.
	native  string
	data    map[string]json.RawMessage
	flashes []json.RawMessage
}

// open authenticates value and applies the expiry rule to it, into f:
// in either format whatever Options.Codec.Format says (the codec tells native
// and JWE apart by the value's first bytes and passes both through the
// same checks in the same order), and only then, for a plain cookie that
// neither format opens (malformed or unauthentic, not expired), through
// Options.Legacy. The payload is appended to dst, its members indexed in
// fields.
func (st *state) open(f *found, dst []byte, fields []jsonscan.Field, value string, plain bool) error {
	m := st.m
	var err error
	if plain && len(value) > m.cfg.MaxValueSize {
		// Never written by this manager; it may still be a legacy cookie.
		err = fmt.Errorf("%w: %d-byte cookie", cookie.ErrTooLarge, len(value))
	} else {
		f.payload, f.meta, err = m.codec.AppendOpen(dst, value)
	}
	if err == nil {
		f.env, err = parseEnvelope(f.payload, fields)
		if err == nil {
			f.life, err = parseLifetime(f.payload, f.env)
		}
		if err == nil {
			err = st.checkLifetime(f.life)
		}
		return err
	}
	if m.cfg.Legacy != nil && plain && !errors.Is(err, cookie.ErrExpired) {
		*f, err = st.openLegacy(value)
	}
	return err
}

// legacyFlashKey is where gorilla/sessions keeps flashes.
const legacyFlashKey = "_flash"

// legacyIDLabel separates the derivation of legacy session ids.
const legacyIDLabel = "cookieseal legacy session id v1\x00"

// migratedIDLabel separates the derivation of a migrated session's
// native id from its legacy id. It is derived, not random, so that a
// replay of the legacy cookie migrates to the same session id, while
// the legacy id itself is revoked.
const migratedIDLabel = "cookieseal migrated session id v1\x00"

// openLegacy decodes a cookie of an older library and applies the expiry
// rule to its timestamp, which stands for both issued-at and
// refreshed-at; then LegacyNotBefore. Its id is derived from the value
// (SHA-256, 128 bits, in the native id's form), so the same legacy cookie
// is the same session every time it is replayed.
func (st *state) openLegacy(value string) (found, error) {
	m := st.m
	ls, err := m.cfg.Legacy.DecodeSession(m.name, value)
	if err != nil {
		return found{}, fmt.Errorf("%w: legacy cookie: %w", cookie.ErrInvalid, err)
	}
	if ls.IssuedAt.IsZero() {
		return found{}, fmt.Errorf("%w: legacy cookie without a timestamp", cookie.ErrInvalid)
	}
	at := time.UnixMilli(ls.IssuedAt.UnixMilli())
	now, skew := m.cfg.Now(), m.cfg.ClockSkew
	switch {
	case at.After(now.Add(skew)):
		return found{}, cookie.Reject(cookie.ReasonTimestamps, fmt.Errorf("%w: legacy cookie: timestamp in the future", cookie.ErrInvalid))
	case now.After(at.Add(m.cfg.AbsoluteTimeout + skew)):
		return found{}, cookie.Reject(cookie.ReasonAbsoluteExpired, fmt.Errorf("%w: legacy cookie: absolute timeout", cookie.ErrExpired))
	case now.After(at.Add(m.cfg.IdleTimeout + skew)):
		return found{}, cookie.Reject(cookie.ReasonIdleExpired, fmt.Errorf("%w: legacy cookie: idle timeout", cookie.ErrExpired))
	case !m.cfg.LegacyNotBefore.IsZero() && at.Before(m.cfg.LegacyNotBefore):
		return found{}, cookie.Reject(cookie.ReasonLegacyRefused, fmt.Errorf("%w: legacy cookie issued before LegacyNotBefore", cookie.ErrExpired))
	}
	vals := ls.Values
	// gorilla/sessions keeps flashes under "_flash": they become flashes.
	var flashes []json.RawMessage
	if fl, ok := vals[legacyFlashKey].([]any); ok {
		for _, f := range fl {
			raw, err := json.Marshal(f)
			if err != nil {
				return found{}, cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: legacy flash: %w", ErrValue, err))
			}
			flashes = append(flashes, raw)
		}
	}
	data := make(map[string]json.RawMessage, len(vals))
	for k, v := range vals {
		if k == legacyFlashKey && flashes != nil {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return found{}, cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: legacy value %q: %w", ErrValue, k, err))
		}
		data[k] = raw
	}
	sum := sha256.Sum256([]byte(legacyIDLabel + m.name + "\x00" + value))
	id := base64.RawURLEncoding.EncodeToString(sum[:16])
	native := id
	if m.cfg.Revoker != nil {
		sum := sha256.Sum256([]byte(migratedIDLabel + id))
		native = base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	return found{
		meta: cookie.Meta{IssuedAt: at, RefreshedAt: at},
		legacy: &legacySession{
			native:  native,
			id:      id,
			sub:     ls.Subject,
			data:    data,
			flashes: flashes,
		},
	}, nil
}

// admit is the one door into a session: every format comes through it,
// after authentication and the expiry rule, for the revocation check.
// A revoked session is refused (its cookie left as it is: see invalid,
// and marked stale for Destroy's tombstone); a fault follows
// the policy: fail closed leaves the request with no session and freezes
// the cookie (kept as it is), fail open accepts the session.
func (st *state) admit(f *found) {
	m := st.m
	st.opened.meta = f.meta
	if f.legacy != nil {
		st.opened.openID, st.opened.openSub = f.legacy.id, f.legacy.sub
	} else {
		st.opened.payload, st.opened.env, st.edit.life = f.payload, f.env, f.life
		st.scratch.buf = f.payload[:0] // keep a grown buffer; reset wipes it
	}
	if m.cfg.Revoker != nil {
		rs := revoke.SessionRef{ID: st.rawID(), Subject: st.rawSub(), IssuedAt: f.meta.IssuedAt}
		revoked, fault := st.checkRevoked(st.r.Context(), rs)
		switch {
		case revoked != nil:
			st.opened.payload = nil
			st.opened.stale = true
			st.invalid(revoked)
			return
		case fault != nil:
			st.queueFault(fault)
			if !m.cfg.InsecureRevokeFailOpen {
				// Fail closed: no session for this request, and the cookie
				// is kept as it is, so the user is back once the store
				// answers.
				st.opened.payload = nil
				st.opened.frozen, st.opened.fault = true, fault
				return
			}
		}
	}
	st.opened.valid = true
	if m.observing() {
		st.queue(Event{Kind: EventOpened, KeyID: f.meta.KeyID, Epoch: f.meta.Epoch, SessionID: st.rawID(), Subject: st.rawSub()})
	}
	if l := f.legacy; l != nil {
		// A legacy session becomes native on this response.
		st.edit.mat = true
		st.edit.id, st.edit.sub, st.edit.issuedAt = l.id, l.sub, f.meta.IssuedAt
		st.edit.data, st.edit.flashes = l.data, l.flashes
		st.edit.dirty = true
		st.edit.clear = true // a write supersedes it; chunks of the old one go
		if m.cfg.Revoker != nil {
			// Migration retires the legacy cookie: its derived id is
			// revoked now, subject or not, and the native session gets
			// another id (derived from it: see migratedIDLabel), so the
			// legacy cookie cannot be replayed, whatever
			// the native session later becomes (Destroy of an anonymous
			// session writes nothing).
			if err := st.retire(st.r.Context(), true); err != nil {
				st.queueFault(err)
				if !m.cfg.InsecureRevokeFailOpen {
					// Fail closed: no session, the legacy cookie kept as
					// it is, migrated once the store answers.
					st.opened.valid, st.edit.mat, st.edit.dirty, st.edit.clear = false, false, false, false
					st.edit.id, st.edit.sub, st.edit.issuedAt, st.edit.data, st.edit.flashes = "", "", time.Time{}, nil, nil
					st.opened.frozen, st.opened.fault = true, err
				}
				return
			}
			st.edit.id = l.native
		}
	}
}

// read scans the request's session cookies into c (see scanCookies for
// check) and records in st what the response needs: how many plain
// cookies, whether chunk names came, which chunk indices below MaxChunks
// (st.carried.seen) and the names past MaxChunks (st.carried.beyond, at most
// maxBeyond), and dup: the request carried anything but one copy of
// each of the session's names (a name twice, the plain cookie and
// chunks, a gap).
func (st *state) read(c *copies, check bool) {
	m := st.m
	limit := min(m.cfg.MaxChunks, cookie.ChunkLimit)
	st.carried.beyond = st.carried.beyond[:0]
	beyond := false
	scanCookies(st.r, m.name, check, func(i int, cname, v string) {
		switch {
		case i < 0:
			if c.nplain == 0 {
				c.plain = v
			} else {
				c.more = true
				c.differ = c.differ || v != c.plain
			}
			c.nplain++
		case i < limit:
			if c.seen&(1<<i) == 0 {
				c.chunks[i], c.seen = v, c.seen|1<<i
			} else {
				c.more = true
				c.differ = c.differ || v != c.chunks[i]
			}
		default:
			if !check && !validCookieValue(v) {
				return // net/http drops it; a session's value is checked by open
			}
			beyond = true
			if len(st.carried.beyond) < maxBeyond && !slices.Contains(st.carried.beyond, cname) {
				st.carried.beyond = append(st.carried.beyond, cname)
			}
		}
	})
	_, ok := c.agree()
	st.carried.nplain, st.carried.seen = c.nplain, c.seen
	st.carried.chunked = c.seen != 0 || beyond
	st.carried.dup = c.more || !ok
}

// maxBeyond bounds the chunk names past MaxChunks one request's response
// clears (each name's lines at every place take more than the clearing
// budget already).
const maxBeyond = 32

// value returns the session's value that c carried: the plain cookie's
// (k == 0) or chunks 0 … k-1 joined. Joined chunks go into the state's
// pooled buffer, viewed as a string without a copy: valid only until the
// next join or reset, so it must not be kept (state.open and the codecs
// it calls keep nothing of the value they open: they decode it into
// their own buffer).
func (st *state) value(c *copies, k int) string {
	switch k {
	case 0:
		return c.plain
	case 1:
		return c.chunks[0]
	}
	b := st.scratch.joined[:0]
	for _, v := range c.chunks[:k] {
		b = append(b, v...)
	}
	st.scratch.joined = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// invalid records a rejected cookie: no session, and tells the observer.
// A cookie that does not authenticate, or copies that disagree, may be a
// planted piece (a chunk index past the user's set): it is cleared
// wherever it can be (sweep), but at the configured place when one of
// the copies opens on its own (carried.split: keepsOwn). An authentic cookie refused because it
// expired or was revoked is left as it is (unless the handler writes a
// session, or Destroys): it may be the old cookie of a browser whose
// newer cookie, written by a Renew or a login in another tab, lands
// before this response does, and clearing it then would delete the
// newer session (wardencommunity/warden#14, expressjs/session#923). It
// costs its holder a rejection per request until it expires.
func (st *state) invalid(err error) {
	// The sweep of what came at other places stays: without a clear of
	// its own, it reaches only names past MaxChunks, and the session's
	// when the user's copy is kept (keepsOwn): everywhere but there.
	st.carried.dup = true
	if !errors.Is(err, cookie.ErrExpired) && !errors.Is(err, revoke.ErrRevoked) {
		st.edit.clear = true
	}
	if st.m.observing() {
		st.queue(rejected(err))
	}
}
