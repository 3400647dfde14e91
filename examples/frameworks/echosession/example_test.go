package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cookieseal/cookieseal/examples/frameworks/echosession"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/labstack/echo/v4"
)

func ExampleMiddleware() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	sessions, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true})
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.Use(echosession.Middleware(sessions))
	e.POST("/login", func(c echo.Context) error {
		s, _ := middleware.From(c.Request())
		s.Renew()
		s.Set("user", "alice")
		// An error is answered while the session is in place: the error
		// page carries the cookie too.
		return echo.NewHTTPError(http.StatusTeapot, "set, then refused")
	})

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login", nil))
	fmt.Println(w.Code, len(w.Result().Cookies()))
	// Output: 418 1
}
