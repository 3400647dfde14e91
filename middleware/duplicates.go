package middleware

import (
	"fmt"
	"math/rand/v2"
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

// maxSweepPaths bounds the Paths sweep considers for one request (the
// configured one, FormerPaths and the prefixes of the request's path).
const maxSweepPaths = 512

// sweepVisits bounds the places (a name at a Domain and Path) sweep looks
// at for one response, whether or not their lines fit.
const sweepVisits = 4096

// carriedBeyondReach reports whether the request carried a chunk name of
// this manager that no write within the budget reaches (write clears
// those only because the request carried them).
func (st *state) carriedBeyondReach() bool {
	return st.carried.seen>>st.m.reach != 0
}

// keepsOwn reports whether the response leaves the session's names at
// the configured place as they are, though the request's cookie did not
// open: its copies were split (carried.split), so one of them may be the
// user's own, and the commit writes nothing there (no write, no Destroy).
// That copy then goes with every later request that carries a planted
// one, so no planted copy is ever sent alone while the user's is gone
// (rule 3 of the package doc).
func (st *state) keepsOwn() bool {
	return st.carried.split && st.edit.clear && !st.edit.dirty && !st.edit.destroyed
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
//     then names past MaxChunks, each at every place in order (placeSet):
//     the configured Domain and Path (names past MaxChunks only: the
//     session's are the commit's own), FormerDomains and FormerPaths,
//     then each Domain the host receives at the configured Path and then
//     at each prefix of the request's path, longest first, then host-only
//     at those prefixes; a "__Host-" name has no place but the first.
//     When the commit keeps the user's copy (keepsOwn), the session's
//     names are cleared everywhere but at the configured place and the
//     places a jar that keys cookies as RFC 6265 does (no host-only flag,
//     no partition) takes for it;
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
// (MaxResponseCookieBytes) leaves beside every other line. When they all
// fit, all are added, in order. Otherwise the first places in order take
// half of that room, and the other half goes to places from a random
// point on (a line that does not fit is skipped): a planted copy that one
// response does not reach, a later one does, and no copy is ever beyond
// every response's reach (within maxSweepPaths and sweepVisits).
func (st *state) sweep(h http.Header, before int) {
	m := st.m
	full := st.carried.dup || len(st.carried.beyond) > 0
	if !full && (st.carried.nplain == 0 && st.carried.seen == 0 || !m.cfg.Partitioned && len(m.cfg.FormerDomains)+len(m.cfg.FormerPaths) == 0) {
		return // the request path's case: nothing to sweep
	}
	own := h["Set-Cookie"][before:]
	keep := st.keepsOwn()
	if !full && len(own) == 0 {
		return
	}
	room := min(sweepBudget-clearingLen(own), m.cfg.budget-setCookieBlockLen(h))
	if room <= 0 {
		return
	}
	ps := st.placeSet(full)
	// Without a write or clear of its own (a dup whose session opens is
	// written back: see load), the session's names are left alone, unless
	// the user's copy is kept: then they are cleared everywhere else.
	var names []string
	if (len(own) > 0 || keep) && (st.carried.dup || !full) {
		names = st.present()
	}
	session := len(names)
	names = append(names, st.beyondNames()...)
	if len(names) == 0 {
		return
	}
	base := len(m.sweepLine("x", place{}, false)) - len("x")
	// item appends the lines of item idx (a name at a place, tier-major:
	// places with a Domain first, where another host can plant, then
	// host-only ones at other paths, which only this host sets; in each
	// tier, one name after the other) to lines when they all fit in
	// room, and reports whether they did.
	var lines []string
	np0, np1 := ps.count(0), ps.count(1)
	total := len(names) * (np0 + np1)
	item := func(idx int) bool {
		tier, per := 0, np0
		if idx >= len(names)*np0 {
			tier, per, idx = 1, np1, idx-len(names)*np0
		}
		i, j := idx/per, idx%per
		p, ok := ps.at(tier, j)
		if !ok {
			return true // a duplicate of a first place
		}
		n := names[i]
		var forms [2]bool // partitioned, unpartitioned
		switch {
		case i < session && keep && (tier == 0 && j == 0 || st.aliasesOwn(p)):
			return true // the user's copy stays (keepsOwn)
		case tier > 0 || j > 0:
		case i >= session: // a name past MaxChunks at the configured place
		case m.cfg.Partitioned:
			// The commit's own line is partitioned: the unpartitioned
			// form is left to clear.
			forms[1] = true
		default:
			return true // the commit's own lines reach it
		}
		if !forms[1] {
			forms = [2]bool{m.cfg.Partitioned, true}
		}
		need := 0
		for f, on := range forms {
			if on {
				need += setCookieOverhead + base + len(n) + placeLen(p) + (1-f)*len("; Partitioned")
			}
		}
		if need > room {
			return false
		}
		for f, on := range forms {
			if on {
				l := m.sweepLine(n, p, f == 0)
				room -= setCookieOverhead + len(l)
				lines = append(lines, l)
			}
		}
		return true
	}
	// The first places in order: all of them when they fit, else half of
	// the room.
	rest := room
	room /= 2
	first := 0
	for first < total && first < sweepVisits && item(first) {
		first++
	}
	room += rest - rest/2
	if first < total && first < sweepVisits {
		// The rest in order, when it all fits (the same lines, in the
		// same order, from every response to the same request).
		kept, keptRoom, next := len(lines), room, first
		for next < total && next < sweepVisits && item(next) {
			next++
		}
		if next == total {
			first = total
		} else {
			lines, room = lines[:kept], keptRoom
		}
	}
	if first < total && first < sweepVisits {
		// Else from a random place on, over those the first pass left.
		left := total - first
		from := rand.IntN(left)
		for k := 0; k < min(left, sweepVisits) && room >= setCookieOverhead+base+len(m.name); k++ {
			item(first + (from+k)%left)
		}
	}
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

// placeLen is the length that p's Domain and Path add to a clearing
// line, as http.Cookie.String writes them.
func placeLen(p place) int {
	n := 0
	if p.path != "" {
		n += len("; Path=") + len(p.path)
	}
	if p.domain != "" {
		n += len("; Domain=") + len(p.domain)
	}
	return n
}

// aliasesOwn reports whether clearing at p would delete the cookie at the
// configured place in a jar that keys cookies as RFC 6265 does, without
// the host-only flag (net/http/cookiejar): the same Path, and the same
// domain once a host-only place is taken as the request's host. Without
// a host (LoadHeader with host ""), every place at the configured Path
// may be one.
func (st *state) aliasesOwn(p place) bool {
	m := st.m
	if p.path != m.cfg.Path {
		return false
	}
	host := requestHost(st.r.Host)
	if host == "" {
		return true
	}
	d, own := p.domain, normDomain(m.cfg.Domain)
	if d == "" {
		d = host
	}
	if own == "" {
		own = host
	}
	return d == own
}

// requestHost is the host of hostport, in lower case, without a port or
// a trailing dot.
func requestHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// placeSet is every place a copy of the session's cookies can be for one
// request, in sweep's order, without building each place: tier 0 (places
// with a Domain, and the first places) is the first places (the
// configured place, then FormerDomains × FormerPaths, each with the
// configured Domain and Path), then, with full, every Domain a browser
// sends to the request's host (the host and its parents, nearest first,
// and the configured Domain) at each of paths (the configured Path, then
// each prefix of the request's path, longest first); tier 1 is, with
// full, the host-only places at each of paths. A "__Host-" name has only
// the configured place. A place of the grid that is one of the first is
// left out (at reports it).
type placeSet struct {
	first          []place
	domains, paths []string
	// firstDomains and firstPaths: the Domains and Paths the first
	// places combine.
	firstDomains, firstPaths []string
}

// placeSet returns the places of the request (see placeSet), all of them
// with full.
func (st *state) placeSet(full bool) placeSet {
	m := st.m
	var ps placeSet
	add := func(list []string, v string) []string {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
		return list
	}
	ps.firstDomains = add(nil, normDomain(m.cfg.Domain))
	for _, d := range m.cfg.FormerDomains {
		ps.firstDomains = add(ps.firstDomains, normDomain(d))
	}
	ps.firstPaths = add(nil, m.cfg.Path)
	for _, p := range m.cfg.FormerPaths {
		ps.firstPaths = add(ps.firstPaths, p)
	}
	for _, d := range ps.firstDomains {
		for _, p := range ps.firstPaths {
			ps.first = append(ps.first, place{d, p})
		}
	}
	if !full || hostOnlyName(m.name) {
		return ps
	}
	for _, d := range parentDomains(st.r.Host) {
		ps.domains = add(ps.domains, normDomain(d))
	}
	if m.cfg.Domain != "" {
		ps.domains = add(ps.domains, normDomain(m.cfg.Domain))
	}
	ps.paths = []string{m.cfg.Path}
	pathPlaces(requestPath(st.r), func(p string) bool {
		if p != m.cfg.Path {
			ps.paths = append(ps.paths, p)
		}
		return len(ps.paths) < maxSweepPaths
	})
	return ps
}

// count is the number of places of tier t (0 or 1), those at reports as
// duplicates included.
func (ps *placeSet) count(t int) int {
	if t == 0 {
		return len(ps.first) + len(ps.paths)*len(ps.domains)
	}
	return len(ps.paths)
}

// at returns place j of tier t, and false when it is one of the first
// places (already in tier 0).
func (ps *placeSet) at(t, j int) (place, bool) {
	var p place
	switch {
	case t == 0 && j < len(ps.first):
		return ps.first[j], true
	case t == 0:
		j -= len(ps.first)
		p = place{ps.domains[j%len(ps.domains)], ps.paths[j/len(ps.domains)]}
	default:
		p = place{"", ps.paths[j]}
	}
	if slices.Contains(ps.firstDomains, p.domain) && slices.Contains(ps.firstPaths, p.path) {
		return place{}, false
	}
	return p, true
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

// parentDomains lists the host of hostport itself and its parent domains
// with at least two labels, nearest first (a.b.example.com:
// a.b.example.com, b.example.com, example.com), every one of them (a
// valid host has at most 127 labels); none for an IP address, a
// one-label host or a malformed one.
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
	for d := host; strings.Contains(d, "."); {
		out = append(out, d)
		_, d, _ = strings.Cut(d, ".")
	}
	return out
}

// Chunk indices below cookie.ChunkLimit are bits of state.seen.
var _ [32 - cookie.ChunkLimit]struct{}
