package middleware

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cookieseal/cookieseal/cookie"
)

// What the response clears of the session's cookies: its own names at the
// configured Domain and Path (addClear, and the writes' clearUnused), and,
// after a request that carried anything but one copy of each name, every
// name it carried at every place a copy can be (sweep). The rules are the
// package doc's "Copies of the cookie".

// sweepBudget bounds the clearing lines sweep adds to one response, as
// HTTP/1.1 sends them ("Set-Cookie: " + line + CRLF each), whatever the
// request carried.
const sweepBudget = 4096

// maxCookiePath is the longest Path a browser stores (Chromium and
// Firefox refuse an attribute value over 1024 bytes): no copy can hide
// under a longer prefix of the request's path.
const maxCookiePath = 1024

// maxPlaces bounds the places (Domain and Path pairs) sweep reaches for
// one name: no more clearing lines than this fit in sweepBudget.
const maxPlaces = sweepBudget / 64

// carriedBeyondReach reports whether the request carried a chunk name of
// this manager that no write within the budget reaches (write clears
// those only because the request carried them).
func (st *state) carriedBeyondReach() bool {
	return st.carried.seen>>st.m.reach != 0
}

// addClear adds the lines that clear the session's cookies at the
// configured Domain and Path.
func (st *state) addClear(h http.Header) {
	m := st.m
	if st.edit.destroyed && m.cfg.MaxChunks > 1 {
		// Whatever the request carried, another response in flight may
		// have set the plain cookie or any chunk: expire them all.
		h.Add("Set-Cookie", m.clearPlain)
		m.clearUnused(h, st.carried.seen, 0)
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

// present lists the session's names the request carried: the plain
// cookie and the chunk indices below MaxChunks. Names past MaxChunks are
// not the session's (sweep clears them).
func (st *state) present() []string {
	var names []string
	if st.carried.nplain > 0 {
		names = append(names, st.m.name)
	}
	for i := 0; st.carried.seen>>i != 0; i++ {
		if st.carried.seen&(1<<i) != 0 {
			names = append(names, st.m.chunkNames[i])
		}
	}
	return names
}

// clearUnused expires the chunk cookies from index from on: with
// chunking, every index that a write can set (below m.reach) whether or
// not the request carried it (another response in flight may have set
// it); and any other index below MaxChunks the request carried (bits of
// carried). Names past MaxChunks are left to sweep, within its budget.
func (m *Manager) clearUnused(h http.Header, carried uint32, from int) {
	for i := from; i < m.reach; i++ {
		addSetCookie(h, m.clearChunks[i])
	}
	for i := max(from, m.reach); carried>>i != 0; i++ {
		if carried&(1<<i) != 0 {
			addSetCookie(h, m.clearChunks[i])
		}
	}
}

// place is a Domain and Path a copy of a cookie can have.
type place struct{ domain, path string }

// sweep adds, before the lines this commit added (those after the first
// before), the lines that clear what the request carried elsewhere than
// those lines reach (rules 3 to 5 of the package doc):
//
//   - after a request marked dup (more than one copy of a name, copies
//     that disagree, chunk names past MaxChunks), every name it carried,
//     the session's own names first (the plain one, then chunk indices),
//     then names past MaxChunks, each at every place in order: the
//     configured Domain and Path (names past MaxChunks only: the session's
//     are the commit's own), FormerDomains and FormerPaths, then each
//     parent domain of the request's host (the host first) and the host
//     only, at the configured Path, then at each prefix of the request's
//     path, longest first; a "__Host-" name has no place but the first;
//   - after any other request that carried the session's cookie, when the
//     commit wrote or cleared it: the carried names at FormerDomains and
//     FormerPaths, so that no copy at an old place is left beside the new
//     one;
//   - with Partitioned, each line in both forms, and, when the commit wrote
//     or cleared the cookie, the unpartitioned form of the carried names
//     at the configured place (a browser keeps a partitioned and an
//     unpartitioned cookie apart and sends both).
//
// The lines take at most sweepBudget bytes and what the response's budget
// (MaxResponseCookieBytes) leaves beside every other line; the first
// line that does not fit ends the sweep. Names go one after the other, so
// the names a response clears completely are gone from the next request,
// and the next response reaches further.
func (st *state) sweep(h http.Header, before int) {
	m := st.m
	full := st.carried.dup || len(st.carried.beyond) > 0
	if !full && (st.carried.nplain == 0 && st.carried.seen == 0 || !m.cfg.Partitioned && len(m.cfg.FormerDomains)+len(m.cfg.FormerPaths) == 0) {
		return // the request path's case: nothing to sweep
	}
	own := h["Set-Cookie"][before:]
	if !full && len(own) == 0 {
		return
	}
	room := min(sweepBudget-clearingLen(own), m.cfg.budget-setCookieBlockLen(h))
	if room <= 0 {
		return
	}
	domains, hosts := st.places(full)
	var lines []string
	emit := func(name string, p place, partitioned bool) bool {
		l := m.sweepLine(name, p, partitioned)
		if room -= setCookieOverhead + len(l); room < 0 {
			return false
		}
		lines = append(lines, l)
		return true
	}
	// Without a write or clear of its own (a dup whose session opens is
	// written back: see load), the session's names are left alone.
	var names []string
	if len(own) > 0 && (st.carried.dup || !full) {
		names = st.present()
	}
	session := len(names)
	names = append(names, st.beyondNames()...)
	// Places with a Domain first (where another host can plant), then
	// host-only ones at other paths (only this host sets those); in each,
	// one name after the other.
	for tier, places := range [2][]place{domains, hosts} {
		for i, n := range names {
			for j, p := range places {
				switch {
				case tier > 0 || j > 0:
				case i >= session: // a name past MaxChunks at the configured place
				case m.cfg.Partitioned:
					// The commit's own line is partitioned: the
					// unpartitioned form is left to clear.
					if !emit(n, p, false) {
						goto done
					}
					continue
				default:
					continue // the commit's own lines reach it
				}
				if !emit(n, p, m.cfg.Partitioned) || (m.cfg.Partitioned && !emit(n, p, false)) {
					goto done
				}
			}
		}
	}
done:
	if len(lines) == 0 {
		return
	}
	all := h["Set-Cookie"]
	out := make([]string, 0, len(all)+len(lines))
	out = append(append(append(out, all[:before]...), lines...), all[before:]...)
	h["Set-Cookie"] = out
	noStoreCookie(h)
}

// clearingLen is the length, as sent, of the lines that clear a cookie
// (Max-Age=0; a value the manager sets never holds "Max-Age=0": it is
// base64url or JWE compact) among lines.
func clearingLen(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "; Max-Age=0") {
			n += setCookieOverhead + len(l)
		}
	}
	return n
}

// beyondNames returns the chunk names past MaxChunks the request
// carried, by index.
func (st *state) beyondNames() []string {
	names := slices.Clone(st.carried.beyond)
	slices.SortFunc(names, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b) // same prefix: a shorter index is smaller
		}
		return strings.Compare(a, b)
	})
	return names
}

// places lists where a copy of the session's cookies can be, in sweep's
// order, each list at most maxPlaces long: domains, the configured place
// first, then FormerDomains × FormerPaths, and, with full, every Domain a
// browser sends to the request's host (the host and its parents, nearest
// first, and the configured Domain) at the configured Path, then at each
// prefix of the request's path, longest first; hosts, with full, the
// host-only places at those prefixes. A "__Host-" name has only the
// configured place.
func (st *state) places(full bool) (domains, hosts []place) {
	m := st.m
	domains = []place{{normDomain(m.cfg.Domain), m.cfg.Path}}
	add := func(list *[]place, d, p string) bool {
		pl := place{normDomain(d), p}
		if !slices.Contains(domains, pl) && !slices.Contains(hosts, pl) {
			*list = append(*list, pl)
		}
		return len(*list) < maxPlaces
	}
	for _, d := range append([]string{m.cfg.Domain}, m.cfg.FormerDomains...) {
		for _, p := range append([]string{m.cfg.Path}, m.cfg.FormerPaths...) {
			add(&domains, d, p)
		}
	}
	if !full || hostOnlyName(m.name) {
		return domains, nil
	}
	ds := parentDomains(st.r.Host)
	if m.cfg.Domain != "" {
		ds = append(ds, m.cfg.Domain)
	}
	paths := []string{m.cfg.Path}
	pathPlaces(requestPath(st.r), func(p string) bool {
		paths = append(paths, p)
		return len(paths) < maxPlaces
	})
	for _, p := range paths {
		for _, d := range ds {
			if !add(&domains, d, p) {
				break
			}
		}
		if !add(&hosts, "", p) {
			break
		}
	}
	return domains, hosts
}

// sweepLine is the Set-Cookie line that clears name at p: only the
// attributes that select the cookie (Domain, Path, Partitioned) or that
// a browser checks before it accepts the line (Secure, which a prefixed
// name needs; HttpOnly for an "__Http-" name; SameSite=None, for a
// response in a cross-site context). Otherwise HttpOnly and SameSite
// select nothing: they are left out, so more lines fit the budget.
func (m *Manager) sweepLine(name string, p place, partitioned bool) string {
	c := http.Cookie{Name: name, Domain: p.domain, Path: p.path, MaxAge: -1, Secure: m.cfg.secure, Partitioned: partitioned}
	if pre := namePrefix(m.name); pre == "__Http-" || pre == "__Host-Http-" {
		c.HttpOnly = true // the prefix needs it
	}
	if m.cfg.SameSite == http.SameSiteNoneMode {
		c.SameSite = http.SameSiteNoneMode
	}
	return c.String()
}

// normDomain is d as a cookie's Domain attribute names it: without a
// leading dot, in lower case.
func normDomain(d string) string {
	return strings.ToLower(strings.TrimPrefix(d, "."))
}

// requestPath is the path of the request as the client sent it (before
// any prefix stripping, still escaped), which is what a browser matches a
// cookie's Path against.
func requestPath(r *http.Request) string {
	p := r.RequestURI
	switch {
	case strings.HasPrefix(p, "/"):
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p
	case p != "":
		// The absolute form ("https://host/path").
		if u, err := url.ParseRequestURI(p); err == nil {
			return u.EscapedPath()
		}
	}
	return r.URL.EscapedPath() // no request line (LoadHeader)
}

// pathPlaces calls f with each Path under which a browser sends a cookie
// with a request for path (RFC 6265 §5.1.4: path itself, and each prefix
// ending at a '/' of path, with and without that '/'), longest first,
// until f returns false. A Path longer than maxCookiePath, or with a byte
// a cookie's Path cannot hold, is left out: no copy can have it.
func pathPlaces(path string, f func(string) bool) {
	if path == "" || path[0] != '/' {
		return
	}
	valid := len(path) // prefixes shorter than the first bad byte are valid
	for i := 0; i < len(path); i++ {
		if b := path[i]; b < 0x20 || b >= 0x7f || b == ';' {
			valid = i
			break
		}
	}
	try := func(p string) bool {
		if len(p) > maxCookiePath || len(p) > valid {
			return true
		}
		return f(p)
	}
	if !try(path) {
		return
	}
	for i := min(len(path)-1, maxCookiePath); i >= 0; i-- {
		if path[i] != '/' {
			continue
		}
		if i+1 < len(path) && !try(path[:i+1]) {
			return
		}
		if i > 0 && !try(path[:i]) {
			return
		}
	}
}

// maxParents bounds the parent domains sweep reaches.
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

// Chunk indices below cookie.ChunkLimit are bits of state.seen.
var _ [32 - cookie.ChunkLimit]struct{}
