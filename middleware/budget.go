package middleware

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
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
// per reachable chunk index), or, with MaxChunks above 1, that leaves no
// room for a write of two chunks. Like fitsLine, a failure to seal the
// probe is left for the first save.
func (m *Manager) fitsBudget(keys keyring.Provider) error {
	cfg := m.cfg
	clears := 0
	if cfg.MaxChunks > 1 {
		if m.reach < 2 {
			return fmt.Errorf("middleware: cookie %q: MaxResponseCookieBytes %d holds no write of two chunks, so MaxChunks %d would never chunk: raise MaxResponseCookieBytes (and your proxy's buffer), or leave MaxChunks at 1",
				m.name, cfg.budget, cfg.MaxChunks)
		}
		// Destroy's lines (the plain cookie's and the reachable chunks'
		// clearing lines) are shorter than those of the smallest write of
		// m.reach chunks, which fits by construction.
		for _, l := range m.clearChunks[:m.reach] {
			clears += setCookieOverhead + len(l)
		}
	}
	probe, err := probeCodec(keys, m.name, cfg)
	if err != nil {
		return nil
	}
	minimal, err := probe.Seal(jsonscan.EncodeEnvelope(nil, newID(), "", nil, nil), time.Time{})
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

// dependsOnSession reports whether the committed response depends on a
// real session: the handler touched the session and the request carried
// a session cookie (valid or not), or the response writes one.
func (st *state) dependsOnSession() bool {
	return st.loaded && (st.carried.nplain > 0 || st.carried.chunked || st.edit.dirty)
}

// chunkReach returns how many chunk indices a write can set without
// passing the budget: the largest n such that the smallest possible write
// of n chunks fits. Such a write holds n-1 full chunks and at least one
// byte in the last (a value is cut into n pieces only when it is longer
// than n-1 pieces), each line with its name and attributes and the
// shortest Max-Age, plus the line that clears the plain cookie. An index
// no write reaches needs no clearing line on every write: no response in
// flight can have set it. With the default budget for chunking (none
// beyond the lines) every index up to MaxChunks-1 is reachable.
func (m *Manager) chunkReach() int {
	cfg := m.cfg
	if cfg.MaxChunks <= 1 {
		return 0
	}
	if cfg.budget == math.MaxInt {
		return cfg.MaxChunks
	}
	// The smallest full chunk: write cuts at min(MaxValueSize, room),
	// where room shrinks as Max-Age grows.
	last := len(m.chunkNames[len(m.chunkNames)-1])
	chunk := min(cfg.MaxValueSize, maxCookieLine-cfg.lineLen(last, 0, cfg.maxMaxAge()))
	block := setCookieOverhead + len(m.clearPlain)
	for n := 1; n <= cfg.MaxChunks; n++ {
		// Chunk n-1 at its smallest (one byte); the earlier ones are full.
		lower := block + setCookieOverhead + cfg.lineLen(len(m.chunkNames[n-1]), 1, 1)
		if lower > cfg.budget {
			return n - 1
		}
		block += setCookieOverhead + cfg.lineLen(len(m.chunkNames[n-1]), chunk, 1)
	}
	return cfg.MaxChunks
}

// fitsResponse reports whether the Set-Cookie lines that a commit added
// to h after the first before fit what the response may carry; when they
// do not, it removes them and returns an error matching
// cookie.ErrTooLarge, so that commit can drop the oldest flashes and try
// again (Options.MaxFlashes). Every line write adds is already within
// 4096 bytes; what is checked here is the response-wide budget
// (Options.MaxResponseCookieBytes, a proxy's header buffer).
func (m *Manager) fitsResponse(h http.Header, before int) error {
	return m.checkBudget(h, before)
}
