package middleware

import "net/http"

// RequireSubject returns middleware that passes a request on to next only
// when its session is Authenticated (it has a subject); every other
// request goes to deny instead. A nil deny answers 401 Unauthorized, with
// the status text as the only body. For a page, pass a deny that
// redirects to the login form; for an API, nil.
//
// It has the shape of any net/http middleware, so chi's Use and With and
// a wrapper around a [http.ServeMux] pattern take it as it is. It reads the
// session as [From] does, so it goes inside [Manager.Handler]:
//
//	mux.Handle("GET /account", middleware.RequireSubject(nil)(account))
//	handler := sessions.Handler(mux)
//
// A request that did not pass through a [Manager]'s Handler has no session
// and goes to deny: it fails closed. The returned middleware is safe for
// concurrent use.
//
// It is a function rather than a Manager method because the check needs
// nothing of the manager: the session travels in the request's context,
// and a function composes where the manager is not in scope (a route
// group, a handler package). With several managers (cookies) on one
// handler, it checks the innermost one's session, as From does; to check
// another, test Manager.Session(r)'s Authenticated in your own
// middleware.
func RequireSubject(deny http.Handler) func(http.Handler) http.Handler {
	if deny == nil {
		deny = http.HandlerFunc(unauthorized)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s, _ := From(r); s.Authenticated() {
				next.ServeHTTP(w, r)
				return
			}
			deny.ServeHTTP(w, r)
		})
	}
}

// unauthorized answers 401 with the status text.
func unauthorized(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}
