package middleware

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/revoke"
)

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

// maxCopies bounds how many copies of the session cookie one request may
// carry that are tried; more is a duplicate case with no session.
const maxCopies = 4

// load reads and opens the request's cookie once. Bad cookies leave no
// session and are cleared at commit; the observer is told after the lock
// is released.
//
// A request that carries the cookie more than once (the plain cookie
// several times, or it and a set of chunks, or a chunk index twice, or
// a chunk index beyond the set that opens) is a duplicate case; each
// consistent chunk set (see chunkSets) is a copy: if exactly one copy opens, it is the session; if
// several open and all carry the same session id, the one refreshed last
// is; otherwise there is no session (a cookie planted for a parent domain
// by a sibling host must not swap the user into another session). In
// every duplicate case the response expires the copies it can reach
// (expireCopies) and writes the chosen session back, so the next request
// carries one cookie.
func (st *state) load() {
	if st.loaded {
		return
	}
	st.loaded = true
	var copies [maxCopies]string
	var picks chunkPicks
	var sets [maxChunkSets]chunkSet
	plains, chunks, err := st.read(copies[:0], &picks, sets[:0], false)
	if st.carried.chunked {
		// The chunks were read without checking their values' bytes as
		// net/http does (see scanCookies). A regular set of chunks (no
		// plain cookie, each index once, nothing past the run) that opens
		// is read exactly as it would be with the check: its values
		// decoded as base64url (or JWE compact), whose bytes net/http
		// keeps, and no other chunk index was carried. Anything else is
		// read again with the check, and goes the general way.
		if len(plains) == 0 && len(chunks) > 0 && !st.carried.dup {
			var f found
			if st.open(&f, st.scratch.buf[:0], st.opened.env.fields, st.join(&picks, chunks[0]), false) == nil {
				st.admit(&f)
				return
			}
		}
		st.carried.nplain, st.carried.chunked, st.carried.dup, st.carried.cookies = 0, false, false, nil
		picks = chunkPicks{}
		plains, chunks, err = st.read(copies[:0], &picks, sets[:0], true)
	}
	n := len(plains)
	if len(chunks) > 0 {
		n++
	}
	switch {
	case n == 0 && err != nil:
		st.invalid(err)
		return
	case n == 0:
		return // no cookie: a new, empty session
	case n == 1 && !st.carried.dup:
		var f found
		if len(chunks) > 0 {
			err = st.open(&f, st.scratch.buf[:0], st.opened.env.fields, st.join(&picks, chunks[0]), false)
			if err != nil && len(chunks) > 1 {
				// A chunk index beyond the user's set (planted for a
				// parent domain) makes the set longer: try the shorter
				// ones, and expire the extra names if one opens.
				for _, c := range chunks[1:] {
					var g found
					if st.open(&g, nil, nil, st.join(&picks, c), false) == nil {
						f, err = g, nil
						st.carried.dup = true
						break
					}
				}
			}
		} else {
			err = st.open(&f, st.scratch.buf[:0], st.opened.env.fields, plains[0], true)
		}
		if err != nil {
			st.invalid(err)
			return
		}
		st.admit(&f)
		if st.carried.dup {
			st.opened.reseal = st.opened.valid
		}
		return
	}
	st.carried.dup = true
	var best found
	var lastErr error
	opened, ambiguous := 0, false
	try := func(value string, plain bool) {
		var f found
		if err := st.open(&f, nil, nil, value, plain); err != nil {
			lastErr = err
			return
		}
		switch {
		case opened == 0:
			best = f
		case f.sessionID() != best.sessionID():
			ambiguous = true
		case f.meta.RefreshedAt.After(best.meta.RefreshedAt):
			best = f
		}
		opened++
	}
	for _, v := range plains {
		try(v, true)
	}
	for _, c := range chunks {
		try(st.join(&picks, c), false)
	}
	if opened == 0 && err != nil {
		lastErr = err
	}
	switch {
	case ambiguous:
		st.invalid(errDifferentCopies)
	case opened == 0:
		st.invalid(withReason(cookie.ReasonDuplicate, fmt.Errorf("%w: no copy opens: %w", ErrDuplicateCookie, lastErr)))
	default:
		st.admit(&best)
		st.opened.reseal = st.opened.valid
	}
}

// found is a cookie value that authenticated and passed the expiry rule:
// a native (or JWE) payload, or a legacy session.
type found struct {
	payload []byte
	meta    cookie.Meta
	env     envelope
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

// sessionID is the id f carries.
func (f *found) sessionID() string {
	if f.legacy != nil {
		return f.legacy.native
	}
	return unquote(f.payload[f.env.id.start+1 : f.env.id.end-1])
}

// open authenticates value and applies the expiry rule to it, into f:
// in either format whatever Options.Codec.Format says (the codec tells native
// and JWE apart by the value's first bytes and passes both through the
// same checks in the same order), and only then, for a plain cookie that
// neither format opens (malformed or unauthentic, not expired), through
// Options.Legacy. The payload is appended to dst, its members indexed in
// fields.
func (st *state) open(f *found, dst []byte, fields []field, value string, plain bool) error {
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
// copy of the legacy cookie beside the native one is the same session
// (the duplicate rule), while the legacy id itself is revoked.
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
// A revoked session is refused and its cookie cleared; a fault follows
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

// read finds the copies of the session's cookie the request carries: the
// plain cookie's values (at most maxCopies, appended to plains), and the
// chunk sets (picks holds their values) when the request has a name.0.
// A request with more copies than that, or with a chunk index twice, is
// marked dup; err is a chunk set that does not join.
//
// check says whether chunk values are checked byte by byte as
// Request.Cookies checks them (see scanCookies); load reads without the
// check first, and again with it unless a regular chunk set opened.
func (st *state) read(plains []string, picks *chunkPicks, chunks []chunkSet, check bool) (_ []string, _ []chunkSet, err error) {
	cookies, chunked := scanCookies(st.r, st.m.name, check, func(v string) {
		st.carried.nplain++
		if len(plains) < maxCopies {
			plains = append(plains, v)
		} else {
			st.carried.dup = true
		}
	})
	if !chunked {
		return plains, nil, nil
	}
	st.carried.chunked, st.carried.cookies = true, cookies
	chunks, irregular, err := st.chunkSets(picks, chunks)
	if irregular || (len(chunks) > 0 && len(plains) > 0) {
		// Chunk indices carried twice, or beside indices the chunk set
		// does not reach, or a plain cookie beside a chunk set: several
		// copies, handled like duplicates.
		st.carried.dup = true
	}
	return plains, chunks, err
}

// maxChunkSets bounds the chunk sets one request may make load try.
const maxChunkSets = 2 * cookie.ChunkLimit

// chunkPicks are the values of chunk indices 0 … cookie.ChunkLimit-1 a
// request carried: [0] the first of each index, [1] the last (see
// chunkSets). load keeps them on its stack.
type chunkPicks [2][cookie.ChunkLimit]string

// chunkSet is one way to join a request's chunks: the values of chunk
// indices 0 … k-1 of one pick (chunkPicks[pick]). It is joined only
// when load tries it (state.join), so a regular request joins its chunks
// once, into a pooled buffer.
type chunkSet struct {
	pick, k int
}

// pieces returns the values s joins.
func (p *chunkPicks) pieces(s chunkSet) []string {
	return p[s.pick][:s.k]
}

// chunkSets lists, appended to sets, the chunk sets of the request to
// try: chunk names of this manager only (an index below MaxChunks; any
// other name is never its cookie and is ignored), each set over indices
// 0 … k-1, for k from the longest contiguous run from 0 down to 1 (a
// stranger's extra index must not hide the user's shorter set), with the
// first value of an index carried more than once, then its last (a
// planted copy may come before or after the user's own). The first set
// is what cookie.Join would return for a regular request. irregular
// reports an index carried twice or one beyond the run; err is the
// reason no set could be formed (a joined value over the size bound).
func (st *state) chunkSets(picks *chunkPicks, sets []chunkSet) (_ []chunkSet, irregular bool, err error) {
	m := st.m
	name := m.name
	limit := m.cfg.MaxChunks
	first, last := &picks[0], &picks[1]
	var seen [cookie.ChunkLimit]int
	if limit > len(seen) {
		limit = len(seen)
	}
	present := 0
	for _, c := range st.carried.cookies {
		i := -1
		if c.Name == name+".0" {
			i = 0
		} else if j := slices.Index(m.chunkNames, c.Name); j > 0 {
			i = j
		}
		if i < 0 || i >= limit {
			continue
		}
		if seen[i] == 0 {
			first[i] = c.Value
			present++
		} else {
			irregular = true
		}
		last[i] = c.Value
		seen[i]++
	}
	run := 0
	for run < limit && seen[run] > 0 {
		run++
	}
	if run < present {
		irregular = true
	}
	for pick := range picks {
		vals := &picks[pick]
		total := 0
		for k := 0; k < run; k++ {
			total += len(vals[k])
		}
		for k := run; k > 0 && len(sets) < maxChunkSets; k-- {
			if k < run {
				total -= len(vals[k])
			}
			if total > m.cfg.maxLen {
				err = fmt.Errorf("%w: %d-byte chunked value", cookie.ErrTooLarge, total)
				continue
			}
			set := chunkSet{pick, k}
			if !slices.ContainsFunc(sets, func(o chunkSet) bool { return slices.Equal(picks.pieces(o), picks.pieces(set)) }) {
				sets = append(sets, set)
			}
		}
	}
	return sets, irregular, err
}

// join returns the value of the chunk set s. A value of several chunks
// is joined into the state's pooled buffer and viewed as a string
// without a copy: it is valid only until the next join or reset, so it
// must not be kept (state.open and the codecs it calls keep nothing of
// the value they open: they decode it into their own buffer).
func (st *state) join(picks *chunkPicks, s chunkSet) string {
	vals := picks.pieces(s)
	if len(vals) == 1 {
		return vals[0]
	}
	b := st.scratch.joined[:0]
	for _, v := range vals {
		b = append(b, v...)
	}
	st.scratch.joined = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// invalid records a rejected cookie: no session, clear it, tell the
// observer.
func (st *state) invalid(err error) {
	st.edit.clear = true
	if st.m.observing() {
		st.queue(rejected(err))
	}
}
