package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/revoke"
)

// countingRevoker is an in-memory revocation list that counts entries
// and can be taken down.
type countingRevoker struct {
	*revoke.Memory
	entries atomic.Int64
	down    atomic.Bool
}

var errDown = errors.New("store down")

func (c *countingRevoker) Check(ctx context.Context, s revoke.SessionRef) error {
	if c.down.Load() {
		return errDown
	}
	return c.Memory.Check(ctx, s)
}

func (c *countingRevoker) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	if c.down.Load() {
		return errDown
	}
	c.entries.Add(1)
	return c.Memory.RevokeSession(ctx, id, subject, until)
}

func (c *countingRevoker) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if c.down.Load() {
		return errDown
	}
	c.entries.Add(1)
	return c.Memory.RevokeSubject(ctx, subject, before, until)
}

func newTestApp(t *testing.T) (*httptest.Server, *countingRevoker) {
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	rv := &countingRevoker{Memory: revoke.NewMemory(revoke.MemoryOptions{})}
	h, err := newApp(appConfig{keys: kr, secure: true, revoker: rv})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv, rv
}

// A client that never follows redirects piles up flashes: the 89th wrong
// password and the 120th unauthenticated dashboard used to answer 500,
// and every request after. Now the oldest flashes go.
func TestRepeatedFlashesNever500(t *testing.T) {
	srv, _ := newTestApp(t)
	c := newClient(t, srv)
	for i := range 200 {
		code, loc, body, _ := c.post("/login", url.Values{"user": {"alice"}, "password": {"nope"}})
		if code != http.StatusSeeOther || loc != "/login" {
			t.Fatalf("wrong password #%d: %d %q", i+1, code, body)
		}
	}
	for i := range 200 {
		code, loc, body, _ := c.get("/dashboard")
		if code != http.StatusSeeOther || loc != "/login" {
			t.Fatalf("unauthenticated dashboard #%d: %d %q", i+1, code, body)
		}
	}
	if n := len(c.cookieValue(srv).Value); n > 3800 {
		t.Fatalf("%d-byte cookie", n)
	}
	// The newest flashes are still there; the client can log in.
	if _, _, body, _ := c.get("/login"); !strings.Contains(body, "Please log in first.") {
		t.Fatal("newest flash dropped")
	}
	c.post("/login", url.Values{"user": {"alice"}, "password": {demoPassword}})
	if code, _, body, _ := c.get("/dashboard"); code != http.StatusOK || !strings.Contains(body, "alice") {
		t.Fatalf("login after the flood: %d", code)
	}
}

// Logging out without logging in, again and again, grows no revocation
// list: an anonymous session grants nothing and gets no entry.
func TestAnonymousLogoutIsFree(t *testing.T) {
	srv, rv := newTestApp(t)
	for range 100 {
		c := newClient(t, srv)
		c.get("/dashboard") // the anonymous flash session every visitor gets
		if code, _, _, _ := c.post("/logout", nil); code != http.StatusSeeOther {
			t.Fatalf("logout: %d", code)
		}
	}
	if n := rv.entries.Load(); n != 0 {
		t.Fatalf("%d revocation entries from anonymous logouts", n)
	}
}

// During a revocation-store outage the dashboard says "try again", never
// touches the cookie, and the user is back when the store is.
func TestOutageKeepsTheUserLoggedIn(t *testing.T) {
	srv, rv := newTestApp(t)
	c := newClient(t, srv)
	c.post("/login", url.Values{"user": {"alice"}, "password": {demoPassword}})
	if code, _, _, _ := c.get("/dashboard"); code != http.StatusOK {
		t.Fatalf("dashboard: %d", code)
	}
	rv.down.Store(true)
	for range 3 {
		code, _, _, set := c.get("/dashboard")
		if code != http.StatusServiceUnavailable || len(set) != 0 {
			t.Fatalf("dashboard during the outage: %d, Set-Cookie %q", code, set)
		}
	}
	rv.down.Store(false)
	if code, _, body, _ := c.get("/dashboard"); code != http.StatusOK || !strings.Contains(body, "alice") {
		t.Fatalf("after the outage: %d", code)
	}
}
