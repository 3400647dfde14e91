package interop

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	rredis "github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
	"github.com/cookieseal/cookieseal/rotate"
)

// The framework tests run the example apps of python/examples (Django,
// Flask, Starlette, through the cookieseal Python package in python/)
// in real server processes beside a Go service on the session manager.
// Both share one key set file, one cookie name and one redis-server, and
// one client with one cookie jar talks to both.
//
// Both servers speak TLS on 127.0.0.1 (different ports; cookies ignore
// ports, so the one jar serves both) with a certificate made here: the
// cookie keeps its "__Host-" name and Secure attribute, as in production,
// and net/http/cookiejar (like a browser) sends Secure cookies over https
// only.
const frameworkCookie = "__Host-session"

// pythonEnv is the environment of every Python process of these tests:
// the package and the example apps on the path, no bytecode in the tree.
func pythonEnv(extra ...string) []string {
	root, _ := filepath.Abs(filepath.Join("..", "python"))
	path := []string{root, filepath.Join(root, "examples")}
	if p := os.Getenv("PYTHONPATH"); p != "" {
		path = append(path, p)
	}
	env := append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONPATH="+strings.Join(path, string(os.PathListSeparator)))
	return append(env, extra...)
}

// testTLS is a self-signed certificate for 127.0.0.1, in memory (for the
// Go servers and the client) and in PEM files (for the Python servers).
type testTLS struct {
	cert              tls.Certificate
	pool              *x509.CertPool
	certFile, keyFile string
}

func newTestTLS(t *testing.T) *testTLS {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cookieseal interop"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tt := &testTLS{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(tt.certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tt.keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if tt.cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	tt.pool.AddCert(leaf)
	return tt
}

// goService is the Go side: the session manager over a key set file
// (rotate.FileSource into a Holder, reloaded when the test says so) and
// revoke/redis, with the same pages as the Python example apps (login, me, flashes,
// logout-others, logout).
type goService struct {
	url      string
	holder   *rotate.Holder
	reloader *rotate.Reloader
}

func startGoService(t *testing.T, keyFile string, format cookie.Format, rs *redistest.Server, tt *testTLS) *goService {
	t.Helper()
	ctx := context.Background()
	src := rotate.NewFileSource(keyFile)
	h, err := rotate.LoadHolder(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := rotate.NewReloader(h, src, rotate.ReloaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rv, err := rredis.NewDirect(rs.Client(t), rredis.Options{CheckTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(h, frameworkCookie, middleware.Options{Codec: cookie.Options{Format: format}, Revoker: rv, RevokeCheckTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		err := errors.Join(sess.Renew(), sess.SetSubject(r.URL.Query().Get("sub")),
			sess.Set("from", "go"), sess.Set("n", int64(9007199254740993)), sess.AddFlash("welcome from go"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		if !sess.Authenticated() {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		vals, err := sess.Values()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": sess.ID(), "sub": sess.Subject(), "d": vals})
	})
	mux.HandleFunc("GET /flashes", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		f, err := sess.Flashes()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if f == nil {
			f = []any{}
		}
		json.NewEncoder(w).Encode(map[string]any{"flashes": f})
	})
	mux.HandleFunc("POST /logout-others", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		if err := sess.RevokeOthers(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		if err := sess.Destroy(); err != nil && !errors.Is(err, middleware.ErrNoSubject) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewUnstartedServer(m.Handler(mux))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{tt.cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &goService{url: srv.URL, holder: h, reloader: rl}
}

// startFramework runs one of python/examples' apps under a real server
// on a loopback listener the test opens (handed over as fd 3), with TLS,
// until the test ends: Django under wsgiref, Flask under werkzeug,
// Starlette under uvicorn.
func startFramework(t *testing.T, framework string, tt *testTLS, env ...string) string {
	t.Helper()
	py := pythonFrameworks.interpreter(t)
	var args []string
	switch framework {
	case "starlette":
		args = []string{"-m", "uvicorn", "--fd", "3", "--log-level", "warning",
			"--ssl-certfile", tt.certFile, "--ssl-keyfile", tt.keyFile, "starlette_app:app"}
	default:
		args = []string{filepath.Join("python", "serve_wsgi.py"), framework}
	}
	cmd := exec.Command(py, args...)
	cmd.Env = pythonEnv(append(env, "COOKIESEAL_TLS_CERT="+tt.certFile, "COOKIESEAL_TLS_KEY="+tt.keyFile)...)
	return "https://" + serveOnLoopback(t, framework+" server", cmd)
}

// serveOnLoopback starts cmd, a server that accepts on fd 3, with a
// loopback listener the test opens (port chosen by the OS), and stops it
// (SIGTERM, then SIGKILL after 10 s) when the test ends, logging its
// output if the test failed. It returns the listener's host:port.
func serveOnLoopback(t *testing.T, name string, cmd *exec.Cmd) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return addr
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// browser is one user's client: one cookie jar for both servers, which
// trusts the test certificate.
type browser struct {
	t    *testing.T
	jar  *cookiejar.Jar
	http *http.Client
}

func newBrowser(t *testing.T, tt *testTLS) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, jar: jar, http: &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tt.pool}},
	}}
}

// do sends a request with the jar's cookies (or, when replay is not nil,
// with exactly those cookies and no jar) and returns the status and body.
func (b *browser) do(method, u string, replay []*http.Cookie) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	c := b.http
	if replay != nil {
		c = &http.Client{Timeout: b.http.Timeout, Transport: b.http.Transport}
		for _, k := range replay {
			req.AddCookie(&http.Cookie{Name: k.Name, Value: k.Value})
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// cookies returns the jar's cookies for u.
func (b *browser) cookies(u string) []*http.Cookie {
	pu, err := url.Parse(u)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.jar.Cookies(pu)
}

type who struct {
	ID, Sub string
	D       struct {
		From string
		N    json.Number
	}
}

// me GETs u/me and decodes it; ok is false on a 401.
func (b *browser) me(u string, replay []*http.Cookie) (who, bool) {
	b.t.Helper()
	status, body := b.do("GET", u+"/me", replay)
	var w who
	switch status {
	case http.StatusOK:
		d := json.NewDecoder(strings.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&w); err != nil {
			b.t.Fatalf("%s/me: %q: %v", u, body, err)
		}
		return w, true
	case http.StatusUnauthorized:
		return w, false
	}
	b.t.Fatalf("%s/me: %d %q", u, status, body)
	return w, false
}

func (b *browser) post(u string) {
	b.t.Helper()
	if status, body := b.do("POST", u, nil); status != http.StatusOK && status != http.StatusNoContent {
		b.t.Fatalf("POST %s: %d %q", u, status, body)
	}
}

func (b *browser) flashes(u string) []string {
	b.t.Helper()
	status, body := b.do("GET", u+"/flashes", nil)
	var f struct{ Flashes []string }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &f) != nil {
		b.t.Fatalf("%s/flashes: %d %q", u, status, body)
	}
	return f.Flashes
}

// sealUnder returns a login cookie for subject sealed under key id of the
// key set file, as an instance holding it as primary would write it.
func sealUnder(t *testing.T, keyFile string, id uint32, subject string) []*http.Cookie {
	t.Helper()
	set, err := rotate.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range set.Keys {
		set.Keys[i].Status = keyring.StatusDecryptOnly
		if set.Keys[i].ID == id {
			set.Keys[i].Status = keyring.StatusPrimary
		}
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(kr, frameworkCookie, middleware.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		if err := sess.SetSubject(subject); err != nil {
			t.Error(err)
		}
	})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	return w.Result().Cookies()
}

// waitFor polls cond every 50ms for up to 10s: for a Python process to
// pick up a key file change (a state change, not an expiry).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
	}
}

// sealedKey returns the ID of the key that sealed the session cookie in
// the jar for u (one cookie: these tests keep sessions small).
func sealedKey(t *testing.T, h *rotate.Holder, cookies []*http.Cookie) uint32 {
	t.Helper()
	c, err := cookie.New(h, frameworkCookie, cookie.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cookies {
		if k.Name == frameworkCookie {
			_, meta, err := c.Open(k.Value)
			if err != nil {
				t.Fatalf("the session cookie does not open in Go: %v", err)
			}
			return meta.KeyID
		}
	}
	t.Fatalf("no %s cookie among %d", frameworkCookie, len(cookies))
	return 0
}

// writeKeyFile writes a new key set file: one primary key, the lifetime
// policy both sides read recorded in it.
func writeKeyFile(t *testing.T) string {
	t.Helper()
	k, err := keyring.GenerateKey(keyring.StatusPrimary, time.Now().Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	set := keyring.Set{Keys: []keyring.Key{k}, Lifetime: keyring.Lifetime{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 24 * time.Hour}}
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := rotate.CreateKeyFile(path, set); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPythonFrameworksShareLogin: for each framework adapter (Django's
// SESSION_ENGINE, Flask's SessionInterface, the Starlette middleware) and
// each format, a Go service and the framework's example app share one
// login through one cookie jar: a login on either side is a session on
// both, a logout on either side is refused on both (even for a copy of the
// cookie kept from before, through revoke/redis on a real redis-server),
// a flash added on one side is popped on the other, and a key rotation
// done on the key set file (add, then promote) keeps every session
// working on both sides while new logins move to the new key.
func TestPythonFrameworksShareLogin(t *testing.T) {
	pythonFrameworks.interpreter(t)
	rs := redistest.Start(t)
	tt := newTestTLS(t)
	for _, framework := range []string{"django", "flask", "starlette"} {
		for _, format := range []cookie.Format{cookie.Native, cookie.JWE} {
			t.Run(framework+"/"+format.String(), func(t *testing.T) {
				keyFile := writeKeyFile(t)
				g := startGoService(t, keyFile, format, rs, tt)
				py := startFramework(t, framework, tt,
					"COOKIESEAL_KEY_FILE="+keyFile,
					"COOKIESEAL_COOKIE="+frameworkCookie,
					"COOKIESEAL_FORMAT="+format.String(),
					"COOKIESEAL_REDIS_URL=redis://"+rs.Addr+"/0",
					"DJANGO_SECRET_KEY=interop tests only",
				)
				sharedLoginScenarios(t, framework, g, py, tt, keyFile)
			})
		}
	}
}

func sharedLoginScenarios(t *testing.T, framework string, g *goService, py string, tt *testTLS, keyFile string) {
	t.Run("Go login, Python page", func(t *testing.T) {
		b := newBrowser(t, tt)
		b.post(g.url + "/login?sub=alice")
		gw, ok := b.me(g.url, nil)
		if !ok {
			t.Fatal("Go does not read its own login")
		}
		pw, ok := b.me(py, nil)
		if !ok || pw.Sub != "alice" || pw.ID != gw.ID || pw.D.From != "go" || pw.D.N != "9007199254740993" {
			t.Fatalf("%s read the Go login as %v %+v (Go: %+v)", framework, ok, pw, gw)
		}
		// The flash Go added is popped on the Python side, once.
		if f := b.flashes(py); len(f) != 1 || f[0] != "welcome from go" {
			t.Errorf("%s popped flashes %q, want the Go login's", framework, f)
		}
		if f := b.flashes(g.url); len(f) != 0 {
			t.Errorf("Go still has flashes %q after %s popped them", f, framework)
		}
	})
	t.Run("Python login, Go page", func(t *testing.T) {
		b := newBrowser(t, tt)
		b.post(py + "/login?sub=bob")
		pw, ok := b.me(py, nil)
		if !ok {
			t.Fatalf("%s does not read its own login", framework)
		}
		gw, ok := b.me(g.url, nil)
		if !ok || gw.Sub != "bob" || gw.ID != pw.ID || gw.D.From != framework || gw.D.N != "9007199254740993" {
			t.Fatalf("Go read the %s login as %v %+v (%s: %+v)", framework, ok, gw, framework, pw)
		}
		if f := b.flashes(g.url); len(f) != 1 || f[0] != "welcome from "+framework {
			t.Errorf("Go popped flashes %q, want the %s login's", f, framework)
		}
		if f := b.flashes(py); len(f) != 0 {
			t.Errorf("%s still has flashes %q after Go popped them", framework, f)
		}
	})
	for _, side := range []string{"Go", "Python"} {
		t.Run("logout in "+side+" is refused on both", func(t *testing.T) {
			b := newBrowser(t, tt)
			login, logout := py, g.url
			if side == "Go" {
				login, logout = g.url, py
			}
			// Log in on the other side, then log out on this one.
			b.post(login + "/login?sub=carol")
			kept := b.cookies(g.url) // a copy of the cookie, as a thief would keep it
			if _, ok := b.me(logout, nil); !ok {
				t.Fatal("no session before logout")
			}
			if side == "Go" {
				b.post(g.url + "/logout")
			} else {
				b.post(py + "/logout")
			}
			if len(b.cookies(g.url)) != 0 {
				t.Errorf("the logout left cookies in the jar: %v", b.cookies(g.url))
			}
			for _, u := range []string{g.url, py} {
				if w, ok := b.me(u, nil); ok {
					t.Errorf("%s/me after logout in %s: %+v", u, side, w)
				}
				if w, ok := b.me(u, kept); ok {
					t.Errorf("%s/me with the cookie kept from before the logout in %s: %+v (not revoked)", u, side, w)
				}
			}
		})
	}
	for _, side := range []string{"Go", "Python"} {
		t.Run("log out other devices in "+side+" is refused on both", func(t *testing.T) {
			// The same user on two devices: one logged in on Go, one on
			// Python. The device on this side logs the others out.
			onGo, onPy := newBrowser(t, tt), newBrowser(t, tt)
			onGo.post(g.url + "/login?sub=ivy")
			onPy.post(py + "/login?sub=ivy")
			stays, goes, at := onGo, onPy, g.url
			if side == "Python" {
				stays, goes, at = onPy, onGo, py
			}
			stays.post(at + "/logout-others")
			for _, u := range []string{g.url, py} {
				if w, ok := goes.me(u, nil); ok {
					t.Errorf("%s/me: the other device's session survived a logout of other devices in %s: %+v", u, side, w)
				}
				if w, ok := stays.me(u, nil); !ok || w.Sub != "ivy" {
					t.Errorf("%s/me: the device that logged the others out in %s lost its session: %v %+v", u, side, ok, w)
				}
			}
		})
	}
	t.Run("rotation on the key file", func(t *testing.T) {
		ctx := context.Background()
		fromGo, fromPy := newBrowser(t, tt), newBrowser(t, tt)
		fromGo.post(g.url + "/login?sub=dan")
		fromPy.post(py + "/login?sub=erin")
		old := g.holder.Keyring().Primary().ID
		check := func(step string) {
			t.Helper()
			for _, b := range []*browser{fromGo, fromPy} {
				gw, gok := b.me(g.url, nil)
				pw, pok := b.me(py, nil)
				if !gok || !pok || gw.ID != pw.ID {
					t.Fatalf("after %s: Go %v %+v, %s %v %+v", step, gok, gw, framework, pok, pw)
				}
			}
		}
		reload := func() {
			t.Helper()
			if err := g.reloader.Reload(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var added keyring.Key
		// Step 1: add a decrypt-only key (added two hours ago: rolled out).
		if err := rotate.UpdateKeyFile(keyFile, func(s keyring.Set) (keyring.Set, error) {
			s, k, err := rotate.Add(s, time.Now().Add(-2*time.Hour))
			added = k
			return s, err
		}); err != nil {
			t.Fatal(err)
		}
		reload()
		check("add")
		// Roll-out: promote only once every instance holds the new key.
		// The Python side re-reads the key file by itself (Keys.from_file
		// checks it at most once a second): wait until it opens a session
		// sealed under the added key, which it cannot without the file.
		underAdded := sealUnder(t, keyFile, added.ID, "probe")
		waitFor(t, framework+" to load the added key", func() bool {
			_, ok := newBrowser(t, tt).me(py, underAdded)
			return ok
		})
		// Step 2: promote it; the old primary becomes decrypt-only.
		if err := rotate.UpdateKeyFile(keyFile, func(s keyring.Set) (keyring.Set, error) {
			return rotate.Promote(s, added.ID, time.Now(), rotate.Policy{})
		}); err != nil {
			t.Fatal(err)
		}
		reload()
		waitFor(t, framework+" to seal under the promoted key", func() bool {
			b := newBrowser(t, tt)
			b.post(py + "/login?sub=probe")
			return sealedKey(t, g.holder, b.cookies(py)) == added.ID
		})
		check("promote")
		if got := g.holder.Keyring().Primary().ID; got != added.ID || got == old {
			t.Fatalf("Go's primary is %d, want %d", got, added.ID)
		}
		// The sessions of before were re-sealed under the new primary by
		// the requests of check (Go's and Python's reads), and new logins
		// on either side use it.
		for name, b := range map[string]*browser{"Go": fromGo, framework: fromPy} {
			if id := sealedKey(t, g.holder, b.cookies(g.url)); id != added.ID {
				t.Errorf("the session logged in on %s before the rotation is still sealed under key %d, want %d", name, id, added.ID)
			}
		}
		for _, side := range []string{g.url, py} {
			b := newBrowser(t, tt)
			b.post(side + "/login?sub=fay")
			if id := sealedKey(t, g.holder, b.cookies(g.url)); id != added.ID {
				t.Errorf("a login on %s after the promotion is sealed under key %d, want %d", side, id, added.ID)
			}
			gw, gok := b.me(g.url, nil)
			pw, pok := b.me(py, nil)
			if !gok || !pok || gw.ID != pw.ID || gw.Sub != "fay" {
				t.Errorf("a login on %s after the promotion: Go %v %+v, %s %v %+v", side, gok, gw, framework, pok, pw)
			}
		}
	})
}
