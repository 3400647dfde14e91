package middleware_test

// Sessions through a real nginx started by the tests (internal/nginxtest):
// both directions, HTTP/1.1 and HTTP/2, nginx's defaults and the recipe of
// docs/proxies-and-caches.md. Without nginx these tests skip, unless
// COOKIESEAL_REQUIRE_NGINX=1.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/nginxtest"
	"github.com/cookieseal/cookieseal/middleware"
)

// nxSecurityHeaders are the headers a careful application adds to every
// response: 698 bytes on the HTTP/1.1 wire, Content-Type included.
var nxSecurityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-rAnd0mN0nceV4lue22ch'; style-src 'self' 'nonce-rAnd0mN0nceV4lue22ch'; img-src 'self' data: https:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'; upgrade-insecure-requests"},
	{"Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"},
	{"Referrer-Policy", "strict-origin-when-cross-origin"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Content-Type", "text/html; charset=utf-8"},
}

// nxApp is an application behind nginx: security headers on every
// response, a session manager, and routes that set, read, show and drop
// the session, plus a page that never touches it.
type nxApp struct {
	m       *middleware.Manager
	handler http.Handler
	url     string // the app's own http://127.0.0.1:port
	addr    string

	mu     sync.Mutex
	errs   []error // what ErrorHandler was told
	served int     // requests that reached the app
}

const nxTooLarge = http.StatusInsufficientStorage // the test's ErrorHandler answer

func newNxApp(t *testing.T, opts middleware.Options) *nxApp {
	t.Helper()
	a := &nxApp{}
	opts.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		a.mu.Lock()
		a.errs = append(a.errs, err)
		a.mu.Unlock()
		w.WriteHeader(nxTooLarge)
		io.WriteString(w, "session not saved")
	}
	a.m = newManager(t, testKeyring(t), opts)
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		s, _ := middleware.From(r)
		if err := s.Set("k", strings.Repeat("v", n)); err != nil {
			t.Errorf("Set: %v", err)
		}
		io.WriteString(w, "saved")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if err := s.Set("user", r.URL.Query().Get("user")); err != nil {
			t.Errorf("Set: %v", err)
		}
		io.WriteString(w, "welcome "+r.URL.Query().Get("user"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		v, _, err := middleware.Get[string](s, "k")
		if err != nil {
			t.Errorf("Get: %v", err)
		}
		io.WriteString(w, strconv.Itoa(len(v)))
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if u, ok, _ := middleware.Get[string](s, "user"); ok {
			io.WriteString(w, "hello "+u)
			return
		}
		io.WriteString(w, "anonymous")
	})
	mux.HandleFunc("/public", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		io.WriteString(w, "public")
	})
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Destroy()
		io.WriteString(w, "bye")
	})
	inner := a.m.Handler(mux)
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.served++
		a.mu.Unlock()
		for _, h := range nxSecurityHeaders {
			w.Header().Set(h[0], h[1])
		}
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	a.url, a.addr = srv.URL, strings.TrimPrefix(srv.URL, "http://")
	return a
}

// takeErrs returns and forgets what the ErrorHandler was told.
func (a *nxApp) takeErrs() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	errs := a.errs
	a.errs = nil
	return errs
}

func (a *nxApp) servedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.served
}

// largestSet finds, in process, the largest n for which /set?n=n saves.
func (a *nxApp) largestSet(t *testing.T) int {
	t.Helper()
	ok := func(n int) bool {
		w := httptest.NewRecorder()
		a.handler.ServeHTTP(w, httptest.NewRequest("GET", "/set?n="+strconv.Itoa(n), nil))
		a.takeErrs()
		return w.Code == http.StatusOK
	}
	lo, hi := 0, 64<<10
	if !ok(lo) || ok(hi) {
		t.Fatalf("bad bounds")
	}
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// headerBlock returns the length of the app's own response header block
// (status line to blank line) for target with cookies, as nginx receives
// it.
func (a *nxApp) headerBlock(t *testing.T, target string, cookies []*http.Cookie) int {
	t.Helper()
	c, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ch []string
	for _, k := range cookies {
		ch = append(ch, k.Name+"="+k.Value)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", target)
	if len(ch) > 0 {
		fmt.Fprintf(c, "Cookie: %s\r\n", strings.Join(ch, "; "))
	}
	io.WriteString(c, "\r\n")
	br := bufio.NewReader(c)
	n := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		n += len(line)
		if line == "\r\n" {
			return n
		}
	}
}

// nxResp is one response through the proxy.
type nxResp struct {
	code    int
	err     error // a transport error (nginx refuses an HTTP/2 field with GOAWAY)
	proto   string
	body    string
	header  http.Header
	cookies []*http.Cookie // Set-Cookie lines
}

// nxGet sends GET target through the proxy with cookies (one Cookie
// header; Go's HTTP/2 client sends one field per cookie, as browsers do).
func nxGet(t *testing.T, c *http.Client, base, target string, cookies []*http.Cookie) nxResp {
	t.Helper()
	req, err := http.NewRequest("GET", base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cookies {
		req.AddCookie(k)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nxResp{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return nxResp{code: resp.StatusCode, proto: resp.Proto, body: string(body), header: resp.Header, cookies: resp.Cookies()}
}

// kept returns the cookies a browser keeps from r (those not expired).
func (r nxResp) kept() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range r.cookies {
		if c.MaxAge >= 0 {
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

func (r nxResp) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%s %d %q", r.proto, r.code, r.body)
}

// nxProxies starts nginx in front of upstream over HTTP/1.1 (plain) and
// HTTP/2 (TLS), with the http-block directives given.
func nxProxies(t *testing.T, upstream string, directives []string) []nxProxy {
	t.Helper()
	plain := nginxtest.Start(t, nginxtest.Config{Upstream: upstream, HTTP: directives})
	h2 := nginxtest.Start(t, nginxtest.Config{Upstream: upstream, HTTP: directives, TLS: true})
	return []nxProxy{
		{"HTTP/1.1", "HTTP/1.1", plain, plain.Client(false)},
		{"HTTP/2", "HTTP/2.0", h2, h2.Client(true)},
	}
}

type nxProxy struct {
	proto     string // the subtest's name
	wantProto string // http.Response.Proto
	s         *nginxtest.Server
	client    *http.Client
}

// The default options pass a default nginx both ways, over HTTP/1.1 and
// HTTP/2, with a realistic set of application headers: the largest
// session they allow is written and read back through the proxy; one byte
// more is refused by the manager (ErrorHandler, cookie.ErrTooLarge), not
// answered 502 by the proxy.
func TestNginxDefaultsLargestSession(t *testing.T) {
	a := newNxApp(t, middleware.Options{})
	n := a.largestSet(t)
	for _, p := range nxProxies(t, a.addr, nil) {
		t.Run(p.proto, func(t *testing.T) {
			r := nxGet(t, p.client, p.s.URL, "/set?n="+strconv.Itoa(n), nil)
			if r.code != http.StatusOK || r.proto != p.wantProto || len(r.kept()) != 1 {
				t.Fatalf("largest session (%d bytes of data): %v\n%s", n, r, p.s.ErrorLog())
			}
			sealed := r.kept()[0]
			block := a.headerBlock(t, "/set?n="+strconv.Itoa(n), nil)
			t.Logf("largest default session: %d bytes of data, a %d-byte cookie; the app's response header block is %d bytes (nginx's default buffer: 4096)", n, len(sealed.Value), block)
			if block > 4096 {
				t.Fatalf("header block %d > 4096 passed nginx?", block)
			}
			// Request direction: the cookie comes back through the proxy.
			if r := nxGet(t, p.client, p.s.URL, "/get", r.kept()); r.code != http.StatusOK || r.body != strconv.Itoa(n) {
				t.Fatalf("read back: %v\n%s", r, p.s.ErrorLog())
			}
			// One byte more: the manager refuses it before nginx sees it.
			a.takeErrs()
			r = nxGet(t, p.client, p.s.URL, "/set?n="+strconv.Itoa(n+1), nil)
			errs := a.takeErrs()
			if r.code != nxTooLarge || len(r.cookies) != 0 || len(errs) != 1 || !errors.Is(errs[0], cookie.ErrTooLarge) {
				t.Fatalf("one byte more: %v, cookies %d, ErrorHandler told %v\n%s", r, len(r.cookies), errs, p.s.ErrorLog())
			}
			if strings.Contains(p.s.ErrorLog(), "too big header") {
				t.Fatalf("nginx refused a header:\n%s", p.s.ErrorLog())
			}
		})
	}
}

// Without the budget (the old behaviour), the same application's largest
// session got 502 from a default nginx: the budget is what prevents it.
func TestNginxWithoutBudgetGets502(t *testing.T) {
	a := newNxApp(t, middleware.Options{MaxResponseCookieBytes: noBudget})
	n := a.largestSet(t)
	for _, p := range nxProxies(t, a.addr, nil)[:1] {
		r := nxGet(t, p.client, p.s.URL, "/set?n="+strconv.Itoa(n), nil)
		if r.code != http.StatusBadGateway || !strings.Contains(p.s.ErrorLog(), "upstream sent too big header") {
			t.Fatalf("%d bytes of data without a budget: %v\n%s", n, r, p.s.ErrorLog())
		}
	}
}

// nxRecipeOptions are docs/proxies-and-caches.md's options for chunked sessions behind
// nginxtest.Recipe: four chunks, and a Set-Cookie budget that leaves
// 4 KB of the 32 KB proxy buffer to the other headers.
var nxRecipeOptions = middleware.Options{MaxChunks: 4, MaxResponseCookieBytes: 28 << 10}

// The recipe carries a chunked session both ways over HTTP/1.1 and
// HTTP/2: the largest four-chunk session, written and read back. A
// default nginx refuses the same session: 502 for the write; and for the
// read over HTTP/1.1, 400 before the app sees the request (the lockout
// that TestNginxLockoutExit gets out of).
func TestNginxRecipeChunked(t *testing.T) {
	a := newNxApp(t, nxRecipeOptions)
	n := a.largestSet(t)
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, httptest.NewRequest("GET", "/set?n="+strconv.Itoa(n), nil))
	var chunks []*http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.MaxAge > 0 {
			chunks = append(chunks, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	if len(chunks) != 4 {
		t.Fatalf("largest recipe session: %d chunks", len(chunks))
	}
	block := a.headerBlock(t, "/set?n="+strconv.Itoa(n), nil)
	t.Logf("largest recipe session: %d bytes of data in %d chunks; response header block %d bytes", n, len(chunks), block)

	t.Run("recipe", func(t *testing.T) {
		for _, p := range nxProxies(t, a.addr, nginxtest.Recipe) {
			t.Run(p.proto, func(t *testing.T) {
				r := nxGet(t, p.client, p.s.URL, "/set?n="+strconv.Itoa(n), nil)
				if r.code != http.StatusOK || len(r.kept()) != 4 {
					t.Fatalf("write: %v, %d cookies kept\n%s", r, len(r.kept()), p.s.ErrorLog())
				}
				if r := nxGet(t, p.client, p.s.URL, "/get", r.kept()); r.code != http.StatusOK || r.body != strconv.Itoa(n) {
					t.Fatalf("read back: %v\n%s", r, p.s.ErrorLog())
				}
			})
		}
	})
	t.Run("default nginx", func(t *testing.T) {
		for _, p := range nxProxies(t, a.addr, nil) {
			t.Run(p.proto, func(t *testing.T) {
				if r := nxGet(t, p.client, p.s.URL, "/set?n="+strconv.Itoa(n), nil); r.code != http.StatusBadGateway {
					t.Fatalf("write: %v, want 502", r)
				}
				before := a.servedCount()
				r := nxGet(t, p.client, p.s.URL, "/get", chunks)
				switch p.proto {
				case "HTTP/1.1":
					if r.code != http.StatusBadRequest || a.servedCount() != before {
						t.Fatalf("read of 4 chunks: %v, want 400 before the app", r)
					}
				case "HTTP/2":
					// One header field per cookie: four chunks pass.
					if r.code != http.StatusOK || r.body != strconv.Itoa(n) {
						t.Fatalf("read of 4 chunks: %v\n%s", r, p.s.ErrorLog())
					}
				}
			})
		}
	})
}

// nxResetLocation is docs/proxies-and-caches.md's exit from the lockout for the cookie
// "session" with MaxChunks 4 and default attributes: nginx answers a
// request whose headers are too large (internally status 494) itself,
// expiring every cookie of the session, so the next request gets through
// with no session instead of 400 until the cookies expire.
var nxResetLocation = []string{
	"error_page 494 = @cookieseal_reset;",
	`location @cookieseal_reset {`,
	`  add_header Set-Cookie "session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax" always;`,
	`  add_header Set-Cookie "session.0=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax" always;`,
	`  add_header Set-Cookie "session.1=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax" always;`,
	`  add_header Set-Cookie "session.2=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax" always;`,
	`  add_header Set-Cookie "session.3=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax" always;`,
	`  add_header Cache-Control "no-store" always;`,
	`  return 400 "Your session was too large for this server and has been cleared. Please sign in again.\n";`,
	`}`,
}

// A browser that holds more chunks than a default nginx accepts over
// HTTP/1.1 gets 400 on every request, and the app never sees one to clear
// them. With nxResetLocation, the 400 itself expires the session's
// cookies, and the browser's next request reaches the app.
func TestNginxLockoutExit(t *testing.T) {
	a := newNxApp(t, nxRecipeOptions)
	n := a.largestSet(t)
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, httptest.NewRequest("GET", "/set?n="+strconv.Itoa(n), nil))
	browser := map[string]*http.Cookie{"other": {Name: "other", Value: "kept"}}
	for _, c := range w.Result().Cookies() {
		if c.MaxAge > 0 {
			browser[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	list := func() []*http.Cookie {
		var out []*http.Cookie
		for _, c := range browser {
			out = append(out, c)
		}
		slices.SortFunc(out, func(x, y *http.Cookie) int { return strings.Compare(x.Name, y.Name) })
		return out
	}
	tests := []struct {
		name   string
		server []string
		exit   bool
	}{
		{"default nginx: locked out", nil, false},
		{"with the reset location", nxResetLocation, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := nginxtest.Start(t, nginxtest.Config{Upstream: a.addr, Server: tt.server})
			c := s.Client(false)
			before := a.servedCount()
			r := nxGet(t, c, s.URL, "/page", list())
			if r.code != http.StatusBadRequest || a.servedCount() != before {
				t.Fatalf("first request: %v, want 400 before the app\n%s", r, s.ErrorLog())
			}
			cleared := map[string]bool{}
			for _, k := range r.cookies {
				if k.MaxAge < 0 {
					cleared[k.Name] = true
				}
			}
			if !tt.exit {
				if len(r.cookies) != 0 {
					t.Fatalf("default nginx set cookies: %v", r.cookies)
				}
				if r := nxGet(t, c, s.URL, "/page", list()); r.code != http.StatusBadRequest {
					t.Fatalf("second request: %v, want 400 again", r)
				}
				return
			}
			for _, name := range []string{"session", "session.0", "session.1", "session.2", "session.3"} {
				if !cleared[name] {
					t.Fatalf("%s not expired by the reset: %v", name, r.header.Values("Set-Cookie"))
				}
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("reset response cacheable: %v", r.header)
			}
			remaining := map[string]*http.Cookie{}
			for k, v := range browser {
				if !cleared[k] {
					remaining[k] = v
				}
			}
			var next []*http.Cookie
			for _, v := range remaining {
				next = append(next, v)
			}
			r = nxGet(t, c, s.URL, "/page", next)
			if r.code != http.StatusOK || r.body != "anonymous" || a.servedCount() != before+1 {
				t.Fatalf("after the reset: %v", r)
			}
			if _, ok := remaining["other"]; !ok {
				t.Fatal("the reset cleared another cookie")
			}
		})
	}
}
