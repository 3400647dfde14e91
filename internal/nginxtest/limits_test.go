package nginxtest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// largest returns the largest n in [lo, hi] for which ok(n) holds,
// assuming ok holds at lo and is monotone; hi+1 stands for "no limit
// found up to hi".
func largest(t *testing.T, lo, hi int, ok func(n int) bool) int {
	t.Helper()
	if !ok(lo) {
		t.Fatalf("fails at the lower bound %d", lo)
	}
	if ok(hi) {
		return hi + 1
	}
	for lo+1 < hi { // ok(lo) && !ok(hi)
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// padUpstream answers every request with an X-Pad header of ?pad bytes
// and a 2-byte body, and echoes the Cookie header's length.
func padUpstream(t *testing.T) (addr string, blockLen func(pad int) int) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pad, _ := strconv.Atoi(r.URL.Query().Get("pad"))
		if pad > 0 {
			w.Header().Set("X-Pad", strings.Repeat("p", pad))
		}
		w.Header().Set("X-Cookie-Len", strconv.Itoa(len(r.Header.Get("Cookie"))))
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	addr = strings.TrimPrefix(up.URL, "http://")
	// blockLen reads the upstream's own header block (status line to the
	// blank line) for pad, as nginx receives it.
	blockLen = func(pad int) int {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /?pad=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", pad)
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
	return addr, blockLen
}

// get returns the status of a GET with the Cookie header, or the
// transport's error (nginx refuses an oversized HTTP/2 header field with
// GOAWAY, not a status).
func get(c *http.Client, url, cookie string) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// passes reports whether a GET got 200, and records how the first
// refusal looked.
func passes(c *http.Client, url, cookie string, refusal *string) bool {
	code, err := get(c, url, cookie)
	if code == 200 {
		return true
	}
	if *refusal == "" {
		if err != nil {
			*refusal = err.Error()
		} else {
			*refusal = strconv.Itoa(code)
		}
	}
	return false
}

// noise is random base64url text, like a sealed cookie value: over
// HTTP/2 nginx bounds the HPACK-encoded (Huffman) size of a field, so the
// alphabet matters.
var noise = func() string {
	b := make([]byte, 96<<10)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}()

// cookies returns n cookies session.0..session.(n-1) of value length each
// (random base64url), as one Cookie header value.
func cookies(n, each int) string {
	parts := make([]string, n)
	for i := range parts {
		off := (i * 7919) % (len(noise) - each + 1)
		parts[i] = fmt.Sprintf("session.%d=%s", i, noise[off:off+each])
	}
	return strings.Join(parts, "; ")
}

// TestMeasuredLimits measures what nginx lets through, both directions,
// over HTTP/1.1 and HTTP/2, with its defaults and with Recipe, and checks
// the figures docs/proxies-and-caches.md's table states. Run with -v to see them.
func TestMeasuredLimits(t *testing.T) {
	addr, blockLen := padUpstream(t)
	type want struct {
		block    int // largest upstream response header block, bytes
		cookieH1 int // largest Cookie header value over HTTP/1.1 (0: not checked)
		chunks   int // most 3800-byte cookies in one request (17: no limit up to 16)
	}
	tests := []struct {
		name   string
		http   []string
		h1, h2 want
	}{
		{"default", nil, want{4096, 8182, 2}, want{4096, 0, 8}},
		{"recipe", Recipe, want{32768, 32758, 8}, want{32768, 0, 17}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := Start(t, Config{Upstream: addr, HTTP: tt.http})
			tlsSrv := Start(t, Config{Upstream: addr, HTTP: tt.http, TLS: true})
			for _, v := range []struct {
				proto string
				s     *Server
				h2    bool
				want  want
			}{{"HTTP/1.1", plain, false, tt.h1}, {"HTTP/2", tlsSrv, true, tt.h2}} {
				c := v.s.Client(v.h2)
				// Response: the largest upstream header block nginx passes.
				var refusal string
				pad := largest(t, 0, 64<<10, func(n int) bool {
					return passes(c, v.s.URL+"/?pad="+strconv.Itoa(n), "", &refusal)
				})
				block := blockLen(pad)
				t.Logf("%s %s: upstream response header block <= %d bytes (status line to blank line); beyond: %s", tt.name, v.proto, block, refusal)
				if block != v.want.block || refusal != "502" {
					t.Errorf("%s %s: response block %d, beyond %s; want %d, 502", tt.name, v.proto, block, refusal, v.want.block)
				}
				// Request: the largest Cookie header of one cookie. Over
				// HTTP/2 the bound is on the HPACK-encoded field, so the
				// figure depends on the (random) value: logged only.
				refusal = ""
				one := largest(t, 1, 64<<10, func(n int) bool {
					return passes(c, v.s.URL+"/", cookies(1, n), &refusal)
				})
				n := len(cookies(1, one))
				t.Logf("%s %s: one cookie: Cookie header value <= %d bytes; beyond: %s", tt.name, v.proto, n, refusal)
				if v.want.cookieH1 != 0 && (n != v.want.cookieH1 || refusal != "400") {
					t.Errorf("%s %s: Cookie header %d, beyond %s; want %d, 400", tt.name, v.proto, n, refusal, v.want.cookieH1)
				}
				if v.h2 {
					// The same with a value of one repeated letter, whose
					// Huffman code is 7 bits: the bound is on the coded size.
					refusal = ""
					vs := largest(t, 1, 64<<10, func(n int) bool {
						return passes(c, v.s.URL+"/", "v="+strings.Repeat("v", n), &refusal)
					})
					t.Logf("%s %s: one cookie v=vvv…: value <= %d bytes", tt.name, v.proto, vs)
					if tt.name == "default" && vs != 9360 {
						t.Errorf("%s %s: a %d-byte v=vvv… passes; want 9360 (about 8192 bytes at 7 bits a letter)", tt.name, v.proto, vs)
					}
				}
				// Request: how many 3800-byte cookies (chunks) pass.
				refusal = ""
				chunks := largest(t, 1, 16, func(n int) bool {
					return passes(c, v.s.URL+"/", cookies(n, 3800), &refusal)
				})
				t.Logf("%s %s: %d cookies of 3800 bytes (Cookie header value %d bytes); beyond: %s", tt.name, v.proto, chunks, len(cookies(chunks, 3800)), refusal)
				if chunks != v.want.chunks {
					t.Errorf("%s %s: %d chunks pass, want %d", tt.name, v.proto, chunks, v.want.chunks)
				}
			}
		})
	}
}
