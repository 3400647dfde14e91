// Package flow is the test every deployment of package app runs:
// login → read → logout → read, through whatever carries requests in
// that runtime, with a cookie jar that applies Set-Cookie lines the way
// a browser does.
package flow

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/examples/edge/app"
)

// Response is what a deployment answered.
type Response struct {
	Status     int
	Body       string
	SetCookies []string // every Set-Cookie line, in order
}

// Do sends one request: method, path, a raw query ("" for none) and the
// cookies the client holds as "name=value" pairs.
type Do func(t testing.TB, method, path, query string, cookies []string) Response

// HTTP is a Do that sends each request with client to base (a URL with
// no path, such as "http://127.0.0.1:8080").
func HTTP(client *http.Client, base string) Do {
	return func(t testing.TB, method, path, query string, cookies []string) Response {
		target := base + path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(method, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(cookies) > 0 {
			req.Header.Set("Cookie", strings.Join(cookies, "; "))
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return Response{Status: resp.StatusCode, Body: string(body), SetCookies: resp.Header.Values("Set-Cookie")}
	}
}

// Run runs the flow through do.
func Run(t testing.TB, do Do) {
	t.Helper()
	jar := map[string]string{}
	send := func(method, path, query string) Response {
		t.Helper()
		var cs []string
		for n, v := range jar {
			cs = append(cs, n+"="+v)
		}
		slices.Sort(cs)
		r := do(t, method, path, query, cs)
		for _, c := range (&http.Response{Header: http.Header{"Set-Cookie": r.SetCookies}}).Cookies() {
			if c.MaxAge < 0 {
				delete(jar, c.Name)
			} else {
				jar[c.Name] = c.Value
			}
		}
		return r
	}

	if r := send("GET", "/me", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /me before login: %d %q", r.Status, r.Body)
	}
	r := send("POST", "/login", "user=ann")
	if r.Status != http.StatusOK || strings.TrimSpace(r.Body) != "welcome ann" {
		t.Fatalf("POST /login: %d %q", r.Status, r.Body)
	}
	if _, plain := jar["session"]; plain || jar["session.0"] == "" || jar["session.1"] == "" {
		t.Fatalf("login set %d cookies %q, want session.0 and session.1", len(r.SetCookies), names(jar))
	}
	for _, line := range r.SetCookies {
		if !strings.Contains(line, "HttpOnly") || !strings.Contains(line, "Secure") {
			t.Fatalf("Set-Cookie without HttpOnly; Secure: %.40q…", line)
		}
	}
	want := fmt.Sprintf("ann %d", app.ProfileSize)
	if r := send("GET", "/me", ""); r.Status != http.StatusOK || strings.TrimSpace(r.Body) != want {
		t.Fatalf("GET /me after login: %d %q, want %q", r.Status, r.Body, want)
	}
	kept := maps(jar)
	if r := send("POST", "/logout", ""); r.Status != http.StatusOK {
		t.Fatalf("POST /logout: %d %q", r.Status, r.Body)
	}
	if len(jar) != 0 {
		t.Fatalf("logout left cookies %q", names(jar))
	}
	if r := send("GET", "/me", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /me after logout: %d %q", r.Status, r.Body)
	}
	// The cookies from before the logout, replayed, are revoked when the
	// deployment has a Revoker.
	jar = kept
	if r := send("GET", "/me", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /me replaying the logged-out cookies: %d %q", r.Status, r.Body)
	}
}

func names(jar map[string]string) []string {
	var out []string
	for n := range jar {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func maps(jar map[string]string) map[string]string {
	out := make(map[string]string, len(jar))
	for k, v := range jar {
		out[k] = v
	}
	return out
}
