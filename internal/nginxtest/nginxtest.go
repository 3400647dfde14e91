// Package nginxtest starts throwaway nginx reverse proxies for tests: one
// process per Start, with a generated configuration, listening on a free
// 127.0.0.1 port, its logs, pid, temp paths and cache in a t.TempDir, and
// stopped by t.Cleanup. The system service is never touched.
//
// A proxy forwards every request to one upstream over HTTP/1.1
// (proxy_pass), with nginx's defaults unless Config adds directives. With
// Config.TLS it listens with "ssl http2" under a self-signed certificate
// made for the test, so clients can speak HTTP/2 (Server.Client).
//
// When the nginx binary is missing (not on PATH or in /usr/sbin, and
// COOKIESEAL_NGINX does not name it), the caller is skipped, unless
// COOKIESEAL_REQUIRE_NGINX=1, in which case it fails: CI sets that so that
// a missing install cannot pass as green.
package nginxtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment variables read by Binary.
const (
	EnvBinary  = "COOKIESEAL_NGINX"         // path to nginx; default: looked up on PATH, then /usr/sbin/nginx
	EnvRequire = "COOKIESEAL_REQUIRE_NGINX" // "1": a missing binary fails instead of skipping
)

const startTimeout = 10 * time.Second

// Binary returns the path of nginx, or skips tb (fails it when
// COOKIESEAL_REQUIRE_NGINX=1) if there is none.
func Binary(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv(EnvBinary)
	candidates := []string{path}
	if path == "" {
		candidates = []string{"nginx", "/usr/sbin/nginx"}
	}
	var err error
	for _, c := range candidates {
		var found string
		if found, err = exec.LookPath(c); err == nil {
			return found
		}
	}
	msg := fmt.Sprintf("nginxtest: nginx not found (%v); install it (Debian: apt-get install nginx) or set %s", err, EnvBinary)
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("%s; %s=1 requires it", msg, EnvRequire)
	}
	tb.Skip(msg)
	return ""
}

// Config is one proxy's configuration. Directives are nginx syntax, each
// ending in ";" (or a block), added where the field says.
type Config struct {
	// Upstream is the host:port that location / proxies to over HTTP/1.1.
	Upstream string
	// HTTP, Server and Location are directives added to the http block,
	// the server block and location / respectively, after the harness's
	// own (so they can override nginx defaults, not the harness's).
	HTTP, Server, Location []string
	// TLS makes the server listen with "ssl http2" under a self-signed
	// certificate for 127.0.0.1; Server.Client then trusts it.
	TLS bool
	// Cache puts location / behind proxy_cache (a zone in the temp dir,
	// "proxy_cache_valid 200 10m" so that responses without their own
	// freshness are stored too) and adds X-Cache-Status (MISS, HIT, …,
	// from $upstream_cache_status) to every response.
	Cache bool
}

// Server is one running nginx.
type Server struct {
	URL  string // http://127.0.0.1:port, or https:// with TLS
	Addr string // 127.0.0.1:port

	tb   testing.TB
	dir  string
	cfg  Config
	pool *x509.CertPool
	cmd  *exec.Cmd
	done chan struct{}
}

// Start writes the configuration, starts nginx on a free loopback port and
// waits until it accepts connections. It is stopped by tb.Cleanup.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	bin := Binary(tb)
	s := &Server{tb: tb, dir: tb.TempDir(), cfg: cfg}
	if cfg.TLS {
		pool, err := writeCert(s.dir)
		if err != nil {
			tb.Fatalf("nginxtest: certificate: %v", err)
		}
		s.pool = pool
	}
	var err error
	for range 3 { // a free port may be taken between probe and bind
		var port int
		if port, err = freePort(); err != nil {
			tb.Fatalf("nginxtest: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.URL = "http://" + s.Addr
		if cfg.TLS {
			s.URL = "https://" + s.Addr
		}
		if err = s.launch(bin); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("nginxtest: %v", err)
	}
	tb.Cleanup(s.stop)
	return s
}

// Config returns the nginx.conf the server runs.
func (s *Server) Config() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "nginx.conf"))
	return string(b)
}

// ErrorLog returns nginx's error log so far (level info: it names the
// reason for a 400 or a 502, such as "upstream sent too big header").
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	return string(b)
}

// Client returns a client for the server that keeps no cookies and
// follows no redirects. With TLS it trusts the test certificate and
// speaks HTTP/2 when h2 is true, HTTP/1.1 otherwise; without TLS it
// speaks HTTP/1.1 and h2 must be false.
func (s *Server) Client(h2 bool) *http.Client {
	s.tb.Helper()
	tr := &http.Transport{DisableCompression: true, ResponseHeaderTimeout: 30 * time.Second}
	switch {
	case s.cfg.TLS:
		tr.TLSClientConfig = &tls.Config{RootCAs: s.pool, ServerName: "127.0.0.1"}
		if h2 {
			tr.ForceAttemptHTTP2 = true
		} else {
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
	case h2:
		s.tb.Fatal("nginxtest: HTTP/2 needs Config.TLS")
	}
	s.tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// conf renders nginx.conf. master_process off keeps nginx one process,
// so stopping it stops everything; every path nginx writes is in dir.
func (s *Server) conf() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("daemon off;")
	p("master_process off;")
	p("worker_processes 1;")
	p("pid %s;", filepath.Join(s.dir, "nginx.pid"))
	p("error_log %s info;", filepath.Join(s.dir, "error.log"))
	p("events { worker_connections 1024; }")
	p("http {")
	p("  access_log off;")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		p("  %s_temp_path %s;", t, filepath.Join(s.dir, t+"_temp"))
	}
	if s.cfg.Cache {
		p("  proxy_cache_path %s keys_zone=cookieseal:1m;", filepath.Join(s.dir, "cache"))
	}
	for _, d := range s.cfg.HTTP {
		p("  %s", d)
	}
	p("  server {")
	if s.cfg.TLS {
		p("    listen %s ssl http2;", s.Addr)
		p("    ssl_certificate %s;", filepath.Join(s.dir, "cert.pem"))
		p("    ssl_certificate_key %s;", filepath.Join(s.dir, "key.pem"))
	} else {
		p("    listen %s;", s.Addr)
	}
	for _, d := range s.cfg.Server {
		p("    %s", d)
	}
	p("    location / {")
	p("      proxy_pass http://%s;", s.cfg.Upstream)
	p("      proxy_http_version 1.1;")
	if s.cfg.Cache {
		p("      proxy_cache cookieseal;")
		p("      proxy_cache_valid 200 10m;")
		p("      add_header X-Cache-Status $upstream_cache_status always;")
	}
	for _, d := range s.cfg.Location {
		p("      %s", d)
	}
	p("    }")
	p("  }")
	p("}")
	return b.String()
}

func (s *Server) launch(bin string) error {
	confPath := filepath.Join(s.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(s.conf()), 0o600); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(s.dir, "error.log"))
	// -e: the error log before the configuration is read (else nginx
	// opens the system one).
	cmd := exec.Command(bin, "-p", s.dir+"/", "-c", confPath, "-e", filepath.Join(s.dir, "error.log"))
	cmd.Dir = s.dir
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	if err := s.waitListen(done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("nginx on %s: %w; log:\n%s\nconfig:\n%s", s.Addr, err, s.ErrorLog(), s.Config())
	}
	return nil
}

func (s *Server) waitListen(done <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return errors.New("exited during start")
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening within %v: %w", startTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop asks nginx to exit (SIGTERM, a fast shutdown) and kills it if it
// has not within a few seconds.
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// writeCert writes a self-signed ECDSA P-256 certificate for 127.0.0.1,
// valid for a day, to dir/cert.pem and dir/key.pem, and returns a pool
// that trusts it.
func writeCert(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "nginxtest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

// Recipe is the http-block tuning docs/proxies-and-caches.md recommends for chunked
// sessions of up to four 3800-byte chunks, both directions:
//
//   - proxy_buffer_size 32k: the whole upstream response header block
//     (four chunk Set-Cookie lines, about 16 KB, and the other headers)
//     must fit in this one buffer, allocated for every proxied request;
//     proxy_buffers and proxy_busy_buffers_size grow with it because
//     nginx requires busy < all proxy_buffers less one.
//   - large_client_header_buffers 4 32k: each request header line (the
//     Cookie header of four chunks, about 15.3 KB) must fit in one
//     buffer; up to four are allocated per connection, and only for a
//     request whose header does not fit client_header_buffer_size (1k).
//     Since nginx 1.19.7 it bounds HTTP/2 header fields too.
var Recipe = []string{
	"proxy_buffer_size 32k;",
	"proxy_buffers 8 8k;",
	"proxy_busy_buffers_size 32k;",
	"large_client_header_buffers 4 32k;",
}

// Pid returns the nginx process id (master_process off: the only one).
func (s *Server) Pid() int { return s.cmd.Process.Pid }
