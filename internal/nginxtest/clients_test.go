package nginxtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What real clients send and keep, alone and through nginx: headless
// Chromium (Debian's chromium) and curl. Run with -v to see the figures
// docs/proxies-and-caches.md's table states; the tests check them.

// chromiumPath returns Chromium's path, or skips (fails with
// COOKIESEAL_REQUIRE_BROWSER=1, as examples/webapp's browser test).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium on PATH (Debian: apt-get install chromium)"
	if os.Getenv("COOKIESEAL_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + ", and COOKIESEAL_REQUIRE_BROWSER=1")
	}
	t.Skip(msg + "; set COOKIESEAL_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// probePage is served at / by clientUpstream. In the browser it:
//  1. sets n random 3800-byte base64url cookies session.0 … session.(n-1)
//     (document.cookie) for n = 1, 2, … and fetches /echo with them, until a
//     request fails (an HTTP error, or a network error such as HTTP/2
//     GOAWAY), then expires them;
//  2. with ?setcookie=1, finds the longest value of a cookie "big" that
//     the browser keeps from a Set-Cookie (binary search over /setbig);
//
// and writes "RESULT chunks=<n> refusal=<how> setcookie=<len>" in the body.
const probePage = `<!doctype html><title>probe</title><body>running<script>
function rnd(n) {
  const b = new Uint8Array(n); crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "").slice(0, n);
}
async function get(url) {
  try { const r = await fetch(url, {cache: "no-store"}); return [r.status, await r.text()]; }
  catch (e) { return [0, "network error"]; }
}
async function run() {
  let chunks = 0, refusal = "none";
  for (let n = 1; n <= 12; n++) {
    document.cookie = "session." + (n-1) + "=" + rnd(3800) + "; path=/";
    const [status, text] = await get("/echo");
    if (status !== 200 || text !== String(n)) { refusal = status === 0 ? "network-error" : String(status); break; }
    chunks = n;
  }
  for (let i = 0; i < 12; i++) document.cookie = "session." + i + "=; path=/; max-age=0";
  let kept = -1;
  if (location.search.includes("setcookie=1")) {
    let lo = 0, hi = 16384;
    while (lo + 1 < hi) {
      const mid = (lo + hi) >> 1;
      await get("/setbig?len=" + mid);
      const [, text] = await get("/echo?name=big");
      if (text === String(mid)) lo = mid; else hi = mid;
      document.cookie = "big=; path=/; max-age=0";
    }
    kept = lo;
  }
  document.body.textContent = "RESULT chunks=" + chunks + " refusal=" + refusal + " setcookie=" + kept;
}
run();
</script>`

// clientUpstream serves probePage at /, /echo (the number of session.N
// cookies received, or with ?name= the length of that cookie's value)
// and /setbig?len= (Set-Cookie big=<len bytes>).
func clientUpstream(t *testing.T) string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, probePage)
		case "/echo":
			if name := r.URL.Query().Get("name"); name != "" {
				c, err := r.Cookie(name)
				if err != nil {
					io.WriteString(w, "0")
					return
				}
				io.WriteString(w, strconv.Itoa(len(c.Value)))
				return
			}
			n := 0
			for _, c := range r.Cookies() {
				if strings.HasPrefix(c.Name, "session.") {
					n++
				}
			}
			io.WriteString(w, strconv.Itoa(n))
		case "/setbig":
			n, _ := strconv.Atoi(r.URL.Query().Get("len"))
			w.Header().Add("Set-Cookie", "big="+strings.Repeat("b", n)+"; Path=/")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(up.Close)
	return strings.TrimPrefix(up.URL, "http://")
}

var resultRE = regexp.MustCompile(`RESULT chunks=(\d+) refusal=(\S+) setcookie=(-?\d+)`)

// runChromium loads url in headless Chromium and returns the probe's
// figures.
func runChromium(t *testing.T, bin, url string) (chunks int, refusal string, setcookie int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-quic", "--no-first-run", "--disable-extensions", "--disable-background-networking",
		"--ignore-certificate-errors", // the test certificate
		"--user-data-dir="+filepath.Join(t.TempDir(), "profile"),
		"--virtual-time-budget=30000", "--dump-dom", url)
	out, err := cmd.Output()
	m := resultRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("chromium %s: %v; no RESULT in:\n%s", url, err, out)
	}
	chunks, _ = strconv.Atoi(string(m[1]))
	setcookie, _ = strconv.Atoi(string(m[3]))
	return chunks, string(m[2]), setcookie
}

// Chromium through nginx: how many 3800-byte cookies it can send, and
// the longest Set-Cookie value it keeps.
func TestChromiumThroughNginx(t *testing.T) {
	bin := chromiumPath(t)
	up := clientUpstream(t)
	tests := []struct {
		name       string
		http       []string
		tls        bool
		wantChunks int
		wantRefuse string // how the request after the last that passed fails
	}{
		{"default HTTP/1.1", nil, false, 2, "400"},
		{"default HTTP/2", nil, true, 8, "network-error"},
		{"recipe HTTP/1.1", Recipe, false, 8, "400"},
		{"recipe HTTP/2", Recipe, true, 12, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Config{Upstream: up, HTTP: tt.http, TLS: tt.tls})
			url := s.URL + "/"
			if tt.name == "recipe HTTP/2" {
				url += "?setcookie=1" // the proxy passes any Set-Cookie a browser keeps
			}
			chunks, refusal, setcookie := runChromium(t, bin, url)
			t.Logf("Chromium via nginx %s: %d cookies of 3800 bytes pass; the next: %s", tt.name, chunks, refusal)
			if chunks != tt.wantChunks || !strings.HasPrefix(refusal, tt.wantRefuse) {
				t.Errorf("%d chunks, refusal %s; want %d, %s\n%s", chunks, refusal, tt.wantChunks, tt.wantRefuse, s.ErrorLog())
			}
			if setcookie >= 0 {
				// RFC 6265bis: name and value together at most 4096 bytes.
				t.Logf("Chromium keeps a Set-Cookie value of at most %d bytes (name %q)", setcookie, "big")
				if setcookie != 4096-len("big") {
					t.Errorf("Chromium kept a %d-byte value", setcookie)
				}
			}
		})
	}
}

// curlPath returns curl's path, or skips (fails with
// COOKIESEAL_REQUIRE_CURL=1).
func curlPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("curl"); err == nil {
		return p
	}
	const msg = "no curl on PATH (Debian: apt-get install curl)"
	if os.Getenv("COOKIESEAL_REQUIRE_CURL") == "1" {
		t.Fatal(msg + ", and COOKIESEAL_REQUIRE_CURL=1")
	}
	t.Skip(msg + "; set COOKIESEAL_REQUIRE_CURL=1 to make this a failure")
	return ""
}

// curl's cookie engine (-b/-c with a cookie jar), straight to the app: how
// many 3800-byte cookies it sends back, and the longest Set-Cookie value
// it keeps.
func TestCurlCookieEngine(t *testing.T) {
	bin := curlPath(t)
	up := clientUpstream(t)
	version, _ := exec.Command(bin, "--version").Output()
	t.Logf("%s", strings.SplitN(string(version), "\n", 2)[0])
	curl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"-sS", "--max-time", "20"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return string(out)
	}
	dir := t.TempDir()
	// A Netscape cookie jar with n cookies of 3800 bytes for 127.0.0.1.
	sent := func(n int) int {
		jar := filepath.Join(dir, "jar-"+strconv.Itoa(n))
		var b strings.Builder
		b.WriteString("# Netscape HTTP Cookie File\n")
		for i := range n {
			fmt.Fprintf(&b, "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession.%d\t%s\n", i, strings.Repeat("v", 3800))
		}
		if err := os.WriteFile(jar, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		got, _ := strconv.Atoi(curl("-b", jar, "http://"+up+"/echo"))
		return got
	}
	maxSent := 0
	for n := 1; n <= 6; n++ {
		got := sent(n)
		t.Logf("curl holding %d cookies of 3800 bytes sends %d", n, got)
		if got == n {
			maxSent = n
		}
	}
	if maxSent != 2 || sent(6) != 2 {
		t.Errorf("curl sent at most %d of its 3800-byte cookies, %d of 6; docs/proxies-and-caches.md says 2 (silently dropping the rest)", maxSent, sent(6))
	}
	// The longest Set-Cookie value curl keeps in its jar.
	kept := func(n int) bool {
		jar := filepath.Join(dir, "set-"+strconv.Itoa(n))
		curl("-c", jar, "-o", os.DevNull, "http://"+up+"/setbig?len="+strconv.Itoa(n))
		b, _ := os.ReadFile(jar)
		return strings.Contains(string(b), "\tbig\t"+strings.Repeat("b", n)+"\n")
	}
	lo, hi := 1, 16384
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if kept(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	t.Logf("curl keeps a Set-Cookie value of at most %d bytes (name %q)", lo, "big")
	if lo != 4096-len("big") {
		t.Errorf("curl kept a %d-byte value", lo)
	}
}
