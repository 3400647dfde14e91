package frameworks

import (
	"net/http"

	"github.com/cookieseal/cookieseal/examples/frameworks/echosession"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/labstack/echo/v4"
)

// Echo is the recipe for Echo: Use echosession.Middleware (not
// echo.WrapMiddleware, whose error path writes after the session
// middleware returned). A handler may return an error, such as the 401
// of /me: it is answered with the session in place.
func Echo(m *middleware.Manager) http.Handler {
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.POST("/login", func(c echo.Context) error {
		return login(c.Request(), c.QueryParam("user"))
	})
	e.GET("/me", func(c echo.Context) error {
		u, ok := me(c.Request())
		if !ok {
			return echo.NewHTTPError(http.StatusUnauthorized, "no session")
		}
		return c.String(http.StatusOK, u)
	})
	e.POST("/logout", func(c echo.Context) error {
		return logout(c.Request())
	})
	return e
}
