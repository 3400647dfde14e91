package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cookieseal/cookieseal/examples/frameworks/ginsession"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/gin-gonic/gin"
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
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginsession.Middleware(sessions))
	r.POST("/login", func(c *gin.Context) {
		s, _ := middleware.From(c.Request)
		s.Renew()
		s.Set("user", "alice")
		c.String(http.StatusOK, "welcome") // the cookie goes out with this header
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login", nil))
	fmt.Println(w.Code, w.Body.String(), len(w.Result().Cookies()))
	// Output: 200 welcome 1
}
