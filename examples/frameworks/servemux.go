package frameworks

import (
	"net/http"

	"github.com/cookieseal/cookieseal/middleware"
)

// ServeMux is the recipe for net/http's ServeMux: wrap the mux.
func ServeMux(m *middleware.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := login(r, r.URL.Query().Get("user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		u, ok := me(r)
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(u))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := logout(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return m.Handler(mux)
}
