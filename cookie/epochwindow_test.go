package cookie

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// periodKeyring is testKeyring's two keys with epoch keys of period p.
func periodKeyring(t *testing.T, p time.Duration) *keyring.Keyring {
	t.Helper()
	set := testKeyring(t, keyring.StatusPrimary, keyring.StatusDecryptOnly).Set()
	set.EpochPeriod = p
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestEpochWindowBoundedAtConstruction: a configuration whose epoch window
// ((AbsoluteTimeout + 3×ClockSkew) / period, plus the partial epochs at
// either end) exceeds keyring.MaxEpochWindow is refused by both formats,
// so forged values cannot name more epochs than the keyring caches.
func TestEpochWindowBoundedAtConstruction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		period time.Duration
		abs    time.Duration
		ok     bool
	}{
		{"no epochs, 400 days", 0, keyring.MaxTimeout, true},
		{"1m epochs, default 7 days (10,082 epochs)", time.Minute, 0, false},
		{"1m epochs, 16h", time.Minute, 16 * time.Hour, true},
		{"1m epochs, at the bound", time.Minute, (keyring.MaxEpochWindow-2)*time.Minute - 3*keyring.DefaultClockSkew, true},
		{"1m epochs, just past the bound", time.Minute, (keyring.MaxEpochWindow-1)*time.Minute - 3*keyring.DefaultClockSkew, false},
		{"10m epochs, default 7 days", 10 * time.Minute, 0, true},
		{"9m epochs, default 7 days", 9 * time.Minute, 0, false},
		{"1h epochs, 400 days", time.Hour, keyring.MaxTimeout, false},
		{"24h epochs, 400 days", 24 * time.Hour, keyring.MaxTimeout, true},
	} {
		for _, f := range skewFormats {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				_, err := f.new(periodKeyring(t, tc.period), Options{AbsoluteTimeout: tc.abs, IdleTimeout: time.Hour})
				if tc.ok && err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !tc.ok && (err == nil || !strings.Contains(err.Error(), "epoch period")) {
					t.Fatalf("New = %v, want a refusal naming the epoch period", err)
				}
			})
		}
	}
}

// TestEpochWindowAfterReload: a keyring reloaded with a shorter period
// (rotate.Holder can do that under a running codec) makes the window
// longer than the cache; Open then keeps the newest MaxEpochWindow
// epochs and refuses older ones before deriving any key, in both formats.
func TestEpochWindowAfterReload(t *testing.T) {
	now := t0.Add(30 * time.Second) // mid-minute, so the skew does not cross an epoch
	for _, f := range skewFormats {
		for _, tc := range []struct {
			name string
			age  time.Duration // how long before now the value was sealed
			ok   bool
		}{
			{"current epoch", 0, true},
			{"oldest kept epoch", (keyring.MaxEpochWindow - 1) * time.Minute, true},
			{"one epoch older", keyring.MaxEpochWindow * time.Minute, false},
			{"a day older", 24 * time.Hour, false},
		} {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				keys := &swapProvider{}
				keys.kr.Store(periodKeyring(t, time.Hour))
				opts := Options{IdleTimeout: 2 * 24 * time.Hour, AbsoluteTimeout: 7 * 24 * time.Hour, ClockSkew: time.Second}
				clk := &clock{now}
				opts.Now = clk.now
				reader, err := f.new(keys, opts)
				if err != nil {
					t.Fatal(err)
				}
				keys.kr.Store(periodKeyring(t, time.Minute)) // the reload
				// The writer only seals: a short AbsoluteTimeout lets it be
				// built on the 1-minute keyring.
				wclk := &clock{now.Add(-tc.age)}
				wopts := opts
				wopts.Now, wopts.AbsoluteTimeout = wclk.now, time.Hour
				writer, err := f.new(periodKeyring(t, time.Minute), wopts)
				if err != nil {
					t.Fatal(err)
				}
				v, err := writer.Seal([]byte("p"), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = reader.Open(v)
				if tc.ok && err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !tc.ok && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "epoch")) {
					t.Fatalf("Open = %v, want ErrInvalid from the epoch window", err)
				}
			})
		}
	}
}
