package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// TestFormatSwitchInFleet is the rule "switching Format logs nobody out",
// in the fleet where it matters: an instance writing native and one
// writing JWE, on real https servers behind one "load balancer" (one
// cookie jar, which ignores the port), share every user's session while
// the user's requests alternate between them. It runs both directions
// (login on either instance), with the session in one cookie and chunked
// over two. Each instance re-seals a cookie of the other format in its
// own (EventResealed), nothing is ever rejected, and revocation, the last
// check of the one door, refuses copies of both formats on both
// instances.
func TestFormatSwitchInFleet(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		for _, first := range formats {
			t.Run(fmt.Sprintf("login on %v/chunked=%v", first, chunked), func(t *testing.T) {
				formatSwitchFleet(t, first, chunked)
			})
		}
	}
}

func formatSwitchFleet(t *testing.T, first cookie.Format, chunked bool) {
	const name = "__Host-session"
	clk := newClock()
	kr := testKeyring(t)
	store := newSwitchRevoker(clk.Now)
	type instance struct {
		format   cookie.Format
		url      string
		m        *middleware.Manager
		resealed atomic.Int64
		rejected atomic.Int64
		revoked  atomic.Int64
	}
	insts := make([]*instance, len(formats)) // insts[i] writes formats[i]
	var transport http.RoundTripper
	var err error
	for i, f := range formats {
		in := &instance{format: f}
		opts := middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now}, Revoker: store,
			Observer: middleware.ObserverFunc(func(e middleware.Event) {
				switch {
				case e.Kind == middleware.EventResealed:
					in.resealed.Add(1)
				case e.Kind == middleware.EventRejected && e.Reason == cookie.ReasonRevoked:
					in.revoked.Add(1)
				case e.Kind == middleware.EventRejected:
					in.rejected.Add(1)
					t.Errorf("%v instance rejected a cookie: %v", f, e.Err)
				}
			})}
		if chunked {
			opts.MaxChunks = 4
		}
		opts.InsecureNoHostPrefix = true
		if in.m, err = middleware.New(kr, name, opts); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewTLSServer(in.m.Handler(userApp(in.m)))
		t.Cleanup(srv.Close)
		in.url = srv.URL
		transport = srv.Client().Transport // every httptest TLS server has the same certificate
		insts[i] = in
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Second}
	bare := &http.Client{Transport: transport, Timeout: 10 * time.Second} // replays copies
	site := &url.URL{Scheme: "https", Host: "127.0.0.1", Path: "/"}
	get := func(c *http.Client, in *instance, path string, cookies ...*http.Cookie) (string, bool) {
		t.Helper()
		req, err := http.NewRequest("GET", in.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%v instance, %s: %d %q", in.format, path, resp.StatusCode, b)
		}
		return string(b), len(resp.Header["Set-Cookie"]) > 0
	}
	// held returns the session value the browser holds (its chunks
	// joined), the format its first bytes tell, and its chunk count.
	held := func() (string, cookie.Format, int) {
		t.Helper()
		var plain string
		var chunks []string
		for _, c := range jar.Cookies(site) {
			switch {
			case c.Name == name:
				plain = c.Value
			case strings.HasPrefix(c.Name, name+"."):
				i := 0
				fmt.Sscan(strings.TrimPrefix(c.Name, name+"."), &i)
				chunks = slices.Grow(chunks, i+1)[:max(len(chunks), i+1)]
				chunks[i] = c.Value
			}
		}
		v := plain
		if len(chunks) > 0 {
			if plain != "" {
				t.Fatalf("the browser holds a plain cookie and %d chunks", len(chunks))
			}
			v = strings.Join(chunks, "")
		}
		f := cookie.Native
		if strings.Count(v, ".") == 4 {
			f = cookie.JWE
		}
		return v, f, len(chunks)
	}

	start := slices.Index(formats, first)
	if body, _ := get(browser, insts[start], "/login?user=ada"); body != "ok" {
		t.Fatalf("login: %q", body)
	}
	if chunked {
		if body, _ := get(browser, insts[start], "/set?blob="+strings.Repeat("b", 5000)); body != "ok" {
			t.Fatalf("set: %q", body)
		}
	}
	copies := map[cookie.Format][]*http.Cookie{}
	for r := range 8 {
		v, f, n := held()
		if chunked != (n >= 2) {
			t.Fatalf("round %d: %d chunks, chunked %v", r, n, chunked)
		}
		copies[f] = jar.Cookies(site)
		in := insts[(start+1+r)%len(insts)] // the other instance first, then turns
		if f == in.format {
			t.Fatalf("round %d: the %v instance gets a cookie of its own format", r, in.format)
		}
		clk.Advance(time.Minute)
		path := "/whoami"
		if r%3 == 2 {
			path = fmt.Sprintf("/set?r=%d", r) // a write, on top of the re-seal
		}
		body, set := get(browser, in, path)
		if path == "/whoami" && body != "ada/ada" {
			t.Fatalf("round %d: the %v instance read the %v session as %q: logged out", r, in.format, f, body)
		}
		if !set {
			t.Fatalf("round %d: the %v instance did not re-seal a %v cookie", r, in.format, f)
		}
		if v2, f2, _ := held(); f2 != in.format || v2 == v {
			t.Fatalf("round %d: after the %v instance the browser holds a %v cookie", r, in.format, f2)
		}
	}
	for _, in := range insts {
		if in.resealed.Load() == 0 || in.rejected.Load() != 0 {
			t.Fatalf("%v instance: %d re-seals, %d rejections", in.format, in.resealed.Load(), in.rejected.Load())
		}
		if body, _ := get(browser, in, "/whoami"); body != "ada/ada" {
			t.Fatalf("%v instance: %q", in.format, body)
		}
	}

	// The one door: a revocation from either instance refuses copies of
	// both formats on both instances.
	clk.Advance(time.Second)
	if err := insts[1-start].m.RevokeSubject(context.Background(), "ada"); err != nil {
		t.Fatal(err)
	}
	for f, cs := range copies {
		for _, in := range insts {
			if body, _ := get(bare, in, "/whoami", cs...); body != "-" {
				t.Errorf("a revoked %v copy opens on the %v instance: %q", f, in.format, body)
			}
		}
	}
	for _, in := range insts {
		if in.revoked.Load() != int64(len(copies)) {
			t.Errorf("%v instance: %d revoked copies refused, want %d", in.format, in.revoked.Load(), len(copies))
		}
	}
}
