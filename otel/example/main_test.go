package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cookieseal/cookieseal/keyring"
)

// swapKeys is a keyring.Provider the test rotates.
type swapKeys struct {
	mu sync.Mutex
	kr *keyring.Keyring
}

func (p *swapKeys) Keyring() *keyring.Keyring { p.mu.Lock(); defer p.mu.Unlock(); return p.kr }
func (p *swapKeys) set(kr *keyring.Keyring)   { p.mu.Lock(); p.kr = kr; p.mu.Unlock() }

func key(t *testing.T, id uint32, st keyring.Status) keyring.Key {
	k, err := keyring.NewKey(id, st, bytes.Repeat([]byte{byte(id)}, keyring.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ring(t *testing.T, keys ...keyring.Key) *keyring.Keyring {
	kr, err := keyring.New(keyring.Set{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// series is one scraped sample: the metric name and its labels.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape GETs /metrics and parses the Prometheus text format.
func scrape(t *testing.T, c *http.Client, base string) []series {
	t.Helper()
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	var out []series
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		head := line[:i]
		s := series{labels: map[string]string{}, value: v}
		name, rest, ok := strings.Cut(head, "{")
		s.name = name
		if ok {
			for _, kv := range splitLabels(strings.TrimSuffix(rest, "}")) {
				k, v, _ := strings.Cut(kv, "=")
				s.labels[k] = strings.Trim(v, `"`)
			}
		}
		out = append(out, s)
	}
	return out
}

// splitLabels splits `a="x",b="y,z"` on the commas between labels.
func splitLabels(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			if i == 0 || s[i-1] != '\\' {
				inQuote = !inQuote
			}
		case ',':
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// value sums the samples of name whose labels include want.
func value(ss []series, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
next:
	for _, s := range ss {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		sum += s.value
		found = true
	}
	return sum, found
}

// drive runs a user's day against base: login, reads, a tampered cookie,
// a key rotation, logout, and a replay of the logged-out cookie.
func drive(t *testing.T, c *http.Client, base string, keys *swapKeys) {
	t.Helper()
	get := func(path string, want int) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	u, _ := url.Parse(base)
	get("/login?u=alice", 200)
	get("/me", 200)
	get("/me", 200)
	// Rotation: the cookie's key becomes decrypt-only; the next response
	// re-seals it under the new primary.
	keys.set(ring(t, key(t, 1, keyring.StatusDecryptOnly), key(t, 2, keyring.StatusPrimary)))
	get("/me", 200)
	good := c.Jar.Cookies(u)[0].Value
	// A tampered copy.
	b := []byte(good)
	// Another base64url letter inside the ciphertext: authentic no more, still well-formed.
	if b[len(b)-30] == 'A' {
		b[len(b)-30] = 'B'
	} else {
		b[len(b)-30] = 'A'
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: string(b), Path: "/"}})
	get("/me", 401)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: good, Path: "/"}})
	get("/logout", 200)
	// The logged-out cookie, replayed.
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: good, Path: "/"}})
	get("/me", 401)
}

// startExample serves the example app over HTTPS on a one-key key set
// until the test ends, and returns a client with a cookie jar that
// trusts it, the server's URL and the keys (to rotate).
func startExample(t *testing.T) (*http.Client, string, *swapKeys) {
	t.Helper()
	keys := &swapKeys{kr: ring(t, key(t, 1, keyring.StatusPrimary))}
	a, err := newApp(keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(a.handler)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	return c, srv.URL, keys
}

// TestScrapeOverHTTP starts the example on a real HTTPS server, drives
// requests through it, scrapes /metrics over HTTP and checks the series
// each event must have produced.
func TestScrapeOverHTTP(t *testing.T) {
	c, base, keys := startExample(t)
	drive(t, c, base, keys)
	ss := scrape(t, c, base)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
		max    float64
	}{
		{"cookieseal_session_opened_total", nil, 4, 5},
		{"cookieseal_session_rejected_total", map[string]string{"cookieseal_reason": "tampered"}, 1, 1},
		{"cookieseal_session_rejected_total", map[string]string{"cookieseal_reason": "revoked"}, 1, 1},
		{"cookieseal_session_writes_total", map[string]string{"cookieseal_write": "saved"}, 1, 1},
		{"cookieseal_session_writes_total", map[string]string{"cookieseal_write": "resealed"}, 1, 1},
		// The login's Renew finds no session to renew (a fresh visitor's
		// id is new already), so nothing counts as renewed.
		{"cookieseal_session_renewed_total", nil, 0, 0},
		{"cookieseal_session_destroyed_total", nil, 1, 1},
		{"cookieseal_key_usage_total", map[string]string{"cookieseal_key_id": "1", "cookieseal_operation": "seal"}, 1, 1},
		{"cookieseal_key_usage_total", map[string]string{"cookieseal_key_id": "2", "cookieseal_operation": "seal"}, 1, 1},
		{"cookieseal_key_usage_total", map[string]string{"cookieseal_key_id": "1", "cookieseal_operation": "open"}, 3, 3},
		{"cookieseal_revoke_check_duration_seconds_count", map[string]string{"cookieseal_outcome": "ok"}, 4, 5},
		{"cookieseal_revoke_check_duration_seconds_count", map[string]string{"cookieseal_outcome": "revoked"}, 1, 1},
		// The logout writes two entries: the Destroy tombstone a racing
		// Renew reads, and the session's revocation.
		{"cookieseal_revoke_entries", nil, 2, 2},
		{"cookieseal_revoke_entries_limit", nil, 100_000, 100_000},
		{"cookieseal_sessions_active", map[string]string{"cookieseal_window": "5m"}, 1, 1.1},
		{"cookieseal_subjects_active", map[string]string{"cookieseal_window": "1d"}, 1, 1.1},
	} {
		got, ok := value(ss, tc.name, tc.labels)
		if !ok && tc.max == 0 {
			got, ok = 0, true // a counter never incremented has no series yet
		}
		if !ok || got < tc.min || got > tc.max {
			t.Errorf("%s%v = %v (found %v), want in [%v, %v]", tc.name, tc.labels, got, ok, tc.min, tc.max)
		}
	}
	if t.Failed() {
		for _, s := range ss {
			if strings.HasPrefix(s.name, "cookieseal") {
				t.Logf("%s %v %v", s.name, s.labels, s.value)
			}
		}
	}
}

// TestRenewCounted: a second login renews the session the first one
// made, and the renewal counter shows it (the first login's Renew found
// no session and counts nothing).
func TestRenewCounted(t *testing.T) {
	c, base, _ := startExample(t)
	for i := 0; i < 2; i++ {
		resp, err := c.Get(base + "/login?u=alice")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login %d: %s", i, resp.Status)
		}
	}
	if got, ok := value(scrape(t, c, base), "cookieseal_session_renewed_total", nil); !ok || got != 1 {
		t.Fatalf("cookieseal_session_renewed_total = %v (found %v), want 1", got, ok)
	}
}
