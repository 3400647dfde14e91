package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// One Observer hears every session event; Event is a value, and nothing
// is built when no Observer is set.
func ExampleOptions_observer() {
	kr, _ := keyring.Generate()
	obs := middleware.ObserverFunc(func(e middleware.Event) {
		if e.Kind == middleware.EventRejected {
			fmt.Println(e.Kind, e.Reason)
			return
		}
		fmt.Println(e.Kind)
	})
	m, _ := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Observer: obs})
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

// NewLogObserver logs what an operator needs (a forged cookie at Debug,
// with its reason), never a cookie value, id or subject. Beside metrics,
// combine it with Observers.
func ExampleNewLogObserver() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output for the example
			}
			return a
		},
	}))
	kr, _ := keyring.Generate()
	m, _ := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true,
		Observer: middleware.Observers(middleware.NewLogObserver(logger) /*, metrics, … */),
	})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		middleware.Get[string](s, "user")
	}))
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "forged"})
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// level=DEBUG msg="cookieseal: session rejected" cookie=session event=rejected method=GET path=/account reason=malformed
}
