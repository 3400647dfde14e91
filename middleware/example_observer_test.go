package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// One Observer hears every session event; Event is a value, and nothing
// is built when no Observer (or Logger) is set.
func ExampleOptions_observer() {
	kr, _ := keyring.Generate(time.Now())
	obs := middleware.ObserverFunc(func(e middleware.Event) {
		if e.Kind == middleware.EventRejected {
			fmt.Println(e.Kind, e.Reason)
			return
		}
		fmt.Println(e.Kind)
	})
	m, _ := middleware.New(kr, "session", middleware.Options{Observer: obs})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if r.URL.Path == "/login" {
			s.Set("user", "alice")
		}
		middleware.Get[string](s, "user")
	}))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	h.ServeHTTP(httptest.NewRecorder(), r)
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "forged"})
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// saved
	// opened
	// rejected malformed
}
