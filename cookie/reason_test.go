package cookie

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// TestReasonOfEveryRejection: each way a value is refused carries its own
// reason, in both formats, and the sentinel still matches.
func TestReasonOfEveryRejection(t *testing.T) {
	formats := []struct {
		name string
		new  func(t testing.TB, kr keyring.Provider, purpose string, clk *clock) *Codec
	}{
		{"native", func(t testing.TB, kr keyring.Provider, p string, clk *clock) *Codec { return newCodec(t, kr, p, clk) }},
		{"jwe", func(t testing.TB, kr keyring.Provider, p string, clk *clock) *Codec { return newJWE(t, kr, p, clk) }},
	}
	type tc struct {
		name     string
		reason   Reason
		sentinel error
		// value returns the value to open, sealed with seal at times it
		// sets on clk; open is then called at the clock it leaves.
		value func(t *testing.T, mk func(kr keyring.Provider, p string) *Codec, clk *clock) (*Codec, string)
	}
	seal := func(t *testing.T, s *Codec, iat time.Time) string {
		t.Helper()
		v, err := s.Seal([]byte(`{"a":1}`), iat)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []tc{
		{"malformed", ReasonMalformed, ErrInvalid, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			return mk(testKeyring(t), "s"), "not-a-value"
		}},
		{"tampered", ReasonTampered, ErrInvalid, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			s := mk(testKeyring(t), "s")
			v := []byte(seal(t, s, time.Time{}))
			i := len(v) - 30 // inside the ciphertext of both formats
			if v[i] == 'A' {
				v[i] = 'B'
			} else {
				v[i] = 'A'
			}
			return s, string(v)
		}},
		{"other purpose", ReasonTampered, ErrInvalid, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			kr := testKeyring(t)
			return mk(kr, "b"), seal(t, mk(kr, "a"), time.Time{})
		}},
		{"unknown key", ReasonUnknownKey, ErrInvalid, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			v := seal(t, mk(testKeyring(t, keyring.StatusDecryptOnly, keyring.StatusPrimary), "s"), time.Time{})
			return mk(testKeyring(t), "s"), v
		}},
		{"epoch out of window", ReasonEpochOutOfWindow, ErrInvalid, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			s := mk(periodKeyring(t, time.Hour), "s")
			v := seal(t, s, time.Time{})
			clk.t = clk.t.Add(10 * 24 * time.Hour)
			return s, v
		}},
		{"timestamps in the future", ReasonTimestamps, ErrInvalid, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			s := mk(testKeyring(t), "s")
			clk.t = t0.Add(time.Hour)
			v := seal(t, s, time.Time{})
			clk.t = t0
			return s, v
		}},
		{"idle expiry", ReasonIdleExpired, ErrExpired, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			s := mk(testKeyring(t), "s")
			v := seal(t, s, time.Time{})
			clk.t = t0.Add(2 * time.Hour)
			return s, v
		}},
		{"absolute expiry", ReasonAbsoluteExpired, ErrExpired, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			s := mk(testKeyring(t), "s")
			clk.t = t0.Add(23*time.Hour + 30*time.Minute)
			v := seal(t, s, t0) // refreshed late, issued at t0
			clk.t = t0.Add(24*time.Hour + 10*time.Second)
			return s, v
		}},
		{"too large", ReasonTooLarge, ErrTooLarge, func(t *testing.T, mk func(keyring.Provider, string) *Codec, clk *clock) (*Codec, string) {
			return mk(testKeyring(t), "s"), strings.Repeat("A", DefaultMaxValueSize+1)
		}},
	}
	// Every value is opened by a codec sealing in its own format and by
	// one sealing in the other: the reason is the value's, not the
	// opener's.
	for _, f := range formats {
		for _, of := range bothFormats {
			for _, c := range cases {
				t.Run(f.name+"/opened by "+of.String()+"/"+c.name, func(t *testing.T) {
					clk := &clock{t0}
					mk := func(kr keyring.Provider, p string) *Codec { return f.new(t, kr, p, clk) }
					s, v := c.value(t, mk, clk)
					_, _, err := withFormat(t, s, of).Open(v)
					if !errors.Is(err, c.sentinel) {
						t.Fatalf("err %v does not match %v", err, c.sentinel)
					}
					if got := ReasonOf(err); got != c.reason {
						t.Fatalf("ReasonOf(%v) = %v, want %v", err, got, c.reason)
					}
					// The reason survives wrapping.
					if got := ReasonOf(fmt.Errorf("outer: %w", err)); got != c.reason {
						t.Fatalf("wrapped: %v, want %v", got, c.reason)
					}
				})
			}
		}
	}
}

// TestReasonBadVersion: a native value with another version byte is a
// bad version for a codec of either format, whatever character the byte
// puts first (the format is told by the first character and the dots).
func TestReasonBadVersion(t *testing.T) {
	c := newCodec(t, testKeyring(t), "s", &clock{t0})
	v := mustSeal(t, c, `{}`)
	raw, err := b64.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []byte{0, 2, 3, 4, 0x30, 0x7b, 0xff} {
		raw[0] = version
		for _, f := range bothFormats {
			_, _, err = withFormat(t, c, f).Open(b64.EncodeToString(raw))
			if !errors.Is(err, ErrInvalid) || ReasonOf(err) != ReasonBadVersion {
				t.Fatalf("version %#x, %v codec: err %v, reason %v", version, f, err, ReasonOf(err))
			}
		}
	}
}

// TestRejectErrorCarriesKeyAndEpoch: the header's claimed key and epoch
// are on the error, for a log line about an unknown key after a deploy.
func TestRejectErrorCarriesKeyAndEpoch(t *testing.T) {
	clk := &clock{t0}
	v := mustSeal(t, newCodec(t, testKeyring(t, keyring.StatusDecryptOnly, keyring.StatusPrimary), "s", clk), `{}`)
	_, _, err := newCodec(t, testKeyring(t), "s", clk).Open(v)
	var re *RejectError
	if !errors.As(err, &re) || re.Reason != ReasonUnknownKey || re.KeyID != 2 {
		t.Fatalf("err %#v", err)
	}
}

func TestReasonOfSentinelsAndNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Reason
	}{
		{"nil", nil, ReasonNone},
		{"other", errors.New("x"), ReasonNone},
		{"bare invalid", ErrInvalid, ReasonInvalid},
		{"bare expired", ErrExpired, ReasonExpired},
		{"bare too large", fmt.Errorf("%w: x", ErrTooLarge), ReasonTooLarge},
		{"tagged", Reject(ReasonRevoked, errors.New("r")), ReasonRevoked},
		{"outermost wins", Reject(ReasonDuplicate, fmt.Errorf("d: %w", errTampered)), ReasonDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReasonOf(tc.err); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	seen := map[string]bool{}
	for _, r := range Reasons() {
		s := r.String()
		if s == "" || strings.HasPrefix(s, "reason(") || seen[s] {
			t.Fatalf("reason %d has name %q (empty, unnamed or repeated)", r, s)
		}
		seen[s] = true
	}
	if s := Reason(200).String(); s != "reason(200)" {
		t.Fatal(s)
	}
}

// TestRejectAllocatesNothing: refusing a tampered or expired value costs
// no allocation for the error.
func TestRejectAllocatesNothing(t *testing.T) {
	clk := &clock{t0}
	c := newCodec(t, testKeyring(t), "s", clk)
	v := mustSeal(t, c, `{"a":1}`)
	clk.t = t0.Add(2 * time.Hour)
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { _, _, _ = c.AppendOpen(buf, v) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
