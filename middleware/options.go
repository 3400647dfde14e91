package middleware

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/revoke"
)

// Defaults for [Options]' zero values that are not the cookie package's.
const (
	// DefaultRevokeCheckTimeout is Options.RevokeCheckTimeout's default,
	// the bound of one revocation check.
	DefaultRevokeCheckTimeout = 100 * time.Millisecond
	// DefaultMaxFlashes is Options.MaxFlashes' default.
	DefaultMaxFlashes = 32
	// FormerLimit caps Options.FormerDomains and Options.FormerPaths.
	FormerLimit = 4
	// DefaultName is the cookie name New uses when given "": a "__Host-"
	// name, which no other host or path can plant (see
	// Options.InsecureNoHostPrefix). It works over plain-HTTP localhost
	// too: Chromium and Firefox store Secure cookies from it.
	DefaultName = "__Host-session"
	// revokeMargin is added to every revocation entry's until, past the
	// last instant a revoked cookie could still open (timestamps are
	// truncated to the millisecond, stores to the second).
	revokeMargin = time.Second
	// maxCookieLine bounds one Set-Cookie line, name, value and attributes
	// together: RFC 6265 §6.1 has browsers keep at least 4096 bytes of a
	// cookie, and some count the attributes too, so a longer line may be
	// dropped.
	maxCookieLine = 4096
	// DefaultMaxResponseCookieBytes is Options.MaxResponseCookieBytes
	// without chunking: three quarters of the 4096-byte page that a
	// default nginx gives the whole header block of an upstream response
	// (proxy_buffer_size), leaving 1 KB for the status line and every
	// other header (Date, Content-Type, Vary, Cache-Control and the
	// application's own: CSP, HSTS, Referrer-Policy, …).
	DefaultMaxResponseCookieBytes = 3072
	// setCookieOverhead is what each Set-Cookie line adds to its value on
	// the HTTP/1.1 wire: "Set-Cookie: " and CRLF.
	setCookieOverhead = len("Set-Cookie: \r\n")
)

// LegacyDecoder reads a session cookie written by an older library;
// gorilla.Decoder (package cookie/gorilla) reads gorilla/sessions'
// CookieStore cookies.
type LegacyDecoder interface {
	// DecodeSession returns the session held by a legacy cookie value of
	// the named cookie: its values, its timestamp (which the migrated
	// session keeps as its issued-at; it must not be zero) and its subject
	// ("" for none). It returns an error when the value is not an
	// authentic, unexpired legacy cookie.
	DecodeSession(name, value string) (cookie.LegacySession, error)
}

// Options configures a [Manager]. The zero value is the safe default: a
// Secure, HttpOnly, SameSite=Lax cookie on Path=/ with no Domain, expiring
// after the key set's recorded lifetime (else 24h idle or 7 days in
// all), in the native format. [New] validates and
// copies the options; changing them afterwards has no effect.
type Options struct {
	// Path is the cookie's Path. Default "/". Must be "/" with a "__Host-"
	// or "__Host-Http-" name.
	Path string
	// Domain is the cookie's Domain. Default none: a host-only cookie,
	// which is what you want unless sibling hosts share the session.
	// Refused with a "__Host-" or "__Host-Http-" name.
	Domain string
	// SameSite is the cookie's SameSite mode. The zero value means
	// http.SameSiteLaxMode; http.SameSiteNoneMode needs Secure;
	// http.SameSiteDefaultMode (no attribute) is refused: name a mode.
	SameSite http.SameSite
	// Partitioned adds the Partitioned attribute (CHIPS), for a session in
	// a third-party embed. Needs Secure. Default false.
	Partitioned bool
	// BrowserSession makes the cookie a browser-session cookie, with no
	// Max-Age or Expires: the browser drops it when it closes (or, with
	// session restore, whenever it likes). The sealed timestamps still
	// enforce IdleTimeout and AbsoluteTimeout. Default false.
	BrowserSession bool
	// InsecureAllowHTTP lets the cookie travel over plain HTTP: it drops
	// the Secure attribute. It is for development on http://localhost
	// only: a cookie without Secure is sent over any plain-HTTP
	// connection to the site, where anyone on the path can read it.
	// Refused with SameSite=None, Partitioned, and every prefixed name
	// ("__Secure-", "__Host-", "__Http-", "__Host-Http-"),
	// which browsers store only with Secure. It is not needed there:
	// Chromium and Firefox store Secure cookies, prefixed ones included,
	// from http://localhost, so a prefixed name works over plain-HTTP
	// localhost with the default options. Default false.
	InsecureAllowHTTP bool
	// InsecureNoHTTPOnly drops the HttpOnly attribute, letting page
	// scripts (and any injected script) read the sealed cookie. Refused
	// with an "__Http-" or "__Host-Http-" name, which
	// browsers store only with HttpOnly. Default false.
	InsecureNoHTTPOnly bool
	// InsecureNoHostPrefix lets New accept a cookie name without the
	// "__Host-" prefix ("__Host-Http-" has it). Only that
	// prefix makes the browser refuse a cookie of the name from another
	// host (a sibling subdomain, a user-content host) or for another
	// Path. Under any other name ("__Secure-" too) a sibling can plant
	// its own valid session: the rules of "Copies of the cookie" (package
	// doc) keep a user who has a session out of it (the copies disagree:
	// no session, logged out once), but a browser with no session cookie
	// of its own (a new visitor, a user just logged out) sends the
	// planted one alone, and it opens: that user is in the planter's
	// session (login CSRF). Set it for a cookie that must have a Domain
	// (shared by subdomains you trust), a Path other than "/",
	// FormerDomains or FormerPaths, or InsecureAllowHTTP. Default false:
	// New refuses such a name.
	InsecureNoHostPrefix bool

	// Codec holds the settings the manager shares with the cookie codec
	// it seals and opens with (see cookie.Options), written once:
	//
	//   - IdleTimeout, AbsoluteTimeout and ClockSkew, the session's
	//     lifetime: left zero, each is what the key set records
	//     (keyring.Lifetime, written by cookieseal keygen or keys policy
	//     set), else keyring's default (24h, 7 days, 30s). An
	//     AbsoluteTimeout or ClockSkew longer than the recorded one is
	//     refused: key rotation waits for the recorded values before it
	//     removes a key. IdleTimeout ends a session that no request
	//     refreshed for this long; AbsoluteTimeout ends it this long after
	//     it was issued (at login, or the last Renew), whatever its
	//     activity, and must be at least IdleTimeout; both at most
	//     keyring.MaxTimeout (400 days). ClockSkew is how far the clocks
	//     of instances may disagree: every comparison between a time
	//     written by one instance and the clock of another allows it, and
	//     no instance writes timestamps that another instance within
	//     ClockSkew refuses. It is an acceptance tolerance, not a
	//     revocation window: see Manager.RevokeSubject.
	//   - Now, the clock of the manager and its codec. Default time.Now.
	//     Tests inject one here.
	//   - Format, the wire format the manager writes. Default
	//     cookie.Native. Whatever it says, the manager opens cookies of
	//     both formats (the first bytes tell them apart; both pass the same
	//     checks in the same order), so switching it, either way, logs
	//     nobody out, and instances of both configurations can serve one
	//     user behind one load balancer. A valid cookie of the other format
	//     is re-sealed in this one on the response of the request that
	//     carried it (EventResealed), as a cookie sealed under a key that
	//     is no longer primary is, so a switch drains the old format as
	//     users come back.
	//   - MaxValueSize, the bound on the value of one cookie in bytes.
	//     Default 3800 (cookie.DefaultMaxValueSize); the cookie's name and
	//     value together must fit in 4096 bytes. With MaxChunks above 1 it
	//     bounds each chunk, and the manager's codec seals values of up to
	//     MaxValueSize × MaxChunks. The whole Set-Cookie line is bounded
	//     too: name, value and attributes (Path, Domain, the fixed-width
	//     Expires, Max-Age, HttpOnly, Secure, SameSite, Partitioned)
	//     together must fit in 4096 bytes, the most a browser is sure to
	//     keep. A session whose line would be longer is not written: with
	//     MaxChunks 1 it fails to save with an error matching
	//     cookie.ErrTooLarge (see ErrorHandler), even when its value is
	//     within MaxValueSize; a long Domain or Path leaves less room for
	//     the value. New refuses attributes so long that not even an empty
	//     session fits. With MaxChunks 1 the tighter bound is usually the
	//     response's: MaxResponseCookieBytes (default 3072) caps the line
	//     at 3058 bytes, so a default manager's largest cookie is about
	//     2950 bytes.
	//   - Usage, if set, is told of each seal and open by key ID and
	//     epoch, so an operator can see when an old key has drained.
	Codec cookie.Options
	// RefreshAfter throttles the sliding refresh: a valid session is
	// re-sealed with a new refreshed-at only when at least this long has
	// passed since its last refresh, so most responses carry no
	// Set-Cookie. The idle deadline a user sees therefore lies between
	// IdleTimeout − RefreshAfter and IdleTimeout after their last request
	// (Codec.IdleTimeout). Default IdleTimeout/4; must be less than
	// IdleTimeout. Set it to
	// time.Nanosecond to refresh on every request that reads the session.
	RefreshAfter time.Duration
	// MaxChunks is how many cookies (name.0, name.1, …) one session may be
	// spread over when its sealed value does not fit in one cookie (longer
	// than MaxValueSize, or a Set-Cookie line over 4096 bytes). Each chunk
	// holds at most MaxValueSize bytes, and less when its own line (name
	// "name.N", value and attributes) would pass 4096 bytes. Default
	// cookie.DefaultMaxChunks (1), the default of every reader and writer
	// (the Python peer's too): no chunking, and a session that outgrows
	// one cookie fails to save (see ErrorHandler). Every chunk travels on every request, and proxies
	// limit both directions: a default nginx passes two 3800-byte chunks
	// in a request over HTTP/1.1 (400 beyond, before the application sees
	// it) and no chunked write at all (its 4 KB response buffer; see
	// MaxResponseCookieBytes). Tune the proxy first (docs/proxies-and-caches.md)
	// and set MaxResponseCookieBytes to match. At most cookie.ChunkLimit
	// (16). Every instance, and every peer that reads the session, needs
	// the same value: a reader with a lower one refuses a longer session.
	//
	// With MaxChunks above 1, every response that writes the session also
	// expires the cookies it does not use (the plain cookie when it writes
	// chunks; otherwise every chunk index from the number written up to the
	// last index that a write within MaxResponseCookieBytes can set, and
	// any other chunk the request carried), whether or not the request
	// carried them, and Destroy does the same from index 0. Two responses
	// in flight at once (one writing three chunks, the other two) then
	// cannot leave a stale chunk behind that joins into a value that does
	// not open: no response can set an index beyond that reach. The cost is
	// a short Set-Cookie line (Max-Age=0, no Expires) per such index on
	// each response that writes the session; responses that only read it
	// carry none. Chunk names with an index of MaxChunks or more are no
	// copy of the session (they never open it and never log anyone out),
	// and any response after a request that carried them clears them,
	// within the clearing budget; a chunk index carried twice with two
	// values, or beside the plain cookie, makes copies that disagree (see
	// "Copies of the cookie" in the package doc). Prefer a "__Host-" name
	// with chunking: a sibling host cannot plant chunks for it.
	MaxChunks int
	// MaxResponseCookieBytes bounds the Set-Cookie block of a response
	// that writes the session: every Set-Cookie line in the response
	// header when the session is committed (the manager's own, the
	// handler's, other managers'), counted as sent on HTTP/1.1, that is
	// "Set-Cookie: " + line + CRLF. A reverse proxy must hold the whole
	// header block of an upstream response in one buffer (nginx:
	// proxy_buffer_size, one 4 KB page by default) and answers 502 Bad
	// Gateway when it does not fit; a session whose block would pass this
	// bound is not written, and goes to ErrorHandler with an error
	// matching cookie.ErrTooLarge before any byte is sent.
	//
	// Default, with MaxChunks 1: DefaultMaxResponseCookieBytes (3072),
	// which leaves 1 KB of a default nginx's buffer to the status line and
	// every other header. With MaxChunks above 1 the default is no bound
	// beyond the per-line ones (about MaxChunks × 4.1 KB), because chunked
	// sessions need a tuned proxy anyway: set it to your proxy's buffer
	// less your other headers (docs/proxies-and-caches.md's recipe). New refuses
	// a negative bound, one too small for the smallest session's lines,
	// and, with MaxChunks above 1, one that holds no write of two chunks.
	// With chunking, a write also clears only the chunk indices that some
	// write within the bound can set (and any the request carried).
	MaxResponseCookieBytes int

	// Revoker, if set, is consulted for every session the manager opens
	// (after the cookie authenticates and passes the expiry rule, whatever
	// its format) and again by Renew; Destroy revokes the session's id
	// when it has a subject, and Renew the old id. Default nil: no
	// revocation.
	Revoker revoke.Revoker
	// RevokeCheckTimeout bounds each revocation check (Revoker.Check): on
	// every request that carries a session, and in Renew and
	// RevokeOthers. Default DefaultRevokeCheckTimeout (100ms). A check
	// that takes longer is a fault (ErrRevokeFault, then the fail-closed
	// or fail-open policy). Writes (Revoker.RevokeSession and
	// RevokeSubject, from Destroy, Renew, RevokeOthers and
	// Manager.RevokeSubject) are not bounded here but by the caller's
	// context and the Revoker's own bound (revoke/redis:
	// Options.WriteTimeout, 1s by default, which covers its WAIT for
	// replicas): a logout may wait longer than a page view.
	RevokeCheckTimeout time.Duration
	// InsecureRevokeFailOpen accepts a session whose revocation check
	// failed with a fault (not revoke.ErrRevoked): availability over
	// forced logout while the store is down. The fault is still reported
	// (EventRevokeFault, or slog.Default with no Observer). Default false:
	// fail closed, the request is treated as having
	// no session and its response never writes over or clears the cookie
	// (changes return ErrRevokeFault; Destroy still clears it), so the user
	// is back once the store answers.
	InsecureRevokeFailOpen bool

	// Legacy, if set, is tried once on a session cookie that fails to open
	// in the native format (malformed or unauthentic, not expired). What
	// it decodes passes the same checks as a native session, in the same
	// order: the decoder authenticates, then the expiry rule applies to
	// the legacy timestamp (issued-at and refreshed-at both), then
	// LegacyNotBefore, then the Revoker. Its values become the session,
	// re-sealed in the native format on that response with the legacy
	// timestamp as issued-at (the absolute timeout does not restart) and
	// an id derived from the legacy value (so that revoking it, by Destroy
	// or RevokeSubject, also stops a replay of the legacy cookie); a
	// "_flash" list (gorilla/sessions' flashes) becomes the session's
	// flashes. A value that does not encode as JSON leaves the request
	// with no session (EventRejected, ErrValue, cookie.ReasonPayload).
	// Default nil.
	Legacy LegacyDecoder
	// LegacyNotBefore, if not zero, refuses legacy cookies whose
	// timestamp is before it (EventRejected, cookie.ErrExpired,
	// cookie.ReasonLegacyRefused): set it
	// to cut off sessions of the old app, for example after a leak of its
	// keys. Default: zero, no cut-off.
	LegacyNotBefore time.Time

	// MaxFlashes bounds the flashes a session queues: AddFlash past it
	// drops the oldest. A session whose flashes make it too large for its
	// cookie also drops its oldest flashes, one at a time, until it fits
	// (if data alone is too large, the save fails as before). So a client
	// that never reads its flashes (one that does not follow redirects)
	// cannot grow its session, or turn its responses into 500s. Default
	// DefaultMaxFlashes.
	MaxFlashes int

	// FormerDomains and FormerPaths name Domain and Path values this
	// cookie was set with before (at most FormerLimit each). Every
	// response that writes or clears the session after a request that
	// carried it also clears the names the request carried at each
	// FormerDomains × FormerPaths combination (with the configured Domain
	// and Path among them), so an old copy never outlives the move to
	// disagree with the new one; and a request with copies that disagree
	// has them cleared there first (see "Copies of the cookie" in the
	// package doc). Those lines take at most 4 KB, after the session's
	// own lines within MaxResponseCookieBytes. A "__Host-" cookie has
	// none: it was never set with a Domain or another Path. Default none.
	FormerDomains []string
	FormerPaths   []string

	// Observer, if set, is told of every session event (see Event):
	// rejected cookies with their typed reason (Event.Reason, which
	// cookie.ReasonOf(Event.Err) gives too: tampered, idle or absolute
	// expiry, unknown key, duplicate, revoked, …), opens, revocation
	// checks with their latency, revocation faults, refreshes, rotation
	// re-seals, saves and failed saves, renews and destroys. It is the
	// one hook for logs, metrics, invalid cookies and faults: use
	// NewLogObserver for logs, the otel module for OpenTelemetry metrics,
	// package active for active-session counts, and Observers to combine
	// several. With no Observer, the request path builds no event and
	// allocates nothing for them. Default nil: no events; the faults no
	// call returns (a revocation check that failed while loading the
	// session, a legacy cookie's revocation at migration, a response
	// written around the middleware: ErrBypassed) and, through the
	// default ErrorHandler, sessions that could not be saved are logged
	// to slog.Default at error level, once each. With an Observer,
	// nothing is logged to slog.Default: the Observer hears them all.
	Observer Observer
	// ErrorHandler is the response to a session that cannot be saved
	// (for example a value too large for MaxValueSize × MaxChunks or for
	// a 4096-byte Set-Cookie line, both matching cookie.ErrTooLarge, or a
	// key that cannot seal). It is called before the first byte of the
	// response, with the underlying ResponseWriter; whatever the handler
	// writes afterwards is discarded and its Write calls return an error.
	// It is for the response only: the Observer hears the failure too, as
	// EventSaveFailed. Default: respond 500 Internal Server Error, after
	// logging the error to slog.Default when there is no Observer.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// config is Options resolved and validated.
type config struct {
	Options
	// Options.Codec resolved (the key set's recorded lifetime, the
	// defaults): the manager's own reads use these.
	IdleTimeout, AbsoluteTimeout, ClockSkew time.Duration
	Now                                     func() time.Time
	Format                                  cookie.Format
	MaxValueSize                            int
	Usage                                   keyring.UsageRecorder
	secure                                  bool
	httpOnly                                bool
	maxLen                                  int // bound on the whole sealed value, over every chunk
	budget                                  int // MaxResponseCookieBytes resolved
	// lineAttrs is the length of the cookie's Set-Cookie line less its
	// name, its value and the digits of its Max-Age: "=" and every
	// attribute, Expires included (its format has a fixed width). The
	// name and the attributes are fixed, so it is computed once.
	lineAttrs int
	// lineMid and lineTail are the attributes of every Set-Cookie line
	// the manager writes, before and after Expires and Max-Age (see
	// config.lineParts).
	lineMid, lineTail string
}

// baseCookie is the cookie name=value with the configured attributes.
func (c *config) baseCookie(name, value string) http.Cookie {
	return http.Cookie{
		Name:        name,
		Value:       value,
		Path:        c.Path,
		Domain:      c.Domain,
		Secure:      c.secure,
		HttpOnly:    c.httpOnly,
		SameSite:    c.SameSite,
		Partitioned: c.Partitioned,
	}
}

// lineLen is the length of the Set-Cookie line that sets a cookie whose
// name and value have these lengths, with this Max-Age (ignored for a
// browser-session cookie): len(cookie.String()) without building it.
func (c *config) lineLen(nameLen, valueLen, maxAge int) int {
	n := c.lineAttrs + nameLen + valueLen
	if !c.BrowserSession {
		n += decimalLen(maxAge)
	}
	return n
}

// maxMaxAge bounds the Max-Age of a cookie the manager sets: a session's
// deadline is never further than AbsoluteTimeout away.
func (c *config) maxMaxAge() int {
	return max(int(c.AbsoluteTimeout/time.Second), 1)
}

// decimalLen is the number of decimal digits of n >= 0.
func decimalLen(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

func resolve(name string, o Options) (config, error) {
	c := config{Options: o, secure: !o.InsecureAllowHTTP, httpOnly: !o.InsecureNoHTTPOnly,
		IdleTimeout: o.Codec.IdleTimeout, AbsoluteTimeout: o.Codec.AbsoluteTimeout, ClockSkew: o.Codec.ClockSkew,
		Now: o.Codec.Now, Format: o.Codec.Format, MaxValueSize: o.Codec.MaxValueSize, Usage: o.Codec.Usage}
	if err := validName(name); err != nil {
		return c, err
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = keyring.DefaultIdleTimeout
	}
	if c.AbsoluteTimeout == 0 {
		c.AbsoluteTimeout = keyring.DefaultAbsoluteTimeout
	}
	if c.RefreshAfter == 0 {
		c.RefreshAfter = c.IdleTimeout / 4
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = keyring.DefaultClockSkew
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxValueSize == 0 {
		c.MaxValueSize = cookie.DefaultMaxValueSize
	}
	if c.MaxChunks == 0 {
		c.MaxChunks = cookie.DefaultMaxChunks
	}
	switch {
	case c.MaxResponseCookieBytes != 0:
		c.budget = c.MaxResponseCookieBytes
	case c.MaxChunks <= 1:
		c.budget = DefaultMaxResponseCookieBytes
	default:
		c.budget = math.MaxInt // the per-line limits bound it
	}
	if c.RevokeCheckTimeout == 0 {
		c.RevokeCheckTimeout = DefaultRevokeCheckTimeout
	}
	if c.MaxFlashes == 0 {
		c.MaxFlashes = DefaultMaxFlashes
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = defaultErrorHandler
		if c.Observer != nil {
			c.ErrorHandler = internalError // the Observer hears EventSaveFailed
		}
	}

	fail := func(format string, args ...any) (config, error) {
		return c, fmt.Errorf("middleware: cookie %q: "+format, append([]any{name}, args...)...)
	}
	switch {
	case c.IdleTimeout < 0 || c.AbsoluteTimeout < 0 || c.RefreshAfter < 0 || c.ClockSkew < 0 || c.RevokeCheckTimeout < 0:
		return fail("negative duration")
	case c.IdleTimeout > keyring.MaxTimeout || c.AbsoluteTimeout > keyring.MaxTimeout:
		return fail("IdleTimeout %v and AbsoluteTimeout %v must be at most 400 days (browsers cap cookie lifetimes there)", c.IdleTimeout, c.AbsoluteTimeout)
	case c.MaxFlashes < 0:
		return fail("negative MaxFlashes")
	case len(c.FormerDomains) > FormerLimit || len(c.FormerPaths) > FormerLimit:
		return fail("at most %d FormerDomains and %d FormerPaths", FormerLimit, FormerLimit)
	case c.AbsoluteTimeout < c.IdleTimeout:
		return fail("AbsoluteTimeout %v is shorter than IdleTimeout %v; raise AbsoluteTimeout", c.AbsoluteTimeout, c.IdleTimeout)
	case c.RefreshAfter >= c.IdleTimeout:
		return fail("RefreshAfter %v must be less than IdleTimeout %v", c.RefreshAfter, c.IdleTimeout)
	case c.MaxChunks < 0 || c.MaxChunks > cookie.ChunkLimit:
		return fail("MaxChunks %d out of range [1, %d] (cookie.ChunkLimit)", c.MaxChunks, cookie.ChunkLimit)
	case c.MaxResponseCookieBytes < 0:
		return fail("negative MaxResponseCookieBytes %d", c.MaxResponseCookieBytes)
	case c.MaxValueSize < 0 || len(name)+len(".00=")+c.MaxValueSize > maxCookieLine:
		return fail("MaxValueSize %d: name and value must fit in %d bytes", c.MaxValueSize, maxCookieLine)
	case c.SameSite == http.SameSiteDefaultMode:
		return fail("SameSiteDefaultMode sends no attribute and leaves the choice to the browser; name a mode")
	case c.SameSite < http.SameSiteDefaultMode || c.SameSite > http.SameSiteNoneMode:
		return fail("unknown SameSite mode %d", c.SameSite)
	case c.SameSite == http.SameSiteNoneMode && !c.secure:
		return fail("SameSite=None needs Secure (browsers reject it otherwise)")
	case c.Partitioned && !c.secure:
		return fail("Partitioned needs Secure")
	}
	if p := namePrefix(name); p != "" && name[:len(p)] != p {
		// Browsers since the 2024 change match prefixes case-insensitively
		// and apply the prefix's rules; earlier ones, and other clients,
		// take the name as an ordinary one that a sibling host can plant.
		// A name means one thing everywhere: spelled as RFC 6265bis does.
		return fail("spells the prefix %q as %q: current browsers match prefixes case-insensitively and apply its rules, older ones treat the name as an ordinary cookie that another host can plant; write %q", p, name[:len(p)], p+name[len(p):])
	}
	if err := prefixRules(name, c); err != nil {
		return c, err
	}
	if !hostOnlyName(name) && !c.InsecureNoHostPrefix {
		return fail("has no \"__Host-\" prefix, so another host can plant its own session under it for a visitor who has none: name it %q (the default for \"\"), or acknowledge the risk with InsecureNoHostPrefix (needed for a Domain, a Path other than \"/\" or InsecureAllowHTTP)", DefaultName)
	}
	switch {
	case c.Revoker == nil && c.InsecureRevokeFailOpen:
		return fail("InsecureRevokeFailOpen without a Revoker")
	case c.MaxChunks > 1 && looksLikeChunk(name):
		return fail("a name ending in '.' and digits collides with another cookie's chunks")
	}
	// net/http's own rules for the attributes (path and domain characters).
	probe := http.Cookie{Name: name, Value: "x", Path: c.Path, Domain: c.Domain, Secure: c.secure, Partitioned: c.Partitioned}
	if err := probe.Valid(); err != nil {
		return fail("%v", err)
	}
	if !strings.HasPrefix(c.Path, "/") {
		return fail("Path %q must start with '/'", c.Path)
	}
	for _, d := range c.FormerDomains {
		if !validDomain(strings.TrimPrefix(d, ".")) {
			return fail("FormerDomains: %q is not a domain name", d)
		}
	}
	for _, p := range c.FormerPaths {
		probe := http.Cookie{Name: name, Value: "x", Path: p}
		if err := probe.Valid(); err != nil || !strings.HasPrefix(p, "/") {
			return fail("FormerPaths: %q is not a cookie path starting with '/'", p)
		}
	}
	c.FormerDomains = slices.Clone(c.FormerDomains)
	c.FormerPaths = slices.Clone(c.FormerPaths)
	c.maxLen = c.MaxValueSize * c.MaxChunks
	// Measure the line once, with a one-digit Max-Age and an empty value.
	line := c.baseCookie(name, "")
	if !c.BrowserSession {
		line.MaxAge = 1
		line.Expires = time.Unix(0, 0).UTC()
	}
	c.lineAttrs = len(line.String()) - len(name)
	if !c.BrowserSession {
		c.lineAttrs -= decimalLen(line.MaxAge)
	}
	c.lineMid, c.lineTail = c.lineParts()
	return c, nil
}

// namePrefix returns the cookie name prefix that browsers enforce on
// name, in its canonical spelling: "__Host-Http-", "__Http-", "__Host-",
// "__Secure-", or "" for none. Browsers match prefixes
// case-insensitively (RFC 6265bis; httpwg/http-extensions#2231), so
// "__host-session" has the "__Host-" prefix (which New refuses to see
// spelled so). The longest match wins:
// "__Host-Http-" carries every rule of "__Host-".
func namePrefix(name string) string {
	for _, p := range [...]string{"__Host-Http-", "__Http-", "__Host-", "__Secure-"} {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return p
		}
	}
	return ""
}

// hostOnlyName reports whether a browser keeps name host-only on Path=/
// (a "__Host-" or "__Host-Http-" prefix): no sibling host can
// plant it and no other Path can hold a copy.
func hostOnlyName(name string) bool {
	p := namePrefix(name)
	return p == "__Host-" || p == "__Host-Http-"
}

// prefixRules refuses the settings a browser rejects for name's prefix
// (RFC 6265bis as browsers ship it; New has refused other spellings of
// a prefix already):
// every prefix needs Secure; "__Http-" and "__Host-Http-" need HttpOnly;
// "__Host-" and "__Host-Http-" need Path=/ and no Domain (so they take
// no FormerDomains or FormerPaths either). The chunk
// cookies (name.0, name.1, …) share the name's prefix and attributes, so
// the same rules cover them. The error names the prefix and the setting
// to change.
func prefixRules(name string, c config) error {
	p := namePrefix(name)
	if p == "" {
		return nil
	}
	fail := func(what string) error {
		return fmt.Errorf("middleware: cookie %q: a %s cookie %s", name, p, what)
	}
	switch {
	case !c.secure:
		return fail("must be Secure, so InsecureAllowHTTP is refused (Chromium and Firefox store Secure cookies from http://localhost: leave it off there too)")
	case (p == "__Http-" || p == "__Host-Http-") && !c.httpOnly:
		return fail("must be HttpOnly, so InsecureNoHTTPOnly is refused")
	case (p == "__Host-" || p == "__Host-Http-") && c.Domain != "":
		return fail(fmt.Sprintf("must not have a Domain (Domain %q)", c.Domain))
	case (p == "__Host-" || p == "__Host-Http-") && c.Path != "/":
		return fail(fmt.Sprintf("must have Path=/ (Path %q)", c.Path))
	case (p == "__Host-" || p == "__Host-Http-") && len(c.FormerDomains)+len(c.FormerPaths) > 0:
		return fail("never had another Domain or Path (FormerDomains, FormerPaths)")
	}
	return nil
}

// validName checks a cookie name against RFC 6265's cookie-name: an HTTP
// token.
func validName(name string) error {
	if name == "" {
		return errors.New("middleware: empty cookie name")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("middleware: cookie name %q: byte %d is not an RFC 6265 token character", name, i)
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validDomain reports whether d is a domain name a cookie's Domain may
// name: dot-separated labels of letters, digits and hyphens, 1 to 63 bytes
// each, 253 in all, not starting or ending with a hyphen; not an IP
// address (its last label is not all digits).
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	last := ""
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
		last = label
	}
	return strings.Trim(last, "0123456789") != ""
}

// looksLikeChunk reports whether name ends in "." and digits.
func looksLikeChunk(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 1 || i == len(name)-1 {
		return false
	}
	for _, c := range []byte(name[i+1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
