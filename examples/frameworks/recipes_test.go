package frameworks_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cookieseal/cookieseal/examples/frameworks"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

var recipes = []struct {
	name string
	app  func(*middleware.Manager) http.Handler
}{
	{"ServeMux", frameworks.ServeMux},
	{"chi", frameworks.Chi},
	{"gorilla/mux", frameworks.GorillaMux},
	{"Echo", frameworks.Echo},
	{"Gin", frameworks.Gin},
	{"Huma", frameworks.Huma},
}

// faults is an Observer that collects the faults the middleware reports:
// revocation faults and sessions it could not save (ErrBypassed among
// them).
type faults struct {
	mu   sync.Mutex
	errs []error
}

func (f *faults) Observe(e middleware.Event) {
	if e.Kind != middleware.EventRevokeFault && e.Kind != middleware.EventSaveFailed {
		return
	}
	f.mu.Lock()
	f.errs = append(f.errs, e.Err)
	f.mu.Unlock()
}

func (f *faults) list() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

func newManager(t *testing.T, f *faults) *middleware.Manager {
	t.Helper()
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Observer: f})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// client is a browser stand-in: a cookie jar over TLS (the cookie is
// Secure).
type client struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newClient(t *testing.T, h http.Handler) *client {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar = jar
	return &client{t: t, srv: srv, c: c}
}

// do sends a request and returns its status, body and Set-Cookie lines.
func (c *client) do(method, path string) (int, string, []string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), res.Header.Values("Set-Cookie")
}

// TestRecipes: login, read, logout, read again, over a real server, in
// every framework, with no fault reported.
func TestRecipes(t *testing.T) {
	for _, rc := range recipes {
		t.Run(rc.name, func(t *testing.T) {
			var f faults
			c := newClient(t, rc.app(newManager(t, &f)))
			if code, _, _ := c.do("GET", "/me"); code != http.StatusUnauthorized {
				t.Fatalf("before login: /me %d, want 401", code)
			}
			code, body, set := c.do("POST", "/login?user=alice")
			if code/100 != 2 || len(set) == 0 {
				t.Fatalf("login: %d %q, Set-Cookie %q: want 2xx with the cookie", code, body, set)
			}
			if code, body, _ := c.do("GET", "/me"); code != http.StatusOK || body != "alice" {
				t.Fatalf("after login: /me %d %q, want 200 alice", code, body)
			}
			code, body, set = c.do("POST", "/logout")
			if code/100 != 2 || !clears(set) {
				t.Fatalf("logout: %d %q, Set-Cookie %q: want 2xx clearing the cookie", code, body, set)
			}
			if code, body, _ := c.do("GET", "/me"); code != http.StatusUnauthorized {
				t.Fatalf("after logout: /me %d %q, want 401", code, body)
			}
			if errs := f.list(); len(errs) > 0 {
				t.Fatalf("faults reported: %v", errs)
			}
		})
	}
}

func clears(lines []string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, "session=;") && strings.Contains(l, "Max-Age=0") {
			return true
		}
	}
	return false
}

// TestGinNaiveAdapterIsCaught: the first Gin adapter most people write
// answers the login with a 200 and no Set-Cookie; the session is lost,
// and the middleware says so (ErrBypassed, an EventSaveFailed) rather than
// silently.
func TestGinNaiveAdapterIsCaught(t *testing.T) {
	var f faults
	c := newClient(t, frameworks.GinNaive(newManager(t, &f)))
	code, _, set := c.do("POST", "/login?user=alice")
	if code != http.StatusOK || len(set) != 0 {
		t.Fatalf("naive login: %d, Set-Cookie %q: the failure mode changed, update the docs", code, set)
	}
	errs := f.list()
	if len(errs) != 1 || !errors.Is(errs[0], middleware.ErrBypassed) {
		t.Fatalf("faults %v: want one ErrBypassed", errs)
	}
	if code, _, _ := c.do("GET", "/me"); code != http.StatusUnauthorized {
		t.Fatalf("/me %d: the session was lost, want 401", code)
	}
}
