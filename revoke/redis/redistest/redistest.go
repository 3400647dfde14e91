// Package redistest starts real Redis processes for tests, as
// net/http/httptest starts real HTTP servers: a standalone redis-server
// (Start), a three-master Cluster (StartCluster), or a master with
// replicas watched by three redis-sentinel processes (StartSentinel). It
// is for testing code that uses revoke/redis (or go-redis) against the
// real server rather than a mock:
//
//	func TestLogout(t *testing.T) {
//		srv := redistest.Start(t) // skips t if redis-server is not installed
//		list, err := redis.NewDirect(srv.Client(t), redis.Options{})
//		if err != nil {
//			t.Fatal(err)
//		}
//		// ... log in and out through the handler, then check list
//	}
//
// Every process listens on 127.0.0.1 on a free port, keeps its files in a
// tb.TempDir, and is stopped by tb.Cleanup; nothing outlives the test.
// Servers run with appendonly yes and appendfsync always, so that Kill
// followed by Restart keeps every acknowledged write, as a crash and
// restart of a durable server would. Pause and Resume (SIGSTOP, SIGCONT)
// make a server hang with its connections open, and a Link between two
// processes can be held to cut the network between them.
//
// # Finding the binaries
//
// redis-server and redis-sentinel are looked up on PATH, or taken from
// $COOKIESEAL_REDIS_SERVER and $COOKIESEAL_REDIS_SENTINEL. When one is
// missing, the test that asked for it is skipped with a message that says
// how to install it (Debian: apt-get install redis-server redis-sentinel),
// unless COOKIESEAL_REQUIRE_REDIS=1, in which case the test fails: set it
// in CI, so that a missing install cannot pass as green.
//
// The package imports testing: import it from _test.go files only.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Environment variables read by Binary (and, for EnvRequire, by
// SentinelBinary).
const (
	EnvBinary  = "COOKIESEAL_REDIS_SERVER"  // path to redis-server; default: looked up on PATH
	EnvRequire = "COOKIESEAL_REQUIRE_REDIS" // "1": a missing binary fails instead of skipping
)

const startTimeout = 10 * time.Second

// Binary returns the path of redis-server, or skips tb (fails it when
// COOKIESEAL_REQUIRE_REDIS=1) if there is none.
func Binary(tb testing.TB) string {
	tb.Helper()
	return lookBinary(tb, "redis-server", EnvBinary)
}

// lookBinary returns the path of the program name (or of the one env
// names), or skips tb, failing it when COOKIESEAL_REQUIRE_REDIS=1, if
// there is none. The Debian package is named as the program.
func lookBinary(tb testing.TB, name, env string) string {
	tb.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = name
	}
	found, err := exec.LookPath(path)
	if err == nil {
		return found
	}
	msg := fmt.Sprintf("redistest: %s not found (%v); install it (Debian: apt-get install %s) or set %s", name, err, name, env)
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("%s; %s=1 requires it", msg, EnvRequire)
	}
	tb.Skip(msg)
	return ""
}

// Server is one redis-server (or redis-sentinel) process. Its data
// survives Kill and Restart: it runs with appendonly yes and appendfsync
// always, so that a killed server comes back with every acknowledged
// write. A method that cannot do what it says fails the test that started
// the server (tb.Fatalf). The methods are not safe for concurrent use.
type Server struct {
	Addr string // host:port to dial, "127.0.0.1:" and Port
	Port int    // the loopback TCP port the server listens on

	tb      testing.TB
	bin     string
	dir     string
	cluster bool
	args    []string // extra redis-server arguments
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
}

// Start starts a standalone server on a free loopback port and waits until
// it answers PING. It is stopped by tb.Cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, false)
}

// StartWith is Start with extra redis-server arguments: configuration
// directives as on its command line, each name with a leading "--" and its
// values as separate arguments, after the defaults, which they override:
//
//	redistest.StartWith(t, "--maxmemory", "3mb", "--maxmemory-policy", "volatile-lru")
//	redistest.StartWith(t, "--rename-command", "CONFIG", "") // as managed services do
//
// Restart keeps them.
func StartWith(tb testing.TB, args ...string) *Server {
	tb.Helper()
	return start(tb, false, args...)
}

func start(tb testing.TB, cluster bool, args ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Binary(tb), dir: tb.TempDir(), cluster: cluster, args: args}
	var err error
	for range 3 { // a free port may be taken between probe and bind
		if s.Port, err = freePort(); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		if err = s.launch(); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.stop)
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) launch() error {
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--logfile", "redis.log",
		"--daemonize", "no",
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "always",
	}
	args = append(args, s.args...)
	if s.cluster {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
		)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	if err := s.waitPing(done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("redis-server on %s: %w; log:\n%s", s.Addr, err, s.log())
	}
	return nil
}

func (s *Server) waitPing(done <-chan struct{}) error {
	c := goredis.NewClient(&goredis.Options{
		Addr: s.Addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
		MaxRetries: -1, DisableIdentity: true, Protocol: 2,
	})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return errors.New("exited during start")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING reply within %v: %w", startTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b)
}

func (s *Server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// PID returns the process id of the running server, or 0 if it is not
// running.
func (s *Server) PID() int {
	if !s.running() {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. Clients see connection errors until Restart.
func (s *Server) Kill() {
	s.tb.Helper()
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(sigCont) // a paused process dies too
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Restart starts the server again on the same port and data directory and
// waits until it answers PING. It kills the server first if it runs.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill()
	if err := s.launch(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}

// Pause stops the process with SIGSTOP: connections stay open and calls
// hang, as with a server that is overloaded or behind a dead link. Resume
// undoes it. Where there is no SIGSTOP (Windows), it fails the test.
func (s *Server) Pause() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(sigStop); err != nil {
		s.tb.Fatalf("redistest: pause: %v", err)
	}
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(sigCont); err != nil {
		s.tb.Fatalf("redistest: resume: %v", err)
	}
}

func (s *Server) stop() {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(sigCont)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Options returns client options for s with ContextTimeoutEnabled, as
// revoke/redis requires.
func (s *Server) Options() *goredis.Options {
	return &goredis.Options{Addr: s.Addr, ContextTimeoutEnabled: true}
}

// Client returns a new client for s, closed by tb.Cleanup.
func (s *Server) Client(tb testing.TB) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(s.Options())
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Cluster is a local Redis Cluster of three masters, no replicas.
type Cluster struct {
	Nodes []*Server // the three masters, each owning a third of the slots
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// StartCluster starts three cluster-enabled servers, splits the 16384 slots
// between them, joins them with CLUSTER MEET and waits until every node
// reports cluster_state:ok. The nodes are stopped by tb.Cleanup.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c := &Cluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, start(tb, true))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	clients := make([]*goredis.Client, len(c.Nodes))
	for i, n := range c.Nodes {
		clients[i] = goredis.NewClient(&goredis.Options{Addr: n.Addr, DisableIdentity: true})
		defer clients[i].Close()
		if err := clients[i].ClusterAddSlotsRange(ctx, ranges[i][0], ranges[i][1]).Err(); err != nil {
			tb.Fatalf("redistest: CLUSTER ADDSLOTSRANGE on %s: %v", n.Addr, err)
		}
	}
	for _, n := range c.Nodes[1:] {
		if err := clients[0].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(n.Port)).Err(); err != nil {
			tb.Fatalf("redistest: CLUSTER MEET %s: %v", n.Addr, err)
		}
	}
	for i, cl := range clients {
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if ctx.Err() != nil {
				tb.Fatalf("redistest: node %s not ok: %v\n%s", c.Nodes[i].Addr, err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

// Options returns cluster client options with ContextTimeoutEnabled, as
// revoke/redis requires.
func (c *Cluster) Options() *goredis.ClusterOptions {
	return &goredis.ClusterOptions{Addrs: c.Addrs(), ContextTimeoutEnabled: true}
}

// Client returns a new cluster client, closed by tb.Cleanup. It waits until
// the client sees all three masters.
func (c *Cluster) Client(tb testing.TB) *goredis.ClusterClient {
	tb.Helper()
	cl := goredis.NewClusterClient(c.Options())
	tb.Cleanup(func() { _ = cl.Close() })
	return cl
}

// CommandCalls returns the total number of commands the server has
// executed, from INFO commandstats, leaving out the INFO calls themselves.
// A delta of it across a loop counts round trips of single-command calls.
func CommandCalls(ctx context.Context, c goredis.Cmdable) (int64, error) {
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var total int64
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("redistest: parse %q: %w", line, err)
		}
		total += n
	}
	return total, nil
}
