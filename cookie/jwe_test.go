package cookie

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// newJWE returns a codec that seals in the JWE format, with the options
// of newCodec.
func newJWE(t testing.TB, kr keyring.Provider, purpose string, clk *clock) *Codec {
	t.Helper()
	c, err := New(kr, purpose, Options{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: time.Second, Now: clk.now, Format: JWE})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func epochKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	set, err := keyring.ParseString(vectorKeys + ",epoch=1h")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// jweHeader decodes a value's protected header.
func jweHeader(t *testing.T, v string) map[string]any {
	t.Helper()
	h, _, _ := strings.Cut(v, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sealRawJWE seals payload under the codec's real key with any header, so
// that a refusal is the header policy's doing, not a failed tag.
func sealRawJWE(t *testing.T, kr *keyring.Keyring, purpose string, id, epoch uint32, header string, payload []byte) string {
	t.Helper()
	aead, err := kr.AEAD(keyring.A256GCM, purpose, id, epoch)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	h := enc([]byte(header))
	iv := make([]byte, 12)
	rand.Read(iv)
	sealed := aead.Seal(nil, iv, payload, []byte(h))
	n := len(sealed) - 16
	return h + ".." + enc(iv) + "." + enc(sealed[:n]) + "." + enc(sealed[n:])
}

func TestJWERoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kr        *keyring.Keyring
		wantKID   string
		wantEpoch uint32
	}{
		{"plain keys", testKeyring(t), "1", 0},
		{"epoch keys", epochKeyring(t), "1.498730", 498730},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t0.Add(1500 * time.Millisecond)}
			c := newJWE(t, tc.kr, "session", clk)
			v, err := c.Seal([]byte(`{"user_id":123456}`), t0.Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			h := jweHeader(t, v)
			want := map[string]any{"alg": "dir", "enc": "A256GCM", "kid": tc.wantKID,
				"iat": float64(t0.Add(-time.Minute).Unix()), "rat": float64(t0.Unix()) + 1.5} // millisecond precision
			if len(h) != len(want) {
				t.Fatalf("header %v, want %v", h, want)
			}
			for k, w := range want {
				if h[k] != w {
					t.Fatalf("header %s = %v, want %v", k, h[k], w)
				}
			}
			if strings.Count(v, ".") != 4 || strings.Split(v, ".")[1] != "" {
				t.Fatalf("not a dir compact JWE: %s", v)
			}
			p, m, err := c.Open(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(p) != `{"user_id":123456}` || m.KeyID != 1 || m.Epoch != tc.wantEpoch ||
				!m.IssuedAt.Equal(t0.Add(-time.Minute)) || !m.RefreshedAt.Equal(t0.Add(1500*time.Millisecond)) {
				t.Fatalf("Open = %q, %+v", p, m)
			}
			if d := c.Deadline(m); !d.Equal(t0.Add(time.Hour + 1500*time.Millisecond)) {
				t.Fatalf("Deadline = %v", d)
			}
			// Append forms keep dst's prefix.
			b, err := c.AppendSeal([]byte("x"), []byte("hi"), time.Time{})
			if err != nil || b[0] != 'x' {
				t.Fatalf("AppendSeal: %v", err)
			}
			out, _, err := c.AppendOpen([]byte("y"), string(b[1:]))
			if err != nil || string(out) != "yhi" {
				t.Fatalf("AppendOpen = %q, %v", out, err)
			}
		})
	}
}

func TestJWEExportJWKSet(t *testing.T) {
	clk := &clock{t0}
	kr := testKeyring(t, keyring.StatusPrimary, keyring.StatusDecryptOnly, keyring.StatusDisabled)
	js, err := newJWE(t, kr, "session", clk).InsecureExportJWKSet()
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(js, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != "1" || set.Keys[1]["kid"] != "2" {
		t.Fatalf("exported %s", js)
	}
	want, err := kr.InsecureExportDerivedKey(keyring.A256GCM, "session", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	k := set.Keys[0]
	if k["kty"] != "oct" || k["alg"] != "dir" || k["use"] != "enc" || k["k"] != base64.RawURLEncoding.EncodeToString(want) {
		t.Fatalf("key 1 = %v", k["kty"]) // never print k
	}
	// Epoch keys: every epoch of the accepted window, nothing more.
	ec := newJWE(t, epochKeyring(t), "session", clk)
	js, err = ec.InsecureExportJWKSet()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &set); err != nil {
		t.Fatal(err)
	}
	if n := len(set.Keys); n != 2*26 { // 2 keys × the epochs from now-24h-1s to now+1s
		t.Fatalf("%d epoch keys exported", n)
	}
}

func TestJWEStrictDecode(t *testing.T) {
	clk := &clock{t0}
	kr := testKeyring(t, keyring.StatusPrimary, keyring.StatusDecryptOnly)
	c := newJWE(t, kr, "session", clk)
	good, err := c.Seal([]byte("payload"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	iat := `,"iat":1795428000,"rat":1795428000}`
	raw := func(header string) string { return sealRawJWE(t, kr, "session", 1, 0, header, []byte("payload")) }
	// Sanity: our raw sealer with the right key and headers passes (values
	// sealed by go-jose are checked in interop, which requires it).
	for name, v := range map[string]string{
		"raw":                   raw(`{"alg":"dir","enc":"A256GCM","kid":"1"` + iat),
		"white space and order": raw(" {\n \"rat\" : 1795428000 ,\t\"kid\":\"1\", \"iat\":1795428000,\"enc\":\"A256GCM\",\"alg\":\"dir\"}\r\n"),
	} {
		if _, _, err := c.Open(v); err != nil {
			t.Fatalf("%s control value refused: %v", name, err)
		}
	}
	bomb := bytes.Repeat([]byte{0}, 1<<20)
	for _, tc := range []struct {
		name  string
		value string
		want  error
	}{
		{"alg A256KW", raw(`{"alg":"A256KW","enc":"A256GCM","kid":"1"` + iat), ErrInvalid},
		{"alg none", raw(`{"alg":"none","enc":"A256GCM","kid":"1"` + iat), ErrInvalid},
		{"enc A128GCM", raw(`{"alg":"dir","enc":"A128GCM","kid":"1"` + iat), ErrInvalid},
		{"enc A256CBC-HS512", raw(`{"alg":"dir","enc":"A256CBC-HS512","kid":"1"` + iat), ErrInvalid},
		{"zip DEF", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","zip":"DEF"` + iat), ErrInvalid},
		{"zip bomb", sealRawJWE(t, kr, "session", 1, 0, `{"alg":"dir","enc":"A256GCM","kid":"1","zip":"DEF"`+iat, bomb[:2000]), ErrInvalid},
		{"crit", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","crit":["rat"]` + iat), ErrInvalid},
		{"extra member", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","typ":"JWT"` + iat), ErrInvalid},
		{"missing rat", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":1795428000}`), ErrInvalid},
		{"case-folded alg", raw(`{"ALG":"dir","enc":"A256GCM","kid":"1"` + iat), ErrInvalid},
		{"kid leading zero", raw(`{"alg":"dir","enc":"A256GCM","kid":"01"` + iat), ErrInvalid},
		{"kid zero epoch", raw(`{"alg":"dir","enc":"A256GCM","kid":"1.0"` + iat), ErrInvalid},
		{"kid sign", raw(`{"alg":"dir","enc":"A256GCM","kid":"+1"` + iat), ErrInvalid},
		{"kid empty epoch", raw(`{"alg":"dir","enc":"A256GCM","kid":"1."` + iat), ErrInvalid},
		{"kid number", raw(`{"alg":"dir","enc":"A256GCM","kid":1` + iat), ErrInvalid},
		{"kid overflow", raw(`{"alg":"dir","enc":"A256GCM","kid":"4294967296"` + iat), ErrInvalid},
		{"kid unknown", raw(`{"alg":"dir","enc":"A256GCM","kid":"9"` + iat), ErrInvalid},
		{"epoch without epoch keys", raw(`{"alg":"dir","enc":"A256GCM","kid":"1.5"` + iat), ErrInvalid},
		{"iat fraction without digits", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":1795428000.,"rat":1795428000}`), ErrInvalid},
		{"iat exponent", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":1.795428e9,"rat":1795428000}`), ErrInvalid},
		{"iat negative", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":-1,"rat":1795428000}`), ErrInvalid},
		{"iat string", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":"1795428000","rat":1795428000}`), ErrInvalid},
		{"header not an object", raw(`["alg","dir"]`), ErrInvalid},
		{"duplicate member", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","kid":"2"` + iat), ErrInvalid},
		{"escaped alg", raw(`{"alg":"\u0064ir","enc":"A256GCM","kid":"1"` + iat), ErrInvalid},
		{"trailing data", raw(`{"alg":"dir","enc":"A256GCM","kid":"1"` + iat + `x`), ErrInvalid},
		{"two objects", raw(`{"alg":"dir","enc":"A256GCM","kid":"1"` + iat + `{}`), ErrInvalid},
		{"missing comma", raw(`{"alg":"dir" "enc":"A256GCM","kid":"1"` + iat), ErrInvalid},
		{"unterminated", raw(`{"alg":"dir","enc":"A256GCM","kid":"1`), ErrInvalid},
		{"empty object", raw(`{}`), ErrInvalid},
		{"iat 13 digits", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":1795428000000,"rat":1795428000}`), ErrInvalid},
		{"iat leading zero", raw(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":01795428000,"rat":1795428000}`), ErrInvalid},
		{"header null", raw(`null`), ErrInvalid},
		{"encrypted key present", parts[0] + ".AAAA." + parts[2] + "." + parts[3] + "." + parts[4], ErrInvalid},
		{"short iv", parts[0] + ".." + parts[2][:11] + "." + parts[3] + "." + parts[4], ErrInvalid},
		{"short tag", parts[0] + ".." + parts[2] + "." + parts[3] + "." + parts[4][:16], ErrInvalid},
		{"four parts", strings.Join(parts[:4], "."), ErrInvalid},
		{"six parts", good + ".x", ErrInvalid},
		{"CR in value", parts[0] + "..\r" + parts[2] + "." + parts[3] + "." + parts[4], ErrInvalid},
		{"padding", parts[0] + ".." + parts[2] + "." + parts[3] + "=." + parts[4], ErrInvalid},
		{"long header", base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte(" "), 300)) + ".." + parts[2] + "." + parts[3] + "." + parts[4], ErrInvalid},
		{"empty", "", ErrInvalid},
		{"oversized", strings.Repeat("A", DefaultMaxValueSize+1), ErrTooLarge},
		{"wrong purpose", func() string {
			v, err := newJWE(t, kr, "csrf", clk).Seal([]byte("payload"), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}(), ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := c.Open(tc.value)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %v; want %v", p, err, tc.want)
			}
		})
	}
}

func TestJWEEveryBitFlipIsInvalid(t *testing.T) {
	clk := &clock{t0}
	c := newJWE(t, testKeyring(t), "session", clk)
	v, err := c.Seal([]byte(`{"user_id":123456}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(v) {
		if v[i] == '.' {
			continue
		}
		for _, r := range []byte{alphabet[(strings.IndexByte(alphabet, v[i])+1)%64], alphabet[(strings.IndexByte(alphabet, v[i])+32)%64]} {
			b := []byte(v)
			b[i] = r
			if _, _, err := c.Open(string(b)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("char %d changed to %c: %v", i, r, err)
			}
		}
	}
}

func TestJWEExpiryBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name             string
		sealAt, issuedAt time.Time
		openAt           time.Time
		want             error
	}{
		{"fresh", t0, t0, t0, nil},
		{"idle edge", t0, t0, t0.Add(time.Hour + time.Second), nil},
		{"idle past", t0, t0, t0.Add(time.Hour + 2*time.Second), ErrExpired},
		{"absolute edge", t0, t0.Add(-23 * time.Hour), t0.Add(time.Hour + time.Second), nil},
		{"absolute past", t0, t0.Add(-23 * time.Hour), t0.Add(time.Hour + 2*time.Second), ErrExpired},
		{"future beyond skew", t0, t0, t0.Add(-2 * time.Second), ErrInvalid},
		{"future within skew", t0, t0, t0.Add(-time.Second), nil},
		// Seal raises refreshed-at to an issued-at ahead of its clock.
		{"issued ahead of the sealing clock", t0, t0.Add(time.Second), t0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{tc.sealAt}
			c := newJWE(t, testKeyring(t), "session", clk)
			v, err := c.Seal([]byte("p"), tc.issuedAt)
			if err != nil {
				t.Fatal(err)
			}
			clk.t = tc.openAt
			if _, _, err := c.Open(v); !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestJWEEpochWindow(t *testing.T) {
	kr := epochKeyring(t)
	clk := &clock{t0}
	c := newJWE(t, kr, "session", clk)
	v, err := c.Seal([]byte("p"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// An epoch beyond the window is refused before any key is derived,
	// even for a value whose tag is right.
	future := kr.Epoch(t0) + 5
	fv := sealRawJWE(t, kr, "session", 1, future, `{"alg":"dir","enc":"A256GCM","kid":"1.`+
		string(jweKID(nil, future, 0))+`","iat":1795428000,"rat":1795428000}`, []byte("p"))
	if _, _, err := c.Open(fv); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "epoch") {
		t.Fatalf("future epoch: %v", err)
	}
	clk.t = t0.Add(26 * time.Hour)
	if _, _, err := c.Open(v); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "epoch") {
		t.Fatalf("old epoch: %v", err)
	}
}

func TestJWETooLargeOnSeal(t *testing.T) {
	c, err := New(testKeyring(t), "s", Options{MaxValueSize: 200, Now: (&clock{t0}).now, Format: JWE})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seal(make([]byte, 100), time.Time{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Seal: %v", err)
	}
	v, err := c.Seal(make([]byte, 20), time.Time{})
	if err != nil || len(v) > 200 {
		t.Fatalf("Seal = %d bytes, %v", len(v), err)
	}
}

// JWE vectors live in testdata/jwe in the v1 vector file format (see
// vectors_test.go), with IdleTimeout 1h, AbsoluteTimeout 24h, ClockSkew 1s.
func makeJWEVectors(t *testing.T) []vector {
	set, err := keyring.ParseString(vectorKeys)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	ekr := epochKeyring(t)
	clk := &clock{t0}
	payload := `{"user_id":123456,"role":"admin"}`
	seal := func(kr *keyring.Keyring, issuedAt time.Time) string {
		c := newJWE(t, kr, "session", clk)
		c.testNonce = bytes.NewReader(bytes.Repeat([]byte{0x24}, 12))
		v, err := c.Seal([]byte(payload), issuedAt)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	valid := seal(kr, time.Time{})
	old := seal(kr, t0.Add(-23*time.Hour))
	epoch := seal(ekr, time.Time{})
	// Millisecond times (issue 9): sealed at t0+503ms for a session
	// issued at t0+500ms.
	clk.t = t0.Add(503 * time.Millisecond)
	ms := seal(kr, t0.Add(500*time.Millisecond))
	clk.t = t0
	// rawHeader seals the payload under key 1 with any header and the
	// vectors' fixed IV.
	rawHeader := func(h string) string {
		aead, err := kr.AEAD(keyring.A256GCM, "session", 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		enc := base64.RawURLEncoding.EncodeToString
		hb := enc([]byte(h))
		iv := bytes.Repeat([]byte{0x24}, 12)
		sealed := aead.Seal(nil, iv, []byte(payload), []byte(hb))
		n := len(sealed) - 16
		return hb + ".." + enc(iv) + "." + enc(sealed[:n]) + "." + enc(sealed[n:])
	}
	times := func(iat, rat string) string {
		return rawHeader(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":` + iat + `,"rat":` + rat + `}`)
	}
	parts := strings.Split(valid, ".")
	flip := func(part int) string {
		p := slices.Clone(parts)
		b, _ := base64.RawURLEncoding.DecodeString(p[part])
		b[len(b)-1] ^= 0x01
		p[part] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(p, ".")
	}
	withHeader := func(h string) string {
		p := slices.Clone(parts)
		p[0] = base64.RawURLEncoding.EncodeToString([]byte(h))
		return strings.Join(p, ".")
	}
	v := func(name, expect, purpose, keys string, now time.Time, value string) vector {
		p := ""
		if expect == "valid" {
			p = payload
		}
		return vector{name: name, expect: expect, purpose: purpose, keys: keys, payload: p, now: now, value: value}
	}
	ek := vectorKeys + ",epoch=1h"
	return []vector{
		v("valid", "valid", "session", vectorKeys, t0.Add(30*time.Minute), valid),
		v("valid-epoch", "valid", "session", ek, t0.Add(30*time.Minute), epoch),
		v("valid-near-absolute", "valid", "session", vectorKeys, t0.Add(time.Hour), old),
		v("tampered-ciphertext", "invalid", "session", vectorKeys, t0, flip(3)),
		v("tampered-tag", "invalid", "session", vectorKeys, t0, flip(4)),
		v("tampered-iv", "invalid", "session", vectorKeys, t0, flip(2)),
		v("tampered-iat", "invalid", "session", vectorKeys, t0, withHeader(`{"alg":"dir","enc":"A256GCM","kid":"1","iat":1795428001,"rat":1795428000}`)),
		v("tampered-kid", "invalid", "session", vectorKeys, t0, withHeader(`{"alg":"dir","enc":"A256GCM","kid":"2","iat":1795428000,"rat":1795428000}`)),
		v("alg-a256kw", "invalid", "session", vectorKeys, t0, withHeader(`{"alg":"A256KW","enc":"A256GCM","kid":"1","iat":1795428000,"rat":1795428000}`)),
		v("zip", "invalid", "session", vectorKeys, t0, withHeader(`{"alg":"dir","enc":"A256GCM","kid":"1","zip":"DEF","iat":1795428000,"rat":1795428000}`)),
		v("expired-idle", "expired", "session", vectorKeys, t0.Add(time.Hour+2*time.Second), valid),
		v("expired-absolute", "expired", "session", vectorKeys, t0.Add(time.Hour+2*time.Second), old),
		v("wrong-purpose", "invalid", "csrf", vectorKeys, t0, valid),
		v("unknown-key", "invalid", "session", vectorKeys, t0, withHeader(`{"alg":"dir","enc":"A256GCM","kid":"9","iat":1795428000,"rat":1795428000}`)),
		v("truncated", "invalid", "session", vectorKeys, t0, valid[:len(valid)-10]),
		v("oversized", "too large", "session", vectorKeys, t0, strings.Repeat("A", DefaultMaxValueSize+1)),
		// Added with issue 9: iat and rat carry milliseconds, written with
		// up to three decimals; more decimals are truncated on read; an
		// old value's refreshed-at may lie up to ClockSkew before iat.
		withTimes(v("valid-ms", "valid", "session", vectorKeys, t0.Add(30*time.Minute), ms), t0.Add(500*time.Millisecond), t0.Add(503*time.Millisecond)),
		withTimes(v("valid-ms-truncated", "valid", "session", vectorKeys, t0.Add(30*time.Minute), times("1795428000.5039", "1795428000.0419999")),
			t0.Add(503*time.Millisecond), t0.Add(41*time.Millisecond)),
		withTimes(v("valid-refreshed-before-issued", "valid", "session", vectorKeys, t0.Add(30*time.Minute), times("1795428000.5", "1795427999.5")),
			t0.Add(500*time.Millisecond), t0.Add(-500*time.Millisecond)),
		v("refreshed-too-long-before-issued", "invalid", "session", vectorKeys, t0.Add(30*time.Minute), times("1795428000.5", "1795427999.499")),
		v("iat-exponent", "invalid", "session", vectorKeys, t0.Add(30*time.Minute), times("1.7954280005e9", "1795428000.5")),
		v("iat-negative", "invalid", "session", vectorKeys, t0.Add(30*time.Minute), times("-1795428000", "1795428000")),
		v("iat-string", "invalid", "session", vectorKeys, t0.Add(30*time.Minute), times(`"1795428000"`, "1795428000")),
	}
}

func TestJWEVectors(t *testing.T) {
	runVectorFiles(t, filepath.Join("testdata", "jwe"), makeJWEVectors(t), func(kr *keyring.Keyring, purpose string, clk *clock) *Codec {
		return newJWE(t, kr, purpose, clk)
	})
}

// TestJWEVectorsAreCurrent checks that sealing with the fixed IV and clock
// still gives the frozen values byte for byte.
func TestJWEVectorsAreCurrent(t *testing.T) {
	for _, v := range makeJWEVectors(t) {
		if v.name != "valid" && v.name != "valid-epoch" && v.name != "valid-ms" {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", "jwe", v.name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got := parseVector(t, v.name, data).value; got != v.value {
			t.Fatalf("%s: sealing changed:\n got %s\nwant %s", v.name, v.value, got)
		}
	}
}

func TestJWEAppendAllocs(t *testing.T) {
	c := newJWE(t, testKeyring(t), "session", &clock{t0})
	payload := []byte(`{"user_id":123456,"role":"admin"}`)
	buf := make([]byte, 0, 1024)
	v, err := c.AppendSeal(buf, payload, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	value := string(v)
	out := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := c.AppendSeal(buf[:0], payload, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendSeal allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := c.AppendOpen(out[:0], value); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendOpen allocates %v times", n)
	}
}

// TestJWEHeaderMutations feeds the header parser many mutations of a
// valid header: it must never panic, and whatever it accepts must carry
// exactly the allowed members.
func TestJWEHeaderMutations(t *testing.T) {
	valid := []byte(`{"alg":"dir","enc":"A256GCM","kid":"12.34","iat":1795428000,"rat":1795428001}`)
	if _, err := parseJWEHeader(valid); err != nil {
		t.Fatal(err)
	}
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	alphabet := []byte(`{}[]",:.0123456789 \aeEdirkcnAG-+` + "\x00\t\n\xff")
	accepted := 0
	for range 50000 {
		b := bytes.Clone(valid)
		for range 1 + rng.IntN(3) {
			switch i := rng.IntN(len(b)); rng.IntN(3) {
			case 0:
				b[i] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				b = append(b[:i], b[i+1:]...)
			default:
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			}
		}
		m, err := parseJWEHeader(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error %v is not ErrInvalid", b, err)
			}
			continue
		}
		accepted++
		var h map[string]json.RawMessage
		if err := json.Unmarshal(b, &h); err != nil || len(h) != 5 || m.KeyID == 0 {
			t.Fatalf("accepted %q (%+v), which encoding/json reads as %v, %v", b, m, h, err)
		}
	}
	if accepted == 0 {
		t.Fatal("no mutation was accepted; the generator is broken")
	}
}

// countingProvider counts how often the keyring is asked for, which Open
// only does once a value has passed every check that needs no key.
type countingProvider struct {
	kr *keyring.Keyring
	n  int
}

func (p *countingProvider) Keyring() *keyring.Keyring { p.n++; return p.kr }

// TestRefusedBeforeAnyKeyWork checks that oversized, compressed,
// critical, off-list, malformed and unknown-version values, of either
// format, are refused before the keyring is even consulted, let alone a
// key derived or a byte decrypted, by a codec sealing in either format.
func TestRefusedBeforeAnyKeyWork(t *testing.T) {
	kr := testKeyring(t)
	iat := `,"iat":1795428000,"rat":1795428000}`
	// A deflate bomb: 3000 encoded bytes that would inflate to megabytes.
	bomb := sealRawJWE(t, kr, "session", 1, 0, `{"alg":"dir","enc":"A256GCM","kid":"1","zip":"DEF"`+iat, bytes.Repeat([]byte{0}, 2000))
	native := mustSeal(t, newCodec(t, kr, "session", &clock{t0}), `{}`)
	raw, err := b64.DecodeString(native)
	if err != nil {
		t.Fatal(err)
	}
	raw[0] = 2
	badVersion := b64.EncodeToString(raw)
	// Whichever format the codec seals in, it refuses these before any
	// key work: the open order holds for values of both formats.
	for _, f := range bothFormats {
		p := &countingProvider{kr: kr}
		c, err := New(p, "session", Options{Now: (&clock{t0}).now, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, value string
			want        error
		}{
			{"zip bomb", bomb, ErrInvalid},
			{"oversized", strings.Repeat("A", DefaultMaxValueSize+1), ErrTooLarge},
			{"oversized JWE", "eyJ" + strings.Repeat(".", 4) + strings.Repeat("A", DefaultMaxValueSize), ErrTooLarge},
			{"crit", sealRawJWE(t, kr, "session", 1, 0, `{"alg":"dir","enc":"A256GCM","kid":"1","crit":["x"]`+iat, nil), ErrInvalid},
			{"alg A256KW", sealRawJWE(t, kr, "session", 1, 0, `{"alg":"A256KW","enc":"A256GCM","kid":"1"`+iat, nil), ErrInvalid},
			{"enc A128GCM", sealRawJWE(t, kr, "session", 1, 0, `{"alg":"dir","enc":"A128GCM","kid":"1"`+iat, nil), ErrInvalid},
			{"native, malformed", native[:len(native)-1] + "!", ErrInvalid},
			{"native, bad version", badVersion, ErrInvalid},
		} {
			t.Run(f.String()+"/"+tc.name, func(t *testing.T) {
				p.n = 0
				if _, _, err := c.Open(tc.value); !errors.Is(err, tc.want) {
					t.Fatalf("Open = %v, want %v", err, tc.want)
				}
				if p.n != 0 {
					t.Fatalf("the keyring was consulted %d times", p.n)
				}
			})
		}
		for _, v := range []string{sealRawJWE(t, kr, "session", 1, 0, `{"alg":"dir","enc":"A256GCM","kid":"1"`+iat, nil), native} {
			p.n = 0
			if _, _, err := c.Open(v); err != nil || p.n != 1 {
				t.Fatalf("%v codec, control: %v, keyring consulted %d times", f, err, p.n)
			}
		}
	}
}

// TestJWETypedJSON: the typed helpers work over the JWE format too, with
// the same exact integers and the same errors.
func TestJWETypedJSON(t *testing.T) {
	clk := &clock{t0}
	c := newJWE(t, testKeyring(t), "session", clk)
	type sess struct {
		UserID int64  `json:"user_id"`
		Role   string `json:"role"`
	}
	v, err := SealJSON(c, sess{UserID: math.MaxInt64, Role: "admin"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got, m, err := OpenJSON[sess](c, v)
	if err != nil || got != (sess{UserID: math.MaxInt64, Role: "admin"}) || !m.IssuedAt.Equal(t0) {
		t.Fatalf("OpenJSON = %+v, %+v, %v", got, m, err)
	}
	dyn, _, err := OpenJSON[map[string]any](c, v)
	if err != nil || dyn["user_id"] != json.Number("9223372036854775807") {
		t.Fatalf("OpenJSON[map] = %#v, %v; want the exact json.Number", dyn, err)
	}
	flip := byte('A')
	if v[len(v)/2] == flip {
		flip = 'B'
	}
	if _, _, err := OpenJSON[sess](c, v[:len(v)/2]+string(flip)+v[len(v)/2+1:]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered: %v, want ErrInvalid", err)
	}
	if _, _, err := OpenJSON[[]int](c, v); !errors.Is(err, ErrInvalid) {
		t.Fatalf("payload of another type: %v, want ErrInvalid", err)
	}
	clk.t = clk.t.Add(48 * time.Hour)
	if _, _, err := OpenJSON[sess](c, v); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v, want ErrExpired", err)
	}
}
