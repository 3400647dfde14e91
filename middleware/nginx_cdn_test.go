package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/internal/nginxtest"
	"github.com/cookieseal/cookieseal/middleware"
)

// A real shared cache (nginx proxy_cache, told to ignore Vary and
// Set-Cookie as CDNs do) in front of pages that read the session and
// write their own cache headers, including nginx's own targeted field
// X-Accel-Expires, which nginx obeys before Cache-Control: no user's page
// is served to another, and the same headers on an anonymous page are
// still obeyed (the page is cached). nginx reads the fields in the order
// Go sends them (sorted), so Cache-Control private comes before
// X-Accel-Expires and wins; a cache told to ignore Cache-Control (as a
// CDN ignores it beside its targeted field) obeys X-Accel-Expires alone.
func TestNginxSessionPageWithHandlerCacheHeaders(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{InsecureAllowHTTP: true})
	cases := map[string][][2]string{
		"accel":          {{"X-Accel-Expires", "600"}},
		"accel-public":   {{"X-Accel-Expires", "600"}, {"Cache-Control", "public, s-maxage=600"}},
		"public-smaxage": {{"Cache-Control", "public, s-maxage=600"}},
		"expires":        {{"Expires", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("user", r.URL.Query().Get("user"))
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		for _, kv := range cases[r.URL.Query().Get("case")] {
			w.Header().Set(kv[0], kv[1])
		}
		s, _ := middleware.From(r)
		if u, ok, _ := middleware.Get[string](s, "user"); ok {
			io.WriteString(w, "hello "+u)
			return
		}
		io.WriteString(w, "anonymous")
	})
	app := httptest.NewServer(m.Handler(mux))
	defer app.Close()
	configs := []struct {
		name   string
		ignore string
		cases  []string
	}{
		{"ignoring Vary and Set-Cookie", "proxy_ignore_headers Vary Set-Cookie;", []string{"accel", "accel-public", "public-smaxage", "expires"}},
		// A cache that obeys only its own field (as a CDN obeys
		// CDN-Cache-Control and ignores Cache-Control, RFC 9213).
		{"obeying X-Accel-Expires alone", "proxy_ignore_headers Vary Set-Cookie Cache-Control Expires;", []string{"accel", "accel-public"}},
	}
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			s := nginxtest.Start(t, nginxtest.Config{
				Upstream: strings.TrimPrefix(app.URL, "http://"),
				Cache:    true,
				Location: []string{cfg.ignore},
			})
			c := s.Client(false)
			users := map[string][]*http.Cookie{}
			for _, u := range []string{"alice", "bob"} {
				r := nxGet(t, c, s.URL, "/login?user="+u, nil)
				if r.code != http.StatusOK || len(r.kept()) != 1 {
					t.Fatalf("login %s: %v", u, r)
				}
				users[u] = r.kept()
			}
			for _, name := range cfg.cases {
				t.Run(name, func(t *testing.T) {
					for _, who := range []string{"alice", "bob", "alice"} {
						r := nxGet(t, c, s.URL, "/page?case="+name, users[who])
						if r.body != "hello "+who {
							t.Fatalf("%s got %q (%s) from the cache", who, r.body, r.header.Get("X-Cache-Status"))
						}
					}
					// The same headers on an anonymous page are obeyed: stored.
					nxGet(t, c, s.URL, "/page?anon=1&case="+name, nil)
					if r := nxGet(t, c, s.URL, "/page?anon=1&case="+name, nil); r.body != "anonymous" || r.header.Get("X-Cache-Status") != "HIT" {
						t.Fatalf("anonymous page with %s: %v %s", name, r, r.header.Get("X-Cache-Status"))
					}
				})
			}
		})
	}
}
