package middleware

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/cookie/chunk"
)

// carriedBeyondReach reports whether the request carried a chunk name of
// this manager that no write within the budget reaches (write clears
// those only because the request carried them).
func (st *state) carriedBeyondReach() bool {
	m := st.m
	if st.carried.cookies == nil {
		return false
	}
	for _, n := range chunk.Stale(st.carried.cookies, m.name, m.reach) {
		if slices.Contains(m.chunkNames, n) {
			return true
		}
	}
	return false
}

// addClear adds the lines that clear the session's cookies.
func (st *state) addClear(h http.Header) {
	m := st.m
	if st.edit.destroyed && m.cfg.MaxChunks > 1 {
		// Whatever the request carried, another response in flight may
		// have set the plain cookie or any chunk: expire them all.
		h.Add("Set-Cookie", m.clearPlain)
		m.clearUnused(h, st.carried.cookies, 0)
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
	if !st.carried.dup || hostOnlyName(st.m.name) {
		return
	}
	st.carried.dup = false // once
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

// present lists the session cookies the request carried: the plain
// cookie and the chunk names this manager can write (indices below
// MaxChunks). Other chunk names are never this manager's and are left
// alone, so their number does not grow the response.
func (st *state) present() []string {
	var names []string
	if st.carried.nplain > 0 {
		names = append(names, st.m.name)
	}
	for _, n := range chunk.Stale(st.carried.cookies, st.m.name, 0) {
		if slices.Contains(st.m.chunkNames, n) {
			names = append(names, n)
		}
	}
	return names
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
