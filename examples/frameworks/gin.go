package frameworks

import (
	"net/http"

	"github.com/cookieseal/cookieseal/examples/frameworks/ginsession"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/gin-gonic/gin"
)

// Gin is the recipe for Gin: Use ginsession.Middleware, which sends
// Gin's writes through the session middleware (the naive adapter loses
// the cookie; see GinNaive).
func Gin(m *middleware.Manager) http.Handler {
	return ginRoutes(ginsession.Middleware(m))
}

// GinNaive is the adapter most people write first, kept to show its
// failure: it runs the manager's Handler and calls c.Next() inside, so
// Gin's handlers write to c.Writer around the session middleware and
// the cookie never goes out. The middleware reports each lost change
// as middleware.ErrBypassed (an EventSaveFailed to Options.Observer,
// logged to slog.Default without one). Do not use it.
func GinNaive(m *middleware.Manager) http.Handler {
	return ginRoutes(func(c *gin.Context) {
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	})
}

func ginRoutes(sessions gin.HandlerFunc) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(sessions)
	r.POST("/login", func(c *gin.Context) {
		if err := login(c.Request, c.Query("user")); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, "welcome") // a body: the naive adapter's header goes out here
	})
	r.GET("/me", func(c *gin.Context) {
		u, ok := me(c.Request)
		if !ok {
			c.String(http.StatusUnauthorized, "no session")
			return
		}
		c.String(http.StatusOK, u)
	})
	r.POST("/logout", func(c *gin.Context) {
		if err := logout(c.Request); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
		}
	})
	return r
}
