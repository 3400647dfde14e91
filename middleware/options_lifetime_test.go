package middleware_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

func keyringRecording(t *testing.T, l keyring.Lifetime) *keyring.Keyring {
	t.Helper()
	k, err := keyring.NewKey(1, keyring.StatusPrimary, bytes.Repeat([]byte{1}, keyring.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(keyring.Set{Keys: []keyring.Key{k}, Lifetime: l})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestManagerReadsRecordedLifetime: a manager whose Options leave the
// timeouts and skew zero uses the ones its key set records: the cookie's
// Max-Age is the recorded idle timeout, the session opens up to idle +
// skew after its refresh and not a millisecond later, and the absolute
// deadline is the recorded one.
func TestManagerReadsRecordedLifetime(t *testing.T) {
	rec := keyring.Lifetime{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: 20 * time.Minute, ClockSkew: 5 * time.Second}
	kr := keyringRecording(t, rec)
	for _, tc := range []struct {
		name  string
		after time.Duration // idle, from the login
		want  string
	}{
		{"last instant of the recorded idle timeout", 10*time.Minute + 5*time.Second, "v"},
		{"just past it", 10*time.Minute + 5*time.Second + time.Millisecond, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now}})
			h := m.Handler(app(t))
			w := do(t, h, "GET", "/set?k=v")
			c := setCookies(w)["session"]
			if c == nil || c.MaxAge != 600 {
				t.Fatalf("login cookie %v, want Max-Age 600 (the recorded idle timeout)", c)
			}
			clk.Advance(tc.after)
			if got := do(t, h, "GET", "/get?k=k", c).Body.String(); got != tc.want {
				t.Fatalf("GET /get after %v = %q, want %q", tc.after, got, tc.want)
			}
		})
	}
	// Kept alive by a request every 9 minutes, the session still ends at
	// the recorded absolute timeout + skew.
	clk := newClock()
	m := newManager(t, kr, middleware.Options{Codec: cookie.Options{Now: clk.Now}, RefreshAfter: time.Nanosecond})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?k=v"))
	for range 2 {
		clk.Advance(9 * time.Minute)
		w := do(t, h, "GET", "/get?k=k", j.List()...)
		if w.Body.String() != "v" {
			t.Fatalf("session ended early, at %v", clk.Now())
		}
		j.Update(w)
	}
	clk.Advance(2*time.Minute + 5*time.Second + time.Millisecond) // 20m5.001s after login
	if got := do(t, h, "GET", "/get?k=k", j.List()...).Body.String(); got != "-" {
		t.Fatalf("session opened past the recorded absolute timeout + skew: %q", got)
	}
}

// TestNewRefusesLongerThanRecorded: an explicit AbsoluteTimeout or
// ClockSkew longer than the key set records is refused at New with an
// error naming both values; shorter or equal ones are accepted, and so
// is any value on a key set that records none.
func TestNewRefusesLongerThanRecorded(t *testing.T) {
	kr := keyringRecording(t, keyring.Lifetime{AbsoluteTimeout: 7 * 24 * time.Hour, ClockSkew: 10 * time.Second})
	for _, tc := range []struct {
		name string
		opts middleware.Options
		want []string
	}{
		{"longer absolute", middleware.Options{Codec: cookie.Options{AbsoluteTimeout: 30 * 24 * time.Hour}}, []string{"AbsoluteTimeout 720h0m0s", "absolute_timeout 168h0m0s", "keys policy set -absolute-timeout 720h0m0s"}},
		{"one second longer absolute", middleware.Options{Codec: cookie.Options{AbsoluteTimeout: 7*24*time.Hour + time.Second}}, []string{"168h0m1s", "168h0m0s"}},
		{"longer skew", middleware.Options{Codec: cookie.Options{ClockSkew: 30 * time.Second}}, []string{"ClockSkew 30s", "clock_skew 10s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.InsecureNoHostPrefix = true
			_, err := middleware.New(kr, "session", tc.opts)
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	for _, opts := range []middleware.Options{
		{Codec: cookie.Options{AbsoluteTimeout: 7 * 24 * time.Hour, ClockSkew: 10 * time.Second}},
		{Codec: cookie.Options{AbsoluteTimeout: 24 * time.Hour, ClockSkew: time.Second}},
		{},
	} {
		opts.InsecureNoHostPrefix = true
		if _, err := middleware.New(kr, "session", opts); err != nil {
			t.Errorf("%+v: %v", opts, err)
		}
	}
	if _, err := middleware.New(testKeyring(t), "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{AbsoluteTimeout: 30 * 24 * time.Hour, ClockSkew: time.Minute}}); err != nil {
		t.Fatalf("a key set that records no lifetime: %v", err)
	}
}
