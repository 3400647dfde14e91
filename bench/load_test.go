package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gomodule/redigo/redis"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/chunk"
)

// Whole-server throughput with wrk: one server process pinned to one
// core (taskset -c 0, GOMAXPROCS=1) serves every library, wrk pinned to
// the other core (taskset -c 1) loads one endpoint at a time over
// loopback, and the rounds go through the libraries in turn, so that a
// slow moment of the shared machine falls on all of them. Every request
// of a size carries the same Cookie header, holding every library's
// session cookie (cookieseal's, scs's with its memory store, scs's with
// its Redis store, gorilla/sessions'), so each server parses the same
// bytes; bare is a handler with no session library, and floor (reads
// only) does what no correct read of cookieseal's format avoids: it opens
// the session's value as it was set at login (no cookie parsing, no
// middleware) and sends Cache-Control: private and Vary: Cookie; no read
// of the format serves more requests per second.
//
//	COOKIESEAL_WRK=1 go test ./bench -run '^TestLoad$' -v -timeout 30m
//
// Environment variables:
const (
	// envWRK turns TestLoad on. Unset: it skips (CI's default run).
	envWRK = "COOKIESEAL_WRK"
	// envWRKRounds is how many rounds go through every endpoint (default 5).
	envWRKRounds = "COOKIESEAL_WRK_ROUNDS"
	// envWRKDuration is how long wrk loads one endpoint per round
	// (default 3s).
	envWRKDuration = "COOKIESEAL_WRK_DURATION"
	// envWRKOut names a file that receives the results as JSON (for
	// bench/report).
	envWRKOut = "COOKIESEAL_WRK_OUT"
	// envRequireWRK makes TestLoad fail, not skip, without wrk or taskset.
	envRequireWRK = "COOKIESEAL_REQUIRE_WRK"
	// envLoadServe makes TestLoadServer the server process (set by
	// TestLoad for its child); envLoadRedis is the Redis address it uses.
	envLoadServe = "COOKIESEAL_LOAD_SERVE"
	envLoadRedis = "COOKIESEAL_LOAD_REDIS"
)

// loadSizes are the session sizes of the load test (see sessionSizes).
var loadSizes = []sessionSize{{"small", 0}, {"10KB", 10240}}

// loadImpls are the servers, in the order of the first round.
var loadImpls = []string{"bare", "floor", "cookieseal", "scs", "scs-redis", "gorilla-sessions"}

// loadHello is what the server process prints on its first line.
type loadHello struct {
	Addr    string            `json:"addr"`
	Cookies map[string]string `json:"cookies"` // size → Cookie header
	Paths   []string          `json:"paths"`   // size/op/impl served
}

// LoadResult is one endpoint's medians over the rounds.
type LoadResult struct {
	Size      string    `json:"size"`
	Op        string    `json:"op"`
	Impl      string    `json:"impl"`
	ReqPerSec float64   `json:"req_per_sec"`
	P50Ms     float64   `json:"p50_ms"`
	P99Ms     float64   `json:"p99_ms"`
	Rounds    []float64 `json:"rounds_req_per_sec"`
}

// TestLoadServer is the server process of TestLoad; it skips unless
// TestLoad started it.
func TestLoadServer(t *testing.T) {
	if os.Getenv(envLoadServe) != "1" {
		t.Skip("the server process of TestLoad")
	}
	mux := http.NewServeMux()
	hello := loadHello{Cookies: map[string]string{}}
	var pool *redis.Pool
	if addr := os.Getenv(envLoadRedis); addr != "" {
		pool = &redis.Pool{MaxIdle: 64, Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
		defer pool.Close()
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeUID(w, 123456) })
	for _, size := range loadSizes {
		var cookies []string
		add := func(op, impl string, h http.Handler) {
			p := size.name + "/" + op + "/" + impl
			mux.Handle("/"+p, h)
			hello.Paths = append(hello.Paths, p)
		}
		addCookies := func(r *http.Request) {
			for _, c := range r.Cookies() {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
		}
		m, kr := cookiesealManagerKeys(t, sizedOptions)
		vals := sizedValues(blobFor(t, m, size.target))
		csReq := login(t, cookiesealLogin(t, m, vals))
		addCookies(csReq)
		add("read", "bare", bare)
		add("write", "bare", bare)
		// floor: what no correct read of this format avoids, in a whole
		// server: open the session's value (cookie.Codec.AppendOpen:
		// base64url decode and XChaCha20-Poly1305 open), taken as it was
		// set at login (no cookie parsing, no middleware), and mark the
		// response as depending on the cookie, as every response that
		// reads a session must: Cache-Control: private (RFC 9111
		// §5.2.2.7) and Vary: Cookie (RFC 9110 §12.5.5).
		maxLen := sizedOptions.MaxChunks * cookie.DefaultMaxValueSize
		codec, err := cookie.New(kr, "session", cookie.Options{MaxValueSize: maxLen})
		if err != nil {
			t.Fatal(err)
		}
		value := ""
		if c, err := csReq.Cookie("session"); err == nil {
			value = c.Value
		} else if value, _, err = chunk.Join(csReq.Cookies(), "session", sizedOptions.MaxChunks, maxLen); err != nil {
			t.Fatal(err)
		}
		bufs := sync.Pool{New: func() any { b := make([]byte, 0, len(value)+256); return &b }}
		add("read", "floor", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bp := bufs.Get().(*[]byte)
			defer bufs.Put(bp)
			if _, _, err := codec.AppendOpen((*bp)[:0], value); err != nil {
				http.Error(w, "no session", 500)
				return
			}
			w.Header()["Cache-Control"] = []string{"private"}
			w.Header()["Vary"] = []string{"Cookie"}
			writeUID(w, 123456)
		}))
		csRead, csWrite := cookiesealHandlers(m)
		add("read", "cookieseal", csRead)
		add("write", "cookieseal", csWrite)
		scsImpl := func(impl, cookieName string, store scs.Store) {
			sm := scs.New()
			sm.Store = store
			sm.Cookie.Name = cookieName
			addCookies(login(t, sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range vals {
					sm.Put(r.Context(), k, v)
				}
			}))))
			read, write := scsHandlers(sm)
			add("read", impl, read)
			add("write", impl, write)
		}
		scsImpl("scs", "scs", memstore.NewWithCleanupInterval(0))
		if pool != nil {
			scsImpl("scs-redis", "scsr", redisstore.New(pool))
		}
		if store, gLogin, fits := gorillaStore("gorilla", vals); fits {
			addCookies(login(t, gLogin))
			read, write := gorillaHandlers(store, "gorilla")
			add("read", "gorilla-sessions", read)
			add("write", "gorilla-sessions", write)
		}
		hello.Cookies[size.name] = strings.Join(cookies, "; ")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hello.Addr = ln.Addr().String()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	if err := json.NewEncoder(os.Stdout).Encode(hello); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, os.Stdin) // serve until the parent closes stdin
	srv.Close()
}

// TestLoad runs wrk against every endpoint of the server process and logs
// the medians: requests per second, p50 and p99 latency, and the ratios
// to bare. It asserts nothing about the figures (the machine is shared);
// it fails if an endpoint answers anything but 200 and its body.
func TestLoad(t *testing.T) {
	if os.Getenv(envWRK) == "" {
		t.Skipf("set %s=1 to run the wrk load test (minutes)", envWRK)
	}
	for _, bin := range []string{"wrk", "taskset"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv(envRequireWRK) == "1" {
				t.Fatalf("%s not found and %s=1", bin, envRequireWRK)
			}
			t.Skipf("%s not found (Debian: apt-get install wrk util-linux)", bin)
		}
	}
	rounds := envInt(t, envWRKRounds, 5)
	dur := 3 * time.Second
	if v := os.Getenv(envWRKDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Minute {
			t.Fatalf("%s=%q: want a duration from 1s to 1m", envWRKDuration, v)
		}
		dur = d
	}

	redisAddr := ""
	if bin, err := exec.LookPath("redis-server"); err == nil {
		redisAddr = startLoadRedis(t, bin)
	} else if os.Getenv("COOKIESEAL_REQUIRE_REDIS") == "1" {
		t.Fatal("redis-server not found and COOKIESEAL_REQUIRE_REDIS=1")
	} else {
		t.Log("redis-server not found: scs-redis left out")
	}

	cmd := exec.Command("taskset", "-c", "0", os.Args[0], "-test.run", "^TestLoadServer$")
	cmd.Env = append(os.Environ(), envLoadServe+"=1", envLoadRedis+"="+redisAddr, "GOMAXPROCS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server process: %v", err)
	}
	var hello loadHello
	if err := json.Unmarshal([]byte(line), &hello); err != nil {
		t.Fatalf("server process said %q: %v", line, err)
	}

	// Check every endpoint once.
	for _, p := range hello.Paths {
		size, _, _ := strings.Cut(p, "/")
		req, _ := http.NewRequest("GET", "http://"+hello.Addr+"/"+p, nil)
		req.Header.Set("Cookie", hello.Cookies[size])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "123456" {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, body)
		}
		writes := strings.Contains(p, "/write/") && !strings.HasSuffix(p, "/bare")
		if got := len(resp.Header.Values("Set-Cookie")) > 0; got != writes {
			t.Fatalf("%s: Set-Cookie present %v, want %v", p, got, writes)
		}
	}

	type sample struct{ rps, p50, p99 float64 }
	samples := map[string][]sample{}
	for round := range rounds {
		for _, size := range loadSizes {
			for _, op := range []string{"read", "write"} {
				// Rotate the order every round.
				for i := range loadImpls {
					impl := loadImpls[(i+round)%len(loadImpls)]
					p := size.name + "/" + op + "/" + impl
					if !slices.Contains(hello.Paths, p) {
						continue
					}
					rps, p50, p99 := runWRK(t, hello.Addr, p, hello.Cookies[size.name], dur)
					samples[p] = append(samples[p], sample{rps, p50, p99})
				}
			}
		}
	}

	var results []LoadResult
	for _, p := range hello.Paths {
		s := samples[p]
		if len(s) == 0 {
			continue
		}
		parts := strings.Split(p, "/")
		r := LoadResult{Size: parts[0], Op: parts[1], Impl: parts[2]}
		var rps, p50, p99 []float64
		for _, x := range s {
			rps, p50, p99 = append(rps, x.rps), append(p50, x.p50), append(p99, x.p99)
		}
		r.Rounds = slices.Clone(rps)
		r.ReqPerSec, r.P50Ms, r.P99Ms = median(rps), median(p50), median(p99)
		results = append(results, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "wrk: %d rounds of %v per endpoint, medians\n", rounds, dur)
	fmt.Fprintf(&b, "%-6s %-5s %-17s %10s %8s %9s %9s %8s\n", "size", "op", "impl", "req/s", "×bare", "p50 ms", "p99 ms", "p99×bare")
	for _, r := range results {
		base := findLoad(results, r.Size, r.Op, "bare")
		fmt.Fprintf(&b, "%-6s %-5s %-17s %10.0f %8.3f %9.3f %9.3f %8.2f\n", r.Size, r.Op, r.Impl, r.ReqPerSec, r.ReqPerSec/base.ReqPerSec, r.P50Ms, r.P99Ms, r.P99Ms/base.P99Ms)
	}
	t.Log("\n" + b.String())
	if out := os.Getenv(envWRKOut); out != "" {
		data, _ := json.MarshalIndent(map[string]any{"rounds": rounds, "duration": dur.String(), "results": results}, "", "  ")
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func findLoad(rs []LoadResult, size, op, impl string) LoadResult {
	for _, r := range rs {
		if r.Size == size && r.Op == op && r.Impl == impl {
			return r
		}
	}
	return LoadResult{}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		t.Fatalf("%s=%q: want 1 to 100", name, v)
	}
	return n
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// startLoadRedis starts a redis-server with no persistence on the
// server's core and returns its address; it is killed at cleanup.
func startLoadRedis(t *testing.T, bin string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("taskset", "-c", "0", bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for range 100 {
		if c, err := redis.Dial("tcp", addr); err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return addr
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not answer PING within 5s")
	return ""
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// runWRK loads one endpoint with wrk on core 1 and returns requests per
// second and the p50 and p99 latencies in milliseconds.
func runWRK(t *testing.T, addr, path, cookie string, dur time.Duration) (rps, p50, p99 float64) {
	cmd := exec.Command("taskset", "-c", "1", "wrk", "-t1", "-c16", "-d"+strconv.Itoa(int(dur/time.Second))+"s",
		"--latency", "-H", "Cookie: "+cookie, "http://"+addr+"/"+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wrk %s: %v\n%s", path, err, out)
	}
	s := string(out)
	if strings.Contains(s, "Non-2xx") || strings.Contains(s, "Socket errors") {
		t.Fatalf("wrk %s: errors\n%s", path, s)
	}
	m := wrkRPS.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("wrk %s: no Requests/sec in\n%s", path, s)
	}
	rps, _ = strconv.ParseFloat(m[1], 64)
	for _, l := range wrkLatency.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(l[2], 64)
		switch l[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if l[1] == "50" {
			p50 = v
		} else {
			p99 = v
		}
	}
	if p50 == 0 || p99 == 0 {
		t.Fatalf("wrk %s: no latency distribution in\n%s", path, s)
	}
	return rps, p50, p99
}
