package middleware

import (
	"context"
	"net/http"
)

// Handler returns next wrapped with session handling: handlers reach the
// session with [From] (or [Manager.Session]) and the cookie is written before
// the first byte of the response when the session changed, a refresh is
// due, the key that sealed it is no longer primary, or Destroy cleared
// it, or a cookie that does not authenticate must be cleared. An
// authentic cookie that expired or was revoked is left as it is.
//
// The cookie is read and opened lazily, when the handler first touches
// the session; a request that never does costs a context value and
// nothing else, and neither refreshes nor clears anything.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := m.getState()
		rc := &reqCtx{Context: r.Context(), m: m}
		rc.sess.st = st
		r = r.WithContext(rc)
		st.begin(m, &rc.sess, &rc.w, w, r)
		defer m.release(rc, st)
		next.ServeHTTP(&rc.w, r)
		rc.w.finish()
	})
}

// Session returns this manager's session of r: unlike [From], it finds the
// right one when several managers (cookies) wrap the same handler. The
// error matches [ErrNoMiddleware] when r did not pass through m.Handler.
func (m *Manager) Session(r *http.Request) (*Session, error) {
	if s, ok := r.Context().Value(managerKey{m}).(*Session); ok {
		return s, nil
	}
	return nil, ErrNoMiddleware
}

// From returns the session of r. The error matches [ErrNoMiddleware] (never
// a panic) when r did not pass through a [Manager]'s Handler. With several
// managers in the chain, it returns the innermost one's; use
// [Manager.Session] to pick one.
func From(r *http.Request) (*Session, error) {
	return FromContext(r.Context())
}

// FromContext is [From] for code that has the request's context rather than
// the request.
func FromContext(ctx context.Context) (*Session, error) {
	if ctx != nil {
		if s, ok := ctx.Value(sessionKey{}).(*Session); ok {
			return s, nil
		}
	}
	return nil, ErrNoMiddleware
}

type sessionKey struct{}

type managerKey struct{ m *Manager }

// reqCtx is the request's context with its session: one allocation for
// both the context layer and the Session handle.
type reqCtx struct {
	context.Context
	m    *Manager
	sess Session
	// w is the response writer handed to the handler. It lives here, with
	// the request, not in the pooled state: a writer kept and used after
	// the handler returned (a framework's late error write) must never
	// reach the state, and so the response, of a later request. release
	// detaches it.
	w writer
}

func (c *reqCtx) Value(key any) any {
	switch k := key.(type) {
	case sessionKey:
		return &c.sess
	case managerKey:
		if k.m == c.m {
			return &c.sess
		}
	}
	return c.Context.Value(key)
}

func (m *Manager) getState() *state {
	if st, ok := m.states.Get().(*state); ok {
		return st
	}
	return &state{scratch: scratchBufs{buf: make([]byte, 0, 1024)}}
}

// release detaches the state from its session handle, so a handle kept
// past the request answers ErrDone, and recycles it. Handler defers it:
// it runs once, a handler's panic included (no code the caller supplied
// can leave the session locked: see Session.lock).
func (m *Manager) release(rc *reqCtx, st *state) {
	rc.w.st = nil // later writes pass straight through (see writer.start)
	rc.w.started = true
	rc.sess.end(st)
}

func (st *state) begin(m *Manager, s *Session, wr *writer, w http.ResponseWriter, r *http.Request) {
	st.m, st.sess, st.r = m, s, r
	*wr = writer{ResponseWriter: w, st: st}
	st.w = wr
}

// end detaches st from s, so that every later call answers ErrDone, and
// returns it to the pool (wiped). It runs once per state: from Handler's
// release, or from the Commit that set st.ending.
func (s *Session) end(st *state) {
	s.mu.Lock()
	s.st = nil
	s.mu.Unlock()
	m := st.m
	st.reset()
	m.states.Put(st)
}
