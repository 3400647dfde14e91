package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/middleware"
)

// siteJar is a browser's cookie jar for the attacker-model tests:
// net/http/cookiejar (RFC 6265: Domain, Path, host-only, expiry, the
// order a browser sends cookies in: longest Path first, then oldest),
// with what cookiejar leaves out and every browser enforces in front of
// it: the cookie name prefixes (RFC 6265bis, matched case-insensitively):
// a "__Secure-" cookie must be Secure; a "__Host-" cookie must be Secure,
// have no Domain and Path=/. cookiejar keeps no Partitioned flag: a
// partitioned and an unpartitioned cookie of one name share an entry, so
// partitioning is tested with partitionJar.
type siteJar struct {
	jar *cookiejar.Jar
}

func newSiteJar(t testing.TB) *siteJar {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &siteJar{jar: j}
}

// browserRefuses reports whether a browser refuses c for its name's prefix.
func browserRefuses(c *http.Cookie) bool {
	lower := strings.ToLower(c.Name)
	switch {
	case strings.HasPrefix(lower, "__host-"):
		return !c.Secure || c.Domain != "" || c.Path != "/"
	case strings.HasPrefix(lower, "__secure-"):
		return !c.Secure
	}
	return false
}

// set stores the cookies a response from origin (https://host/path) set,
// as a browser would: refused prefixed cookies are dropped.
func (j *siteJar) set(host, path string, cs []*http.Cookie) {
	var keep []*http.Cookie
	for _, c := range cs {
		if !browserRefuses(c) {
			keep = append(keep, c)
		}
	}
	j.jar.SetCookies(&url.URL{Scheme: "https", Host: host, Path: path}, keep)
}

// do sends GET https://host+target through h with the cookies the jar
// sends for that URL (its real path), keeps the response's cookies, and
// returns the response.
func (j *siteJar) do(t testing.TB, h http.Handler, host, target string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "https://"+host+target, nil)
	for _, c := range j.jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	j.set(host, r.URL.Path, w.Result().Cookies())
	return w
}

// count returns how many cookies whose names start with prefix the jar
// sends to https://host+path.
func (j *siteJar) count(host, path, prefix string) int {
	n := 0
	for _, c := range j.jar.Cookies(&url.URL{Scheme: "https", Host: host, Path: path}) {
		if strings.HasPrefix(c.Name, prefix) {
			n++
		}
	}
	return n
}

// plantApp is the app of the attacker-model tests, on every path:
//
//	…/login?user=u[&big=n]  Renew, SetSubject(u), Set("user", u), and n
//	                        bytes of data (so that the session is chunked)
//	anything else           whoami: "subject/user", or "-" without one
func plantApp(m *middleware.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r)
		if err != nil {
			panic(err)
		}
		if strings.HasSuffix(r.URL.Path, "/login") {
			u := r.URL.Query().Get("user")
			if err := s.Renew(); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			s.SetSubject(u)
			s.Set("user", u)
			if n := r.URL.Query().Get("big"); n != "" {
				var size int
				fmt.Sscan(n, &size)
				s.Set("big", strings.Repeat(u[:1], size))
			}
			fmt.Fprint(w, "ok")
			return
		}
		u, ok, _ := middleware.Get[string](s, "user")
		if !ok || s.Subject() == "" {
			fmt.Fprint(w, "-")
			return
		}
		fmt.Fprintf(w, "%s/%s", s.Subject(), u)
	})
}

// setCookieBytes is the size of w's Set-Cookie block as HTTP/1.1 sends
// it ("Set-Cookie: " + line + CRLF each), and of its clearing lines alone.
func setCookieBytes(w *httptest.ResponseRecorder) (all, clears int) {
	for _, l := range w.Header().Values("Set-Cookie") {
		n := len("Set-Cookie: ") + len(l) + 2
		all += n
		if strings.Contains(l, "Max-Age=0") {
			clears += n
		}
	}
	return all, clears
}

func mustURL(host, path string) *url.URL {
	return &url.URL{Scheme: "https", Host: host, Path: path}
}
