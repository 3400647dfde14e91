package frameworks

import (
	"net/http"

	"github.com/cookieseal/cookieseal/middleware"
	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware" // both packages are named middleware: alias one
)

// Chi is the recipe for chi: Use the manager's Handler like any chi
// middleware.
func Chi(m *middleware.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(chimw.NoCache, m.Handler)
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := login(r, r.URL.Query().Get("user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
		u, ok := me(r)
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(u))
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := logout(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return r
}
