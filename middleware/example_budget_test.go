package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// A session whose Set-Cookie lines would pass MaxResponseCookieBytes
// (default 3072 bytes, so that a default nginx never answers 502) is not
// written: the ErrorHandler gets cookie.ErrTooLarge before any byte of the
// response, and the handler's output is discarded.
func ExampleOptions_maxResponseCookieBytes() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	sessions, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, cookie.ErrTooLarge) {
				http.Error(w, "session too large", http.StatusInternalServerError)
				return
			}
			http.Error(w, "internal error", http.StatusInternalServerError)
		},
	})
	if err != nil {
		panic(err)
	}
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("notes", strings.Repeat("x", int(r.ContentLength)))
		fmt.Fprint(w, "saved")
	}))
	for _, n := range []int64{2000, 3000} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", int(n))))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(n, w.Code, strings.TrimSpace(w.Body.String()), len(w.Result().Cookies()))
	}
	// Output:
	// 2000 200 saved 1
	// 3000 500 session too large 0
}
