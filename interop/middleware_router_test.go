package interop_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/cookieseal/cookieseal/middleware"
)

// The middleware under chi: URL parameters survive the request copy it
// makes (moved here from middleware so that chi stays out of the root
// module's graph).
func TestChi(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Post("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("last", chi.URLParam(r, "id"))
	})
	r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		last, _, _ := middleware.Get[string](s, "last")
		fmt.Fprintf(w, "%s after %s", chi.URLParam(r, "id"), last)
	})
	j := jar{}
	j.Update(do(t, r, "POST", "/items/7"))
	if got := do(t, r, "GET", "/items/8", j.List()...).Body.String(); got != "8 after 7" {
		t.Fatalf("got %q", got)
	}
}

// RequireSubject under chi: a route group with r.With (and Use) passes
// only a logged-in request.
func TestChiRequireSubject(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Renew()
		s.SetSubject("alice")
	})
	r.With(middleware.RequireSubject(nil)).Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		fmt.Fprintf(w, "%s for %s", chi.URLParam(r, "id"), s.Subject())
	})
	if w := do(t, r, "GET", "/items/8"); w.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d %q", w.Code, w.Body.String())
	}
	j := jar{}
	j.Update(do(t, r, "POST", "/login"))
	if w := do(t, r, "GET", "/items/8", j.List()...); w.Code != http.StatusOK || w.Body.String() != "8 for alice" {
		t.Fatalf("logged in: %d %q", w.Code, w.Body.String())
	}
}
