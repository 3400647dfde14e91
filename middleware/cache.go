package middleware

import (
	"fmt"
	"net/http"
	"strings"
)

// Shared caches and a session: the rule.
//
// A response that depends on a session (dependsOnSession) must not be
// stored by any shared cache, whatever cache headers the handler wrote.
// Cache-Control alone does not say that to every cache: a CDN obeys its
// targeted field instead when one is present (RFC 9213 CDN-Cache-Control
// and the vendors' own, Cloudflare-CDN-Cache-Control,
// Vercel-CDN-Cache-Control, Akamai-Cache-Control…), Varnish and Fastly
// read Surrogate-Control first, Akamai Edge-Control, and nginx
// X-Accel-Expires before Cache-Control. So privateCache, on such a
// response:
//
//   - Cache-Control: drops the directives that only grant shared caches
//     something (public, s-maxage) and adds private unless it says
//     private or no-store; the rest (max-age for the browser…) stays.
//   - every field whose name ends in "-Cache-Control", and
//     Surrogate-Control (the same directive syntax): drops the directives
//     that let a cache store or serve the response (public, max-age,
//     s-maxage, stale-while-revalidate, stale-if-error, immutable, also in
//     Surrogate-Control's targeted form "max-age=600;edge1") and adds
//     no-store (a targeted field applies to shared caches only, where
//     no-store and private mean the same; no-store is the directive every
//     vendor documents), keeping the others (Surrogate-Control's
//     content="ESI/1.0" still asks for ESI processing).
//   - Edge-Control becomes "no-store", X-Accel-Expires "0" (nginx: not
//     cached).
//
// Fields are matched case-insensitively, on any spelling the handler used.
// A response that looked for a session and found none is left as the
// handler wrote it (anonymous pages keep their caching), with Vary:
// Cookie. What no header can fix: a cache told to ignore the origin's
// headers (nginx proxy_ignore_headers Cache-Control X-Accel-Expires, a
// CDN rule "cache everything, edge TTL 1h") stores what it likes.

// privateCache makes a response that depends on a real session (the
// request carried a session cookie, or the response sets one) uncacheable
// by every shared cache, by the rule above. Vary: Cookie alone is not
// enough: caches that ignore Vary (most CDNs) or that an operator told to
// (nginx proxy_ignore_headers Vary) would hand the page to the next
// visitor.
func privateCache(h http.Header) {
	private, shared := false, false
	for _, l := range h["Cache-Control"] {
		for rest := l; rest != ""; {
			var d string
			d, rest = nextDirective(rest)
			switch n := directiveName(d); {
			case strings.EqualFold(n, "private") && len(n) == len(d), strings.EqualFold(n, "no-store"):
				// private="Set-Cookie" (a qualified private) lets the
				// rest of the response be shared: not private.
				private = true
			case strings.EqualFold(n, "public"), strings.EqualFold(n, "s-maxage"):
				shared = true
			}
		}
	}
	switch {
	case shared:
		h["Cache-Control"] = []string{filterDirectives(h["Cache-Control"], sharedOnly, !private, "private")}
	case private:
	case len(h["Cache-Control"]) > 0:
		// h[key] with a canonical key is h.Set without canonicalizing the
		// key on every request; every line the handler wrote is kept.
		if cc := cacheControl(h); cc != "" {
			h["Cache-Control"] = []string{cc + ", private"}
			break
		}
		h["Cache-Control"] = []string{"private"}
	default:
		h["Cache-Control"] = []string{"private"}
	}
	noTargetedStore(h)
}

// noTargetedStore rewrites the targeted cache fields of h (see the rule
// above) so that none lets a shared cache store the response.
func noTargetedStore(h http.Header) {
	for k, v := range h {
		switch targetedKind(k) {
		case targetedCC:
			no := false
			ok := true
			for _, l := range v {
				for rest := l; rest != ""; {
					var d string
					d, rest = nextDirective(rest)
					n := directiveName(d)
					if strings.EqualFold(n, "no-store") && len(n) == len(d) {
						no = true
					}
					if storing(n) {
						ok = false
					}
				}
			}
			if !ok || !no {
				h[k] = []string{filterDirectives(v, storing, !no, "no-store")}
			}
		case targetedEdge:
			if len(v) != 1 || v[0] != "no-store" {
				h[k] = []string{"no-store"}
			}
		case targetedAccel:
			if len(v) != 1 || v[0] != "0" {
				h[k] = []string{"0"}
			}
		}
	}
}

const (
	targetedNone = iota
	targetedCC
	targetedEdge
	targetedAccel
)

// targetedKind tells what kind of targeted cache field a header name is
// (any case): one in Cache-Control's syntax (ending in "-Cache-Control",
// or Surrogate-Control), Akamai's Edge-Control, or nginx's
// X-Accel-Expires.
func targetedKind(name string) int {
	const suffix = "-cache-control"
	// Every name here ends in "control" or "expires": most fields end
	// otherwise and are passed over without a comparison.
	if n := len(name); n < len("edge-control") || name[n-1]|0x20 != 'l' && name[n-1]|0x20 != 's' {
		return targetedNone
	}
	switch {
	case len(name) > len(suffix) && strings.EqualFold(name[len(name)-len(suffix):], suffix),
		strings.EqualFold(name, "Surrogate-Control"):
		return targetedCC
	case strings.EqualFold(name, "Edge-Control"):
		return targetedEdge
	case strings.EqualFold(name, "X-Accel-Expires"):
		return targetedAccel
	}
	return targetedNone
}

// sharedOnly reports whether a Cache-Control directive (by name) only
// grants shared caches something: dropped from a private response.
func sharedOnly(name string) bool {
	return strings.EqualFold(name, "public") || strings.EqualFold(name, "s-maxage")
}

// storing reports whether a directive of a targeted field (by name) lets
// a cache store or serve the response.
func storing(name string) bool {
	for _, s := range [...]string{"public", "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error", "immutable"} {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// filterDirectives joins the directives of lines, without those whose
// name drop reports, and with add appended when addIt is set.
func filterDirectives(lines []string, drop func(string) bool, addIt bool, add string) string {
	var b strings.Builder
	for _, l := range lines {
		for rest := l; rest != ""; {
			var d string
			d, rest = nextDirective(rest)
			if d == "" || drop(directiveName(d)) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d)
		}
	}
	if addIt {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(add)
	}
	return b.String()
}

// nextDirective splits the first comma-separated directive off s, its
// spaces trimmed; a comma inside a quoted string (no-cache="a, b") does
// not end it.
func nextDirective(s string) (d, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return strings.TrimSpace(s[:i]), s[i+1:]
		}
	}
	return strings.TrimSpace(s), ""
}

// directiveName is the name of a directive: what precedes its "=" or ";"
// (Surrogate-Control's targeting, "max-age=60;edge1"), its spaces trimmed.
func directiveName(d string) string {
	if i := strings.IndexAny(d, "=;"); i >= 0 {
		d = d[:i]
	}
	return strings.TrimSpace(d)
}

// sharedUncacheable reports whether h, as it stands, keeps every shared
// cache from storing the response: Cache-Control says private or
// no-store, and no targeted field (see the rule above) lets a cache store
// it.
func sharedUncacheable(h http.Header) bool {
	private := false
	for _, l := range h["Cache-Control"] {
		for rest := l; rest != ""; {
			var d string
			d, rest = nextDirective(rest)
			if n := directiveName(d); len(n) == len(d) && (strings.EqualFold(n, "private") || strings.EqualFold(n, "no-store")) {
				private = true
			}
		}
	}
	if !private {
		return false
	}
	for k, v := range h {
		switch targetedKind(k) {
		case targetedCC:
			no := false
			for _, l := range v {
				for rest := l; rest != ""; {
					var d string
					d, rest = nextDirective(rest)
					if n := directiveName(d); len(n) == len(d) && (strings.EqualFold(n, "no-store") || strings.EqualFold(n, "private")) {
						no = true
					}
				}
			}
			if !no {
				return false
			}
		case targetedEdge:
			if len(v) != 1 || !strings.EqualFold(strings.TrimSpace(v[0]), "no-store") {
				return false
			}
		case targetedAccel:
			if len(v) != 1 || strings.TrimSpace(v[0]) != "0" {
				return false
			}
		}
	}
	return true
}

// errLateRead is the error of a session first touched after the response
// started when that response could be stored by a shared cache.
var errLateRead = fmt.Errorf("%w: the session was first read after the response's header went out without Cache-Control private or no-store, so it could personalise a cacheable response; touch the session before writing", ErrResponseStarted)

// lateReadAllowed reports whether the session, first touched after the
// response started, may be read: the response as it went out kept every
// shared cache from storing it (lateOK, taken by writer.start), or the
// connection was hijacked (it left HTTP: nothing on it is cached by an
// HTTP cache).
func (st *state) lateReadAllowed() bool {
	return st.resp.hijacked || st.resp.lateOK
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
