// Package echosession runs a cookieseal session manager as Echo
// middleware without losing the session.
//
// echo.WrapMiddleware(m.Handler) works for handlers that write their
// response, but a handler that returns an error has it written by Echo's
// HTTPErrorHandler after the wrapped middleware returned, through the
// writer the middleware lent for the request only: net/http forbids using
// a ResponseWriter after its handler returned, and the session's may by
// then serve another request. Middleware here writes the error response
// while the session is still in place (c.Error), then restores Echo's
// writer.
//
// It lives in its own module (examples/frameworks) so that Echo never
// enters the graph of a program that imports only cookieseal.
package echosession

import (
	"net/http"

	"github.com/cookieseal/cookieseal/middleware"
	"github.com/labstack/echo/v4"
)

// Middleware returns Echo middleware that gives the rest of the chain m's
// session: reach it with middleware.From(c.Request()). An error from the
// chain is answered (c.Error) before the session middleware returns, so
// the error page carries the cookie too, and Middleware returns nil.
func Middleware(m *middleware.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			orig := res.Writer
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				res.Writer = w
				defer func() { res.Writer = orig }()
				if err := next(c); err != nil {
					c.Error(err)
				}
			})).ServeHTTP(orig, c.Request())
			return nil
		}
	}
}
