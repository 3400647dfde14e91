package middleware

import "net/http"

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
