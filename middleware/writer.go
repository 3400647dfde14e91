package middleware

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// errAborted is returned by Write after the session failed to save and the
// ErrorHandler answered the request instead.
var errAborted = errors.New("middleware: response aborted: the session could not be saved")

// writer puts the session's Set-Cookie on the response before its first
// byte. It keeps http.ResponseController working (Flush, Hijack,
// deadlines, full duplex) through Unwrap, and io.ReaderFrom through
// ReadFrom.
type writer struct {
	http.ResponseWriter
	st      *state
	started bool
	failed  bool
}

var (
	_ http.Flusher  = (*writer)(nil)
	_ http.Hijacker = (*writer)(nil)
	_ io.ReaderFrom = (*writer)(nil)
)

// start commits the session once, and reports whether the handler's
// output may go through.
func (w *writer) start() bool {
	if w.started {
		return !w.failed
	}
	if w.st == nil {
		return true // released: the handler returned; nothing to commit
	}
	w.started = true
	s := w.st.sess
	h := w.ResponseWriter.Header()
	before := len(h["Set-Cookie"])
	s.mu.Lock()
	ev, private, err := s.commitUnlock(w.st)
	if err == nil {
		err = w.st.m.checkBudget(h, before)
	}
	if err != nil {
		w.failed = true
		if w.st.m.observing() {
			w.st.m.emit(Event{Kind: EventSaveFailed, Err: err, Request: w.st.r})
		}
		w.st.m.cfg.ErrorHandler(w.ResponseWriter, w.st.r, err)
		return false
	}
	if ev.Kind != 0 {
		ev.Request = w.st.r
		w.st.m.emit(ev)
	}
	if private {
		privateCache(h)
	}
	return true
}

// WriteHeader commits the session, then writes the header. Informational
// 1xx headers (except 101 Switching Protocols) pass through without
// committing.
func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.start() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session, then writes b.
func (w *writer) Write(b []byte) (int, error) {
	if !w.start() {
		return 0, errAborted
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom commits the session, then copies src to the response, through
// the underlying writer's ReadFrom (sendfile) when it has one.
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	if !w.start() {
		return 0, errAborted
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

// Flush commits the session, then flushes.
func (w *writer) Flush() {
	_ = w.FlushError()
}

// FlushError is Flush reporting the underlying writer's error; it is what
// http.ResponseController.Flush calls.
func (w *writer) FlushError() error {
	if !w.start() {
		return errAborted
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session into the response's header, then hands the
// connection over. A hijacker that answers an upgrade writes its own
// bytes: the session's cookie reaches the client only in the header it
// sends, so it is put into w.Header() before the hand-over (Set-Cookie,
// Vary, Cache-Control), as Write would, for the hijacker to send
// (gorilla/websocket's Upgrade(w, r, w.Header()) does; so does a 101
// written with w.Header()). A session that cannot be saved (too large,
// sealing failed) fails the hijack instead: the ErrorHandler answers on
// the connection, the Observer hears EventSaveFailed, and Hijack returns
// an error, so no upgrade goes through without the change. After Hijack
// the session is frozen (changes return ErrResponseStarted) and may still
// be read: the connection has left HTTP, and no cache stores what the
// hijacker writes on it.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.st == nil { // released: the session was committed at return
		return http.NewResponseController(w.ResponseWriter).Hijack()
	}
	if !w.start() {
		return nil, nil, errAborted
	}
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		s := w.st.sess
		s.mu.Lock()
		w.st.resp.hijacked = true
		s.mu.Unlock()
	}
	return conn, brw, err
}

// Unwrap returns the underlying ResponseWriter, for
// http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

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
	st.resp.committed = true
	if !st.loaded {
		return Unmodified
	}
	return st.status()
}
