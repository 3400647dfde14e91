package middleware

import (
	"errors"
	"fmt"
)

// ErrBypassed reports, as an EventSaveFailed (logged to slog.Default with
// no Observer), a response that was
// written around the session middleware: the handler wrote to the
// ResponseWriter the middleware was given, not to the one it passed on,
// so the Set-Cookie it had to add came too late and the session change
// is lost. It is the first adapter most people write for a framework
// with its own response writer (Gin: run Handler, call c.Next() inside;
// the handlers keep writing to c.Writer). Route the framework's writer
// through the one Handler passes on (see examples/frameworks for Gin and
// Echo).
var ErrBypassed = errors.New("middleware: the response was written around the session middleware: its cookie change is lost")

// writtenReporter is what a framework's response writer tells about
// itself: whether the header has been sent. Gin's gin.ResponseWriter has
// it; the middleware imports no framework.
type writtenReporter interface{ Written() bool }

// finish ends the response after the handler returned: it commits the
// session unless the response already went out around this writer, in
// which case a change that needed writing is reported as ErrBypassed
// instead of vanishing without a word.
func (w *writer) finish() {
	if !w.started {
		if wr, ok := w.ResponseWriter.(writtenReporter); ok && wr.Written() {
			w.started = true
			st := w.st
			lost := st.sess.freeze(st)
			if lost != Unmodified {
				err := fmt.Errorf("%w (session %v, %s %s)", ErrBypassed, lost, st.r.Method, st.r.URL.Path)
				if st.m.observing() {
					st.m.emit(Event{Kind: EventSaveFailed, Err: err, Request: st.r})
				} else {
					logFault(st.r, err)
				}
			}
			return
		}
	}
	w.start()
}

// freeze locks s, ends st's changes (the response went out) and
// returns what the response would have done with the cookie. status calls
// the clock and the key provider: s is released whatever they do.
func (s *Session) freeze(st *state) SaveStatus {
	s.mu.Lock()
	defer s.unlock()
	st.committed = true
	if !st.loaded {
		return Unmodified
	}
	return st.status()
}
