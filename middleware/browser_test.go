package middleware_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
)

// browser is a client with net/http/cookiejar's RFC 6265 jar: it keeps
// host-only and Domain cookies apart, as a browser does.
type browser struct {
	jar  *cookiejar.Jar
	host string
}

func newBrowser(t *testing.T, host string) *browser {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{jar: j, host: host}
}

func (b *browser) url() *url.URL { return &url.URL{Scheme: "https", Host: b.host, Path: "/"} }

func (b *browser) do(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "https://"+b.host+path, nil)
	for _, c := range b.jar.Cookies(b.url()) {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b.jar.SetCookies(b.url(), w.Result().Cookies())
	return w
}
