package middleware_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/middleware"
)

// Set-Cookie goes out before the first byte, whichever call starts the
// response.
func TestCookieBeforeFirstByte(t *testing.T) {
	tests := []struct {
		name  string
		start func(w http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) { w.Write([]byte("x")) }},
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }},
		{"Flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }},
		{"ResponseController.Flush", func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
		}},
		{"ReadFrom", func(w http.ResponseWriter) { w.(io.ReaderFrom).ReadFrom(strings.NewReader("x")) }},
		{"io.Copy", func(w http.ResponseWriter) { io.Copy(w, strings.NewReader("x")) }},
		{"return", func(w http.ResponseWriter) {}},
	}
	m := newManager(t, testKeyring(t), middleware.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			var snapshot http.Header // the headers as of the first byte
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				s.Set("a", 1)
				tt.start(w)
				// Changes after the start are refused.
				if tt.name != "return" {
					snapshot = rec.Result().Header.Clone()
					if err := s.Set("b", 2); !errors.Is(err, middleware.ErrResponseStarted) {
						t.Errorf("Set after start = %v", err)
					}
				}
			}))
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if tt.name != "return" && len(snapshot.Values("Set-Cookie")) != 1 {
				t.Fatalf("headers at first byte: %v", snapshot)
			}
			if n := len(rec.Result().Header.Values("Set-Cookie")); n != 1 {
				t.Fatalf("%d Set-Cookie lines", n)
			}
		})
	}
}

// An informational 103 does not commit the session.
func TestInformationalHeaderDoesNotCommit(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		s, _ := middleware.From(r)
		if err := s.Set("a", 1); err != nil {
			t.Errorf("Set after 103: %v", err)
		}
		w.Write([]byte("ok"))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
		t.Fatalf("status %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
}

// http.ResponseController features reach the real connection through the
// wrapper on a real server: deadlines, full duplex, hijacking.
func TestResponseControllerThroughWrapper(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("/deadline", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetReadDeadline: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex: %v", err)
		}
		s, _ := middleware.From(r)
		s.Set("a", 1)
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("a", 1)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		if err := s.Set("b", 2); !errors.Is(err, middleware.ErrResponseStarted) {
			t.Errorf("Set after Hijack = %v", err)
		}
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/deadline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 1 {
		t.Fatalf("deadline: cookies %v", resp.Cookies())
	}

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n"))
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hijacked" {
		t.Fatalf("hijacked body %q", body)
	}
}

// Streaming on a real server: the cookie arrives with the headers of a
// flushed response whose body is still being written.
func TestFlushStreamsCookie(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	release := make(chan struct{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("a", 1)
		w.Write([]byte("first"))
		http.NewResponseController(w).Flush()
		<-release
		w.Write([]byte("second"))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(resp.Cookies()) != 1 {
		t.Fatalf("cookies at first flush: %v", resp.Cookies())
	}
	close(release)
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "firstsecond" {
		t.Fatalf("body %q", body)
	}
}

// ReadFrom keeps the underlying writer's fast path (here: the recorder has
// none, so io.Copy; the real server's is exercised by TestFlush…).
func TestReadFromLargeBody(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	data := bytes.Repeat([]byte("abc"), 100000)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("a", 1)
		n, err := w.(io.ReaderFrom).ReadFrom(bytes.NewReader(data))
		if err != nil || n != int64(len(data)) {
			t.Errorf("ReadFrom = %d, %v", n, err)
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !bytes.Equal(body, data) || len(resp.Cookies()) != 1 {
		t.Fatalf("%d bytes, cookies %v", len(body), resp.Cookies())
	}
}

// A session that cannot be saved goes to the ErrorHandler, whose default
// answers 500; the handler's own output is dropped.
func TestSaveFailure(t *testing.T) {
	huge := strings.Repeat("x", 5000)
	handler := func(t *testing.T) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.From(r)
			s.Set("big", huge)
			w.WriteHeader(http.StatusOK)
			if _, err := w.Write([]byte("handler body")); err == nil {
				t.Error("Write after a failed save succeeded")
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{})
		w := do(t, m.Handler(handler(t)), "GET", "/")
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "handler body") || len(w.Result().Cookies()) != 0 {
			t.Fatalf("%d %q %v", w.Code, w.Body.String(), w.Result().Cookies())
		}
	})
	t.Run("custom", func(t *testing.T) {
		var got error
		m := newManager(t, testKeyring(t), middleware.Options{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}})
		w := do(t, m.Handler(handler(t)), "GET", "/")
		if w.Code != http.StatusRequestEntityTooLarge || w.Body.Len() != 0 {
			t.Fatalf("%d %q", w.Code, w.Body.String())
		}
		if got == nil || !strings.Contains(got.Error(), "too large") {
			t.Fatalf("ErrorHandler told %v", got)
		}
	})
}
