package middleware

import (
	"context"
	"net/http"
	"slices"
)

// LoadHeader returns the session that a request's Cookie header lines
// carry, for a handler that is not a net/http handler. Each element of
// cookieHeaders is one Cookie header line ("a=1; b=2"), as the request
// carried it; several lines count as one request's (an AWS Lambda HTTP
// API v2 event's Cookies field can be passed as it is, one cookie per
// element). host is the request's Host header ("example.com" or
// "example.com:8443"), used only to expire copies of the cookie that a
// parent domain holds when the request carries it more than once; pass ""
// when unknown (then only Options.Domain and FormerDomains are reached).
//
// The session follows every rule of Handler: it is read and opened at
// first use; a tampered, expired or revoked cookie means no session (a
// tampered one is cleared, an expired or revoked one left as it is); the refresh, key rotation, chunking, duplicate and response
// budget rules apply at Commit. ctx bounds the Revoker's calls and is the
// context of the Event.Request the [Observer] receives (a GET of "/"
// carrying host and the Cookie lines, nothing else). [From] and
// [FromContext] find the session in that request's context, not in ctx.
//
// Call Commit exactly once, when the response is ready; the [Session]
// answers [ErrDone] after it. Using the session from several goroutines is
// safe, as with Handler. The error is non-nil only for a nil ctx.
func (m *Manager) LoadHeader(ctx context.Context, host string, cookieHeaders ...string) (*Session, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return nil, err
	}
	r.Host = host
	if len(cookieHeaders) > 0 {
		r.Header["Cookie"] = slices.Clone(cookieHeaders)
	}
	st := m.getState()
	rc := &reqCtx{Context: ctx, m: m}
	rc.sess.st = st
	r = r.WithContext(rc)
	st.begin(m, &rc.sess, &rc.w, &headerSink{h: http.Header{}}, r)
	return &rc.sess, nil
}

// Commit ends a session from [Manager.LoadHeader] and returns the headers
// the response must carry: the Set-Cookie lines, in order (none when
// nothing changed and no refresh is due), "Vary: Cookie" when the session
// was read, and "Cache-Control: private" when the response depends on a
// session (Handler sets the same on its response; merge them with the
// response's own Cache-Control, without public or s-maxage, and give any
// targeted cache field of the response, such as CDN-Cache-Control or
// Surrogate-Control, "no-store" in place of its storing directives, as
// Handler does). For AWS Lambda, put h["Set-Cookie"] in
// an HTTP API v2 response's Cookies, or in MultiValueHeaders for REST v1
// and ALB.
//
// On error the session is not saved and nothing must be sent: answer
// with an error status, as Handler's ErrorHandler does (the error matches
// [github.com/cookieseal/cookieseal/cookie.ErrTooLarge] when the session
// outgrew the cookie budget). The session is done either way: Commit runs once,
// and every other call, concurrent or later, answers [ErrDone] (as does every
// method of the session after it). A panic of code the caller supplied (the
// clock, the key provider, Options.Codec.Usage) reaches the caller of Commit,
// and the session is done then too. A session of [Manager.Handler] answers
// [ErrHandlerSession] and stays usable.
func (s *Session) Commit() (http.Header, error) {
	if s == nil {
		return nil, ErrNoMiddleware
	}
	s.mu.Lock()
	st := s.st
	if st == nil || st.resp.ending {
		s.mu.Unlock()
		return nil, ErrDone
	}
	sink, ok := st.w.ResponseWriter.(*headerSink)
	if !ok {
		s.mu.Unlock()
		return nil, ErrHandlerSession
	}
	// This call ends the session, and no other: a Commit racing it
	// answers ErrDone, so the state goes back to the pool once. end runs
	// on every way out, a panic of the clock or key provider included.
	st.resp.ending = true
	defer s.end(st)
	st.w.started = true
	_, private, err := s.commitUnlock(st)
	if err == nil {
		err = st.m.checkBudget(sink.h, 0)
	}
	if err != nil {
		return nil, err
	}
	if private {
		privateCache(sink.h)
	}
	return sink.h, nil
}

// headerSink is the response of a LoadHeader session: only its header is
// used, by commit.
type headerSink struct{ h http.Header }

func (w *headerSink) Header() http.Header { return w.h }

func (w *headerSink) Write([]byte) (int, error) { return 0, ErrHandlerSession }

func (w *headerSink) WriteHeader(int) {}
