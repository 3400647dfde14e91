package middleware

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// Response header budget and shared caches: what a reverse proxy in front
// of the application lets through (see Options.MaxResponseCookieBytes).

// setCookieBlockLen is the length of every Set-Cookie line of h as sent on
// HTTP/1.1: "Set-Cookie: " + value + CRLF each.
func setCookieBlockLen(h http.Header) int {
	n := 0
	for _, v := range h["Set-Cookie"] {
		n += setCookieOverhead + len(v)
	}
	return n
}

// checkBudget refuses a commit that took the response's Set-Cookie block
// past the budget: it removes the lines added after the first before
// (the commit's) and returns an error matching cookie.ErrTooLarge for the
// ErrorHandler. A commit that added no line is never refused.
func (m *Manager) checkBudget(h http.Header, before int) error {
	lines := h["Set-Cookie"]
	if len(lines) <= before {
		return nil
	}
	total := setCookieBlockLen(h)
	if total <= m.cfg.budget {
		return nil
	}
	if before == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = lines[:before:before]
	}
	return fmt.Errorf("middleware: saving session: %w: %d Set-Cookie lines take %d bytes, over MaxResponseCookieBytes %d",
		cookie.ErrTooLarge, len(lines), total, m.cfg.budget)
}

// fitsBudget refuses a budget that cannot hold the lines of the smallest
// session's write (with chunking, the plain cookie and a clearing line
// per chunk index) or of Destroy (with chunking, a clearing line for the
// plain cookie and every chunk index). Like fitsLine, a failure to seal
// the probe is left for the first save.
func (m *Manager) fitsBudget(keys keyring.Provider) error {
	cfg := m.cfg
	clears := 0
	if cfg.MaxChunks > 1 {
		for _, l := range m.clearChunks {
			clears += setCookieOverhead + len(l)
		}
		if destroy := clears + setCookieOverhead + len(m.clearPlain); destroy > cfg.budget {
			return fmt.Errorf("middleware: cookie %q: MaxResponseCookieBytes %d cannot hold the %d bytes of Set-Cookie lines that Destroy sends with MaxChunks %d",
				m.name, cfg.budget, destroy, cfg.MaxChunks)
		}
	}
	probe, err := cookie.NewSealer(cfg.Format, keys, m.name, cookie.Options{
		IdleTimeout:     cfg.IdleTimeout,
		AbsoluteTimeout: cfg.AbsoluteTimeout,
		ClockSkew:       cfg.ClockSkew,
		MaxValueSize:    cfg.maxLen,
		Now:             cfg.Now,
	})
	if err != nil {
		return nil
	}
	minimal, err := probe.Seal(encodeEnvelope(nil, newID(), "", nil, nil), time.Time{})
	if err != nil {
		return nil
	}
	need := setCookieOverhead + cfg.lineLen(len(m.name), len(minimal), cfg.maxMaxAge()) + clears
	if need > cfg.budget {
		return fmt.Errorf("middleware: cookie %q: MaxResponseCookieBytes %d cannot hold the %d bytes of Set-Cookie lines of the smallest session",
			m.name, cfg.budget, need)
	}
	return nil
}

// privateCache marks a response that depends on a real session (the
// request carried a session cookie, or the response sets one) so that no
// shared cache stores it: Cache-Control gets private, added to the
// handler's directives unless they already say private or no-store.
// Vary: Cookie alone is not enough: caches that ignore Vary (most CDNs)
// or that an operator told to (nginx proxy_ignore_headers Vary) would
// hand the page to the next visitor. A response that looked for a session
// and found none stays cacheable (with Vary: Cookie), so anonymous pages
// keep their shared caching.
func privateCache(h http.Header) {
	if headerHasToken(h, "Cache-Control", "private") || headerHasToken(h, "Cache-Control", "no-store") {
		return
	}
	if cc := h.Get("Cache-Control"); cc != "" {
		h.Set("Cache-Control", cc+", private")
		return
	}
	h.Set("Cache-Control", "private")
}

// dependsOnSession reports whether the committed response depends on a
// real session: the handler touched the session and the request carried
// a session cookie (valid or not), or the response writes one.
func (st *state) dependsOnSession() bool {
	return st.loaded && (st.nplain > 0 || st.chunked || st.dirty)
}
