package middleware_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// realDo sends one request to a real server and returns the status, body
// and Set-Cookie lines parsed.
func realDo(t *testing.T, srv *httptest.Server, target string, j jar) (string, map[string]*http.Cookie) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range j.List() {
		req.AddCookie(c)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", target, resp.StatusCode)
	}
	set := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		set[c.Name] = c
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c
		}
	}
	return string(body), set
}

// The rules again, through a real http.Server on 127.0.0.1 over TLS:
// expiry with an injected clock, refresh, chunks, rotation re-seal, renew,
// bad cookies and destroy.
func TestRealServerRules(t *testing.T) {
	clk := newClock()
	k1, _ := keyring.GenerateKey(keyring.StatusPrimary, clk.Now())
	k2, _ := keyring.GenerateKey(keyring.StatusDecryptOnly, clk.Now())
	keys := &swapKeys{kr: mustKeyring(t, keyring.Set{Keys: []keyring.Key{k1, k2}})}
	m := newManager(t, keys, middleware.Options{Codec: cookie.Options{Now: clk.Now, IdleTimeout: time.Hour, AbsoluteTimeout: 3 * time.Hour}, RefreshAfter: 15 * time.Minute, MaxChunks: 3})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(m.Handler(app(t)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	defer srv.Close()

	j := jar{}
	if _, set := realDo(t, srv, "/set?k=v", j); set["session"] == nil || !set["session"].Secure {
		t.Fatalf("login cookie %v", set)
	}
	id := func() string { b, _ := realDo(t, srv, "/id", j); return b }
	first := id()

	// No refresh before RefreshAfter, a refresh after it.
	clk.Advance(10 * time.Minute)
	if body, set := realDo(t, srv, "/get?k=k", j); body != "v" || len(set) != 0 {
		t.Fatalf("early read: %q %v", body, set)
	}
	clk.Advance(5 * time.Minute)
	if body, set := realDo(t, srv, "/get?k=k", j); body != "v" || set["session"] == nil || set["session"].MaxAge != 3600 {
		t.Fatalf("refresh: %q %v", body, set)
	}

	// Chunks: grow past one cookie and read it back.
	big := strings.Repeat("0123456789abcdef", 300)
	if _, set := realDo(t, srv, "/set?k="+big, j); set["session.0"] == nil || set["session.1"] == nil {
		t.Fatalf("chunks: %v", set)
	}
	if body, _ := realDo(t, srv, "/get?k=k", j); body != big {
		t.Fatalf("chunked read: %d bytes", len(body))
	}
	realDo(t, srv, "/set?k=v", j)
	if len(j) != 1 {
		t.Fatalf("after shrinking: %v", j)
	}

	// Rotation: k2 becomes primary, the next read re-seals under it.
	k1.Status, k2.Status = keyring.StatusDecryptOnly, keyring.StatusPrimary
	keys.Set(mustKeyring(t, keyring.Set{Keys: []keyring.Key{k1, k2}}))
	if body, set := realDo(t, srv, "/get?k=k", j); body != "v" || set["session"] == nil {
		t.Fatalf("rotation: %q %v", body, set)
	}
	if body, set := realDo(t, srv, "/get?k=k", j); body != "v" || len(set) != 0 {
		t.Fatalf("after re-seal: %q %v", body, set)
	}

	// Renew: new id, data kept.
	if renewed, _ := realDo(t, srv, "/renew", j); renewed == first || id() != renewed {
		t.Fatal("renew did not change the id")
	}

	// Idle timeout: gone, the cookie left as it is.
	clk.Advance(time.Hour + time.Minute)
	if body, set := realDo(t, srv, "/get?k=k", j); body != "-" || len(set) != 0 {
		t.Fatalf("idle expiry: %q %v", body, set)
	}

	// A garbage cookie: no session, cleared, 200.
	j["session"] = &http.Cookie{Name: "session", Value: "garbage"}
	if body, set := realDo(t, srv, "/get?k=k", j); body != "-" || set["session"] == nil || set["session"].MaxAge != -1 {
		t.Fatalf("garbage: %q %v", body, set)
	}

	// Destroy clears.
	realDo(t, srv, "/set?k=v", j)
	realDo(t, srv, "/destroy", j)
	if len(j) != 0 {
		t.Fatalf("after destroy: %v", j)
	}
}
