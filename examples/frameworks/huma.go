package frameworks

import (
	"context"
	"net/http"

	"github.com/cookieseal/cookieseal/middleware"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// Huma is the recipe for Huma on net/http's ServeMux (humago; humachi is
// the same with chi): wrap the router, and reach the session from the
// operation's context with middleware.FromContext. Huma writes its
// responses, errors included, through the router's writer, so the cookie
// goes out with them.
func Huma(m *middleware.Manager) http.Handler {
	mux := http.NewServeMux()
	api := humago.New(mux, huma.DefaultConfig("recipe", "1.0.0"))

	type loginInput struct {
		User string `query:"user"`
	}
	huma.Register(api, huma.Operation{Method: http.MethodPost, Path: "/login", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *loginInput) (*struct{}, error) {
			s, err := middleware.FromContext(ctx)
			if err != nil {
				return nil, err
			}
			if err := s.Renew(); err != nil {
				return nil, err
			}
			if err := s.SetSubject(in.User); err != nil {
				return nil, err
			}
			return nil, s.Set("user", in.User)
		})

	type meOutput struct {
		Body []byte `contentType:"text/plain"`
	}
	huma.Register(api, huma.Operation{Method: http.MethodGet, Path: "/me"},
		func(ctx context.Context, _ *struct{}) (*meOutput, error) {
			s, err := middleware.FromContext(ctx)
			if err != nil {
				return nil, err
			}
			u, ok, err := middleware.Get[string](s, "user")
			if err != nil || !ok {
				return nil, huma.Error401Unauthorized("no session")
			}
			return &meOutput{Body: []byte(u)}, nil
		})

	huma.Register(api, huma.Operation{Method: http.MethodPost, Path: "/logout", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			s, err := middleware.FromContext(ctx)
			if err != nil {
				return nil, err
			}
			return nil, s.Destroy()
		})
	return m.Handler(mux)
}
