package cookie

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func testKeyring(t testing.TB, status ...keyring.Status) *keyring.Keyring {
	t.Helper()
	if len(status) == 0 {
		status = []keyring.Status{keyring.StatusPrimary}
	}
	var keys []keyring.Key
	for i, st := range status {
		k, err := keyring.NewKey(uint32(i+1), st, bytes.Repeat([]byte{byte(i + 1)}, keyring.SecretSize))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	kr, err := keyring.New(keyring.Set{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newCodec(t testing.TB, kr keyring.Provider, purpose string, clk *clock) *Codec {
	t.Helper()
	c, err := New(kr, purpose, Options{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: time.Second, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	clk := &clock{t0}
	c := newCodec(t, testKeyring(t), "session", clk)
	v, err := c.Seal([]byte(`{"user_id":123456}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	p, m, err := c.Open(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(p) != `{"user_id":123456}` || m.KeyID != 1 || !m.IssuedAt.Equal(t0) || !m.RefreshedAt.Equal(t0) {
		t.Fatalf("got %q %+v", p, m)
	}
}

func TestEveryBitFlipIsInvalid(t *testing.T) {
	clk := &clock{t0}
	c := newCodec(t, testKeyring(t), "session", clk)
	v, err := c.Seal([]byte("payload"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(v)
	for i := range len(raw) * 8 {
		mod := bytes.Clone(raw)
		mod[i/8] ^= 1 << (i % 8)
		if _, _, err := c.Open(base64.RawURLEncoding.EncodeToString(mod)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bit %d flipped: err = %v, want ErrInvalid", i, err)
		}
	}
}

func TestWrongPurposeAndKey(t *testing.T) {
	clk := &clock{t0}
	kr := testKeyring(t)
	a := newCodec(t, kr, "a", clk)
	b := newCodec(t, kr, "b", clk)
	v, _ := a.Seal([]byte("x"), time.Time{})
	if _, _, err := b.Open(v); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong purpose: %v", err)
	}
	other := newCodec(t, testKeyring(t, keyring.StatusDecryptOnly, keyring.StatusPrimary), "a", clk)
	w, _ := other.Seal([]byte("x"), time.Time{}) // sealed under key 2, unknown to kr
	if _, _, err := a.Open(w); !errors.Is(err, ErrInvalid) || !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, _, err := a.Open(strings.Repeat("A", DefaultMaxValueSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := a.Seal(make([]byte, DefaultMaxValueSize), time.Time{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized seal: %v", err)
	}
	for _, bad := range []string{"", "!!!", "AAAA", v[:len(v)-3]} {
		if _, _, err := a.Open(bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Open(%q): %v", bad, err)
		}
	}
}

func TestExpiryBoundaries(t *testing.T) {
	cases := []struct {
		name     string
		sealAt   time.Time
		issuedAt time.Time
		openAt   time.Time
		want     error
	}{
		{"idle edge", t0, t0, t0.Add(time.Hour + time.Second), nil},
		{"idle past", t0, t0, t0.Add(time.Hour + 2*time.Second), ErrExpired},
		{"absolute edge", t0, t0.Add(-23 * time.Hour), t0.Add(time.Hour + time.Second), nil},
		{"absolute past", t0, t0.Add(-23 * time.Hour), t0.Add(time.Hour + 2*time.Second), ErrExpired},
		{"future beyond skew", t0, t0, t0.Add(-2 * time.Second), ErrInvalid},
		{"future within skew", t0, t0, t0.Add(-time.Second), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{tc.sealAt}
			c := newCodec(t, testKeyring(t), "s", clk)
			v, err := c.Seal([]byte("x"), tc.issuedAt)
			if err != nil {
				t.Fatal(err)
			}
			clk.t = tc.openAt
			_, _, err = c.Open(v)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestConcurrentSealOpen(t *testing.T) {
	clk := &clock{t0}
	c := newCodec(t, testKeyring(t), "s", clk)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				p := []byte{byte(g), byte(i)}
				v, err := c.Seal(p, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				got, _, err := c.Open(v)
				if err != nil || !bytes.Equal(got, p) {
					t.Errorf("round trip: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestJSONKeepsInt64(t *testing.T) {
	clk := &clock{t0}
	c := newCodec(t, testKeyring(t), "s", clk)
	in := map[string]any{"big": int64(1<<62 + 1), "n": -9007199254740993}
	v, err := SealJSON(c, in, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := OpenJSON[map[string]any](c, v)
	if err != nil {
		t.Fatal(err)
	}
	if out["big"].(interface{ String() string }).String() != "4611686018427387905" || out["n"].(interface{ String() string }).String() != "-9007199254740993" {
		t.Fatalf("lost precision: %v", out)
	}
	type S struct{ ID int64 }
	s, _, err := OpenJSON[S](c, mustSeal(t, c, `{"ID":9223372036854775807}`))
	if err != nil || s.ID != 9223372036854775807 {
		t.Fatalf("typed: %v %v", s, err)
	}
	if _, _, err := OpenJSON[S](c, mustSeal(t, c, `not json`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad payload: %v", err)
	}
}

func mustSeal(t *testing.T, c *Codec, p string) string {
	t.Helper()
	v, err := c.Seal([]byte(p), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// BenchmarkAppend measures the codec alone, with no JSON: open/N and
// seal/N for N-byte payloads. 2700 bytes is about the largest payload the
// default 3800-byte value budget holds.
func BenchmarkAppend(b *testing.B) {
	clk := &clock{t0}
	c := newCodec(b, testKeyring(b), "session", clk)
	for _, size := range []int{64, 1024, 2700} {
		v, err := c.Seal(make([]byte, size), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 0, 2*len(v)+64)
		b.Run(fmt.Sprint("open/", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, _, err := c.AppendOpen(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprint("seal/", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			p := make([]byte, size)
			for b.Loop() {
				if _, err := c.AppendSeal(buf[:0], p, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestNonCanonicalEncodingRefused(t *testing.T) {
	c := newCodec(t, testKeyring(t), "s", &clock{t0})
	for n := range 3 { // payload lengths give every tail shape
		v, err := c.Seal(make([]byte, n), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if (len(v) % 4) == 0 {
			continue // no tail bits
		}
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", v[len(v)-1])
		alt := v[:len(v)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1])
		if _, _, err := c.Open(alt); !errors.Is(err, ErrInvalid) {
			t.Fatalf("non-canonical spelling of a valid value: err = %v", err)
		}
	}
}
