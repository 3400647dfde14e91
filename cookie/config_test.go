package cookie_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// TestNewRefusalsMatchErrInvalidConfig: every refusal of New matches
// ErrInvalidConfig and reads as the rule it breaks; an accepted
// configuration is not an error.
func TestNewRefusalsMatchErrInvalidConfig(t *testing.T) {
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		keys    keyring.Provider
		purpose string
		opts    cookie.Options
		want    string
	}{
		{"no keyring", nil, "s", cookie.Options{}, "no keyring"},
		{"empty purpose", kr, "", cookie.Options{}, "empty purpose"},
		{"negative timeout", kr, "s", cookie.Options{IdleTimeout: -time.Second}, "negative"},
		{"past 400 days", kr, "s", cookie.Options{AbsoluteTimeout: keyring.MaxTimeout + time.Second}, "400 days"},
		{"clock skew", kr, "s", cookie.Options{ClockSkew: time.Hour}, "skew"},
		{"value size", kr, "s", cookie.Options{MaxValueSize: 10}, "MaxValueSize"},
		{"format", kr, "s", cookie.Options{Format: cookie.Format(200)}, "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cookie.New(tc.keys, tc.purpose, tc.opts)
			if !errors.Is(err, cookie.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "cookie: ") {
				t.Fatalf("New: %v, want ErrInvalidConfig naming %q", err, tc.want)
			}
			if errors.Is(err, cookie.ErrInvalid) {
				t.Fatalf("New: %v matches ErrInvalid, the sentinel of a bad value", err)
			}
		})
	}
	if _, err := cookie.New(kr, "s", cookie.Options{}); err != nil {
		t.Fatalf("New with the defaults: %v", err)
	}
}
