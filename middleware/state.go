package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/revoke"
)

// state is one request's session, recycled through the manager's pool.
// Every field is guarded by sess.mu, except w's own bookkeeping, which
// only the handler's goroutine touches (as net/http requires).
type state struct {
	m    *Manager
	sess *Session
	r    *http.Request
	w    writer

	loaded bool // the cookie was read (lazily, at first access)

	// What the request carried.
	nplain  int            // plain cookies named name
	chunked bool           // some cookie looked like a chunk of name
	cookies []*http.Cookie // parsed only when chunked

	// The opened session, valid when valid is true.
	valid   bool
	buf     []byte // pooled; payload lives here
	payload []byte
	meta    cookie.Meta
	env     envelope

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

	pending []pendingCall // hooks to run once the lock is released
}

type pendingCall struct {
	fault bool
	err   error
}

func (st *state) begin(m *Manager, s *Session, w http.ResponseWriter, r *http.Request) {
	st.m, st.sess, st.r = m, s, r
	st.w = writer{ResponseWriter: w, st: st}
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
	*st = state{buf: buf, pending: pending, env: envelope{fields: fields}}
}

// load reads and opens the request's cookie once. Bad cookies leave no
// session and are cleared at commit; OnInvalid is told after the lock is
// released.
func (st *state) load() {
	if st.loaded {
		return
	}
	st.loaded = true
	m := st.m
	value, fromPlain, err := st.read()
	if err != nil {
		st.invalid(err)
		return
	}
	if value == "" && !fromPlain {
		return // no cookie: a new, empty session
	}
	var payload []byte
	var meta cookie.Meta
	if fromPlain && len(value) > m.cfg.MaxValueSize {
		// Never written by this manager; it may still be a legacy cookie.
		err = fmt.Errorf("%w: %d-byte cookie", cookie.ErrTooLarge, len(value))
	} else {
		payload, meta, err = m.sealer.AppendOpen(st.buf[:0], value)
	}
	if err != nil {
		if m.cfg.Legacy != nil && fromPlain && !errors.Is(err, cookie.ErrExpired) {
			st.legacy(value)
			return
		}
		st.invalid(err)
		return
	}
	st.buf = payload[:0]
	env, err := parseEnvelope(payload, st.env.fields)
	if err != nil {
		st.invalid(err)
		return
	}
	st.payload, st.meta, st.env = payload, meta, env
	if m.cfg.Revoker != nil {
		rs := revoke.Session{ID: st.rawID(), Subject: st.rawSub(), IssuedAt: meta.IssuedAt}
		revoked, fault := m.check(st.r, rs)
		switch {
		case revoked != nil:
			st.payload = nil
			st.invalid(revoked)
			return
		case fault != nil:
			st.pending = append(st.pending, pendingCall{fault: true, err: fault})
			if !m.cfg.InsecureRevokeFailOpen {
				// Fail closed: no session for this request, but the cookie
				// is kept, so the user is back once the store answers.
				st.payload = nil
				return
			}
		}
	}
	st.valid = true
}

// read finds the session's cookie value: the joined chunks when the
// request has a name.0, else the plain cookie. fromPlain reports that a
// plain cookie was found (its value may be empty).
func (st *state) read() (value string, fromPlain bool, err error) {
	name := st.m.name
	var plain string
	for _, line := range st.r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			k, v, _ := strings.Cut(part, "=")
			k = textproto.TrimString(k)
			switch {
			case k == name:
				st.nplain++
				plain = v
			case len(k) > len(name)+1 && k[len(name)] == '.' && k[:len(name)] == name:
				st.chunked = true
			}
		}
	}
	if st.chunked {
		st.cookies = st.r.Cookies()
		v, _, err := cookie.Join(st.cookies, name, st.m.cfg.MaxChunks, st.m.cfg.maxLen)
		switch {
		case err == nil:
			if st.nplain > 0 {
				return "", false, fmt.Errorf("%w: both %q and its chunks", ErrDuplicateCookie, name)
			}
			return v, false, nil
		case !errors.Is(err, cookie.ErrNoChunks):
			return "", false, err
		}
		// Only stray chunks: read the plain cookie; they are cleared when
		// the session is next written.
	}
	switch st.nplain {
	case 0:
		return "", false, nil
	case 1:
		if len(plain) > 1 && plain[0] == '"' && plain[len(plain)-1] == '"' {
			plain = plain[1 : len(plain)-1]
		}
		return plain, true, nil
	}
	return "", false, ErrDuplicateCookie
}

// invalid records a rejected cookie: no session, clear it, tell OnInvalid.
func (st *state) invalid(err error) {
	st.clear = true
	if st.m.cfg.OnInvalid != nil {
		st.pending = append(st.pending, pendingCall{err: err})
	}
}

// legacyFlashKey is where gorilla/sessions keeps flashes.
const legacyFlashKey = "_flash"

// legacy turns a cookie of an older library into a new session.
func (st *state) legacy(value string) {
	vals, err := st.m.cfg.Legacy.DecodeLegacy(st.m.name, value)
	if err != nil {
		st.invalid(fmt.Errorf("%w: legacy cookie: %w", cookie.ErrInvalid, err))
		return
	}
	// gorilla/sessions keeps flashes under "_flash": they become flashes.
	var flashes []json.RawMessage
	if fl, ok := vals[legacyFlashKey].([]any); ok {
		for _, f := range fl {
			raw, err := json.Marshal(f)
			if err != nil {
				st.invalid(fmt.Errorf("%w: legacy flash: %w", ErrValue, err))
				return
			}
			flashes = append(flashes, raw)
		}
		delete(vals, legacyFlashKey)
	}
	data := make(map[string]json.RawMessage, len(vals))
	for k, v := range vals {
		raw, err := json.Marshal(v)
		if err != nil {
			st.invalid(fmt.Errorf("%w: legacy value %q: %w", ErrValue, k, err))
			return
		}
		data[k] = raw
	}
	st.mat = true
	st.data, st.flashes = data, flashes
	st.id = newID()
	st.issuedAt = st.m.now()
	st.dirty = true
	st.clear = true // a write supersedes it; chunks of the old one go
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
	var data map[string]json.RawMessage
	var flashes []json.RawMessage
	if st.env.data.ok() {
		data = make(map[string]json.RawMessage, len(st.env.fields))
		for _, f := range st.env.fields {
			data[unquote(st.payload[f.key.start:f.key.end])] = bytes.Clone(st.payload[f.val.start:f.val.end])
		}
	}
	if st.env.flashes.ok() {
		err := eachElement(st.payload, st.env.flashes, func(v span) error {
			flashes = append(flashes, bytes.Clone(st.payload[v.start:v.end]))
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrPayload, err)
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
	switch {
	case st.dirty:
		st.ensure()
		payload := encodeEnvelope(nil, st.id, st.sub, st.data, st.flashes)
		return st.write(h, payload, st.issuedAt)
	case st.valid:
		now := m.cfg.Now()
		kr := m.keys.Keyring()
		due := now.Sub(st.meta.RefreshedAt) >= m.cfg.RefreshAfter ||
			st.meta.KeyID != kr.Primary().ID ||
			(kr.EpochPeriod() != 0 && st.meta.Epoch != kr.Epoch(now))
		if due {
			// Only the timestamps (and perhaps the key) change: re-seal the
			// payload as it is, without decoding or encoding it.
			return st.write(h, st.payload, st.meta.IssuedAt)
		}
	case st.clear && st.destroyed && m.cfg.MaxChunks > 1:
		// Whatever the request carried, another response in flight may
		// have set the plain cookie or any chunk: expire them all.
		h.Add("Set-Cookie", m.clearPlain)
		m.clearUnused(h, st.cookies, 0)
		noStoreCookie(h)
	case st.clear:
		names := st.present()
		for _, n := range names {
			m.clearCookie(h, n)
		}
		if len(names) > 0 {
			noStoreCookie(h)
		}
	}
	return nil
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
	sealed, err := m.sealer.AppendSeal(nil, payload, issuedAt)
	if err != nil {
		return fmt.Errorf("middleware: saving session: %w", err)
	}
	value := string(sealed)
	now := m.now()
	deadline := m.sealer.Deadline(cookie.Meta{IssuedAt: time.UnixMilli(issuedAt.UnixMilli()), RefreshedAt: now})
	maxAge := m.maxAge(now, deadline)
	var pieces []string // nil: the plain cookie
	if line := m.cfg.lineLen(len(m.name), len(value), maxAge); len(value) > m.cfg.MaxValueSize || line > maxCookieLine {
		if m.cfg.MaxChunks == 1 {
			return fmt.Errorf("middleware: saving session: %w: %d-byte value, %d-byte Set-Cookie line (at most %d-byte value, %d-byte line)",
				cookie.ErrTooLarge, len(value), line, m.cfg.MaxValueSize, maxCookieLine)
		}
		// Every chunk gets the room of the longest chunk name's line.
		room := maxCookieLine - m.cfg.lineLen(len(m.chunkNames[len(m.chunkNames)-1]), 0, maxAge)
		pieces, err = cookie.Split(value, min(m.cfg.MaxValueSize, room), m.cfg.MaxChunks)
		if err != nil {
			return fmt.Errorf("middleware: saving session: %w", err)
		}
	}
	if pieces == nil {
		m.setCookie(h, m.name, value, now, maxAge)
		m.clearUnused(h, st.cookies, 0)
	} else {
		for i, p := range pieces {
			m.setCookie(h, m.chunkNames[i], p, now, maxAge)
		}
		h.Add("Set-Cookie", m.clearPlain)
		m.clearUnused(h, st.cookies, len(pieces))
	}
	noStoreCookie(h)
	return nil
}

// present lists the session cookies the request carried.
func (st *state) present() []string {
	var names []string
	if st.nplain > 0 {
		names = append(names, st.m.name)
	}
	return append(names, cookie.StaleChunks(st.cookies, st.m.name, 0)...)
}
