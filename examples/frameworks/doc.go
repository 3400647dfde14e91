// Package frameworks holds recipes for cookieseal's session middleware in
// the common Go routers and frameworks: net/http's ServeMux, chi,
// gorilla/mux, Echo, Gin and Huma. Each app has the same three routes,
// tested over a real server (recipes_test.go):
//
//	POST /login?user=NAME  renews the session, sets its subject and "user"
//	GET  /me               the user's name, or 401 without a session
//	POST /logout           destroys the session
//
// ServeMux, chi, gorilla/mux and Huma (on a net/http router) need no glue:
// wrap the router, or Use the manager's Handler. Gin and Echo need the
// small adapters in ginsession and echosession: the naive ones lose the
// cookie (Gin) or write an error page through a writer that is no longer
// the request's (Echo).
//
// This is a module of its own, so none of these frameworks reaches the
// module graph of a program that imports cookieseal.
package frameworks

import (
	"net/http"

	"github.com/cookieseal/cookieseal/middleware"
)

// login, me and logout are the recipes' shared logic on net/http types.

func login(r *http.Request, user string) error {
	s, err := middleware.From(r)
	if err != nil {
		return err
	}
	if err := s.Renew(); err != nil { // a new id at every login (session fixation)
		return err
	}
	if err := s.SetSubject(user); err != nil {
		return err
	}
	return s.Set("user", user)
}

func me(r *http.Request) (string, bool) {
	s, err := middleware.From(r)
	if err != nil {
		return "", false
	}
	u, ok, err := middleware.Get[string](s, "user")
	return u, ok && err == nil
}

func logout(r *http.Request) error {
	s, err := middleware.From(r)
	if err != nil {
		return err
	}
	return s.Destroy()
}
