// Package middleware is cookieseal's net/http session manager: the whole
// session lives in a sealed cookie, and the server keeps nothing.
//
// For most uses, build one [Manager] with [New], wrap your handler with
// [Manager.Handler], and reach the session in handlers with [From]:
//
//	keys, err := keyring.ParseString(os.Getenv("COOKIESEAL_KEYS"))
//	kr, err := keyring.New(keys)
//	sessions, err := middleware.New(kr, "__Host-session", middleware.Options{})
//	mux.Handle("GET /dashboard", middleware.RequireSubject(nil)(http.HandlerFunc(dashboard)))
//	http.ListenAndServe(addr, sessions.Handler(mux))
//
//	func dashboard(w http.ResponseWriter, r *http.Request) {
//		sess, err := middleware.From(r)
//		uid, ok, err := middleware.Get[int64](sess, "user_id")
//		…
//	}
//
// # The session
//
// Values are stored as JSON (never gob: nothing to register) under string
// keys. The typed path is Get[T] and [Session.Set]; the dynamic, map-like
// path is [Session.Get], Values, Keys, Delete and Clear. Integers are exact
// (an int64 stored is the int64 read). AddFlash and [PopFlashes] give
// one-time messages. Each session has a random 128-bit id ([Session.ID]) and
// an optional subject, the user ([Session.SetSubject]), both used for
// revocation.
//
// At login, and at every privilege change, call [Session.Renew]: it gives the
// session a new id and issue time and keeps its data, so an id an attacker
// planted or learned beforehand (session fixation) is worth nothing. At
// logout, call [Session.Destroy]: the data goes and the cookie is cleared.
//
// From always returns a session, anonymous or not (an anonymous one may
// hold a cart or a flash). The logged-in check is [Session.Authenticated]:
// the session has a subject. [RequireSubject] lets only such requests reach
// a handler and sends the others to a deny handler (default 401).
//
// A request without the middleware gets [ErrNoMiddleware] from From, never a
// panic; a [Session] kept after its handler returned answers [ErrDone].
//
// # When the cookie is written
//
// The cookie is opened lazily, when the handler first touches the session;
// a request that never does costs almost nothing. Set-Cookie is added
// before the first byte of the response (the first Write, WriteHeader,
// Flush or ReadFrom, or when the handler returns), and only when needed:
// the session changed, a refresh is due (RefreshAfter), the cookie was
// sealed under a key or epoch that is no longer current (rotation), the
// handler called Destroy, or a cookie that does not authenticate (or
// copies of it) must be cleared. A change made after the response started
// returns [ErrResponseStarted]. Every response whose handler touched the
// session carries Vary: Cookie; every one that writes a cookie also
// Cache-Control: no-cache="Set-Cookie"; and every one that depends on a
// real session (the request carried a session cookie, or the response
// sets one) also Cache-Control: private, all added to the handler's own
// directives (public and s-maxage dropped), so no shared cache hands one
// user's page or cookie to another, even one that ignores Vary. A CDN
// obeys its targeted field instead of Cache-Control (RFC 9213), so such a
// response also has every targeted field the handler wrote made to
// forbid storing: CDN-Cache-Control, any other field ending in
// "-Cache-Control" and Surrogate-Control lose their storing directives
// and get no-store, Edge-Control becomes no-store and X-Accel-Expires 0.
// A handler that looked for a session and found none leaves its page
// cacheable, its headers as written. The wrapper keeps
// http.ResponseController (Flush, Hijack, deadlines) and [io.ReaderFrom]
// working. Hijack (a WebSocket upgrade) commits the session into
// w.Header() before the hand-over, for the hijacker to send (with
// gorilla/websocket, pass w.Header() to Upgrade); a session that cannot
// be saved fails the Hijack, as it fails a Write.
//
// A session first touched after the response started (its headers are
// gone) cannot add Vary, Cache-Control or a cookie: its changes return
// ErrResponseStarted, and so does its first read unless the response as
// sent keeps every shared cache out (Cache-Control private or no-store,
// no targeted field allowing storage), so that a late read cannot
// personalise a cacheable response; accessors without an error (ID,
// Subject, Authenticated) then find no session. After a Hijack the
// session may still be read. Touch the session before writing when the
// response depends on it.
//
// # Expiry
//
// A session ends IdleTimeout after its last refresh or AbsoluteTimeout
// after it was issued, whichever comes first; both timestamps are inside
// the authenticated envelope, so the client cannot extend them. A valid
// session is refreshed (re-sealed with a new refreshed-at) only when
// RefreshAfter has passed since the last refresh, so most responses carry
// no Set-Cookie; a refresh re-seals the decrypted payload as it is,
// without decoding or re-encoding it. The cookie's Max-Age follows the
// earlier deadline, unless Options.BrowserSession asks for a cookie that
// ends with the browser session. Only requests that touch the session
// refresh it.
//
// The timeouts and the clock skew are written once, in the key set's
// lifetime policy (keyring.Lifetime, recorded by "cookieseal keygen"):
// [Options] that leave them zero take the recorded values, and New refuses
// an AbsoluteTimeout or ClockSkew longer than the recorded one, since key
// rotation removes a demoted key once those have passed.
//
// Each session may narrow this (a guest session, a "remember me" box):
// [Session.SetDeadline] gives it its own absolute deadline, never later
// than the manager's, and [Session.SetRememberMe] picks a persistent or a
// browser-session cookie for it alone. Both are sealed in the envelope
// (members "dl" and "p"), so the client cannot change them, and every
// later write keeps them. [Session.Deadline] and [Session.IdleDeadline] say
// when the session ends; [Session.Status], what the response will do with
// its cookie.
//
// # Bad cookies and faults
//
// A cookie that is tampered with, expired, sealed for another cookie or
// under an unknown key, malformed, oversized, or split into an incomplete
// set of chunks, or revoked, means "no session": the request goes on,
// Options.Observer hears why ([EventRejected]). It is never a 500 and never
// a panic. A cookie that does not authenticate (it may be a planted
// piece) is cleared wherever it can be. One that authenticates but has
// expired or was revoked is left as it is, unless the handler writes a
// session (or calls Destroy): it is merely old, and a browser whose other
// tab just renewed or logged in (Renew) may receive that tab's new cookie
// before this response, which a clear would then delete
// (wardencommunity/warden#14, expressjs/session#923). Left in place, it
// costs its holder a rejection per request until it expires.
//
// A client that repeats a request without reading its flashes cannot grow
// its session: past Options.MaxFlashes, or when they would not fit in the
// cookie, the oldest flashes are dropped.
//
// Two hooks, no overlap. Options.ErrorHandler is the response to a
// session that cannot be saved (default: 500). Options.Observer hears
// every [Event]: rejections with their typed reason (cookie.ReasonOf:
// tampered, unknown key, epoch out of window, idle or absolute expiry,
// duplicate, revoked, …), opens, revocation checks with their latency,
// revocation faults, refreshes, rotation re-seals, saves and failed
// saves, renews, destroys. [NewLogObserver] logs them with log/slog at
// operator levels (never a cookie value, id or subject), the otel module
// turns them into metrics, package active into active-session counts;
// [Observers] combines several. With no [Observer] the request path builds
// no event, and the faults no call returns (a failed revocation check,
// [ErrBypassed]) and failed saves are logged to slog.Default.
//
// # Copies of the cookie
//
// A browser sends a "__Host-" cookie at most once per form (partitioned
// or not): no other host or path can set it. Under any other name a
// sibling host can plant copies for a parent domain or a longer Path, an
// app that moved its cookie leaves one behind, and these five rules
// decide, for every format (native, JWE, legacy) and for chunks:
//
//  1. The request's cookies are exactly those Request.Cookies returns.
//  2. A copy is the plain cookie or the chunks name.0 … name.(k-1), k ≤ MaxChunks; the session is read only when the request carried one value (every copy of each name the same, byte for byte), and anything else is no session ([ErrDuplicateCookie]), never a pick.
//  3. Unless the request carried one copy that opens (or one that authenticates but expired or was revoked, which is left as it is: see "Bad cookies and faults"), the response clears each name it carried (the session's, then chunk names past MaxChunks) at each place a copy can be: the configured Domain and Path, FormerDomains × FormerPaths, every Domain the host receives, at the configured Path and then at each prefix of the request's path, longest first, then host-only at those prefixes; at most 4 KB of clearing lines, after the session's own lines in the budget. One exception: when the copies were split (two values, the plain cookie beside chunks, a gap, or a chunk set that does not open) and one of them opens on its own (a plain value, or chunks 0 … j-1 of one value each), and the response writes no session and no Destroy clears it, the session's names are left as they are at the configured place, and at every place a jar that keys cookies as RFC 6265 does (no host-only flag, no partition) takes for it; that copy may be the user's own. When all the lines do not fit, the first places in this order take half of the room and places from a random point on the rest, so a later response reaches what this one did not.
//  4. With Partitioned, each clearing line goes out partitioned and unpartitioned (a browser keeps the two apart and sends both).
//  5. A write or clear after a request that carried the cookie also clears it at FormerDomains × FormerPaths and, with Partitioned, unpartitioned at the configured place, so no older copy is left to disagree with the new one on the next request.
//
// So a planted copy never swaps a user who has a session into another
// one, however far it is from the responses' reach: the user's copy is
// kept (rule 3), and it goes with every request that carries a planted
// copy, at any place, visited yet or not; the copies disagree, and that
// request has no session. Each response clears up to 4 KB of the planted
// copies; once the requests of a page carry none, the user's own session
// opens there again, with no new login. A login meanwhile writes the new
// session at the configured place, kept in the same way. Copies of one
// value read as one (and are written back where they belong). What the
// rules cannot see: a browser with no copy of its own (a new visitor, a
// user just logged out: Destroy clears the user's copy, planted copies
// or not) sends a planted copy alone, and it opens, so that user is in
// the planter's session (login CSRF). Only a "__Host-" name rules that
// out. An app that moves its cookie to another Domain or Path names the
// old ones in FormerDomains and FormerPaths, or its users have no
// session on the request that carries both (the new copy is kept, the
// old one cleared).
//
// # Revocation
//
// A stateless cookie cannot be deleted from the server, but it can be
// refused. With Options.Revoker (revoke.NewMemory for one instance,
// revoke/redis for a fleet) every session is checked once it
// authenticates; Destroy revokes the session's id and Renew the old id, so
// a stolen copy of the cookie stops working. [Manager.RevokeSubject] logs a
// user out everywhere, the caller's own session included;
// [Session.RevokeOthers] logs the user out of every other session and keeps
// this one (a password change, "log out my other devices"). When the
// store fails, the policy is explicit: by default fail closed, or, with
// InsecureRevokeFailOpen, accept the session. Either way the Observer
// hears [EventRevokeFault] (with no Observer, the fault is logged to
// slog.Default).
//
// What holds across instances and during outages:
//
//   - One door: every format (native, chunked, JWE, legacy) passes the same
//     checks in the same order: authenticate, the expiry rule, revocation.
//     Nothing but Renew resets issued-at. A manager opens native and JWE
//     cookies whatever its Options.Codec.Format (the legacy reader is tried only
//     when neither opens), so instances writing different formats share
//     sessions, and switching Format logs nobody out.
//   - One fleet, many clocks: a cookie written by one instance opens on
//     every instance within ClockSkew of it; a re-seal keeps issued-at and
//     writes refreshed-at = max(now, issued-at).
//   - Fail closed keeps the cookie: the request has no session, and its
//     response never writes over or clears the cookie; Set, AddFlash and
//     every other change return an error matching [ErrRevokeFault] (the
//     change is dropped, never silently). The user is back when the store
//     answers.
//   - No false success: Destroy during a store fault clears the cookie in
//     this browser and returns ErrRevokeFault, because no revocation
//     happened and a copy opens again once the store is back.
//   - No check-then-act gap: every Renew (a second one in the same request
//     too) checks the current session again and issues the new one a
//     millisecond before that check started, so a revocation that lands
//     during or after it still covers the renewed session. RevokeOthers
//     checks the session too before it revokes the others and renews it
//     at the cut-off: a revocation from elsewhere that landed earlier is
//     never erased, and one that lands later covers the kept session.
//   - Entries last until the last instant a copy could open anywhere:
//     issued-at + AbsoluteTimeout + 2×ClockSkew + 1s.
//   - Logout: Destroy revokes the (subject, id) pair the cookie carried
//     and, after a SetSubject in the same request, the new pair too. A
//     session without a subject writes no entry: it grants nothing and
//     anyone can get one, so strangers cannot grow the list.
//   - Clocks: RevokeSubject revokes sessions issued before its caller's
//     clock, so revocation ordering across instances assumes clocks
//     synchronised to NTP precision. ClockSkew is an acceptance tolerance,
//     not a revocation window.
//
// # Routers and CSRF
//
// Handler is a plain func(http.Handler) http.Handler: it works with
// http.ServeMux (Go 1.22 patterns such as "GET /items/{id}"), chi and any
// router that takes such middleware; gorilla/mux's Use and Echo's
// WrapMiddleware take it as it is (for Echo's error responses see
// examples/frameworks/echosession). Gin and other frameworks with their
// own response writer must route that writer through the one Handler
// passes on (examples/frameworks/ginsession): a response written around
// it loses the cookie, and the loss is reported as ErrBypassed (an
// [EventSaveFailed]; logged to slog.Default with no Observer). Beside chi, whose middleware package has the same
// name, alias one of the two (the recipes import chi's as chimw). SameSite=Lax, the default, stops most
// cross-site requests from carrying the cookie, but it is not a complete
// CSRF defence (same-site subdomains, top-level GET navigations). Pair the
// manager with http.CrossOriginProtection (Go 1.25):
//
//	csrf := http.NewCrossOriginProtection()
//	handler := csrf.Handler(sessions.Handler(mux))
//
// # Cookie attributes
//
// The zero Options give a Secure, HttpOnly, SameSite=Lax, host-only cookie
// on Path=/. Use a "__Host-" name (New's default for "" is [DefaultName],
// "__Host-session"): the browser then refuses the cookie unless it is
// Secure, host-only and on Path=/, so a sibling subdomain cannot plant or
// shadow it. New refuses any other name unless
// Options.InsecureNoHostPrefix acknowledges what it leaves open (see
// "Copies of the cookie"). New refuses attributes that a browser would
// reject or that break a prefix's rules, and a prefix spelled in another
// case ("__host-session"): current browsers match prefixes
// case-insensitively, older ones take such a name as an ordinary cookie
// that a sibling can plant. Every prefix needs Secure, "__Http-" and "__Host-Http-" need
// HttpOnly, and "__Host-" and "__Host-Http-" need Path=/ and no Domain.
// Anything that weakens the cookie is named Insecure…; InsecureAllowHTTP
// is for plain-HTTP development on an address a browser does not treat
// as secure, with an unprefixed name only: a "__Host-" name works on
// http://localhost and http://127.0.0.1 with the defaults (Chromium and
// Firefox store and send Secure cookies there; the webapp example's
// TestBrowserDevelopmentMode checks it).
//
// # Cookie size
//
// A browser is only sure to keep a cookie whose whole Set-Cookie line
// (name, value and attributes) fits in 4096 bytes, so by default a
// session whose line would pass 4096 bytes, or whose sealed value passes
// Options.Codec.MaxValueSize, fails to save with an error matching
// cookie.ErrTooLarge (see Options.ErrorHandler). A long Domain or Path
// leaves less room for the value; New refuses one that leaves no room
// for even an empty session. With Options.MaxChunks above 1 a larger
// session is spread over the cookies name.0, name.1, …, each cut so that
// its own line fits too, and every response that writes the session
// expires the session's cookie names it does not use, whether or not the
// request carried them, so that two responses in flight at once cannot
// leave a stale chunk behind.
//
// A reverse proxy bounds the whole response header: a default nginx
// answers 502 when the upstream's header block passes 4096 bytes. So the
// Set-Cookie lines of a response are budgeted together
// (Options.MaxResponseCookieBytes, default 3072 bytes without chunking,
// leaving 1 KB for the status line and every other header), and a
// session over the budget goes to the ErrorHandler with
// cookie.ErrTooLarge before any byte is sent, instead of a 502 from the
// proxy. Chunked sessions need a tuned proxy in both directions;
// docs/proxies-and-caches.md gives a tested nginx recipe and the measured
// limits.
//
// # Migrating from another library
//
// Options.Legacy takes a [LegacyDecoder] (see the cookie package's decoder
// for gorilla/sessions): a cookie that does not open natively is handed to
// it once, and its values become a native session on that response, so
// nobody is logged out by the move. The legacy cookie passes the same door
// as a native one: its timestamp is the session's issued-at (the absolute
// timeout does not restart), the expiry rule and Options.LegacyNotBefore
// apply to it, and the Revoker checks it under an id derived from the
// legacy value and the subject the decoder found. With a Revoker, the
// request that migrates it revokes that id (subject or not) and gives the
// native session another one, so the legacy cookie never replays, even
// after a Destroy of an anonymous native session.
package middleware

// # The house (for readers of the source, not part of the package doc)
//
// Each file holds one room. The rooms are listed lowest first: a file
// calls into the files above it in this list and, with the exceptions
// below, never into a file below it.
//
//	doc.go        this map and the package documentation
//	errors.go     every sentinel error; the default ErrorHandler and logFault
//	observe.go    Event, EventKind, Observer and the slog observer
//	options.go    Options, their defaults and checks (resolve) into config
//	policy.go     the lifetime recorded in the key file, checked at New
//	payload.go    the envelope's members and their meaning (internal/jsonscan
//	              indexes and encodes it), its "dl"/"p" lifetime record
//	manager.go    Manager, New and its start-up checks, the clock, emit
//	setcookie.go  writing one Set-Cookie line (set, clear), scratch buffers
//	state.go      the request's pooled state, its fields grouped by phase
//	              (carried, opened, edit, resp, scratch: see state), the
//	              Session handle and SaveStatus; materialize, get, ensure,
//	              reset, queued events
//	lifetime.go   the session's deadlines and cookie kind (Max-Age, Expires)
//	values.go     typed decoding of stored values (Get[T], PopFlashes)
//	revocation.go Revoker checks, RevokeSubject, renew, recheck, retire
//	cache.go      Cache-Control and Vary rules for a session's response
//	request.go    reading the Cookie header as net/http does: the copies and
//	              whether they agree, opening, legacy cookies, admitting a
//	              session (load)
//	budget.go     the response's cookie budget and what a write reaches
//	duplicates.go what the response clears: its own names, and what the
//	              request carried at every place a copy can be (sweep)
//	response.go   commit and status: what the response carries, sealing and
//	              writing it
//	session.go    the exported Session API and its lock
//	writer.go     the ResponseWriter that commits before the first byte
//	handler.go    Manager.Handler, the request's context, From, release
//	header.go     LoadHeader and Commit, for code outside a Handler
//	require.go    RequireSubject
//
// Dependencies that run back up (counted by a go/types walk over uses of
// package-level names, methods and fields): options.go uses lineParts
// (setcookie.go); New uses clearLine, fitsBudget and chunkReach; the state,
// response, duplicates and session reach the underlying ResponseWriter
// through the writer the state holds (state.w).
