package interop

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// goJoseSeal seals payload with go-jose under key, with our iat/rat
// headers at t.
func goJoseSeal(t *testing.T, enc jose.ContentEncryption, key []byte, kid string, at time.Time, opts *jose.EncrypterOptions, payload string) string {
	t.Helper()
	e, err := jose.NewEncrypter(enc, jose.Recipient{Algorithm: jose.DIRECT, Key: key, KeyID: kid}, opts.WithHeader("iat", at.Unix()).WithHeader("rat", at.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.Encrypt([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGoJoseInterop checks our JWE values against go-jose, an independent
// JOSE implementation, both ways, with the exported key set (epoch keys).
func TestGoJoseInterop(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := &clock{t0}
	kr, _ := testKeys(t, ",epoch=1h")
	c := newJWE(t, kr, "session", clk)
	v, err := c.Seal([]byte(`{"a":1}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	js, err := c.InsecureExportJWKSet()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &set); err != nil {
		t.Fatal(err)
	}
	obj, err := jose.ParseEncryptedCompact(v, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(obj.Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d keys in the exported set of %d", obj.Header.KeyID, len(keys), len(set.Keys))
	}
	p, err := obj.Decrypt(keys[0].Key)
	if err != nil || string(p) != `{"a":1}` {
		t.Fatalf("go-jose Decrypt = %q, %v", p, err)
	}
	// And go-jose seals a value we open, given our headers.
	key, ok := keys[0].Key.([]byte)
	if !ok {
		t.Fatalf("exported key is a %T", keys[0].Key)
	}
	gv := goJoseSeal(t, jose.A256GCM, key, obj.Header.KeyID, t0, &jose.EncrypterOptions{}, `{"b":2}`)
	p, m, err := c.Open(gv)
	if err != nil || string(p) != `{"b":2}` || !m.IssuedAt.Equal(t0) {
		t.Fatalf("Open(go-jose value) = %q, %+v, %v", p, m, err)
	}
}

// TestGoJoseOtherAlgorithmsRefused: authentic go-jose values with an
// encryption or compression we do not accept are ErrInvalid; the same
// key with A256GCM is the control.
func TestGoJoseOtherAlgorithmsRefused(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	kr, _ := testKeys(t, "")
	c := newJWE(t, kr, "session", &clock{t0})
	key, err := kr.InsecureExportDerivedKey(keyring.A256GCM, "session", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := c.Open(goJoseSeal(t, jose.A256GCM, key, "1", t0, &jose.EncrypterOptions{}, "payload")); err != nil || string(p) != "payload" {
		t.Fatalf("control go-jose value: %q, %v", p, err)
	}
	for _, tc := range []struct {
		name string
		enc  jose.ContentEncryption
		key  []byte
		opts *jose.EncrypterOptions
	}{
		{"enc A128GCM", jose.A128GCM, key[:16], &jose.EncrypterOptions{}},
		{"enc A256CBC-HS512", jose.A256CBC_HS512, append(bytes.Clone(key), key...), &jose.EncrypterOptions{}},
		{"zip DEF", jose.A256GCM, key, &jose.EncrypterOptions{Compression: jose.DEFLATE}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := goJoseSeal(t, tc.enc, tc.key, "1", t0, tc.opts, "payload")
			if p, _, err := c.Open(v); !errors.Is(err, cookie.ErrInvalid) {
				t.Fatalf("Open = %q, %v; want ErrInvalid", p, err)
			}
		})
	}
}
