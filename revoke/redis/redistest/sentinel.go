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
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// EnvSentinel names the redis-sentinel binary; default: looked up on PATH.
// A missing binary skips the caller, or fails it when
// COOKIESEAL_REQUIRE_REDIS=1, as for redis-server.
const EnvSentinel = "COOKIESEAL_REDIS_SENTINEL"

// MasterName is the name the Sentinels of StartSentinel monitor.
const MasterName = "cookieseal"

// SentinelBinary returns the path of redis-sentinel, or skips tb (fails it
// when COOKIESEAL_REQUIRE_REDIS=1) if there is none.
func SentinelBinary(tb testing.TB) string {
	tb.Helper()
	return lookBinary(tb, "redis-sentinel", EnvSentinel)
}

// SentinelOptions configures StartSentinel.
type SentinelOptions struct {
	// Replicas is the number of replicas of the master; default 1.
	Replicas int
	// DownAfter is the Sentinels' down-after-milliseconds: how long the
	// master must be unreachable before a failover starts. Default 1s
	// (Sentinel's own default is 30s).
	DownAfter time.Duration
}

// Sentinel is a master, its replicas and three redis-sentinel processes
// monitoring it with quorum 2, all on loopback ports, stopped by
// tb.Cleanup. Each replica replicates through a Link, so a test can cut
// the replication stream while the Sentinels still reach every process.
type Sentinel struct {
	Master    *Server       // the master at start; after a failover, ask MasterAddr
	Replicas  []*Server     // SentinelOptions.Replicas replicas of Master
	Links     []*Link       // Links[i] carries the replication of Replicas[i]
	Sentinels []*Server     // the three redis-sentinel processes
	DownAfter time.Duration // the Sentinels' down-after-milliseconds
}

// StartSentinel starts the master, the replicas (waiting until each is in
// sync), then three Sentinels, and waits until every Sentinel knows every
// replica and the two other Sentinels, so that a failover can start as
// soon as the master fails.
func StartSentinel(tb testing.TB, opts SentinelOptions) *Sentinel {
	tb.Helper()
	sbin := SentinelBinary(tb)
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.DownAfter == 0 {
		opts.DownAfter = time.Second
	}
	// Without a delay, a full sync (a replica's first, or the old master
	// rejoining) starts at once rather than after repl-diskless-sync-delay
	// (5s by default) on whichever server is master.
	common := []string{"--repl-diskless-sync-delay", "0"}
	sn := &Sentinel{DownAfter: opts.DownAfter}
	sn.Master = start(tb, false, common...)
	for range opts.Replicas {
		r, link := startReplica(tb, sn.Master, common...)
		sn.Replicas = append(sn.Replicas, r)
		sn.Links = append(sn.Links, link)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*startTimeout)
	defer cancel()
	for range 3 {
		sn.Sentinels = append(sn.Sentinels, startSentinel(tb, sbin, sn.Master.Port, opts.DownAfter))
	}
	for _, s := range sn.Sentinels {
		c := goredis.NewSentinelClient(&goredis.Options{Addr: s.Addr, DisableIdentity: true})
		err := poll(ctx, func() error {
			m, err := c.Master(ctx, MasterName).Result()
			if err != nil {
				return err
			}
			if m["num-slaves"] != strconv.Itoa(opts.Replicas) || m["num-other-sentinels"] != "2" {
				return fmt.Errorf("sentinel sees %s replicas and %s other sentinels", m["num-slaves"], m["num-other-sentinels"])
			}
			return nil
		})
		_ = c.Close()
		if err != nil {
			tb.Fatalf("redistest: sentinel %s not ready: %v\n%s", s.Addr, err, s.log())
		}
	}
	return sn
}

// StartReplica starts a replica of master that replicates through a new
// Link, and waits until it is in sync. Both are stopped by tb.Cleanup.
func StartReplica(tb testing.TB, master *Server) (*Server, *Link) {
	tb.Helper()
	return startReplica(tb, master, "--repl-diskless-sync-delay", "0")
}

func startReplica(tb testing.TB, master *Server, args ...string) (*Server, *Link) {
	tb.Helper()
	// The first full sync would otherwise wait repl-diskless-sync-delay
	// (5s by default) on the master.
	mc := goredis.NewClient(&goredis.Options{Addr: master.Addr, DisableIdentity: true})
	err := mc.ConfigSet(context.Background(), "repl-diskless-sync-delay", "0").Err()
	_ = mc.Close()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	link := NewLink(tb, master.Addr)
	host, port, _ := net.SplitHostPort(link.Addr)
	r := start(tb, false, append(args, "--replicaof", host, port)...)
	ctx, cancel := context.WithTimeout(context.Background(), 4*startTimeout)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr, DisableIdentity: true})
	defer c.Close()
	err = poll(ctx, func() error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if v := infoField(info, "master_link_status"); v != "up" {
			return fmt.Errorf("master_link_status %q", v)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("redistest: replica %s not in sync: %v\n%s", r.Addr, err, r.log())
	}
	return r, link
}

func startSentinel(tb testing.TB, bin string, masterPort int, downAfter time.Duration) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	var err error
	for range 3 {
		if s.Port, err = freePort(); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		// Sentinel rewrites its configuration file, so it gets one of its
		// own; the options are the documented sentinel.conf directives.
		conf := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile sentinel.log
daemonize no
sentinel monitor %s 127.0.0.1 %d 2
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s 20000
sentinel parallel-syncs %s 1
`, s.Port, s.dir, MasterName, masterPort, MasterName, downAfter.Milliseconds(), MasterName, MasterName)
		path := filepath.Join(s.dir, "sentinel.conf")
		if err = os.WriteFile(path, []byte(conf), 0o600); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		if err = s.launchWith(path); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("redistest: sentinel: %v", err)
	}
	tb.Cleanup(s.stop)
	return s
}

// launchWith starts bin with args as they are (a Sentinel's config path).
func (s *Server) launchWith(args ...string) error {
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	if err := s.waitPing(done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		b, _ := os.ReadFile(filepath.Join(s.dir, "sentinel.log"))
		return fmt.Errorf("%s: %w; log:\n%s", s.Addr, err, b)
	}
	return nil
}

func poll(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == name {
			return v
		}
	}
	return ""
}

// SentinelAddrs returns the Sentinels' addresses.
func (sn *Sentinel) SentinelAddrs() []string {
	addrs := make([]string, len(sn.Sentinels))
	for i, s := range sn.Sentinels {
		addrs[i] = s.Addr
	}
	return addrs
}

// FailoverOptions returns options for goredis.NewFailoverClient on these
// Sentinels, with ContextTimeoutEnabled, as revoke/redis requires.
func (sn *Sentinel) FailoverOptions() *goredis.FailoverOptions {
	return &goredis.FailoverOptions{
		MasterName:            MasterName,
		SentinelAddrs:         sn.SentinelAddrs(),
		ContextTimeoutEnabled: true,
	}
}

// UniversalOptions returns the same as FailoverOptions, for
// goredis.NewUniversalClient.
func (sn *Sentinel) UniversalOptions() *goredis.UniversalOptions {
	return &goredis.UniversalOptions{
		MasterName:            MasterName,
		Addrs:                 sn.SentinelAddrs(),
		ContextTimeoutEnabled: true,
	}
}

// MasterAddr asks the first Sentinel that answers for the current master's
// address.
func (sn *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var errs []error
	for _, s := range sn.Sentinels {
		if !s.running() {
			continue
		}
		c := goredis.NewSentinelClient(&goredis.Options{Addr: s.Addr, DisableIdentity: true, MaxRetries: -1})
		hp, err := c.GetMasterAddrByName(ctx, MasterName).Result()
		_ = c.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
		errs = append(errs, fmt.Errorf("%s: %v %v", s.Addr, hp, err))
	}
	return "", errors.Join(errs...)
}

// WaitPromotion polls the Sentinels until they name a master other than
// old, and returns it; it fails tb if none does before ctx is done.
func (sn *Sentinel) WaitPromotion(ctx context.Context, old string) string {
	sn.Master.tb.Helper()
	var addr string
	err := poll(ctx, func() error {
		a, err := sn.MasterAddr(ctx)
		if err != nil {
			return err
		}
		if a == old {
			return fmt.Errorf("master is still %s", old)
		}
		addr = a
		return nil
	})
	if err != nil {
		sn.Master.tb.Fatalf("redistest: no promotion: %v\nsentinel log:\n%s", err, sn.Sentinels[0].sentinelLog())
	}
	return addr
}

func (s *Server) sentinelLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "sentinel.log"))
	return string(b)
}

// Link is a TCP relay from a loopback port to a target address, standing
// for the network between two hosts. Hold partitions it: bytes in both
// directions stay in the relay, as packets on a cut link, and are
// delivered on Release; if either end closes while the link is held, the
// held bytes are dropped, as they never crossed. Links are closed by
// tb.Cleanup.
type Link struct {
	Addr string // 127.0.0.1:port to dial instead of the target

	target string
	ln     net.Listener
	mu     sync.Mutex
	held   bool
	closed bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

// NewLink starts a relay to target on a free loopback port.
func NewLink(tb testing.TB, target string) *Link {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: link: %v", err)
	}
	l := &Link{Addr: ln.Addr().String(), target: target, ln: ln}
	l.wg.Add(1)
	go l.accept()
	tb.Cleanup(l.close)
	return l
}

// Hold cuts the link: from now on, no byte crosses until Release.
func (l *Link) Hold() {
	l.mu.Lock()
	l.held = true
	l.mu.Unlock()
}

// Release heals the link and delivers what it held.
func (l *Link) Release() {
	l.mu.Lock()
	l.held = false
	l.mu.Unlock()
}

func (l *Link) close() {
	_ = l.ln.Close()
	l.mu.Lock()
	l.closed = true
	l.held = false
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		down, err := l.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", l.target, time.Second)
		if err != nil {
			_ = down.Close()
			continue
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			_ = down.Close()
			_ = up.Close()
			return
		}
		l.conns = append(l.conns, down, up)
		l.mu.Unlock()
		var ends sync.Once
		closeBoth := func() { ends.Do(func() { _ = down.Close(); _ = up.Close() }) }
		l.wg.Add(2)
		go l.pump(down, up, closeBoth)
		go l.pump(up, down, closeBoth)
	}
}

// pump copies src to dst in chunks; a chunk read while the link is held
// waits for Release, and is dropped if the connection ends first.
func (l *Link) pump(dst, src net.Conn, closeBoth func()) {
	defer l.wg.Done()
	defer closeBoth()
	chunks := make(chan []byte, 64)
	ended := make(chan struct{})
	quit := make(chan struct{})
	defer close(quit)
	l.wg.Add(1)
	go func() { // reader: keeps reading so that an end is seen at once
		defer l.wg.Done()
		defer close(ended)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case chunks <- buf[:n]:
				case <-quit:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		select {
		case b := <-chunks:
			if !l.waitOpen(ended) {
				return // the link was held when the connection ended: drop
			}
			if _, err := dst.Write(b); err != nil {
				return
			}
		case <-ended:
			l.mu.Lock()
			held := l.held
			l.mu.Unlock()
			if held {
				return
			}
			for { // deliver what was read before the end
				select {
				case b := <-chunks:
					if _, err := dst.Write(b); err != nil {
						return
					}
				default:
					return
				}
			}
		}
	}
}

// waitOpen waits until the link is not held; it returns false if ended is
// closed (the source connection ended) while it is held.
func (l *Link) waitOpen(ended <-chan struct{}) bool {
	for {
		l.mu.Lock()
		held, closed := l.held, l.closed
		l.mu.Unlock()
		if closed {
			return false
		}
		if !held {
			return true
		}
		select {
		case <-ended:
			l.mu.Lock()
			held = l.held
			l.mu.Unlock()
			if held {
				return false
			}
		case <-time.After(5 * time.Millisecond):
		}
	}
}
