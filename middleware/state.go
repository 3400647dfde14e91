package middleware

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/chunk"
	"github.com/cookieseal/cookieseal/revoke"
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

func (st *state) begin(m *Manager, s *Session, wr *writer, w http.ResponseWriter, r *http.Request) {
	st.m, st.sess, st.r = m, s, r
	*wr = writer{ResponseWriter: w, st: st}
	st.w = wr
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
	if st.chunked {
		// The chunks were read without checking their values' bytes as
		// net/http does (see scanCookies). A regular set of chunks (no
		// plain cookie, each index once, nothing past the run) that opens
		// is read exactly as it would be with the check: its values
		// decoded as base64url (or JWE compact), whose bytes net/http
		// keeps, and no other chunk index was carried. Anything else is
		// read again with the check, and goes the general way.
		if len(plains) == 0 && len(chunks) > 0 && !st.dup {
			var f found
			if st.open(&f, st.buf[:0], st.env.fields, st.join(&picks, chunks[0]), false) == nil {
				st.admit(&f)
				return
			}
		}
		st.nplain, st.chunked, st.dup, st.cookies = 0, false, false, nil
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
	case n == 1 && !st.dup:
		var f found
		if len(chunks) > 0 {
			err = st.open(&f, st.buf[:0], st.env.fields, st.join(&picks, chunks[0]), false)
			if err != nil && len(chunks) > 1 {
				// A chunk index beyond the user's set (planted for a
				// parent domain) makes the set longer: try the shorter
				// ones, and expire the extra names if one opens.
				for _, c := range chunks[1:] {
					var g found
					if st.open(&g, nil, nil, st.join(&picks, c), false) == nil {
						f, err = g, nil
						st.dup = true
						break
					}
				}
			}
		} else {
			err = st.open(&f, st.buf[:0], st.env.fields, plains[0], true)
		}
		if err != nil {
			st.invalid(err)
			return
		}
		st.admit(&f)
		if st.dup {
			st.reseal = st.valid
		}
		return
	}
	st.dup = true
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
		st.reseal = st.valid
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
// in either format whatever Options.Format says (the codec tells native
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
	st.meta = f.meta
	if f.legacy != nil {
		st.openID, st.openSub = f.legacy.id, f.legacy.sub
	} else {
		st.payload, st.env, st.life = f.payload, f.env, f.life
		st.buf = f.payload[:0] // keep a grown buffer; reset wipes it
	}
	if m.cfg.Revoker != nil {
		rs := revoke.SessionRef{ID: st.rawID(), Subject: st.rawSub(), IssuedAt: f.meta.IssuedAt}
		revoked, fault := st.checkRevoked(st.r.Context(), rs)
		switch {
		case revoked != nil:
			st.payload = nil
			st.invalid(revoked)
			return
		case fault != nil:
			st.queueFault(fault)
			if !m.cfg.InsecureRevokeFailOpen {
				// Fail closed: no session for this request, and the cookie
				// is kept as it is, so the user is back once the store
				// answers.
				st.payload = nil
				st.frozen, st.fault = true, fault
				return
			}
		}
	}
	st.valid = true
	if m.observing() {
		st.queue(Event{Kind: EventOpened, KeyID: f.meta.KeyID, Epoch: f.meta.Epoch, SessionID: st.rawID(), Subject: st.rawSub()})
	}
	if l := f.legacy; l != nil {
		// A legacy session becomes native on this response.
		st.mat = true
		st.id, st.sub, st.issuedAt = l.id, l.sub, f.meta.IssuedAt
		st.data, st.flashes = l.data, l.flashes
		st.dirty = true
		st.clear = true // a write supersedes it; chunks of the old one go
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
					st.valid, st.mat, st.dirty, st.clear = false, false, false, false
					st.id, st.sub, st.issuedAt, st.data, st.flashes = "", "", time.Time{}, nil, nil
					st.frozen, st.fault = true, err
				}
				return
			}
			st.id = l.native
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
		st.nplain++
		if len(plains) < maxCopies {
			plains = append(plains, v)
		} else {
			st.dup = true
		}
	})
	if !chunked {
		return plains, nil, nil
	}
	st.chunked, st.cookies = true, cookies
	chunks, irregular, err := st.chunkSets(picks, chunks)
	if irregular || (len(chunks) > 0 && len(plains) > 0) {
		// Chunk indices carried twice, or beside indices the chunk set
		// does not reach, or a plain cookie beside a chunk set: several
		// copies, handled like duplicates.
		st.dup = true
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
	for _, c := range st.cookies {
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
	b := st.joined[:0]
	for _, v := range vals {
		b = append(b, v...)
	}
	st.joined = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// invalid records a rejected cookie: no session, clear it, tell the
// observer.
func (st *state) invalid(err error) {
	st.clear = true
	if st.m.observing() {
		st.queue(rejected(err))
	}
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

// commit decides what the response must carry and adds it to the headers.
// It runs once, before the first byte of the response. A failure to seal
// is returned for the ErrorHandler.
func (st *state) commit() error {
	if st.committed {
		return nil
	}
	st.committed = true
	if !st.loaded {
		return nil
	}
	m := st.m
	h := st.w.ResponseWriter.Header()
	// The handler looked at the session, so the response may depend on
	// the Cookie header: shared caches must key on it.
	varyCookie(h)
	if st.frozen {
		// The revocation check faulted: this response has no session and
		// never writes over, or clears, the user's cookie.
		return nil
	}
	// Copies of a duplicate case go first: a client that files a Domain
	// cookie naming its own host under the host-only cookie's key then
	// keeps the session this response writes after them.
	//
	// Those expiries are the response's least important lines: a stranger
	// can cause them (by planting copies), so they never cost the
	// session's own write its place. When the write does not fit with
	// them, it is made without them.
	lines := -1 // Set-Cookie lines before this commit's, once counted
	expired := false
	if st.dup {
		lines = len(h["Set-Cookie"])
		st.expireCopies(h)
		expired = len(h["Set-Cookie"]) > lines
	}
	switch {
	case st.dirty:
		st.ensure()
		if lines < 0 {
			lines = len(h["Set-Cookie"])
		}
		for {
			payload := st.life.appendTo(encodeEnvelope(st.enc[:0], st.id, st.sub, st.data, st.flashes))
			st.enc = payload
			err := st.write(h, payload, st.issuedAt)
			if err == nil {
				err = m.fitsResponse(h, lines)
			}
			if err != nil && errors.Is(err, cookie.ErrTooLarge) && (expired || st.carriedBeyondReach()) {
				// Drop the expiries, then the clears of carried chunk
				// names no write reaches (fitsResponse removed every line
				// of this commit, or write added none), and write again:
				// lines a stranger can cause never cost the session its
				// write.
				h["Set-Cookie"] = h["Set-Cookie"][:lines]
				if expired {
					expired = false
				} else {
					st.cookies = nil
				}
				continue
			}
			if err == nil || len(st.flashes) == 0 || !errors.Is(err, cookie.ErrTooLarge) {
				if err != nil && lines < len(h["Set-Cookie"]) {
					h["Set-Cookie"] = h["Set-Cookie"][:lines]
				}
				if err == nil {
					st.commitEvent(cookie.Meta{}, EventSaved)
				}
				return err
			}
			// Too large: drop the oldest flash and try again (MaxFlashes).
			st.flashes = st.flashes[1:]
		}
	case st.valid:
		now := m.cfg.Now()
		kr := m.keys.Keyring()
		due := st.reseal || now.Sub(st.meta.RefreshedAt) >= m.cfg.RefreshAfter || m.outdated(st.meta, kr, now)
		if due {
			// Only the timestamps (and perhaps the key or format) change: re-seal the
			// payload as it is, without decoding or encoding it, keeping
			// its issued-at (even one from an instance whose clock is
			// ahead: the codec then writes refreshed-at = issued-at).
			if lines < 0 {
				lines = len(h["Set-Cookie"])
			}
			err := st.write(h, st.payload, st.meta.IssuedAt)
			for err == nil && (expired || st.carriedBeyondReach()) {
				if err = m.fitsResponse(h, lines); err == nil || !errors.Is(err, cookie.ErrTooLarge) {
					break
				}
				// The session first: write it without the expiries, then
				// without the clears of carried names no write reaches.
				h["Set-Cookie"] = h["Set-Cookie"][:lines]
				if expired {
					expired = false
				} else {
					st.cookies = nil
				}
				err = st.write(h, st.payload, st.meta.IssuedAt)
			}
			if err != nil {
				if lines >= 0 && lines < len(h["Set-Cookie"]) {
					h["Set-Cookie"] = h["Set-Cookie"][:lines]
				}
				return err
			}
			kind := EventRefreshed
			if m.outdated(st.meta, kr, now) {
				kind = EventResealed
			}
			st.commitEvent(st.meta, kind)
		}
	case st.clear:
		if expired {
			// The clear first: without the expiries when they do not
			// fit together.
			n := len(h["Set-Cookie"])
			st.addClear(h)
			if setCookieBlockLen(h) > m.cfg.budget {
				h["Set-Cookie"] = append(h["Set-Cookie"][:lines], h["Set-Cookie"][n:]...)
			}
		} else {
			st.addClear(h)
		}
	}
	return nil
}

// carriedBeyondReach reports whether the request carried a chunk name of
// this manager that no write within the budget reaches (write clears
// those only because the request carried them).
func (st *state) carriedBeyondReach() bool {
	m := st.m
	if st.cookies == nil {
		return false
	}
	for _, n := range chunk.Stale(st.cookies, m.name, m.reach) {
		if slices.Contains(m.chunkNames, n) {
			return true
		}
	}
	return false
}

// addClear adds the lines that clear the session's cookies.
func (st *state) addClear(h http.Header) {
	m := st.m
	if st.destroyed && m.cfg.MaxChunks > 1 {
		// Whatever the request carried, another response in flight may
		// have set the plain cookie or any chunk: expire them all.
		h.Add("Set-Cookie", m.clearPlain)
		m.clearUnused(h, st.cookies, 0)
		noStoreCookie(h)
		return
	}
	names := st.present()
	for _, n := range names {
		m.clearCookie(h, n)
	}
	if len(names) > 0 {
		noStoreCookie(h)
	}
}

// clearFits reports whether the lines that clear the session's cookies
// fit the response beside those the handler already set: an error
// matching cookie.ErrTooLarge when they do not, for Destroy to report
// (the response would then fail instead of clearing the cookie).
func (st *state) clearFits() error {
	h := http.Header{}
	before := st.w.ResponseWriter.Header()["Set-Cookie"]
	h["Set-Cookie"] = slices.Clone(before)
	st.addClear(h)
	if err := st.m.checkBudget(h, len(before)); err != nil {
		return fmt.Errorf("middleware: destroy: the cookie cannot be cleared: %w", err)
	}
	return nil
}

// expireCopies, in a duplicate case (st.dup), expires the copies of the
// session's cookies that other Domain and Path values may hold: the plain
// name and the chunk names the request carried, for every Domain
// (host-only, the configured one, each parent domain of the request's
// host, FormerDomains) and Path (the configured one, FormerPaths, the
// prefixes of the request's path: see requestPaths), but
// the configured pair, which the normal write or clear handles. A host
// may expire a cookie of its parent domain, so no copy it cannot clear
// is left to lock the user out.
func (st *state) expireCopies(h http.Header) {
	if !st.dup || hostOnlyName(st.m.name) {
		return
	}
	st.dup = false // once
	m := st.m
	names := st.present()
	if !slices.Contains(names, m.name) {
		names = append(names, m.name)
	}
	domains := append([]string{"", m.cfg.Domain}, parentDomains(st.r.Host)...)
	domains = append(domains, m.cfg.FormerDomains...)
	paths := append([]string{m.cfg.Path}, m.cfg.FormerPaths...)
	paths = append(paths, requestPaths(st.r)...)
	seen := map[[2]string]bool{{strings.TrimPrefix(strings.ToLower(m.cfg.Domain), "."), m.cfg.Path}: true}
	lines := 0
	for _, p := range paths {
		for _, d := range domains {
			k := [2]string{strings.TrimPrefix(strings.ToLower(d), "."), p}
			if seen[k] {
				continue
			}
			seen[k] = true
			for _, n := range names {
				if lines == maxExpiries {
					noStoreCookie(h)
					return
				}
				c := m.cfg.baseCookie(n, "")
				c.Domain, c.Path = d, p
				c.MaxAge = -1
				c.Expires = time.Unix(0, 0).UTC()
				h.Add("Set-Cookie", c.String())
				lines++
			}
		}
	}
	noStoreCookie(h)
}

// maxPathSegments bounds the prefixes of the request's path that
// expireCopies reaches.
const maxPathSegments = 4

// requestPaths lists the Path values under which a cookie planted for
// the request's directory is sent: each directory prefix of the path as
// the client sent it (RequestURI, before any prefix stripping), for its
// first maxPathSegments segments, with and without a trailing slash
// ("/a/b/c": /a, /a/, /a/b, /a/b/); "/" itself is left to the configured
// Path. The last segment (the resource itself) is left out, so that
// every duplicate case does not add lines for each page: a copy planted
// with one page's exact path is not expired (that page alone stays
// ambiguous). `__Host-` names rule all of this out.
func requestPaths(r *http.Request) []string {
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		p = u.Path
	}
	var out []string
	for i, seg := 1, 0; i < len(p) && seg < maxPathSegments; i++ {
		if p[i] != '/' {
			continue
		}
		if i > 1 && p[i-1] != '/' {
			out = append(out, p[:i], p[:i]+"/")
			seg++
		}
	}
	return out
}

// maxExpiries bounds the Set-Cookie lines expireCopies adds to one
// response (about 130 bytes each), so that a request with duplicates
// cannot push a response past a proxy's header buffer. The configured
// Path's copies come first.
const maxExpiries = 24

// maxParents bounds the parent domains expireCopies reaches.
const maxParents = 4

// parentDomains lists the host of hostport itself and its parent domains
// with at least two labels, nearest first (a.b.example.com:
// a.b.example.com, b.example.com, example.com), at most maxParents; none
// for an IP address, a one-label host or a malformed one.
func parentDomains(hostport string) []string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if !validDomain(host) || !strings.Contains(host, ".") {
		return nil
	}
	var out []string
	for d := host; strings.Contains(d, ".") && len(out) < maxParents; {
		out = append(out, d)
		_, d, _ = strings.Cut(d, ".")
	}
	return out
}

// write seals payload and sets the cookie (or its chunks), clearing
// whatever session cookies it does not overwrite: those the request
// carried, and, with chunking, every other name of the session's cookies
// (the plain one, or chunk indices from the count written to
// MaxChunks-1), so that no stale chunk from a response in flight at the
// same time survives.
//
// A value goes in the plain cookie when it is at most MaxValueSize bytes
// and its whole Set-Cookie line at most 4096; otherwise it is chunked in
// pieces of at most MaxValueSize bytes whose lines also fit in 4096, or,
// without chunking, refused with cookie.ErrTooLarge. Nothing is added to
// h on error.
func (st *state) write(h http.Header, payload []byte, issuedAt time.Time) error {
	m := st.m
	sealed, err := m.codec.AppendSeal(st.sealed[:0], payload, issuedAt)
	if err != nil {
		return fmt.Errorf("middleware: saving session: %w", err)
	}
	st.sealed = sealed
	now := m.now()
	// The codec writes refreshed-at = max(now, issued-at): an issued-at
	// from an instance whose clock is ahead never makes the pair refused.
	iat := time.UnixMilli(issuedAt.UnixMilli())
	deadline := st.life.capDeadline(m.codec.Deadline(cookie.Meta{IssuedAt: iat, RefreshedAt: laterOf(now, iat)}))
	maxAge := st.maxAge(now, deadline)
	// The sealed value goes straight from the pooled buffer into each
	// Set-Cookie line: no copy of it as a string first.
	if line := st.lineLen(len(m.name), len(sealed), maxAge); len(sealed) <= m.cfg.MaxValueSize && line <= maxCookieLine {
		m.setCookie(h, m.name, sealed, now, maxAge)
		m.clearUnused(h, st.cookies, 0)
		noStoreCookie(h)
		return nil
	} else if m.cfg.MaxChunks == 1 {
		return fmt.Errorf("middleware: saving session: %w: %d-byte value, %d-byte Set-Cookie line (at most %d-byte value, %d-byte line)",
			cookie.ErrTooLarge, len(sealed), line, m.cfg.MaxValueSize, maxCookieLine)
	}
	// Chunks, cut as cookie.Split cuts: every chunk gets the room of the
	// longest chunk name's line.
	size := min(m.cfg.MaxValueSize, maxCookieLine-st.lineLen(len(m.chunkNames[len(m.chunkNames)-1]), 0, maxAge))
	if size < 1 {
		// New refuses attributes that leave a chunk no room (fitsLine).
		return fmt.Errorf("middleware: saving session: %w: no room for a chunk in a %d-byte Set-Cookie line", cookie.ErrTooLarge, maxCookieLine)
	}
	n := (len(sealed) + size - 1) / size
	if n > m.cfg.MaxChunks {
		return fmt.Errorf("middleware: saving session: %w: %d bytes need %d chunks of %d, at most %d allowed", cookie.ErrTooLarge, len(sealed), n, size, m.cfg.MaxChunks)
	}
	for i := range n {
		m.setCookie(h, m.chunkNames[i], sealed[i*size:min((i+1)*size, len(sealed))], now, maxAge)
	}
	addSetCookie(h, m.clearPlain)
	m.clearUnused(h, st.cookies, n)
	noStoreCookie(h)
	return nil
}

// laterOf returns the later of a and b.
func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// present lists the session cookies the request carried: the plain
// cookie and the chunk names this manager can write (indices below
// MaxChunks). Other chunk names are never this manager's and are left
// alone, so their number does not grow the response.
func (st *state) present() []string {
	var names []string
	if st.nplain > 0 {
		names = append(names, st.m.name)
	}
	for _, n := range chunk.Stale(st.cookies, st.m.name, 0) {
		if slices.Contains(st.m.chunkNames, n) {
			names = append(names, n)
		}
	}
	return names
}
