package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/internal/nginxtest"
	"github.com/cookieseal/cookieseal/middleware"
)

// A real shared cache (nginx proxy_cache, storing every 200 for 10
// minutes unless the response says otherwise) in front of the app: no page
// that depends on a session and no Set-Cookie is ever served to another
// client, and anonymous pages stay cacheable. Checked with nginx's
// defaults, and with a cache told to ignore Vary and Set-Cookie (as CDNs
// and hurried operators do), where only Cache-Control protects.
func TestNginxSharedCache(t *testing.T) {
	a := newNxApp(t, middleware.Options{})
	configs := []struct {
		name     string
		location []string
		vary     bool // the cache honours Vary
	}{
		{"proxy_cache", nil, true},
		{"proxy_cache ignoring Vary and Set-Cookie", []string{"proxy_ignore_headers Vary Set-Cookie;"}, false},
	}
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			s := nginxtest.Start(t, nginxtest.Config{Upstream: a.addr, Cache: true, Location: cfg.location})
			c := s.Client(false)
			// Each user logs in through the cache (a unique URL per user,
			// so the login itself cannot be a cache hit).
			users := map[string][]*http.Cookie{}
			for _, u := range []string{"alice", "bob"} {
				r := nxGet(t, c, s.URL, "/login?user="+u, nil)
				if r.code != http.StatusOK || len(r.kept()) != 1 {
					t.Fatalf("login %s: %v", u, r)
				}
				users[u] = r.kept()
			}
			// sessionValue maps a session cookie's value to its owner, to
			// catch one delivered to someone else.
			owner := map[string]string{}
			for u, cs := range users {
				owner[cs[0].Value] = u
			}
			// check sends GET target as who ("" is anonymous) and fails
			// on anything of another client's: a greeting for someone
			// else, or a Set-Cookie (value or clearing line) minted for
			// another client.
			check := func(t *testing.T, who, target string) nxResp {
				t.Helper()
				r := nxGet(t, c, s.URL, target, users[who])
				if r.code != http.StatusOK {
					t.Fatalf("%s %s: %v", who, target, r)
				}
				if strings.HasPrefix(r.body, "hello ") && r.body != "hello "+who {
					t.Fatalf("%s got %q from the cache (%s)", who, r.body, r.header.Get("X-Cache-Status"))
				}
				for _, k := range r.cookies {
					if o, ok := owner[k.Value]; ok && o != who {
						t.Fatalf("%s got %s's Set-Cookie", who, o)
					}
				}
				if len(r.cookies) > 0 && r.header.Get("X-Cache-Status") == "HIT" {
					t.Fatalf("%s %s: a Set-Cookie served from the cache: %q", who, target, r.header.Values("Set-Cookie"))
				}
				return r
			}

			t.Run("session pages in every order", func(t *testing.T) {
				orders := [][]string{
					{"alice", "bob", "", "alice"},
					{"", "alice", "bob", ""},
					{"bob", "", "alice", "bob"},
				}
				for i, order := range orders {
					target := "/page?order=" + string(rune('a'+i))
					for _, who := range order {
						r := check(t, who, target)
						switch {
						case who == "" && r.body != "anonymous":
							t.Fatalf("anonymous got %q", r.body)
						case who != "" && cfg.vary && r.body != "hello "+who:
							// With Vary honoured, a user never gets the
							// cached anonymous page either.
							t.Fatalf("%s got %q", who, r.body)
						}
						if r.body == "hello "+who && !headerHasPrivate(r.header) {
							t.Fatalf("%s's page not private: %q", who, r.header.Values("Cache-Control"))
						}
					}
				}
			})
			t.Run("anonymous page stays cacheable", func(t *testing.T) {
				check(t, "", "/page?anon=1")
				r := check(t, "", "/page?anon=1")
				if r.body != "anonymous" || r.header.Get("X-Cache-Status") != "HIT" || r.header.Get("Vary") != "Cookie" {
					t.Fatalf("second anonymous request: %v %v", r, r.header)
				}
			})
			t.Run("page that ignores the session stays shared", func(t *testing.T) {
				check(t, "alice", "/public")
				r := check(t, "bob", "/public")
				if r.body != "public" || r.header.Get("X-Cache-Status") != "HIT" {
					t.Fatalf("public page: %v %v", r, r.header)
				}
			})
			// A write (of a session, or of its clearing) is never stored.
			// Users go first: once an anonymous response that wrote nothing
			// is stored, a cache that ignores Vary hands it to everyone,
			// which is that cache's flaw, not a leak (see docs/proxies-and-caches.md).
			t.Run("writes are never stored", func(t *testing.T) {
				for _, target := range []string{"/set?n=10", "/destroy", "/login?user=carol"} {
					for _, who := range []string{"alice", "bob", ""} {
						r := check(t, who, target)
						if r.header.Get("X-Cache-Status") == "HIT" {
							t.Fatalf("%s %s: cache hit %v", who, target, r.header)
						}
					}
				}
			})
		})
	}
}

func headerHasPrivate(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "private") {
				return true
			}
		}
	}
	return false
}
