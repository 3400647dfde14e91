package cookie

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

func keyringWithLifetime(t *testing.T, l keyring.Lifetime) *keyring.Keyring {
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

// TestCodecReadsRecordedLifetime: a codec whose Options leave the
// timeouts and skew zero enforces the ones the key set records, to the
// millisecond; explicit shorter ones win; an AbsoluteTimeout or
// ClockSkew longer than the recorded one is refused, naming both.
func TestCodecReadsRecordedLifetime(t *testing.T) {
	const ms = time.Millisecond
	rec := keyring.Lifetime{IdleTimeout: time.Hour, AbsoluteTimeout: 3 * time.Hour, ClockSkew: 5 * time.Second}
	kr := keyringWithLifetime(t, rec)
	for _, tc := range []struct {
		name     string
		opts     Options
		issuedAt time.Duration // before t0, the seal time
		openAt   time.Duration // after t0
		want     error
	}{
		{"recorded idle, last instant", Options{}, 0, time.Hour + 5*time.Second, nil},
		{"recorded idle, just past", Options{}, 0, time.Hour + 5*time.Second + ms, ErrExpired},
		{"recorded absolute, last instant", Options{}, 2*time.Hour + 30*time.Minute, 30*time.Minute + 5*time.Second, nil},
		{"recorded absolute, just past", Options{}, 2*time.Hour + 30*time.Minute, 30*time.Minute + 5*time.Second + ms, ErrExpired},
		{"explicit shorter absolute", Options{AbsoluteTimeout: 2 * time.Hour}, 2*time.Hour - 10*time.Minute, 10*time.Minute + 5*time.Second + ms, ErrExpired},
		{"explicit longer idle", Options{IdleTimeout: 2 * time.Hour}, 0, time.Hour + time.Minute, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t0}
			opts := tc.opts
			opts.Now = clk.now
			c, err := New(kr, "s", opts)
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Seal([]byte("x"), t0.Add(-tc.issuedAt))
			if err != nil {
				t.Fatal(err)
			}
			clk.t = t0.Add(tc.openAt)
			if _, _, err := c.Open(v); tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name       string
		opts       Options
		want, have string
	}{
		{"longer absolute", Options{AbsoluteTimeout: 3*time.Hour + time.Second}, "3h0m1s", "3h0m0s"},
		{"longer skew", Options{ClockSkew: 6 * time.Second}, "6s", "5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(kr, "s", tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.have) {
				t.Fatalf("New = %v, want a refusal naming %s and %s", err, tc.want, tc.have)
			}
		})
	}
	// The recorded values themselves are accepted when given explicitly.
	if _, err := New(kr, "s", Options{IdleTimeout: time.Hour, AbsoluteTimeout: 3 * time.Hour, ClockSkew: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
}

// TestLifetimeBoundsAgree: a recorded lifetime has the bounds New puts on
// Options: keyring.MaxTimeout and keyring.MaxClockSkew.
func TestLifetimeBoundsAgree(t *testing.T) {
	k, err := keyring.NewKey(1, keyring.StatusPrimary, bytes.Repeat([]byte{1}, keyring.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		l  keyring.Lifetime
		ok bool
	}{
		{keyring.Lifetime{IdleTimeout: keyring.MaxTimeout, AbsoluteTimeout: keyring.MaxTimeout}, true},
		{keyring.Lifetime{AbsoluteTimeout: keyring.MaxTimeout + time.Second}, false},
		{keyring.Lifetime{IdleTimeout: keyring.MaxTimeout + time.Second, AbsoluteTimeout: keyring.MaxTimeout}, false},
		{keyring.Lifetime{ClockSkew: keyring.MaxClockSkew}, true},
		{keyring.Lifetime{ClockSkew: keyring.MaxClockSkew + time.Second}, false},
	} {
		err := keyring.Set{Keys: []keyring.Key{k}, Lifetime: tc.l}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: Validate = %v, want ok %v", tc.l, err, tc.ok)
		}
	}
}
