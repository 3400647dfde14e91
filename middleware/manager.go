package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/chunk"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/revoke"
)

// Manager loads, checks and saves the sessions of one cookie. Build it
// once with New and wrap handlers with Handler. It is safe for concurrent
// use.
type Manager struct {
	name   string
	keys   keyring.Provider
	codec  *cookie.Codec // seals in cfg.Format, opens every format
	cfg    config
	states sync.Pool // *state
	types  sync.Map  // reflect.Type → bool: may decoding create interface values

	// With MaxChunks > 1: the chunk names, and the Set-Cookie lines that
	// expire the plain cookie and each chunk, built once (they never
	// change) for the writes that expire every unused cookie.
	chunkNames  []string
	clearPlain  string
	clearChunks []string
	// reach is how many chunk indices a write within
	// MaxResponseCookieBytes can set (see chunkReach); indices from
	// reach on are cleared only when the request carried them.
	reach int
}

// New returns a manager for the cookie name, sealed under the keyring that
// keys provides (called on every request, so rotation can swap keys under
// a running manager). Invalid options are refused with an error that says
// which rule they break.
//
// The timeouts and clock skew that opts leaves zero are the lifetime
// policy that the keyring in force at New records (keyring.Lifetime),
// else the defaults; an AbsoluteTimeout or ClockSkew longer than the
// recorded one is refused, naming both values. The manager keeps these
// values: a key set reloaded later with another policy takes effect
// when the manager is built again.
func New(keys keyring.Provider, name string, opts Options) (*Manager, error) {
	if keys == nil || keys.Keyring() == nil {
		return nil, errors.New("middleware: no keyring")
	}
	opts, err := withRecordedLifetime(keys.Keyring(), name, opts)
	if err != nil {
		return nil, err
	}
	cfg, err := resolve(name, opts)
	if err != nil {
		return nil, err
	}
	codec, err := cookie.New(keys, name, cookie.Options{
		IdleTimeout:     cfg.IdleTimeout,
		AbsoluteTimeout: cfg.AbsoluteTimeout,
		ClockSkew:       cfg.ClockSkew,
		MaxValueSize:    cfg.maxLen,
		Now:             cfg.Now,
		Usage:           cfg.Usage,
		Format:          cfg.Format,
	})
	if err != nil {
		return nil, fmt.Errorf("middleware: cookie %q: %w", name, err)
	}
	if err := fitsLine(keys, name, cfg); err != nil {
		return nil, err
	}
	m := &Manager{name: name, keys: keys, codec: codec, cfg: cfg}
	if cfg.MaxChunks > 1 {
		m.clearPlain = m.clearLine(name)
		m.chunkNames = make([]string, cfg.MaxChunks)
		m.clearChunks = make([]string, cfg.MaxChunks)
		for i := range m.chunkNames {
			m.chunkNames[i] = cookie.ChunkName(name, i)
			m.clearChunks[i] = m.clearLine(m.chunkNames[i])
		}
	}
	m.reach = m.chunkReach()
	if err := m.fitsBudget(keys); err != nil {
		return nil, err
	}
	return m, nil
}

// fitsLine refuses attributes so long that a Set-Cookie line of 4096
// bytes has no room left for the smallest sealed session: a new, empty
// one. Its size is measured by sealing one with a throwaway codec (so
// Usage hears nothing); a failure to seal (a key that cannot seal, a
// MaxValueSize too small for any session) is left for the first save to
// report, as before.
func fitsLine(keys keyring.Provider, name string, cfg config) error {
	probe, err := probeCodec(keys, name, cfg)
	if err != nil {
		return nil // New's own codec was built with these options
	}
	minimal, err := probe.Seal(encodeEnvelope(nil, newID(), "", nil, nil), time.Time{})
	if err != nil {
		return nil // the first save reports it, as before
	}
	attrs := cfg.lineLen(len(name), 0, cfg.maxMaxAge())
	if attrs+len(minimal) > maxCookieLine {
		return fmt.Errorf("middleware: cookie %q: its name and attributes (Domain, Path, …) take %d of the %d bytes of a Set-Cookie line, leaving %d; the smallest sealed session needs %d: shorten Domain or Path",
			name, attrs, maxCookieLine, max(maxCookieLine-attrs, 0), len(minimal))
	}
	return nil
}

// probeCodec returns a codec like the manager's, in its format, that
// tells Usage nothing: for measuring the smallest sealed session.
func probeCodec(keys keyring.Provider, name string, cfg config) (*cookie.Codec, error) {
	return cookie.New(keys, name, cookie.Options{
		IdleTimeout:     cfg.IdleTimeout,
		AbsoluteTimeout: cfg.AbsoluteTimeout,
		ClockSkew:       cfg.ClockSkew,
		MaxValueSize:    cfg.maxLen,
		Now:             cfg.Now,
		Format:          cfg.Format,
	})
}

// Name returns the cookie's name.
func (m *Manager) Name() string { return m.name }

// Handler returns next wrapped with session handling: handlers reach the
// session with From (or Manager.Session) and the cookie is written before
// the first byte of the response when the session changed, a refresh is
// due, the key that sealed it is no longer primary, or a bad cookie must
// be cleared.
//
// The cookie is read and opened lazily, when the handler first touches
// the session; a request that never does costs a context value and
// nothing else, and neither refreshes nor clears anything.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := m.getState()
		rc := &reqCtx{Context: r.Context(), m: m}
		rc.sess.st = st
		r = r.WithContext(rc)
		st.begin(m, &rc.sess, &rc.w, w, r)
		defer m.release(rc, st)
		next.ServeHTTP(&rc.w, r)
		rc.w.finish()
	})
}

// Session returns this manager's session of r: unlike From, it finds the
// right one when several managers (cookies) wrap the same handler. The
// error matches ErrNoMiddleware when r did not pass through m.Handler.
func (m *Manager) Session(r *http.Request) (*Session, error) {
	if s, ok := r.Context().Value(managerKey{m}).(*Session); ok {
		return s, nil
	}
	return nil, ErrNoMiddleware
}

// RevokeSubject logs subject out everywhere: every session of subject
// issued before now is rejected from now on, on every instance that shares
// the Revoker, the caller's own session included whatever ctx holds (to
// keep the caller logged in, use Session.RevokeOthers). The request that
// calls it keeps its session until its handler returns (its check ran
// when it opened the session; a Renew in it fails with revoke.ErrRevoked);
// its next request has none. The entry lasts until no such session can
// open anywhere: AbsoluteTimeout plus twice ClockSkew plus a second.
// Sessions issued after the call (a new login) are not affected. ctx
// bounds the call, as does RevokeTimeout. The error matches ErrNoRevoker
// when no Revoker is configured, revoke.ErrInvalidArgument for an empty
// subject, and ErrRevokeFault when the store fails (then nothing is
// revoked, and the Observer hears an EventRevokeFault without a Request).
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

// revokeSubject writes the revocation of every session of subject issued
// before before. A store fault matches ErrRevokeFault; the caller tells
// the observer of it.
func (m *Manager) revokeSubject(ctx context.Context, subject string, before time.Time) error {
	cctx, cancel := context.WithTimeout(ctx, m.cfg.RevokeTimeout)
	defer cancel()
	err := m.cfg.Revoker.RevokeSubject(cctx, subject, before, before.Add(m.revokeTTL()))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, revoke.ErrInvalidArgument):
		return fmt.Errorf("middleware: %w", err) // a caller bug, not a store fault
	}
	return withReason(cookie.ReasonRevokeFault, fmt.Errorf("%w: %w", ErrRevokeFault, err))
}

// outdated reports whether a valid session's cookie, with header meta,
// is re-sealed even when no refresh is due: the key or epoch that sealed
// it no longer seals (rotation draining an old key), or it is in the
// format Options.Format does not write (a format switch draining the
// other one).
func (m *Manager) outdated(meta cookie.Meta, kr *keyring.Keyring, now time.Time) bool {
	return meta.KeyID != kr.Primary().ID || (kr.EpochPeriod() != 0 && meta.Epoch != kr.Epoch(now)) ||
		meta.Format != m.cfg.Format
}

// revokeTTL is how long after a session's issued-at it may still open on
// some instance: AbsoluteTimeout, plus ClockSkew for the instance that
// reads it, plus ClockSkew for a revocation store whose clock is behind,
// plus revokeMargin for truncation. A revocation entry lasts that long.
func (m *Manager) revokeTTL() time.Duration {
	return m.cfg.AbsoluteTimeout + 2*m.cfg.ClockSkew + revokeMargin
}

// From returns the session of r. The error matches ErrNoMiddleware (never
// a panic) when r did not pass through a Manager's Handler. With several
// managers in the chain, it returns the innermost one's; use
// Manager.Session to pick one.
func From(r *http.Request) (*Session, error) {
	return FromContext(r.Context())
}

// FromContext is From for code that has the request's context rather than
// the request.
func FromContext(ctx context.Context) (*Session, error) {
	if ctx != nil {
		if s, ok := ctx.Value(sessionKey{}).(*Session); ok {
			return s, nil
		}
	}
	return nil, ErrNoMiddleware
}

type sessionKey struct{}

type managerKey struct{ m *Manager }

// reqCtx is the request's context with its session: one allocation for
// both the context layer and the Session handle.
type reqCtx struct {
	context.Context
	m    *Manager
	sess Session
	// w is the response writer handed to the handler. It lives here, with
	// the request, not in the pooled state: a writer kept and used after
	// the handler returned (a framework's late error write) must never
	// reach the state, and so the response, of a later request. release
	// detaches it.
	w writer
}

func (c *reqCtx) Value(key any) any {
	switch k := key.(type) {
	case sessionKey:
		return &c.sess
	case managerKey:
		if k.m == c.m {
			return &c.sess
		}
	}
	return c.Context.Value(key)
}

func (m *Manager) getState() *state {
	if st, ok := m.states.Get().(*state); ok {
		return st
	}
	return &state{buf: make([]byte, 0, 1024)}
}

// release detaches the state from its session handle, so a handle kept
// past the request answers ErrDone, and recycles it. Handler defers it:
// it runs once, a handler's panic included (no code the caller supplied
// can leave the session locked: see Session.lock).
func (m *Manager) release(rc *reqCtx, st *state) {
	rc.w.st = nil // later writes pass straight through (see writer.start)
	rc.w.started = true
	rc.sess.end(st)
}

// now returns the current time at the millisecond precision of sealed
// timestamps.
func (m *Manager) now() time.Time {
	return time.UnixMilli(m.cfg.Now().UnixMilli())
}

// check asks the Revoker about a session that authenticated. It returns
// revoked, an error matching revoke.ErrRevoked (reject, clear), or fault,
// one matching ErrRevokeFault, for the caller's policy; both nil: accept.
// Each carries its reason (cookie.ReasonOf).
func (m *Manager) check(ctx context.Context, s revoke.SessionRef) (revoked, fault error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RevokeTimeout)
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
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RevokeTimeout)
	defer cancel()
	until := issuedAt.Add(m.revokeTTL())
	if err := m.cfg.Revoker.RevokeSession(ctx, id, subject, until); err != nil {
		return withReason(cookie.ReasonRevokeFault, fmt.Errorf("%w: revoking session: %w", ErrRevokeFault, err))
	}
	return nil
}

func logFault(r *http.Request, err error) {
	slog.Default().ErrorContext(r.Context(), "cookieseal: session fault", "method", r.Method, "path", r.URL.Path, "err", err)
}

func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	slog.Default().ErrorContext(r.Context(), "cookieseal: session not saved", "method", r.Method, "path", r.URL.Path, "err", err)
	internalError(w, r, err)
}

func internalError(w http.ResponseWriter, _ *http.Request, _ error) {
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
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

// clearUnused expires the chunk cookies from index from on: with
// chunking, every index that a write can set (below m.reach) whether or
// not the request carried it (another response in flight may have set
// it); and any other chunk name of this manager (an index below
// MaxChunks that no write reaches) that the request carried. A chunk
// name this manager never writes (an index of MaxChunks or more, any
// index when chunking is off) is not its cookie and is ignored: a
// stranger who plants many of them for a parent domain must not be able
// to grow the response (see Options.MaxResponseCookieBytes), so at most
// MaxChunks clearing lines are ever added.
func (m *Manager) clearUnused(h http.Header, carried []*http.Cookie, from int) {
	for i := from; i < m.reach; i++ {
		addSetCookie(h, m.clearChunks[i])
	}
	if carried == nil {
		return
	}
	for _, n := range chunk.Stale(carried, m.name, max(from, m.reach)) {
		if i := slices.Index(m.chunkNames, n); i >= m.reach {
			m.clearCookie(h, n)
		}
	}
}

// noStoreCookie marks a response that sets a cookie so that no shared
// cache stores the Set-Cookie for other users: Vary: Cookie, and a
// no-cache="Set-Cookie" directive added to whatever Cache-Control the
// handler chose (a cache that does not know the qualified form treats it
// as plain no-cache, which is safe too). no-cache="Set-Cookie" rather than
// private or no-store: the handler's own caching of the body stays as it
// chose, and only the cookie is kept out of shared caches.
func noStoreCookie(h http.Header) {
	varyCookie(h)
	cc := cacheControl(h)
	switch {
	case cc == "":
		h["Cache-Control"] = []string{`no-cache="Set-Cookie"`}
	case headerHasToken(h, "Cache-Control", "no-store"),
		strings.Contains(strings.ToLower(cc), `no-cache="set-cookie"`):
	default:
		h["Cache-Control"] = []string{cc + `, no-cache="Set-Cookie"`}
	}
}

// cacheControl returns the response's Cache-Control directives, its
// field lines joined with ", " (empty ones left out): replacing them with
// one line must keep every directive the handler wrote, not only the
// first line's (h.Get).
func cacheControl(h http.Header) string {
	v := h["Cache-Control"]
	if len(v) == 1 {
		return v[0]
	}
	var parts []string
	for _, l := range v {
		if strings.TrimSpace(l) != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ", ")
}

// varyCookie adds Vary: Cookie unless the response already varies on it.
func varyCookie(h http.Header) {
	if !headerHasToken(h, "Vary", "cookie") && !headerHasToken(h, "Vary", "*") {
		h["Vary"] = append(h["Vary"], "Cookie") // h.Add, the key canonical
	}
}

// headerHasToken reports whether a comma-separated header holds token
// (case-insensitive). name must be in canonical form (as
// textproto.CanonicalMIMEHeaderKey returns it): it is looked up as it is.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
