package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// A login form with a "remember me" box: one manager, a persistent
// cookie for those who tick it, a browser-session cookie with a shorter
// deadline for the others.
func ExampleSession_SetRememberMe() {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	sessions, err := middleware.New(kr, "__Host-session", middleware.Options{
		Codec: cookie.Options{Now: func() time.Time { return now }, IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour}, // a fixed clock, for the output
	})
	if err != nil {
		panic(err)
	}
	login := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		sess.Renew()
		sess.SetSubject("user-42")
		remember := r.FormValue("remember") == "on"
		sess.SetRememberMe(remember)
		if !remember {
			sess.SetDeadline(now.Add(8 * time.Hour)) // a working day at most
		}
		fmt.Printf("remember=%v status=%v deadline=%s idle=%s\n", remember, sess.Status(),
			sess.Deadline().UTC().Format("Jan 2 15:04"), sess.IdleDeadline().UTC().Format("Jan 2 15:04"))
	}))
	for _, form := range []string{"remember=on", ""} {
		w := httptest.NewRecorder()
		login.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login?"+form, nil))
		c := w.Result().Cookies()[0]
		fmt.Println("  Max-Age:", c.MaxAge)
	}
	// Output:
	// remember=true status=modified deadline=Jan 31 09:00 idle=Jan 1 11:00
	//   Max-Age: 7200
	// remember=false status=modified deadline=Jan 1 17:00 idle=Jan 1 11:00
	//   Max-Age: 0
}
