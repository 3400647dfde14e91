package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// client is a browser stand-in: a cookie jar, no automatic redirects.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{
		Transport:     srv.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &client{t: t, base: srv.URL, hc: hc}
}

// do sends a request as a same-origin browser form would and returns the
// status, the Location, the body and the response's Set-Cookie lines.
func (c *client) do(method, path string, form url.Values, site string) (int, string, string, []string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", site)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b), resp.Header.Values("Set-Cookie")
}

func (c *client) get(path string) (int, string, string, []string) {
	return c.do("GET", path, nil, "same-origin")
}

func (c *client) post(path string, form url.Values) (int, string, string, []string) {
	if form == nil {
		form = url.Values{}
	}
	return c.do("POST", path, form, "same-origin")
}

func TestLoginFlow(t *testing.T) {
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newApp(appConfig{keys: kr, secure: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newClient(t, srv)

	// The dashboard needs a session.
	if code, loc, _, _ := c.get("/dashboard"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("dashboard without session: %d → %q", code, loc)
	}
	code, _, body, _ := c.get("/login")
	if code != 200 || !strings.Contains(body, "Please log in first.") || !strings.Contains(body, demoPassword) {
		t.Fatalf("login page: %d %q", code, body)
	}
	// The flash was popped: a reload does not show it again.
	if _, _, body, _ := c.get("/login"); strings.Contains(body, "Please log in first.") {
		t.Fatal("flash shown twice")
	}
	// A wrong password.
	c.post("/login", url.Values{"user": {"alice"}, "password": {"nope"}})
	if _, _, body, _ := c.get("/login"); !strings.Contains(body, "Wrong user name or password.") {
		t.Fatalf("no error flash: %q", body)
	}
	if code, loc, _, _ := c.get("/dashboard"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatal("a wrong password logged in")
	}
	anonymous := c.cookieValue(srv)

	// Log in: a Secure, HttpOnly, SameSite=Lax __Host- cookie and a new
	// session id.
	code, loc, _, setCookie := c.post("/login", url.Values{"user": {"alice"}, "password": {demoPassword}})
	if code != http.StatusSeeOther || loc != "/dashboard" || len(setCookie) != 1 {
		t.Fatalf("login: %d → %q, %q", code, loc, setCookie)
	}
	for _, attr := range []string{"__Host-session=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=1800"} {
		if !strings.Contains(setCookie[0], attr) {
			t.Fatalf("Set-Cookie %q lacks %s", setCookie[0], attr)
		}
	}
	code, _, body, _ = c.get("/dashboard")
	if code != 200 || !strings.Contains(body, "Welcome, alice.") || !strings.Contains(body, "<strong>alice</strong>") || !strings.Contains(body, "1 time(s)") {
		t.Fatalf("dashboard: %d %q", code, body)
	}
	if _, _, body, _ = c.get("/dashboard"); strings.Contains(body, "Welcome") || !strings.Contains(body, "2 time(s)") {
		t.Fatalf("second dashboard: %q", body)
	}
	// The pre-login cookie was revoked by Renew: replaying it gets nothing.
	replay := newClient(t, srv)
	replay.setCookie(srv, anonymous)
	if code, _, _, _ := replay.get("/dashboard"); code != http.StatusSeeOther {
		t.Fatal("pre-login cookie still works")
	}
	loggedIn := c.cookieValue(srv)

	// A cross-origin form post is refused before the session is touched.
	if code, _, _, _ := c.do("POST", "/logout", url.Values{}, "cross-site"); code != http.StatusForbidden {
		t.Fatalf("cross-site logout: %d", code)
	}
	if code, _, _, _ := c.get("/dashboard"); code != 200 {
		t.Fatal("cross-site post logged us out")
	}

	// Log out: the cookie is replaced by the flash-only session, and the
	// old cookie is dead even if someone kept a copy.
	code, loc, _, _ = c.post("/logout", nil)
	if code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("logout: %d → %q", code, loc)
	}
	if _, _, body, _ := c.get("/login"); !strings.Contains(body, "You are logged out.") {
		t.Fatalf("no logout flash: %q", body)
	}
	if code, _, _, _ := c.get("/dashboard"); code != http.StatusSeeOther {
		t.Fatal("still logged in after logout")
	}
	replay = newClient(t, srv)
	replay.setCookie(srv, loggedIn)
	if code, _, _, _ := replay.get("/dashboard"); code != http.StatusSeeOther {
		t.Fatal("a copy of the logged-out cookie still works")
	}

	// A visitor who was never logged in (a session without a subject:
	// Destroy revokes nothing and says so) is told just that, not that
	// the logout failed.
	if code, loc, _, _ := c.post("/logout", nil); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("anonymous logout: %d → %q", code, loc)
	}
	if _, _, body, _ := c.get("/login"); !strings.Contains(body, "You were not logged in.") {
		t.Fatalf("anonymous logout flash: %q", body)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	kr, _ := keyring.Generate()
	clk := &clock{t: time.Now()}
	h, err := newApp(appConfig{keys: kr, secure: true, now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	laptop, phone := newClient(t, srv), newClient(t, srv)
	for _, c := range []*client{laptop, phone} {
		c.post("/login", url.Values{"user": {"bob"}, "password": {demoPassword}})
		if code, _, _, _ := c.get("/dashboard"); code != 200 {
			t.Fatal("login failed")
		}
	}
	clk.Advance(time.Second)
	laptop.post("/logout-everywhere", nil)
	if code, _, _, _ := phone.get("/dashboard"); code != http.StatusSeeOther {
		t.Fatal("the phone is still logged in")
	}
	laptop.post("/login", url.Values{"user": {"bob"}, "password": {demoPassword}})
	if code, _, _, _ := laptop.get("/dashboard"); code != 200 {
		t.Fatal("a new login after logging out everywhere failed")
	}
}

// "Log out other devices" keeps this browser logged in and logs out every
// other one; a visitor who is not logged in is sent to the login form.
func TestLogoutOthers(t *testing.T) {
	kr, _ := keyring.Generate()
	clk := &clock{t: time.Now()}
	h, err := newApp(appConfig{keys: kr, secure: true, now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	laptop, phone, stranger := newClient(t, srv), newClient(t, srv), newClient(t, srv)
	for _, c := range []*client{laptop, phone} {
		c.post("/login", url.Values{"user": {"bob"}, "password": {demoPassword}})
		if code, _, _, _ := c.get("/dashboard"); code != 200 {
			t.Fatal("login failed")
		}
	}
	clk.Advance(time.Second)
	if code, loc, body, _ := laptop.post("/logout-others", nil); code != http.StatusSeeOther || loc != "/dashboard" {
		t.Fatalf("logout-others: %d → %q %q", code, loc, body)
	}
	if code, _, body, _ := laptop.get("/dashboard"); code != 200 || !strings.Contains(body, "Logged in as <strong>bob</strong>") || !strings.Contains(body, "logged out on every other device") {
		t.Fatalf("this browser after logging out the others: %d %q", code, body)
	}
	if code, loc, _, _ := phone.get("/dashboard"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("the other device: %d → %q, want the login form", code, loc)
	}
	if code, loc, _, _ := stranger.post("/logout-others", nil); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("not logged in: %d → %q, want the login form", code, loc)
	}
}

// Development mode: plain HTTP on loopback, the same Secure __Host-
// cookie (a browser sends it back there: TestBrowserDevelopmentMode; Go's
// cookie jar does not, so this client sends it by hand).
func TestDevelopmentMode(t *testing.T) {
	kr, _ := keyring.Generate()
	h, err := newApp(appConfig{keys: kr, secure: false})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv)
	_, _, _, setCookie := c.post("/login", url.Values{"user": {"dev"}, "password": {demoPassword}})
	if len(setCookie) != 1 || !strings.HasPrefix(setCookie[0], "__Host-session=") || !strings.Contains(setCookie[0], "; Secure") {
		t.Fatalf("Set-Cookie %q", setCookie)
	}
	sent, err := http.ParseSetCookie(setCookie[0])
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: sent.Name, Value: sent.Value})
	resp, err := (&http.Client{Transport: srv.Client().Transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "dev") {
		t.Fatalf("dashboard over HTTP: %d", resp.StatusCode)
	}
}

func TestRunRefusesUnsafeSetups(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"plain HTTP off loopback", []string{"-addr", "0.0.0.0:0"}, "", "refusing"},
		{"cert without key", []string{"-cert", "c.pem"}, "", "go together"},
		{"bad keys", []string{"-addr", "127.0.0.1:0"}, "nonsense", "COOKIESEAL_KEYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, tt.env, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRunSaysSoLoudly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, "", &stderr) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "listening on") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := stderr.String()
	for _, want := range []string{"GENERATED DEVELOPMENT KEY", "DEVELOPMENT MODE", "__Host-session", "listening on http://127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}

	// With keys from the environment there is no key warning.
	kr, _ := keyring.Generate()
	env, err := kr.Set().MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	var quiet bytes.Buffer
	if _, err := loadKeys(env, &quiet); err != nil || quiet.Len() != 0 {
		t.Fatalf("loadKeys from env: %v, %q", err, quiet.String())
	}
}
