package middleware_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// upgrade is a minimal protocol upgrade done by hand, as
// gorilla/websocket's Upgrade(w, r, w.Header()) does it: hijack first,
// then write a 101 with the response header it was given (read after the
// hijack), then speak on the raw connection.
func upgrade(w http.ResponseWriter, responseHeader http.Header) (net.Conn, error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n")
	for k, vs := range responseHeader {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	brw.WriteString(b.String())
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// dialUpgrade sends an upgrade request for target with cookies on a raw
// connection and returns the response and what the server wrote after it.
func dialUpgrade(t *testing.T, addr, target string, cookies []*http.Cookie) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest("GET", "http://"+addr+target, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	var rest []byte
	if resp.StatusCode == http.StatusSwitchingProtocols {
		rest, _ = io.ReadAll(br)
	} else {
		rest, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	return resp, string(rest)
}

// A session changed before a hijack (a WebSocket upgrade) is saved: the
// cookie is in the header handed to the hijacker, so a 101 written with
// it (gorilla/websocket's Upgrade(w, r, w.Header())) carries Set-Cookie,
// and the next request carries the session. After the hijack the session
// is frozen and still readable. A change that cannot be saved fails the
// hijack instead: the ErrorHandler answers, the Observer hears
// EventSaveFailed, and no 101 goes out without it.
func TestHijackSavesSession(t *testing.T) {
	var mu sync.Mutex
	var failed []error
	m := newManager(t, testKeyring(t), middleware.Options{
		InsecureAllowHTTP: true,
		Observer: observeKind(middleware.EventSaveFailed, func(err error) {
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		}),
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		n := 1
		if r.URL.Query().Get("big") != "" {
			n = 10000 // past the cookie budget: cannot be saved
		}
		if err := s.Set("user", strings.Repeat("a", n)); err != nil {
			t.Errorf("Set: %v", err)
		}
		conn, err := upgrade(w, w.Header())
		if r.URL.Query().Get("big") != "" {
			if err == nil {
				conn.Close()
				t.Errorf("hijack of an unsavable session succeeded")
			}
			return
		}
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		if got := s.Status(); got != middleware.Modified {
			t.Errorf("Status after the hijack = %v, want Modified (written into the 101)", got)
		}
		if err := s.Set("later", 1); !errors.Is(err, middleware.ErrResponseStarted) {
			t.Errorf("Set after the hijack = %v", err)
		}
		v, _, err := middleware.Get[string](s, "user")
		fmt.Fprintf(conn, "user=%s err=%v", v, err)
	})
	mux.HandleFunc("/ws-read", func(w http.ResponseWriter, r *http.Request) {
		// Upgrade first, read the session after it (the usual WebSocket
		// handler): allowed, the connection left HTTP.
		conn, err := upgrade(w, w.Header())
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		s, _ := middleware.From(r)
		v, _, err := middleware.Get[string](s, "user")
		fmt.Fprintf(conn, "user=%s err=%v", v, err)
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		v, _, _ := middleware.Get[string](s, "user")
		io.WriteString(w, v)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	resp, rest := dialUpgrade(t, addr, "/ws", nil)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("101 without the session's Set-Cookie: %v", resp.Header)
	}
	if rest != "user=a err=<nil>" {
		t.Fatalf("after the upgrade: %q", rest)
	}
	r := httptest.NewRequest("GET", "/get", nil)
	r.AddCookie(cookies[0])
	w := httptest.NewRecorder()
	m.Handler(mux).ServeHTTP(w, r)
	if w.Body.String() != "a" {
		t.Fatalf("the session written in the 101 did not come back: %q", w.Body.String())
	}

	resp, rest = dialUpgrade(t, addr, "/ws-read", cookies)
	if resp.StatusCode != http.StatusSwitchingProtocols || rest != "user=a err=<nil>" {
		t.Fatalf("read after the upgrade: %s %q", resp.Status, rest)
	}

	resp, _ = dialUpgrade(t, addr, "/ws?big=1", nil)
	if resp.StatusCode != http.StatusInternalServerError || len(resp.Cookies()) != 0 {
		t.Fatalf("unsavable session: %s %v, want the ErrorHandler's 500", resp.Status, resp.Header)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 1 || !errors.Is(failed[0], cookie.ErrTooLarge) {
		t.Fatalf("EventSaveFailed: %v", failed)
	}
}

// A Hijack the connection does not support (HTTP/2, a recorder) hands
// nothing over: the session committed for it goes out with the response
// the handler writes instead, and a session untouched before it is not
// readable after the header as if the connection had left HTTP.
func TestHijackNotSupported(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if r.URL.Path == "/set" {
			s.Set("user", "alice")
		}
		if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack on a recorder = %v", err)
		}
		w.WriteHeader(http.StatusOK)
		if r.URL.Path != "/set" {
			if _, _, err := s.Get("user"); !errors.Is(err, middleware.ErrResponseStarted) {
				t.Errorf("late read after a failed Hijack = %v", err)
			}
		}
	}))
	if cs := cookiesOf(do(t, h, "GET", "/set")); len(cs) != 1 {
		t.Fatalf("the session committed at the failed Hijack did not go out: %v", cs)
	}
	do(t, h, "GET", "/read")
}
