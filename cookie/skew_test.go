package cookie

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// rotatedKeyring returns the keyring of testKeyring's key set with key 2
// promoted and key 1 demoted to decrypt-only.
func rotatedKeyring(t *testing.T, kr *keyring.Keyring) *keyring.Keyring {
	t.Helper()
	set := kr.Set()
	for i := range set.Keys {
		switch set.Keys[i].ID {
		case 1:
			set.Keys[i].Status = keyring.StatusDecryptOnly
		case 2:
			set.Keys[i].Status = keyring.StatusPrimary
		}
	}
	out, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// instance is one server of a fleet: a codec of one format with its own
// clock, offset from the fleet's true time.
type instance struct {
	name   string
	offset time.Duration
	clk    *clock
	s      *Codec
}

// skewFormats builds a codec sealing in each format for the skew tests.
var skewFormats = []struct {
	name string
	new  func(keys keyring.Provider, opts Options) (*Codec, error)
}{
	{"native", func(k keyring.Provider, o Options) (*Codec, error) { return New(k, "session", o) }},
	{"jwe", func(k keyring.Provider, o Options) (*Codec, error) { o.Format = JWE; return New(k, "session", o) }},
}

// TestFleetClockSkew is the rule "a value written by any instance opens on
// every instance whose clock is within ClockSkew of it": two instances
// whose clocks differ by up to ClockSkew either way take turns issuing,
// opening and re-sealing one session (every order of writers up to three
// writes, a key rotation in the middle or not), and after every write the
// value opens on both. Times include sub-second parts, so the JWE
// format's precision is covered too.
func TestFleetClockSkew(t *testing.T) {
	const skew = 2 * time.Second
	const ms = time.Millisecond
	// The fleet's true time, with a sub-second part.
	base := t0.Add(503 * ms)
	offsets := []time.Duration{-skew, -skew + ms, -500 * ms, -ms, 0, ms, 500 * ms, skew - ms, skew}
	// Writer orders: the first writer issues the session, each next one
	// opens it and re-seals it with the issued-at it read.
	orders := []string{"A", "B", "AB", "BA", "ABA", "BAB", "ABB", "BBA", "AAB"}
	for _, f := range skewFormats {
		for _, rotate := range []bool{false, true} {
			for _, d := range offsets {
				for _, order := range orders {
					name := fmt.Sprintf("%s/rotate=%v/B%+v/%s", f.name, rotate, d, order)
					t.Run(name, func(t *testing.T) {
						kr := testKeyring(t, keyring.StatusPrimary, keyring.StatusDecryptOnly)
						keys := &swapProvider{}
						keys.kr.Store(kr)
						mk := func(n string, off time.Duration) *instance {
							clk := &clock{base.Add(off)}
							s, err := f.new(keys, Options{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: skew, Now: clk.now})
							if err != nil {
								t.Fatal(err)
							}
							return &instance{name: n, offset: off, clk: clk, s: s}
						}
						fleet := map[byte]*instance{'A': mk("A", 0), 'B': mk("B", d)}
						now := base
						tick := func(step time.Duration) {
							now = now.Add(step)
							for _, in := range fleet {
								in.clk.t = now.Add(in.offset)
							}
						}
						var value string
						var issued time.Time
						for i := 0; i < len(order); i++ {
							w := fleet[order[i]]
							if i > 0 {
								_, m, err := w.s.Open(value)
								if err != nil {
									t.Fatalf("write %d: %s cannot open the value: %v", i, w.name, err)
								}
								issued = m.IssuedAt
							}
							if rotate && i == 1 {
								keys.kr.Store(rotatedKeyring(t, kr))
							}
							v, err := w.s.Seal([]byte("p"), issued)
							if err != nil {
								t.Fatalf("write %d: %s: Seal: %v", i, w.name, err)
							}
							value = v
							for _, r := range []byte("AB") {
								if _, m, err := fleet[r].s.Open(value); err != nil {
									t.Fatalf("after write %d by %s: %s refuses the value: %v", i, w.name, fleet[r].name, err)
								} else if m.RefreshedAt.Before(m.IssuedAt) {
									t.Fatalf("after write %d by %s: refreshed-at %v before issued-at %v", i, w.name, m.RefreshedAt, m.IssuedAt)
								}
							}
							tick(3 * ms)
						}
					})
				}
			}
		}
	}
}

// sealRawNative seals payload under kr's key 1 with any issued-at and
// refreshed-at (Unix milliseconds), as an older release could have.
func sealRawNative(t *testing.T, kr *keyring.Keyring, purpose string, iat, rat int64, payload []byte) string {
	t.Helper()
	aead, err := kr.AEAD(keyring.XChaCha20Poly1305, purpose, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte{Version1}
	raw = binary.BigEndian.AppendUint32(raw, 1)
	raw = binary.BigEndian.AppendUint32(raw, 0)
	raw = binary.BigEndian.AppendUint64(raw, uint64(iat))
	raw = binary.BigEndian.AppendUint64(raw, uint64(rat))
	raw = append(raw, bytes.Repeat([]byte{0x42}, nonceSize)...)
	aad := append(bytes.Clone(raw), purpose...)
	raw = aead.Seal(raw, raw[headerSize-nonceSize:], payload, aad)
	return b64.EncodeToString(raw)
}

// sealRawJWETimes is sealRawJWE with header times spelled as given.
func sealRawJWETimes(t *testing.T, kr *keyring.Keyring, iat, rat string) string {
	t.Helper()
	return sealRawJWE(t, kr, "session", 1, 0, `{"alg":"dir","enc":"A256GCM","kid":"1","iat":`+iat+`,"rat":`+rat+`}`, []byte("p"))
}

// msDate spells Unix milliseconds as a NumericDate, as appendNumericDate.
func msDate(ms int64) string { return string(appendNumericDate(nil, ms)) }

// TestRefreshedBeforeIssued: values already in browsers were written with
// a refreshed-at up to ClockSkew before issued-at (an instance with a slow
// clock re-sealed a session issued on a fast one). They open, both formats;
// a refreshed-at further back is refused.
func TestRefreshedBeforeIssued(t *testing.T) {
	const skew = time.Second
	const ms = time.Millisecond
	kr := testKeyring(t)
	iat := t0.Add(503 * ms)
	for _, tc := range []struct {
		name string
		rat  time.Duration // relative to iat
		want error
	}{
		{"equal", 0, nil},
		{"one millisecond before", -ms, nil},
		{"skew before", -skew, nil},
		{"beyond skew before", -skew - ms, ErrInvalid},
		{"an hour before", -time.Hour, ErrInvalid},
	} {
		for _, f := range []string{"native", "jwe"} {
			t.Run(f+"/"+tc.name, func(t *testing.T) {
				clk := &clock{iat}
				var s *Codec
				var v string
				r := iat.Add(tc.rat).UnixMilli()
				if f == "native" {
					s = newCodec(t, kr, "session", clk)
					v = sealRawNative(t, kr, "session", iat.UnixMilli(), r, []byte("p"))
				} else {
					s = newJWE(t, kr, "session", clk)
					v = sealRawJWETimes(t, kr, msDate(iat.UnixMilli()), msDate(r))
				}
				_, m, err := s.Open(v)
				if tc.want == nil {
					if err != nil || !m.IssuedAt.Equal(iat) || m.RefreshedAt.UnixMilli() != r {
						t.Fatalf("Open = %+v, %v", m, err)
					}
					return
				}
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "refreshed-at") {
					t.Fatalf("Open = %v, want %v about refreshed-at", err, tc.want)
				}
			})
		}
	}
}

// TestSealTimes: Seal writes refreshed-at = max(now, issued-at) in both
// formats, refuses an issued-at more than ClockSkew ahead of its clock
// (no instance would open the value), and refuses times before 1970.
func TestSealTimes(t *testing.T) {
	const skew = time.Second
	const ms = time.Millisecond
	now := t0.Add(250 * ms)
	for _, tc := range []struct {
		name     string
		issuedAt time.Time
		wantIAT  time.Time
		wantRAT  time.Time
		wantErr  bool
	}{
		{"zero means now", time.Time{}, now, now, false},
		{"past", now.Add(-time.Hour), now.Add(-time.Hour), now, false},
		{"ahead by a millisecond", now.Add(ms), now.Add(ms), now.Add(ms), false},
		{"ahead by skew", now.Add(skew), now.Add(skew), now.Add(skew), false},
		{"ahead beyond skew", now.Add(skew + ms), time.Time{}, time.Time{}, true},
		{"before 1970", time.Unix(-1, 0), time.Time{}, time.Time{}, true},
		{"sub-millisecond is truncated", now.Add(-time.Minute + 999*time.Microsecond), now.Add(-time.Minute), now, false},
	} {
		for _, f := range skewFormats {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				clk := &clock{now}
				s, err := f.new(testKeyring(t), Options{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: skew, Now: clk.now})
				if err != nil {
					t.Fatal(err)
				}
				v, err := s.Seal([]byte("p"), tc.issuedAt)
				if tc.wantErr {
					if err == nil {
						t.Fatalf("Seal succeeded with issued-at %v at %v", tc.issuedAt, now)
					}
					if b, err2 := s.AppendSeal([]byte("x"), []byte("p"), tc.issuedAt); err2 == nil || string(b) != "x" {
						t.Fatalf("AppendSeal = %q, %v; want dst back and an error", b, err2)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				_, m, err := s.Open(v)
				if err != nil || !m.IssuedAt.Equal(tc.wantIAT) || !m.RefreshedAt.Equal(tc.wantRAT) {
					t.Fatalf("Open = %+v, %v; want issued %v refreshed %v", m, err, tc.wantIAT, tc.wantRAT)
				}
			})
		}
	}
}

// TestTimeoutBounds: timeouts up to 400 days (browsers' cap on a cookie's
// lifetime) are accepted, longer ones refused at construction, in both
// formats; a session at the cap still opens until its deadline.
func TestTimeoutBounds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		idle, abs  time.Duration
		skew       time.Duration
		wantErrSub string
	}{
		{"defaults", 0, 0, 0, ""},
		{"both at the cap", keyring.MaxTimeout, keyring.MaxTimeout, 0, ""},
		{"idle past the cap", keyring.MaxTimeout + time.Second, 0, 0, "400 days"},
		{"absolute past the cap", 0, keyring.MaxTimeout + time.Nanosecond, 0, "400 days"},
		{"absolute near the largest Duration", 0, time.Duration(1<<63 - 1), 0, "400 days"},
		{"idle near the largest Duration", time.Duration(1<<63 - 1), 0, 0, "400 days"},
		{"negative", -time.Second, 0, 0, "negative"},
		{"skew at the cap", 0, 0, keyring.MaxClockSkew, ""},
		{"skew past the cap", 0, 0, keyring.MaxClockSkew + 1, "clock skew"},
	} {
		for _, f := range skewFormats {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				clk := &clock{t0}
				s, err := f.new(testKeyring(t), Options{IdleTimeout: tc.idle, AbsoluteTimeout: tc.abs, ClockSkew: tc.skew, Now: clk.now})
				if tc.wantErrSub != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
						t.Fatalf("New = %v, want an error about %q", err, tc.wantErrSub)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				v, err := s.Seal([]byte("p"), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				clk.t = t0.Add(time.Minute)
				if _, _, err := s.Open(v); err != nil {
					t.Fatalf("a fresh session reads as %v", err)
				}
			})
		}
	}
}
