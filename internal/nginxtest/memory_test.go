package nginxtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvMemory turns on TestRecipeMemory, which holds hundreds of requests
// open in nginx to measure its memory; it is not part of the short run.
const EnvMemory = "COOKIESEAL_NGINX_MEMORY"

// rssKB reads a process's resident set size.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestRecipeMemory measures what Recipe costs: nginx's resident memory per
// request in flight (held open by the upstream), over HTTP/1.1, for a
// request carrying a Cookie header of two 3800-byte chunks (what a default
// nginx accepts) and, with the recipe, of four. Run with
// COOKIESEAL_NGINX_MEMORY=1 go test ./internal/nginxtest -run RecipeMemory -v.
func TestRecipeMemory(t *testing.T) {
	if os.Getenv(EnvMemory) != "1" {
		t.Skipf("set %s=1 to measure nginx's memory per request", EnvMemory)
	}
	const inFlight = 200
	release := make(chan struct{})
	var arrived sync.WaitGroup
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	addr := strings.TrimPrefix(up.URL, "http://")
	tests := []struct {
		name   string
		http   []string
		chunks int
	}{
		{"default, 2 chunks", nil, 2},
		{"recipe, 2 chunks", Recipe, 2},
		{"recipe, 4 chunks", Recipe, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Config{Upstream: addr, HTTP: append([]string{"proxy_read_timeout 120s;"}, tt.http...)})
			cookie := cookies(tt.chunks, 3800)
			idle := rssKB(t, s.Pid())
			release = make(chan struct{})
			var once sync.Once
			releaseAll := func() { once.Do(func() { close(release) }) }
			t.Cleanup(releaseAll) // a failure must not leave handlers blocked
			arrived.Add(inFlight)
			conns := make([]net.Conn, inFlight)
			for i := range conns {
				c, err := net.Dial("tcp", s.Addr)
				if err != nil {
					t.Fatal(err)
				}
				conns[i] = c
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n", cookie)
			}
			done := make(chan struct{})
			go func() { arrived.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("requests did not all reach the upstream\n%s", s.ErrorLog())
			}
			busy := rssKB(t, s.Pid())
			releaseAll()
			for _, c := range conns {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("%v %v", resp, err)
				}
				c.Close()
			}
			t.Logf("nginx %s: %d requests in flight: RSS %d kB → %d kB, %.1f kB per request",
				tt.name, inFlight, idle, busy, float64(busy-idle)/inFlight)
		})
	}
}
