package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// cookieValue returns the session cookie the client's jar holds.
func (c *client) cookieValue(srv *httptest.Server) *http.Cookie {
	u, _ := url.Parse(srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "__Host-session" || ck.Name == "session" {
			return ck
		}
	}
	c.t.Fatal("no session cookie in the jar")
	return nil
}

// setCookie puts a copy of ck in the client's jar.
func (c *client) setCookie(srv *httptest.Server, ck *http.Cookie) {
	u, _ := url.Parse(srv.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/", Secure: u.Scheme == "https"}})
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
