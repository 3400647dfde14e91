// Package ginsession runs a cookieseal session manager as Gin middleware
// without losing the session.
//
// The adapter most people write first runs Manager.Handler and calls
// c.Next() inside it. Gin's handlers then keep writing to c.Writer, Gin's
// own writer, not to the writer Handler passed on, so the Set-Cookie the
// middleware adds before the first byte comes after the header has gone:
// the response is a 200 with no cookie and the session is lost (the
// middleware reports it as middleware.ErrBypassed, an EventSaveFailed).
// Middleware here swaps c.Writer for one that writes
// through the session middleware for the rest of the chain.
//
// It lives in its own module (examples/frameworks) so that Gin never
// enters the graph of a program that imports only cookieseal.
package ginsession

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/cookieseal/cookieseal/middleware"
	"github.com/gin-gonic/gin"
)

// Middleware returns Gin middleware that gives the rest of the chain m's
// session: reach it with middleware.From(c.Request). Register it with
// router.Use before the handlers that use the session.
func Middleware(m *middleware.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		orig := c.Writer
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Writer = &writer{ResponseWriter: orig, session: w}
			defer func() { c.Writer = orig }()
			c.Next()
		})).ServeHTTP(orig, c.Request)
	}
}

// writer is Gin's writer (status, size and the rest) whose output goes
// through the session middleware's writer, which commits the cookie
// before the first byte.
type writer struct {
	gin.ResponseWriter
	session http.ResponseWriter
}

func (w *writer) WriteHeader(code int)                { w.session.WriteHeader(code) }
func (w *writer) Write(b []byte) (int, error)         { return w.session.Write(b) }
func (w *writer) WriteString(s string) (int, error)   { return io.WriteString(w.session, s) }
func (w *writer) ReadFrom(r io.Reader) (int64, error) { return io.Copy(w.session, r) }

// WriteHeaderNow sends the header now, the session's cookie in it.
func (w *writer) WriteHeaderNow() {
	if !w.ResponseWriter.Written() {
		w.session.WriteHeader(w.ResponseWriter.Status())
	}
	w.ResponseWriter.WriteHeaderNow()
}

func (w *writer) Flush() { _ = http.NewResponseController(w.session).Flush() }

func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.session).Hijack()
}
