package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// TestCacheControlLinesKept: a handler's Cache-Control directives
// survive the middleware's additions (private on a read, no-cache on
// Set-Cookie on a write) whatever field lines they are written on; the
// additions replace the lines with one, which once kept only the first
// line's directives.
func TestCacheControlLinesKept(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string // directives that must still be sent
	}{
		{"two lines", []string{"max-age=60", "must-revalidate"}, []string{"max-age=60", "must-revalidate", "private"}},
		{"no-cache second", []string{"max-age=600", "no-cache"}, []string{"max-age=600", "no-cache", "private"}},
		{"empty first", []string{"", "max-age=0"}, []string{"max-age=0", "private"}},
	} {
		for _, write := range []bool{true, false} {
			name := tc.name + "/read"
			if write {
				name = tc.name + "/write"
			}
			t.Run(name, func(t *testing.T) {
				h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for _, l := range tc.lines {
						w.Header().Add("Cache-Control", l)
					}
					s, _ := middleware.From(r)
					if write {
						s.Set("k", "v")
					} else {
						middleware.Get[string](s, "k")
					}
					w.Write([]byte("ok"))
				}))
				var cookies []*http.Cookie
				if !write {
					w := do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						s, _ := middleware.From(r)
						s.Set("k", "v")
					})), "GET", "/")
					cookies = cookiesOf(w)
				}
				w := do(t, h, "GET", "/", cookies...)
				var got []string
				for _, l := range w.Result().Header.Values("Cache-Control") {
					for d := range strings.SplitSeq(l, ",") {
						got = append(got, strings.ToLower(strings.TrimSpace(d)))
					}
				}
				for _, d := range tc.want {
					found := false
					for _, g := range got {
						found = found || g == d
					}
					if !found {
						t.Errorf("Cache-Control %q lost %q (handler sent %q)", w.Result().Header.Values("Cache-Control"), d, tc.lines)
					}
				}
			})
		}
	}
}
