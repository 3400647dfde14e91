package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cookieseal/cookieseal/keyring"
)

// The browser test drives the web app in a real headless Chromium over
// HTTPS, so the browser itself enforces what the other tests can only read
// off the Set-Cookie line: the __Host- prefix rules, Secure, HttpOnly,
// SameSite and Max-Age, and the Sec-Fetch-Site header that
// http.CrossOriginProtection relies on.
//
// It needs a Chromium (or Chrome) binary on PATH and skips without one,
// unless COOKIESEAL_REQUIRE_BROWSER=1, in which case it fails. On Debian:
// apt-get install chromium. If COOKIESEAL_BROWSER_ARTIFACTS names a
// directory, the dashboard screenshot is written there as well.

// browserPath returns the Chromium or Chrome binary to drive, or skips (or
// fails, when COOKIESEAL_REQUIRE_BROWSER=1) without one.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium, chromium-browser or google-chrome on PATH (Debian: apt-get install chromium)"
	if os.Getenv("COOKIESEAL_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + ", and COOKIESEAL_REQUIRE_BROWSER=1")
	}
	t.Skip(msg + "; set COOKIESEAL_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// startBrowser starts a headless Chromium (execPath, from browserPath)
// for one test with a profile of its own, and returns its context: it
// ends with ctx or at stop, which the test defers. stop logs the last
// 4 KB of the browser's output if the test failed. extra adds options
// (window size, host resolver rules).
func startBrowser(t *testing.T, ctx context.Context, execPath string, extra ...chromedp.ExecAllocatorOption) (bctx context.Context, stop func()) {
	t.Helper()
	out := new(syncBuffer)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.IgnoreCertErrors, // httptest's self-signed certificate
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.CombinedOutput(out),
	}, extra...)
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(allocCtx)
	return bctx, func() {
		bcancel()
		allocCancel()
		if t.Failed() {
			s := out.String()
			if len(s) > 4000 {
				s = "…" + s[len(s)-4000:]
			}
			t.Logf("browser output:\n%s", s)
		}
	}
}

func TestBrowserLoginFlow(t *testing.T) {
	execPath := browserPath(t)

	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newApp(appConfig{keys: kr, secure: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h) // listens on 127.0.0.1
	defer srv.Close()
	base := srv.URL

	// Another origin (same host, another port: same-site but cross-origin,
	// so SameSite=Lax does send the cookie along and only
	// CrossOriginProtection stands in the way) whose page posts a form to
	// the app's logout as soon as it has loaded.
	evil := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title>
<form method="post" action="%s/logout"><input type="hidden" name="x" value="1"></form>
<script>window.addEventListener("load", () => setTimeout(() => document.forms[0].submit(), 0));</script>
`, base)
	}))
	defer evil.Close()

	// Everything, the browser included, ends within a minute.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	bctx, stop := startBrowser(t, ctx, execPath, chromedp.WindowSize(1000, 700))
	defer stop()

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		must(what, chromedp.Do(bctx, steps...))
	}
	// at checks the page's address and that its text has every one of
	// want and none of unwanted.
	at := func(path string, want, unwanted []string) {
		t.Helper()
		loc, err := chromedp.Run(bctx, chromedp.Location())
		must("location", err)
		if loc != base+path {
			t.Fatalf("at %s, want %s", loc, base+path)
		}
		body, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
		must("page text", err)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Fatalf("%s lacks %q:\n%s", path, w, body)
			}
		}
		for _, u := range unwanted {
			if strings.Contains(body, u) {
				t.Fatalf("%s has %q:\n%s", path, u, body)
			}
		}
	}
	cookies := func() []*network.Cookie {
		t.Helper()
		res, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		must("Network.getCookies", err)
		return res.Cookies
	}
	session := func() *network.Cookie {
		t.Helper()
		cs := cookies()
		if len(cs) != 1 || cs[0].Name != "__Host-session" {
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = c.Name
			}
			t.Fatalf("cookies %q, want just __Host-session", names)
		}
		return cs[0]
	}

	// The dashboard needs a session: off to the login page, with a flash.
	do("open the dashboard", chromedp.Navigate(base+"/dashboard"))
	at("/login", []string{"Please log in first."}, []string{"Logged in as"})
	anonymous := session().Value

	// Log in like a person: type into the form and press the button.
	do("fill in the form",
		chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), demoPassword),
	)
	before := time.Now()
	resp, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button`)))
	must("log in", err)
	after := time.Now()
	if resp.Status != http.StatusOK {
		t.Fatalf("after login: %d %s", resp.Status, resp.URL)
	}
	at("/dashboard", []string{"Welcome, alice.", "Logged in as alice", "1 time(s)"}, nil)

	// The session cookie is out of JavaScript's reach...
	jsCookies, err := chromedp.Run(bctx, chromedp.Evaluate[string]("document.cookie"))
	must("document.cookie", err)
	if strings.Contains(jsCookies, "session") {
		t.Fatalf("document.cookie = %q: the session cookie is visible to scripts", jsCookies)
	}
	// ...and the browser stored it with every attribute the app asked for.
	c := session()
	if c.Value == anonymous {
		t.Fatal("login kept the pre-login cookie value (no Renew)")
	}
	switch {
	case !c.Secure:
		t.Error("cookie not Secure")
	case !c.HTTPOnly:
		t.Error("cookie not HttpOnly")
	case c.SameSite != network.CookieSameSiteLax:
		t.Errorf("cookie SameSite %q, want Lax", c.SameSite)
	case c.Path != "/":
		t.Errorf("cookie Path %q, want /", c.Path)
	case c.Domain != "127.0.0.1":
		// Host-only: the browser reports the host it came from, with no
		// leading dot; a Domain attribute would have been refused for a
		// __Host- name anyway.
		t.Errorf("cookie Domain %q, want host-only 127.0.0.1", c.Domain)
	case c.Session:
		t.Error("a session cookie (no Max-Age); want a persistent one")
	}
	// Max-Age is the idle timeout, 30 minutes, counted from the response.
	lo, hi := before.Add(30*time.Minute).Add(-2*time.Second), after.Add(30*time.Minute).Add(2*time.Second)
	if exp := time.Unix(0, int64(c.Expires*float64(time.Second))); math.IsNaN(c.Expires) || exp.Before(lo) || exp.After(hi) {
		t.Errorf("cookie expires %v, want within [%v, %v]", exp, lo, hi)
	}
	loggedIn := c.Value

	// A screenshot of the dashboard, to show the page renders.
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	must("screenshot", err)
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	must("write screenshot", os.WriteFile(shot, png, 0o644))
	if dir := os.Getenv("COOKIESEAL_BROWSER_ARTIFACTS"); dir != "" {
		shot = filepath.Join(dir, "dashboard.png")
		must("write screenshot", os.WriteFile(shot, png, 0o644))
	}
	t.Logf("dashboard screenshot: %s (%d bytes)", shot, len(png))

	// A reload keeps the session; the welcome flash is gone.
	do("reload", chromedp.Reload())
	at("/dashboard", []string{"Logged in as alice", "2 time(s)"}, []string{"Welcome"})

	// A page of another origin posts a form to /logout: the browser says
	// where it came from (Sec-Fetch-Site) and CrossOriginProtection refuses
	// it before the session is touched.
	// The first page the app answers (a redirect is not a response here:
	// without the protection it would be /login after a 303).
	wctx, wcancel := context.WithTimeout(bctx, 15*time.Second)
	ev, err := chromedp.Run(wctx, chromedp.WaitEvent(network.ResponseReceived,
		func(e network.EventResponseReceived) bool {
			return e.Type == network.ResourceTypeDocument && strings.HasPrefix(e.Response.URL, base+"/")
		},
		chromedp.Navigate(evil.URL)))
	wcancel()
	must("cross-origin post", err)
	if ev.Response.Status != http.StatusForbidden || ev.Response.URL != base+"/logout" {
		t.Fatalf("cross-origin logout: %d at %s, want 403 at /logout", ev.Response.Status, ev.Response.URL)
	}
	do("wait for the refusal", chromedp.WaitVisible(chromedp.CSS("pre")))
	refusal, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("pre")))
	must("refusal text", err)
	if !strings.Contains(refusal, "cross-origin") {
		t.Fatalf("cross-origin logout answered %q", refusal)
	}
	do("back to the dashboard", chromedp.Navigate(base+"/dashboard"))
	at("/dashboard", []string{"Logged in as alice", "3 time(s)"}, nil)
	if got := session().Value; got == "" {
		t.Fatal("no session cookie after the cross-origin post")
	}

	// Log out with the page's button.
	resp, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	must("log out", err)
	if resp.Status != http.StatusOK {
		t.Fatalf("after logout: %d %s", resp.Status, resp.URL)
	}
	at("/login", []string{"You are logged out."}, []string{"Logged in as"})
	if session().Value == loggedIn {
		t.Fatal("logout left the logged-in cookie in place")
	}

	// Someone kept a copy of the logged-in cookie and puts it back: the
	// session was revoked at logout, so it opens nothing.
	yes := true
	_, err = chromedp.Call(bctx, network.SetCookie, network.SetCookieParams{
		Name:     "__Host-session",
		Value:    loggedIn,
		URL:      base + "/",
		Path:     "/",
		Secure:   &yes,
		HTTPOnly: &yes,
		SameSite: network.CookieSameSiteLax,
	})
	must("Network.setCookie", err)
	if session().Value != loggedIn {
		t.Fatal("the replayed cookie did not take")
	}
	do("replay the old cookie", chromedp.Navigate(base+"/dashboard"))
	at("/login", []string{"Please log in first."}, []string{"Logged in as"})
}

// TestBrowserDevelopmentMode: the app over plain HTTP on 127.0.0.1 (go run
// ./examples/webapp) logs a real Chromium in with the same Secure
// "__Host-session" cookie as over HTTPS: Chromium treats http://127.0.0.1
// as a secure context, stores the cookie and sends it back.
func TestBrowserDevelopmentMode(t *testing.T) {
	execPath := browserPath(t)
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newApp(appConfig{keys: kr, secure: false})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // http://127.0.0.1:port
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	bctx, stop := startBrowser(t, ctx, execPath)
	defer stop()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("open the login form", chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "dev"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), demoPassword)))
	_, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button`)))
	must("log in", err)
	res, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/"}})
	must("Network.getCookies", err)
	if len(res.Cookies) != 1 || res.Cookies[0].Name != "__Host-session" || !res.Cookies[0].Secure {
		t.Fatalf("cookies %+v, want one Secure __Host-session", res.Cookies)
	}
	// A new navigation: the browser sends the Secure cookie over http://127.0.0.1.
	must("reload the dashboard", chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/dashboard")))
	// The login's own redirect to /dashboard may still be replacing the
	// document when the text is read ("No node with given id"): read
	// again until the page holds still, for up to five seconds.
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; {
		body, err = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
		if err == nil && strings.Contains(body, "Logged in as dev") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	must("page text", err)
	if !strings.Contains(body, "Logged in as dev") {
		t.Fatalf("the dashboard over plain HTTP is not logged in:\n%s", body)
	}
}
