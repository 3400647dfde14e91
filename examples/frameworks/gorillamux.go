package frameworks

import (
	"net/http"

	"github.com/cookieseal/cookieseal/middleware"
	"github.com/gorilla/mux"
)

// GorillaMux is the recipe for gorilla/mux: Use the manager's Handler
// (a mux.MiddlewareFunc as it is).
func GorillaMux(m *middleware.Manager) http.Handler {
	r := mux.NewRouter()
	r.Use(m.Handler)
	r.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := login(r, r.URL.Query().Get("user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}).Methods(http.MethodPost)
	r.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		u, ok := me(r)
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(u))
	}).Methods(http.MethodGet)
	r.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := logout(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}).Methods(http.MethodPost)
	return r
}
