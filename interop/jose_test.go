package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// testKeys is key 1 (primary) and key 2 (decrypt-only); rotated is the
// same secrets with key 2 primary, to seal values under key 2.
func testKeys(t *testing.T, epoch string) (kr, rotated *keyring.Keyring) {
	t.Helper()
	const one, two = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"
	build := func(s string) *keyring.Keyring {
		set, err := keyring.ParseString(s + epoch)
		if err != nil {
			t.Fatal(err)
		}
		k, err := keyring.New(set)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return build("1:primary:" + one + ",2:decrypt-only:" + two), build("1:decrypt-only:" + one + ",2:primary:" + two)
}

func newJWE(t *testing.T, kr *keyring.Keyring, purpose string, clk *clock) *cookie.Codec {
	t.Helper()
	c, err := cookie.New(kr, purpose, cookie.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, Now: clk.now, Format: cookie.JWE})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type nodeDecrypted struct {
	ProtectedHeader map[string]any `json:"protectedHeader"`
	Plaintext       string         `json:"plaintext"`
	Error           string         `json:"error"`
}

// TestNodeJoseOpensOurJWE hands Node's jose the exported key set and our
// values; it must open every authentic one, see our header, and refuse
// the rest.
func TestNodeJoseOpensOurJWE(t *testing.T) {
	needNode(t)
	for _, tc := range []struct{ name, epoch string }{{"plain keys", ""}, {"epoch keys", ",epoch=1h"}} {
		t.Run(tc.name, func(t *testing.T) {
			// Millisecond times: the header carries them as NumericDates
			// with up to three decimals.
			clk := &clock{time.Now().Truncate(time.Second).Add(503 * time.Millisecond)}
			kr, rotated := testKeys(t, tc.epoch)
			c := newJWE(t, kr, "session", clk)
			payloads := []string{`{"user_id":123456,"role":"admin"}`, `{"name":"Zoë 🍪","n":9007199254740993}`, `{"blob":"` + strings.Repeat("x", 2500) + `"}`}
			var tokens []string
			var metas []cookie.Meta
			for _, p := range payloads {
				v, err := c.Seal([]byte(p), clk.t.Add(-time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, v)
			}
			// A value sealed under the decrypt-only key 2.
			v2, err := newJWE(t, rotated, "session", clk).Seal([]byte(`{"k":2}`), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, v2)
			payloads = append(payloads, `{"k":2}`)
			for _, v := range tokens {
				_, m, err := c.Open(v)
				if err != nil {
					t.Fatal(err)
				}
				metas = append(metas, m)
			}
			// Values Node must refuse: tampered, and sealed for another purpose.
			tampered := []byte(tokens[0])
			tampered[len(tampered)-5] ^= 'A' ^ 'B'
			other, err := newJWE(t, kr, "csrf", clk).Seal([]byte(`{}`), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			jwks, err := c.InsecureExportJWKSet()
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ Results []nodeDecrypted }
			runNode(t, "jose.mjs", map[string]any{"op": "decrypt", "jwks": json.RawMessage(jwks), "tokens": append(tokens, string(tampered), other)}, &out)
			if len(out.Results) != len(tokens)+2 {
				t.Fatalf("%d results for %d tokens", len(out.Results), len(tokens)+2)
			}
			for i, r := range out.Results[:len(tokens)] {
				if r.Error != "" || r.Plaintext != payloads[i] {
					t.Fatalf("token %d: Node opened %q, error %q", i, r.Plaintext, r.Error)
				}
				m := metas[i]
				kid := fmtKID(m)
				h := r.ProtectedHeader
				if h["alg"] != "dir" || h["enc"] != "A256GCM" || h["kid"] != kid ||
					h["iat"] != float64(m.IssuedAt.UnixMilli())/1000 || h["rat"] != float64(m.RefreshedAt.UnixMilli())/1000 || len(h) != 5 {
					t.Fatalf("token %d: Node saw header %v, want kid %s and our times", i, h, kid)
				}
			}
			for i, r := range out.Results[len(tokens):] {
				if r.Error == "" {
					t.Fatalf("Node opened bad value %d: %q", i, r.Plaintext)
				}
			}
		})
	}
}

func fmtKID(m cookie.Meta) string {
	b, _ := json.Marshal(m.KeyID)
	if m.Epoch == 0 {
		return string(b)
	}
	e, _ := json.Marshal(m.Epoch)
	return string(b) + "." + string(e)
}

// TestOurJWEOpensNodeJose has Node's jose seal values with our header and
// the exported key; we must open the right ones, with the same expiry
// rule, and refuse the others.
func TestOurJWEOpensNodeJose(t *testing.T) {
	needNode(t)
	now := time.Now().Truncate(time.Second)
	clk := &clock{now}
	kr, _ := testKeys(t, "")
	c := newJWE(t, kr, "session", clk)
	key, err := kr.InsecureExportDerivedKey(keyring.A256GCM, "session", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	jwk := map[string]string{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(key)}
	jwk64 := map[string]string{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(append(bytes.Clone(key), key...))}
	hdr := func(extra map[string]any) map[string]any {
		h := map[string]any{"alg": "dir", "enc": "A256GCM", "kid": "1", "iat": now.Add(-time.Hour).Unix(), "rat": now.Add(-time.Minute).Unix()}
		for k, v := range extra {
			if v == nil {
				delete(h, k)
			} else {
				h[k] = v
			}
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		jwk    map[string]string
		header map[string]any
		want   error
	}{
		{"our header", jwk, hdr(nil), nil},
		{"members in another order", jwk, map[string]any{"rat": now.Unix(), "kid": "1", "iat": now.Unix(), "enc": "A256GCM", "alg": "dir"}, nil},
		{"idle expired", jwk, hdr(map[string]any{"iat": now.Add(-3 * time.Hour).Unix(), "rat": now.Add(-2 * time.Hour).Unix()}), cookie.ErrExpired},
		{"absolute expired", jwk, hdr(map[string]any{"iat": now.Add(-25 * time.Hour).Unix()}), cookie.ErrExpired},
		{"issued in the future", jwk, hdr(map[string]any{"iat": now.Add(time.Hour).Unix(), "rat": now.Add(time.Hour).Unix()}), cookie.ErrInvalid},
		{"extra typ", jwk, hdr(map[string]any{"typ": "JWT"}), cookie.ErrInvalid},
		{"no kid", jwk, hdr(map[string]any{"kid": nil}), cookie.ErrInvalid},
		{"kid of another key", jwk, hdr(map[string]any{"kid": "2"}), cookie.ErrInvalid},
		{"fractional iat", jwk, hdr(map[string]any{"iat": float64(now.Add(-time.Hour).Unix()) + 0.503}), nil},
		{"string iat", jwk, hdr(map[string]any{"iat": strconv.FormatInt(now.Unix(), 10)}), cookie.ErrInvalid},
		{"negative iat", jwk, hdr(map[string]any{"iat": -1}), cookie.ErrInvalid},
		{"enc A256CBC-HS512", jwk64, hdr(map[string]any{"enc": "A256CBC-HS512"}), cookie.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out struct{ Tokens []json.RawMessage }
			runNode(t, "jose.mjs", map[string]any{"op": "encrypt", "items": []any{map[string]any{"jwk": tc.jwk, "header": tc.header, "plaintext": `{"from":"node"}`}}}, &out)
			var token string
			if len(out.Tokens) != 1 || json.Unmarshal(out.Tokens[0], &token) != nil {
				t.Fatalf("Node did not seal: %s", out.Tokens)
			}
			p, m, err := c.Open(token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %v; want %v", p, err, tc.want)
			}
			if tc.want == nil {
				var iatMS int64
				switch iat := tc.header["iat"].(type) {
				case int64:
					iatMS = iat * 1000
				case float64:
					iatMS = int64(math.Round(iat * 1000))
				}
				if string(p) != `{"from":"node"}` || m.KeyID != 1 || m.IssuedAt.UnixMilli() != iatMS {
					t.Fatalf("Open = %q, %+v", p, m)
				}
			}
		})
	}
}
