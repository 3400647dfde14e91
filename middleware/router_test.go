package middleware_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// The middleware works unchanged with the standard ServeMux and its Go
// 1.22 patterns: path values survive the request copy it makes.
func TestServeMuxPatterns(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("last", r.PathValue("id"))
	})
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		last, _, _ := middleware.Get[string](s, "last")
		fmt.Fprintf(w, "%s after %s", r.PathValue("id"), last)
	})
	h := m.Handler(mux)
	j := jar{}
	j.Update(do(t, h, "POST", "/items/7"))
	if got := do(t, h, "GET", "/items/8", j.List()...).Body.String(); got != "8 after 7" {
		t.Fatalf("got %q", got)
	}
	// Middleware inside the mux, per route, works as well.
	mux2 := http.NewServeMux()
	mux2.Handle("GET /only/{x}", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := middleware.From(r)
		if err != nil {
			t.Error(err)
		}
		s.Set("x", r.PathValue("x"))
	})))
	if w := do(t, mux2, "GET", "/only/z"); len(w.Result().Cookies()) != 1 {
		t.Fatal("no cookie from a per-route middleware")
	}
}

// A real http.Server on loopback, a real client with a cookie jar over TLS
// (the cookie is Secure), http.CrossOriginProtection in front, and many
// concurrent clients: run with -race.
func TestRealServerConcurrent(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Renew()
		s.SetSubject(r.FormValue("user"))
		s.Set("n", 0)
		io.WriteString(w, s.ID())
	})
	mux.HandleFunc("POST /inc", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		n, _, _ := middleware.Get[int](s, "n")
		s.Set("n", n+1)
		fmt.Fprintf(w, "%s %d", s.Subject(), n+1)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		n, _, _ := middleware.Get[int](s, "n")
		fmt.Fprintf(w, "%s %d", s.Subject(), n)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NewCrossOriginProtection().Handler(m.Handler(mux)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	defer srv.Close()

	const clients, rounds = 8, 10
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			j, _ := cookiejar.New(nil)
			cl := &http.Client{Transport: srv.Client().Transport, Jar: j}
			user := fmt.Sprintf("user-%d", c)
			post := func(path string, form url.Values) string {
				req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				resp, err := cl.Do(req)
				if err != nil {
					t.Error(err)
					return ""
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d %s", path, resp.StatusCode, b)
				}
				return string(b)
			}
			post("/login", url.Values{"user": {user}})
			for i := range rounds {
				if got, want := post("/inc", nil), fmt.Sprintf("%s %d", user, i+1); got != want {
					t.Errorf("inc: %q, want %q", got, want)
				}
			}
			resp, err := cl.Get(srv.URL + "/whoami")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("%s %d", user, rounds); string(b) != want {
				t.Errorf("whoami %q, want %q", b, want)
			}
		})
	}
	wg.Wait()

	// A cross-origin POST is refused by CrossOriginProtection before the
	// session is touched.
	req, _ := http.NewRequest("POST", srv.URL+"/inc", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("cross-site POST: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
}

// The same manager serves many requests at once through httptest: the
// pooled state never leaks between them (run with -race).
func TestConcurrentRequestsIsolated(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, RefreshAfter: time.Nanosecond})
	h := m.Handler(app(t))
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			v := fmt.Sprintf("v%d", i)
			j := jar{}
			j.Update(do(t, h, "GET", "/set?k="+v))
			for range 20 {
				w := do(t, h, "GET", "/get?k=k", j.List()...)
				if w.Body.String() != v {
					t.Errorf("got %q, want %q", w.Body.String(), v)
					return
				}
				j.Update(w)
			}
		})
	}
	wg.Wait()
}
