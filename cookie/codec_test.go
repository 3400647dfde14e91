package cookie

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/cookieseal/cookieseal/internal/jsonscan"
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

// TestExpiryBoundariesExact pins each deadline to the millisecond (the
// header's resolution), with the default 30s skew and a 1s skew: the last
// valid instant opens and one millisecond later does not.
func TestExpiryBoundariesExact(t *testing.T) {
	const ms = time.Millisecond
	cases := []struct {
		name     string
		skew     time.Duration
		issuedAt time.Duration // relative to the seal time t0
		openAt   time.Duration // relative to t0
		want     error
	}{
		{"idle last instant, 1s skew", time.Second, 0, time.Hour + time.Second, nil},
		{"idle just past, 1s skew", time.Second, 0, time.Hour + time.Second + ms, ErrExpired},
		{"idle last instant, default skew", 0, 0, time.Hour + keyring.DefaultClockSkew, nil},
		{"idle just past, default skew", 0, 0, time.Hour + keyring.DefaultClockSkew + ms, ErrExpired},
		{"absolute last instant, 1s skew", time.Second, -23*time.Hour - 30*time.Minute, 30*time.Minute + time.Second, nil},
		{"absolute just past, 1s skew", time.Second, -23*time.Hour - 30*time.Minute, 30*time.Minute + time.Second + ms, ErrExpired},
		{"absolute last instant, default skew", 0, -23*time.Hour - 30*time.Minute, 30*time.Minute + keyring.DefaultClockSkew, nil},
		{"absolute just past, default skew", 0, -23*time.Hour - 30*time.Minute, 30*time.Minute + keyring.DefaultClockSkew + ms, ErrExpired},
		{"issued in the future within skew", time.Second, time.Second, 0, nil},
		{"issued in the future beyond skew", time.Second, time.Second + ms, 0, ErrInvalid},
		{"refreshed in the future within skew", time.Second, 0, -time.Second, nil},
		{"refreshed in the future beyond skew", time.Second, 0, -time.Second - ms, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t0}
			c, err := New(testKeyring(t), "s", Options{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: tc.skew, Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			issued := t0.Add(tc.issuedAt)
			if tc.issuedAt > 0 {
				// Issued after the refresh is out of order; seal "later"
				// so that refreshed-at equals issued-at.
				clk.t = issued
			}
			v, err := c.Seal([]byte("x"), issued)
			if err != nil {
				t.Fatal(err)
			}
			clk.t = t0.Add(tc.openAt)
			_, _, err = c.Open(v)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Open at %v = %v, want %v", tc.openAt, err, tc.want)
			}
		})
	}
}

// TestConcurrentSealOpen runs the byte and typed JSON paths of both
// formats from several goroutines, for -race.
func TestConcurrentSealOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(*testing.T) *Codec
	}{
		{"native", func(t *testing.T) *Codec { return newCodec(t, testKeyring(t), "s", &clock{t0}) }},
		{"jwe", func(t *testing.T) *Codec { return newJWE(t, testKeyring(t), "s", &clock{t0}) }},
	} {
		t.Run(tc.name, func(t *testing.T) { concurrentRoundTrips(t, tc.new(t)) })
	}
}

func concurrentRoundTrips(t *testing.T, c *Codec) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				p := []byte{byte(g), byte(i)}
				v, err := c.Seal(p, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				got, _, err := c.Open(v)
				if err != nil || !bytes.Equal(got, p) {
					t.Errorf("round trip %v: %v", got, err)
					return
				}
				// The typed JSON paths share the codec's type cache,
				// filled on first use by whichever goroutine comes first.
				in := diffFlat{ID: int64(i), Role: fmt.Sprint(g)}
				v, err = SealJSON(c, in, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				if out, _, err := OpenJSON[diffFlat](c, v); err != nil || out != in {
					t.Errorf("JSON round trip: %+v, %v", out, err)
					return
				}
				if m, _, err := OpenJSON[map[string]any](c, v); err != nil || m["role"] != in.Role {
					t.Errorf("JSON map round trip: %v, %v", m, err)
					return
				}
			}
		})
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

// TestLineBreaksRefused: encoding/base64 skips CR and LF, so without an
// explicit check a valid value with a line break inserted would open too,
// giving one value two spellings.
// Payloads of four lengths in a row give values of every length modulo
// 4 that an unpadded encoding has, and one to three breaks make the
// others too.
func TestLineBreaksRefused(t *testing.T) {
	c := newCodec(t, testKeyring(t), "s", &clock{t0})
	residues := map[int]bool{}
	for n := range 4 {
		v := mustSeal(t, c, strings.Repeat("p", n))
		if _, _, err := c.Open(v); err != nil {
			t.Fatal(err)
		}
		for _, brk := range []string{"\r", "\n", "\r\n", "\n\r\n", "\r\r\r"} {
			for _, at := range []int{0, 1, len(v) / 2, len(v) - 1, len(v)} {
				alt := v[:at] + brk + v[at:]
				residues[len(alt)%4] = true
				if _, _, err := c.Open(alt); !errors.Is(err, ErrInvalid) {
					t.Errorf("%q at %d of a %d-byte value: err = %v, want ErrInvalid", brk, at, len(v), err)
				}
			}
		}
	}
	if len(residues) != 4 {
		t.Fatalf("value lengths with breaks covered residues %v modulo 4, want all four", residues)
	}
}

type diffString string

type textString string

func (t *textString) UnmarshalText(b []byte) error { *t = textString("text:" + string(b)); return nil }

// diffFlat is a flat struct the JSON fast path handles: every kind it
// supports, tags, omitempty, a skipped field, a "-" name and an unexported
// field.
type diffFlat struct {
	ID    int64      `json:"id"`
	Role  string     `json:"role"`
	Name  string     `json:"name,omitempty"`
	OK    bool       `json:"ok"`
	Off   bool       `json:"off,omitempty"`
	I8    int8       // no tag: the field name
	I16   int16      `json:"i16"`
	I32   int32      `json:"i32,omitempty"`
	I     int        `json:"i"`
	U8    uint8      `json:"u8"`
	U16   uint16     `json:"u16,omitempty"`
	U32   uint32     `json:"u32"`
	U64   uint64     `json:"u64"`
	U     uint       `json:"u"`
	Named diffString `json:"named"`
	Skip  string     `json:"-"`
	//lint:ignore SA5008 encoding/json names this field "-"; the fast path must too
	Dash   string `json:"-,"`
	Dotted string `json:"a.b"`
	hidden string
}

func TestJSONPlanEligibility(t *testing.T) {
	type embedded struct{ A string }
	cases := []struct {
		name string
		typ  reflect.Type
		want bool
	}{
		{"flat", reflect.TypeFor[diffFlat](), true},
		{"empty struct", reflect.TypeFor[struct{}](), true},
		{"pointer to struct", reflect.TypeFor[*diffFlat](), false},
		{"map", reflect.TypeFor[map[string]string](), false},
		{"embedded", reflect.TypeFor[struct {
			embedded
			B string
		}](), false},
		{"string option", reflect.TypeFor[struct {
			A int `json:"a,string"`
		}](), false},
		{"omitzero", reflect.TypeFor[struct {
			A int `json:"a,omitzero"`
		}](), false},
		{"text unmarshaler field", reflect.TypeFor[struct{ A textString }](), false},
		{"time field", reflect.TypeFor[struct{ A time.Time }](), false},
		{"float field", reflect.TypeFor[struct{ A float64 }](), false},
		{"pointer field", reflect.TypeFor[struct{ A *string }](), false},
		{"slice field", reflect.TypeFor[struct{ A []string }](), false},
		{"interface field", reflect.TypeFor[struct{ A any }](), false},
		{"names differ in case only", reflect.TypeFor[struct {
			A string
			B string `json:"a"`
		}](), false},
		{"tag needing escapes", reflect.TypeFor[struct {
			A string `json:"a<b"`
		}](), false},
		{"non-ASCII tag", reflect.TypeFor[struct {
			A string `json:"é"`
		}](), false},
		{"non-ASCII field name", reflect.TypeFor[struct{ É string }](), false},
		{"struct with UnmarshalJSON", reflect.TypeFor[customStruct](), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonscan.New(tc.typ) != nil; got != tc.want {
				t.Fatalf("fast path for %v: %v, want %v", tc.typ, got, tc.want)
			}
		})
	}
}

type customStruct struct{ A string }

func (c *customStruct) UnmarshalJSON(b []byte) error { c.A = "custom"; return nil }

// openDiff checks that OpenJSON[T] of a value sealing payload agrees with
// json.Unmarshal of payload: the same error-ness and the same result. It
// returns whether the fast path took the payload.
func openDiff[T comparable](t *testing.T, c *Codec, payload string) bool {
	t.Helper()
	var want T
	wantErr := json.Unmarshal([]byte(payload), &want)
	got, _, err := OpenJSON[T](c, mustSeal(t, c, payload))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("OpenJSON(%q) error = %v, json.Unmarshal error = %v", payload, err, wantErr)
	}
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("OpenJSON(%q) error %v is not ErrInvalid", payload, err)
		}
		var zero T
		if got != zero {
			t.Fatalf("OpenJSON(%q) returned %+v with an error", payload, got)
		}
		return false
	}
	if got != want {
		t.Fatalf("OpenJSON(%q):\n got %+v\nwant %+v", payload, got, want)
	}
	var fast T
	pl := jsonscan.New(reflect.TypeFor[T]())
	return pl != nil && pl.Decode([]byte(payload), unsafe.Pointer(&fast))
}

func TestOpenJSONMatchesEncodingJSON(t *testing.T) {
	c := newCodec(t, testKeyring(t), "s", &clock{t0})
	full := `{"id":-9223372036854775808,"role":"admin","name":"Zoë","ok":true,"off":false,"I8":-128,"i16":32767,"i32":-5,"i":42,` +
		`"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,"u":7,"named":"n","-":"dash","a.b":"dot"}`
	cases := []struct {
		name    string
		payload string
		fast    bool // the fast path must take it (and agree)
	}{
		{"full", full, true},
		{"empty object", `{}`, true},
		{"whitespace everywhere", " \t\r\n{ \"id\" :\n1 ,\t\"role\"\r: \"x\" } \n", true},
		{"some fields", `{"role":"r"}`, true},
		{"empty string", `{"role":""}`, true},
		{"minus zero", `{"id":-0}`, true},
		{"non-ASCII", `{"role":"日本語 é"}`, true},
		{"raw U+2028", "{\"role\":\"a\u2028b\"}", true},
		{"DEL byte", "{\"role\":\"\x7f\"}", true},
		{"false", `{"ok":false}`, true},
		{"unknown key", `{"id":1,"zzz":[1,{"a":null}]}`, false},
		{"unknown key with bad JSON", `{"id":1,"zzz":[1,}`, false},
		{"case-folded key", `{"ID":1,"Role":"x","i8":3}`, false},
		{"Kelvin sign key folds", "{\"\u212a\":1}", false},
		{"skipped field's name", `{"Skip":"x"}`, false},
		{"unexported field's name", `{"hidden":"x"}`, false},
		{"duplicate key", `{"role":"a","role":"b"}`, false},
		{"duplicate key with null", `{"role":"a","role":null}`, false},
		{"escaped string", `{"role":"a\"b\\c\u00e9\n"}`, false},
		{"escaped key", `{"\u0072ole":"x"}`, false},
		{"null value", `{"id":null,"role":null,"ok":null}`, false},
		{"null top level", `null`, false},
		{"int8 overflow", `{"I8":128}`, false},
		{"int8 underflow", `{"I8":-129}`, false},
		{"int64 overflow", `{"id":9223372036854775808}`, false},
		{"uint64 overflow", `{"u64":18446744073709551616}`, false},
		{"huge number", `{"id":123456789012345678901234567890}`, false},
		{"uint16 overflow", `{"u16":65536}`, false},
		{"uint minus zero", `{"u":-0}`, false},
		{"uint negative", `{"u":-1}`, false},
		{"fraction", `{"id":1.5}`, false},
		{"integral fraction", `{"id":1.0}`, false},
		{"exponent", `{"id":1e2}`, false},
		{"leading zero", `{"id":01}`, false},
		{"lone minus", `{"id":-}`, false},
		{"plus sign", `{"id":+1}`, false},
		{"string for int", `{"id":"1"}`, false},
		{"int for string", `{"role":1}`, false},
		{"object for string", `{"role":{}}`, false},
		{"bool for int", `{"id":true}`, false},
		{"truncated literal", `{"ok":tru}`, false},
		{"literal with tail", `{"ok":truex}`, false},
		{"invalid UTF-8", "{\"role\":\"a\xffb\"}", false},
		{"control character", "{\"role\":\"a\x01b\"}", false},
		{"raw newline in string", "{\"role\":\"a\nb\"}", false},
		{"unterminated string", `{"role":"abc`, false},
		{"unterminated object", `{"role":"abc"`, false},
		{"trailing comma", `{"role":"abc",}`, false},
		{"missing colon", `{"role" "abc"}`, false},
		{"missing comma", `{"role":"a" "id":1}`, false},
		{"trailing data", `{"role":"a"}x`, false},
		{"two objects", `{"role":"a"}{"role":"b"}`, false},
		{"array", `[]`, false},
		{"byte order mark", "\ufeff{}", false},
		{"empty", ``, false},
		{"single quotes", `{'role':'a'}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if fast := openDiff[diffFlat](t, c, tc.payload); fast != tc.fast {
				t.Fatalf("fast path took %q: %v, want %v", tc.payload, fast, tc.fast)
			}
		})
	}
}

func TestSealJSONMatchesEncodingJSON(t *testing.T) {
	c := newCodec(t, testKeyring(t), "s", &clock{t0})
	cases := []struct {
		name string
		v    diffFlat
		fast bool
	}{
		{"zero", diffFlat{}, true},
		{"extremes", diffFlat{ID: math.MinInt64, I8: math.MinInt8, I16: math.MaxInt16, I32: math.MinInt32, I: -1,
			U8: math.MaxUint8, U16: math.MaxUint16, U32: math.MaxUint32, U64: math.MaxUint64, U: 10}, true},
		{"strings", diffFlat{Role: "admin", Name: "Zoë 日本", Named: "n", Skip: "never written", Dash: "d", Dotted: "x", hidden: "h"}, true},
		{"booleans", diffFlat{OK: true, Off: true}, true},
		{"quote", diffFlat{Role: `a"b`}, false},
		{"backslash", diffFlat{Role: `a\b`}, false},
		{"HTML", diffFlat{Role: "<script>&"}, false},
		{"control", diffFlat{Role: "a\nb"}, false},
		{"invalid UTF-8", diffFlat{Role: "a\xffb"}, false},
		{"U+2028", diffFlat{Name: "a\u2028b"}, false},
		{"U+2029", diffFlat{Name: "a\u2029b"}, false},
	}
	pl := jsonscan.New(reflect.TypeFor[diffFlat]())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if fast, ok := pl.AppendJSON(nil, unsafe.Pointer(&tc.v)); ok != tc.fast || ok && string(fast) != string(want) {
				t.Fatalf("fast path: %q, %v; want %q, %v", fast, ok, want, tc.fast)
			}
			v, err := SealJSON(c, tc.v, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			p, _, err := c.Open(v)
			if err != nil || string(p) != string(want) {
				t.Fatalf("SealJSON payload %q, %v; want %q", p, err, want)
			}
			var ref diffFlat
			if err := json.Unmarshal(want, &ref); err != nil {
				t.Fatal(err)
			}
			if back, _, err := OpenJSON[diffFlat](c, v); err != nil || back != ref {
				t.Fatalf("round trip: %+v, %v; want %+v", back, err, ref)
			}
		})
	}
}

// TestOpenJSONInterfaceTrailingData: the json.Number path refuses what
// json.Unmarshal refuses, including data after the value.
func TestOpenJSONInterfaceTrailingData(t *testing.T) {
	c := newCodec(t, testKeyring(t), "s", &clock{t0})
	cases := []struct {
		name    string
		payload string
		ok      bool
	}{
		{"object", `{"a":1}`, true},
		{"trailing space", "{\"a\":1} \n", true},
		{"trailing brace", `{"a":1}}`, false},
		{"second object", `{"a":1}{}`, false},
		{"trailing garbage", `{"a":1}x`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := OpenJSON[map[string]any](c, mustSeal(t, c, tc.payload))
			var m map[string]any
			if ref := json.Unmarshal([]byte(tc.payload), &m); (ref == nil) != tc.ok {
				t.Fatalf("test case wrong: json.Unmarshal = %v", ref)
			}
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("OpenJSON = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// swapProvider is a keyring.Provider whose keyring a test replaces.
type swapProvider struct {
	kr atomic.Pointer[keyring.Keyring]
}

func (p *swapProvider) Keyring() *keyring.Keyring { return p.kr.Load() }

// TestRotationThroughAEADCache: the codec's cached sealing AEAD follows
// the provider's keyring: a new primary seals at once, old values open
// while their key is kept, and fail as soon as it is removed or disabled.
func TestRotationThroughAEADCache(t *testing.T) {
	clk := &clock{t0}
	var p swapProvider
	p.kr.Store(testKeyring(t, keyring.StatusPrimary))
	c := newCodec(t, &p, "s", clk)
	old, err := c.Seal([]byte("old"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		status   []keyring.Status // keys 1, 2, …
		sealID   uint32
		oldOpens bool
	}{
		{"key 2 added decrypt-only", []keyring.Status{keyring.StatusPrimary, keyring.StatusDecryptOnly}, 1, true},
		{"key 2 promoted", []keyring.Status{keyring.StatusDecryptOnly, keyring.StatusPrimary}, 2, true},
		{"key 1 disabled", []keyring.Status{keyring.StatusDisabled, keyring.StatusPrimary}, 2, false},
		{"key 1 back to primary", []keyring.Status{keyring.StatusPrimary, keyring.StatusDecryptOnly}, 1, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			p.kr.Store(testKeyring(t, st.status...))
			for range 2 { // the second round runs from the cache
				v, err := c.Seal([]byte("new"), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if _, m, err := c.Open(v); err != nil || m.KeyID != st.sealID {
					t.Fatalf("sealed under key %d, %v; want key %d", m.KeyID, err, st.sealID)
				}
				if _, _, err := c.Open(old); (err == nil) != st.oldOpens || err != nil && !errors.Is(err, ErrInvalid) {
					t.Fatalf("old value: %v, want opens=%v", err, st.oldOpens)
				}
			}
		})
	}
	// Key 1's secret replaced under the same ID: the old value must fail,
	// not open through an AEAD cached from the earlier snapshot.
	k, err := keyring.NewKey(1, keyring.StatusPrimary, bytes.Repeat([]byte{9}, keyring.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(keyring.Set{Keys: []keyring.Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	p.kr.Store(kr)
	if _, _, err := c.Open(old); !errors.Is(err, ErrInvalid) {
		t.Fatalf("old value under a replaced secret: %v", err)
	}
}

// TestJSONNumberFields: a json.Number field is a number to encoding/json,
// though its kind is string, so SealJSON writes and OpenJSON reads it
// exactly as encoding/json does, in both formats; a named string type
// (even one defined as json.Number) is a string to both.
func TestJSONNumberFields(t *testing.T) {
	type numbers struct {
		N  json.Number `json:"n"`
		NO json.Number `json:"no,omitempty"`
		S  string      `json:"s"`
	}
	type ownNumber json.Number
	type owns struct {
		N ownNumber `json:"n"`
	}
	if jsonscan.New(reflect.TypeFor[numbers]()) != nil {
		t.Fatal("a struct with a json.Number field has a fast path")
	}
	kr := testKeyring(t)
	clk := &clock{t0}
	sealers := map[string]*Codec{"native": newCodec(t, kr, "s", clk), "jwe": newJWE(t, kr, "s", clk)}
	for fname, s := range sealers {
		for _, v := range []numbers{{N: "42", S: "x"}, {N: "-1.5e3", NO: "7"}, {N: "abc"}, {}} {
			t.Run(fmt.Sprintf("%s/seal %+v", fname, v), func(t *testing.T) {
				want, wantErr := json.Marshal(v)
				sealed, err := SealJSON(s, v, time.Time{})
				if (err != nil) != (wantErr != nil) {
					t.Fatalf("SealJSON error %v, json.Marshal error %v", err, wantErr)
				}
				if err != nil {
					return
				}
				p, _, err := s.Open(sealed)
				if err != nil || !bytes.Equal(p, want) {
					t.Fatalf("SealJSON wrote %s, %v; json.Marshal writes %s", p, err, want)
				}
			})
		}
		for _, payload := range []string{`{"n":42}`, `{"n":"42"}`, `{"n":"abc"}`, `{"n":-0.5e-3,"s":"x"}`, `{"n":null}`, `{"n":true}`, `{"no":1,"n":2}`} {
			t.Run(fname+"/open "+payload, func(t *testing.T) {
				var want numbers
				wantErr := json.Unmarshal([]byte(payload), &want)
				sealed, err := s.Seal([]byte(payload), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := OpenJSON[numbers](s, sealed)
				if (err != nil) != (wantErr != nil) || err == nil && got != want {
					t.Fatalf("OpenJSON = %+v, %v; json.Unmarshal = %+v, %v", got, err, want, wantErr)
				}
				var wantOwn owns
				wantErr = json.Unmarshal([]byte(payload), &wantOwn)
				gotOwn, _, err := OpenJSON[owns](s, sealed)
				if (err != nil) != (wantErr != nil) || err == nil && gotOwn != wantOwn {
					t.Fatalf("OpenJSON[named] = %+v, %v; json.Unmarshal = %+v, %v", gotOwn, err, wantOwn, wantErr)
				}
			})
		}
	}
}
