package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// A panic in code the caller supplied, run while the session is locked
// (a Revoker, a LegacyDecoder, a keyring.Provider, Options.Now), must
// reach net/http with the lock released: the server logs it and drops
// the connection, the next request works, and no goroutine is left
// blocked on the session's lock. Before the rule, the handler's deferred
// release blocked forever: the request hung (this test's client gives up
// after panicWait and fails), nothing was logged, and the goroutine
// leaked.

// panicWait bounds every wait of these tests: a request that hangs, a
// log line that never comes, a goroutine that stays blocked.
const panicWait = 10 * time.Second

// panicSwitch makes a callback panic once armed, with a value that names it.
type panicSwitch struct {
	on  atomic.Bool
	val any // the panic value; "test panic in <where>" when nil
}

func (p *panicSwitch) check(where string) {
	if p.on.Load() {
		if p.val != nil {
			panic(p.val)
		}
		panic("test panic in " + where)
	}
}

// panicRevoker is a revoke.Memory whose calls panic when their switch is on.
type panicRevoker struct {
	*revoke.Memory
	check, session, subject panicSwitch
}

func (r *panicRevoker) Check(ctx context.Context, rs revoke.SessionRef) error {
	r.check.check("Check")
	return r.Memory.Check(ctx, rs)
}

func (r *panicRevoker) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	r.session.check("RevokeSession")
	return r.Memory.RevokeSession(ctx, id, subject, until)
}

func (r *panicRevoker) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	r.subject.check("RevokeSubject")
	return r.Memory.RevokeSubject(ctx, subject, before, until)
}

// panicKeys is a keyring.Provider that panics when its switch is on.
type panicKeys struct {
	kr *keyring.Keyring
	panicSwitch
}

func (p *panicKeys) Keyring() *keyring.Keyring {
	p.check("Keyring")
	return p.kr
}

// panicLegacy accepts "legacy.<v>" as a legacy session holding k=v, and
// panics when its switch is on.
type panicLegacy struct {
	now func() time.Time
	panicSwitch
}

func (d *panicLegacy) DecodeSession(name, value string) (cookie.LegacySession, error) {
	d.check("DecodeSession")
	v, ok := strings.CutPrefix(value, "legacy.")
	if !ok {
		return cookie.LegacySession{}, errors.New("not a legacy cookie")
	}
	return cookie.LegacySession{Values: map[string]any{"k": v}, Subject: "alice", IssuedAt: d.now()}, nil
}

// syncLog is the server's ErrorLog output.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writtenWriter is a framework's response writer (Gin's reports Written):
// a handler that writes to it directly writes around the middleware.
type writtenWriter struct {
	http.ResponseWriter
	written bool
}

func (w *writtenWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

func (w *writtenWriter) WriteHeader(code int) {
	w.written = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *writtenWriter) Written() bool { return w.written }

type outerWriterKey struct{}

// panicFixture is a real server over a manager whose callbacks can panic.
type panicFixture struct {
	rev    *panicRevoker
	keys   *panicKeys
	clock  panicSwitch
	legacy *panicLegacy
	srv    *httptest.Server
	log    *syncLog
	client *http.Client
}

func newPanicFixture(t *testing.T) *panicFixture {
	clk := newClock()
	f := &panicFixture{
		rev:  &panicRevoker{Memory: revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now})},
		keys: &panicKeys{kr: testKeyring(t)},
		log:  &syncLog{},
	}
	f.legacy = &panicLegacy{now: clk.Now}
	now := func() time.Time {
		f.clock.check("Now")
		return clk.Now()
	}
	m := newManager(t, f.keys, middleware.Options{Codec: cookie.Options{Now: now}, Revoker: f.rev, Legacy: f.legacy})
	sess := func(r *http.Request) *middleware.Session {
		s, err := middleware.From(r)
		if err != nil {
			panic(err)
		}
		return s
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if s.SetSubject("alice") != nil || s.Set("k", "v") != nil {
			http.Error(w, "login failed", 500)
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, _, err := middleware.Get[string](sess(r), "k")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, v)
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) { _ = sess(r).Renew() })
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) { _ = sess(r).Destroy() })
	mux.HandleFunc("/revoke-others", func(w http.ResponseWriter, r *http.Request) { _ = sess(r).RevokeOthers(r.Context()) })
	// /late-clock and /late-keys change the session, then arm a switch
	// that the save before the first byte (writer.start) runs into.
	mux.HandleFunc("/late-clock", func(w http.ResponseWriter, r *http.Request) {
		_ = sess(r).Set("k", "late")
		f.clock.on.Store(true)
		io.WriteString(w, "late")
	})
	mux.HandleFunc("/late-keys", func(w http.ResponseWriter, r *http.Request) {
		_ = sess(r).Set("k", "late")
		f.keys.on.Store(true)
		io.WriteString(w, "late")
	})
	// /bypass reads the session, arms the clock and writes around the
	// middleware: finishing the response asks the session's status.
	mux.HandleFunc("/bypass", func(w http.ResponseWriter, r *http.Request) {
		_, _, _ = sess(r).Get("k")
		f.clock.on.Store(true)
		io.WriteString(r.Context().Value(outerWriterKey{}).(http.ResponseWriter), "around")
	})
	inner := m.Handler(mux)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := &writtenWriter{ResponseWriter: w}
		inner.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), outerWriterKey{}, ww)))
	})
	f.srv = httptest.NewUnstartedServer(outer)
	f.srv.Config.ErrorLog = log.New(f.log, "", 0)
	f.srv.Start()
	t.Cleanup(func() {
		// httptest.Server.Close waits for every handler to return: a
		// handler blocked on a session lock would hang the test.
		closed := make(chan struct{})
		go func() { f.srv.Close(); close(closed) }()
		ctx, cancel := context.WithTimeout(context.Background(), panicWait)
		defer cancel()
		select {
		case <-closed:
		case <-ctx.Done():
			t.Error("the server did not close: a handler is still blocked")
		}
	})
	// A connection per request: the transport never retries a request
	// on a connection the panic closed.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	f.client = &http.Client{Transport: tr}
	return f
}

// send sends GET path with cookies; it never waits longer than panicWait.
func (f *panicFixture) send(t *testing.T, path string, cookies []*http.Cookie) (string, []*http.Cookie, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), panicWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status + ": " + string(body))
	}
	return string(body), resp.Cookies(), err
}

// login returns the cookies of a session of alice holding k=v.
func (f *panicFixture) login(t *testing.T) []*http.Cookie {
	t.Helper()
	_, cookies, err := f.send(t, "/login", nil)
	if err != nil || len(cookies) == 0 {
		t.Fatalf("login: %v %v", cookies, err)
	}
	return cookies
}

// panics sends path with cookies and checks that the request failed
// because its handler panicked with want, which the server logged (or, for
// http.ErrAbortHandler, did not), not because it hung.
func (f *panicFixture) panics(t *testing.T, path string, cookies []*http.Cookie, want string) {
	t.Helper()
	body, _, err := f.send(t, path, cookies)
	switch {
	case err == nil:
		t.Fatalf("%s: answered %q; want the connection dropped by a panic", path, body)
	case errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("%s: no answer within %v: the panic left the session locked (%v)", path, panicWait, err)
	}
	if want == "" {
		return
	}
	waitUntil(t, func() bool { return strings.Contains(f.log.String(), want) }, func() string {
		return "server log has no " + want + ": " + f.log.String()
	})
	if l := f.log.String(); !strings.Contains(l, "http: panic serving") {
		t.Fatalf("server log: %s", l)
	}
}

// works checks that the manager still serves the session in cookies.
func (f *panicFixture) works(t *testing.T, cookies []*http.Cookie, want string) {
	t.Helper()
	if body, _, err := f.send(t, "/get", cookies); err != nil || body != want {
		t.Fatalf("following request: %q, %v; want %q", body, err, want)
	}
}

// waitUntil waits, at most panicWait, for cond to hold.
func waitUntil(t *testing.T, cond func() bool, msg func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), panicWait)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal(msg())
		case <-tick.C:
		}
	}
}

// noBlockedSession checks that no goroutine is, or stays, blocked on a
// mutex inside the middleware (a session lock a panic left held).
func noBlockedSession(t *testing.T) {
	t.Helper()
	var blocked string
	waitUntil(t, func() bool {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		blocked = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "[sync.Mutex.Lock") && strings.Contains(g, "cookieseal/middleware.") {
				blocked = g
				return false
			}
		}
		return true
	}, func() string { return "goroutine blocked on a session lock:\n" + blocked })
}

func TestPanicUnderSessionLock(t *testing.T) {
	cases := []struct {
		name   string
		path   string
		arm    func(f *panicFixture) *panicSwitch // nil: the handler arms it
		legacy bool                               // send a legacy cookie, not the login's
		want   string                             // the panic value in the log
		after  string                             // the value k holds afterwards
	}{
		{name: "Revoker.Check/load", path: "/get", arm: func(f *panicFixture) *panicSwitch { return &f.rev.check }, want: "test panic in Check", after: "v"},
		{name: "Revoker.RevokeSession/Renew", path: "/renew", arm: func(f *panicFixture) *panicSwitch { return &f.rev.session }, want: "test panic in RevokeSession", after: "v"},
		{name: "Revoker.RevokeSession/Destroy", path: "/destroy", arm: func(f *panicFixture) *panicSwitch { return &f.rev.session }, want: "test panic in RevokeSession", after: "v"},
		{name: "Revoker.RevokeSubject/RevokeOthers", path: "/revoke-others", arm: func(f *panicFixture) *panicSwitch { return &f.rev.subject }, want: "test panic in RevokeSubject", after: "v"},
		{name: "LegacyDecoder.DecodeSession/load", path: "/get", legacy: true, arm: func(f *panicFixture) *panicSwitch { return &f.legacy.panicSwitch }, want: "test panic in DecodeSession", after: "x"},
		{name: "keyring.Provider.Keyring/load", path: "/get", arm: func(f *panicFixture) *panicSwitch { return &f.keys.panicSwitch }, want: "test panic in Keyring", after: "v"},
		{name: "keyring.Provider.Keyring/save", path: "/late-keys", want: "test panic in Keyring", after: "v"},
		{name: "Options.Now/load", path: "/get", arm: func(f *panicFixture) *panicSwitch { return &f.clock }, want: "test panic in Now", after: "v"},
		{name: "Options.Now/save", path: "/late-clock", want: "test panic in Now", after: "v"},
		{name: "Options.Now/written around", path: "/bypass", want: "test panic in Now", after: "v"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newPanicFixture(t)
			cookies := f.login(t)
			if c.legacy {
				cookies = []*http.Cookie{{Name: "session", Value: "legacy.x"}}
			}
			if c.arm != nil {
				c.arm(f).on.Store(true)
			}
			f.panics(t, c.path, cookies, c.want)
			for _, s := range []*panicSwitch{&f.rev.check, &f.rev.session, &f.rev.subject, &f.keys.panicSwitch, &f.clock, &f.legacy.panicSwitch} {
				s.on.Store(false)
			}
			f.works(t, cookies, c.after)
			noBlockedSession(t)
		})
	}
}

// http.ErrAbortHandler keeps its meaning: the connection is dropped and
// nothing is logged, and the lock is released as for any panic.
func TestAbortHandlerUnderSessionLock(t *testing.T) {
	f := newPanicFixture(t)
	cookies := f.login(t)
	f.rev.check.val = http.ErrAbortHandler
	f.rev.check.on.Store(true)
	f.panics(t, "/get", cookies, "")
	f.rev.check.on.Store(false)
	f.works(t, cookies, "v")
	noBlockedSession(t)
	if l := f.log.String(); l != "" {
		t.Fatalf("server logged an ErrAbortHandler: %s", l)
	}
}

// A LoadHeader session whose Commit panics (the clock) is done: the panic
// reaches the caller, every later call answers ErrDone without waiting on
// the lock, and the manager goes on.
func TestCommitPanicReleasesSession(t *testing.T) {
	clk := newClock()
	var sw panicSwitch
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: func() time.Time {
		sw.check("Now")
		return clk.Now()
	}}})
	s, err := m.LoadHeader(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	sw.on.Store(true)
	func() {
		defer func() {
			if r := recover(); r != "test panic in Now" {
				t.Fatalf("Commit: recovered %v; want the clock's panic", r)
			}
		}()
		s.Commit()
		t.Fatal("Commit returned; want the clock's panic")
	}()
	sw.on.Store(false)
	done := make(chan [2]error, 1)
	go func() {
		_, _, gerr := s.Get("k")
		_, cerr := s.Commit()
		done <- [2]error{gerr, cerr}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), panicWait)
	defer cancel()
	select {
	case errs := <-done:
		if !errors.Is(errs[0], middleware.ErrDone) || !errors.Is(errs[1], middleware.ErrDone) {
			t.Fatalf("after the panic: Get %v, Commit %v; want ErrDone", errs[0], errs[1])
		}
	case <-ctx.Done():
		t.Fatal("the session stayed locked after Commit panicked")
	}
	s2, _ := m.LoadHeader(context.Background(), "example.com")
	if err := s2.Set("k", "w"); err != nil {
		t.Fatal(err)
	}
	if h, err := s2.Commit(); err != nil || len(h["Set-Cookie"]) != 1 {
		t.Fatalf("next session: %v %v", h, err)
	}
	noBlockedSession(t)
}

// Commit runs once: of N concurrent Commits one succeeds and the others
// answer ErrDone, as does a later one; the state goes back to the pool
// once, so two later sessions never share it.
func TestCommitOnce(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	ctx := context.Background()
	const n = 8
	for i := range 200 {
		s, err := m.LoadHeader(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Set("k", "v"); err != nil {
			t.Fatal(err)
		}
		begin := make(chan struct{})
		type result struct {
			h   http.Header
			err error
		}
		results := make(chan result, n)
		for range n {
			go func() {
				<-begin
				h, err := s.Commit()
				results <- result{h, err}
			}()
		}
		close(begin)
		ok := 0
		for range n {
			r := <-results
			switch {
			case r.err == nil:
				ok++
				if len(r.h["Set-Cookie"]) != 1 {
					t.Fatalf("round %d: the successful Commit's header %v", i, r.h)
				}
			case !errors.Is(r.err, middleware.ErrDone):
				t.Fatalf("round %d: Commit: %v; want nil or ErrDone", i, r.err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of %d concurrent Commits succeeded; want 1", i, ok, n)
		}
		if _, err := s.Commit(); !errors.Is(err, middleware.ErrDone) {
			t.Fatalf("round %d: Commit after Commit: %v; want ErrDone", i, err)
		}
		a, _ := m.LoadHeader(ctx, "a.example.com")
		b, _ := m.LoadHeader(ctx, "b.example.com")
		if a.Set("k", "a") != nil || b.Set("k", "b") != nil {
			t.Fatalf("round %d: Set failed", i)
		}
		va, _, _ := middleware.Get[string](a, "k")
		vb, _, _ := middleware.Get[string](b, "k")
		if va != "a" || vb != "b" {
			t.Fatalf("round %d: two new sessions share state: a holds %q, b holds %q", i, va, vb)
		}
		if _, err := a.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}
