package fuzz

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/authjs"
	"github.com/cookieseal/cookieseal/cookie/gorilla"
	"github.com/cookieseal/cookieseal/keyring"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/gorilla/securecookie"
)

// otherKeys has vectorKeys' key IDs and statuses under other secrets.
const otherKeys = "1:primary:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM,2:decrypt-only:BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"

// jweTarget is one JWE codec under test with what the fuzzer cannot
// forge: the seed values that open, and those that are authentic but
// expired, at vectorNow.
type jweTarget struct {
	name      string
	kr        *keyring.Keyring
	c         *cookie.Codec
	other     *cookie.Codec          // the same key IDs under other secrets
	jwks      jose.JSONWebKeySet     // c's derived keys, for go-jose
	authentic map[string]bool        // opens under c
	expired   map[string]bool        // authentic, but ErrExpired under c
	payloads  map[string][]byte      // authentic value → payload
	metas     map[string]cookie.Meta // authentic value → header
}

func newJWETarget(f *testing.F, name, keys, other string) *jweTarget {
	kr := vectorKeyring(f, keys)
	opts := vectorOptions
	opts.Format = cookie.JWE
	c, err := cookie.New(kr, "session", opts)
	if err != nil {
		f.Fatal(err)
	}
	o, err := cookie.New(vectorKeyring(f, other), "session", opts)
	if err != nil {
		f.Fatal(err)
	}
	js, err := c.InsecureExportJWKSet()
	if err != nil {
		f.Fatal(err)
	}
	k := &jweTarget{name: name, kr: kr, c: c, other: o, authentic: map[string]bool{}, expired: map[string]bool{},
		payloads: map[string][]byte{}, metas: map[string]cookie.Meta{}}
	if err := json.Unmarshal(js, &k.jwks); err != nil {
		f.Fatal(err)
	}
	return k
}

// sealJWE seals payload under key id and epoch of k's keyring with any
// header and a fixed IV: seeds must be the same in every fuzzing process,
// and Seal's IVs are random.
func (k *jweTarget) sealJWE(f *testing.F, id, epoch uint32, header string, payload []byte) string {
	aead, err := k.kr.AEAD(keyring.A256GCM, "session", id, epoch)
	if err != nil {
		f.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	h := enc([]byte(header))
	iv := bytes.Repeat([]byte{0x24}, 12)
	sealed := aead.Seal(nil, iv, payload, []byte(h))
	n := len(sealed) - 16
	return h + ".." + enc(iv) + "." + enc(sealed[:n]) + "." + enc(sealed[n:])
}

// sealSeeds returns authentic values of several sizes and headers: ones
// Seal would write (checked against Seal), reordered ones with white space
// (as other JOSE libraries may write), one past its absolute timeout, and
// authentic ones that break the header rules.
func (k *jweTarget) sealSeeds(f *testing.F) []string {
	now := vectorNow.Unix()
	epoch := k.kr.Epoch(vectorNow)
	kid := "1"
	if epoch != 0 {
		kid += "." + strconv.FormatUint(uint64(epoch), 10)
	}
	hdr := func(kid string, iat int64) string {
		return fmt.Sprintf(`{"alg":"dir","enc":"A256GCM","kid":%q,"iat":%d,"rat":%d}`, kid, iat, now)
	}
	// The header Seal writes now is hdr(kid, now).
	v, err := k.c.Seal([]byte("x"), time.Time{})
	if err != nil {
		f.Fatal(err)
	}
	if h, _, _ := strings.Cut(v, "."); h != base64.RawURLEncoding.EncodeToString([]byte(hdr(kid, now))) {
		f.Fatalf("%s: Seal's header is not %s", k.name, hdr(kid, now))
	}
	var out []string
	for _, p := range []string{"", `{"user_id":1}`, strings.Repeat("x", 1000), strings.Repeat("y", 2700)} {
		out = append(out, k.sealJWE(f, 1, epoch, hdr(kid, now), []byte(p)))
	}
	kid2 := "2" + strings.TrimPrefix(kid, "1")
	p := []byte(`{"user_id":2}`)
	return append(out,
		k.sealJWE(f, 2, epoch, hdr(kid2, now), p), // the decrypt-only key
		k.sealJWE(f, 1, epoch, fmt.Sprintf(" {\n\t\"rat\" : %d ,\"kid\":%q,\"iat\":%d, \"enc\":\"A256GCM\",\"alg\":\"dir\"}\r\n", now, kid, now-60), p),
		k.sealJWE(f, 1, epoch, hdr(kid, now-25*3600), p),                                  // expired
		k.sealJWE(f, 1, epoch, hdr(kid, now+3600), p),                                     // issued in the future
		k.sealJWE(f, 1, epoch, strings.TrimSuffix(hdr(kid, now), "}")+`,"typ":"JWT"}`, p), // a member not allowed
		k.sealJWE(f, 1, 0, hdr("1", now), p),                                              // epoch 0
	)
}

// classify records what seed v is to k.
func (k *jweTarget) classify(v string) {
	p, m, err := k.c.Open(v)
	switch {
	case err == nil:
		k.authentic[v], k.payloads[v], k.metas[v] = true, p, m
	case errors.Is(err, cookie.ErrExpired):
		k.expired[v] = true
	}
}

// check applies the properties to one input.
func (k *jweTarget) check(t *testing.T, v string) {
	p, m, err := k.c.Open(v)
	if err != nil {
		if p != nil || m != (cookie.Meta{}) {
			t.Fatalf("%s: error %v came with results", k.name, err)
		}
		tooLarge := len(v) > cookie.DefaultMaxValueSize
		switch {
		case errors.Is(err, cookie.ErrTooLarge) != tooLarge:
			t.Fatalf("%s: %d-byte value: error %v", k.name, len(v), err)
		case errors.Is(err, cookie.ErrExpired):
			// Expiry is only checked after authentication.
			if !k.expired[v] || errors.Is(err, cookie.ErrInvalid) {
				t.Fatalf("%s: unauthentic value reported %v: %q", k.name, err, v)
			}
		case errors.Is(err, cookie.ErrInvalid), errors.Is(err, cookie.ErrTooLarge):
		default:
			t.Fatalf("%s: error %v matches no sentinel", k.name, err)
		}
		return
	}
	if !k.authentic[v] {
		// Decoding is strict (no second spelling of a value) and the
		// fuzzer cannot forge a tag, so only a seed opens.
		t.Fatalf("%s: unauthentic value opened: %q", k.name, v)
	}
	if !bytes.Equal(p, k.payloads[v]) || m != k.metas[v] {
		t.Fatalf("%s: Open = %q, %+v; the seed opened to %q, %+v", k.name, p, m, k.payloads[v], k.metas[v])
	}
	if p2, m2, err := k.c.Open(v); err != nil || !bytes.Equal(p, p2) || m2 != m {
		t.Fatalf("%s: second Open = %q, %+v, %v; first %q, %+v", k.name, p2, m2, err, p, m)
	}
	if out, m2, err := k.c.AppendOpen([]byte("prefix"), v); err != nil || string(out) != "prefix"+string(p) || m2 != m {
		t.Fatalf("%s: AppendOpen = %q, %+v, %v", k.name, out, m2, err)
	}
	// The same key IDs under other secrets refuse it.
	if p2, m2, err := k.other.Open(v); !errors.Is(err, cookie.ErrInvalid) || p2 != nil || m2 != (cookie.Meta{}) {
		t.Fatalf("%s: opened under other secrets: %q, %+v, %v", k.name, p2, m2, err)
	}
	// And go-jose, given the exported key, reads the same payload.
	obj, err := jose.ParseEncryptedCompact(v, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatalf("%s: go-jose cannot parse an opened value: %v", k.name, err)
	}
	keys := k.jwks.Key(obj.Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("%s: kid %q: %d exported keys", k.name, obj.Header.KeyID, len(keys))
	}
	if gp, err := obj.Decrypt(keys[0].Key); err != nil || !bytes.Equal(gp, p) {
		t.Fatalf("%s: go-jose Decrypt = %q, %v; want %q", k.name, gp, err, p)
	}
}

// FuzzJWEOpen: Codec.Open (a codec sealing JWE) never panics, returns nil results with
// every error, ErrTooLarge exactly for over-long values and ErrExpired
// only for authentic ones, and succeeds only for authentic values: the
// seeds that opened, to the same payload and header every time, refused
// under other secrets for the same key IDs, and readable by go-jose.
func FuzzJWEOpen(f *testing.F) {
	targets := []*jweTarget{
		newJWETarget(f, "plain keys", vectorKeys, otherKeys),
		newJWETarget(f, "epoch keys", vectorKeys+",epoch=1h", otherKeys+",epoch=1h"),
	}
	seeds := vectorValues(f, jweDir)
	for _, k := range targets {
		for _, v := range seeds {
			k.classify(v)
		}
		if len(k.authentic) == 0 {
			f.Fatalf("%s: no vector in %s opened", k.name, jweDir)
		}
	}
	for _, k := range targets {
		seeds = append(seeds, k.sealSeeds(f)...)
	}
	for _, k := range targets {
		for _, v := range seeds {
			k.classify(v)
		}
		if len(k.expired) == 0 {
			f.Fatalf("%s: no expired seed", k.name)
		}
	}
	for _, v := range seeds {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, k := range targets {
			k.check(t, v)
		}
	})
}

// authjsFile is the part of cookie/authjs/testdata's vector file the
// target reads.
type authjsFile struct {
	Secret  string `json:"secret"`
	Vectors []struct {
		Name    string `json:"name"`
		Token   string `json:"token"`
		Cookies []struct {
			Value string `json:"value"`
		} `json:"cookies"`
		IAT int64 `json:"iat"`
		Exp int64 `json:"exp"`
	} `json:"vectors"`
}

// authjsVectors loads the Auth.js vector files, failing the target if
// none has a token.
func authjsVectors(f *testing.F) (secret string, tokens []string, iat, exp int64) {
	files, err := filepath.Glob("../cookie/authjs/testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var vf authjsFile
		if err := json.Unmarshal(data, &vf); err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		if secret != "" && vf.Secret != secret {
			f.Fatalf("%s: another secret than the other vector files", file)
		}
		secret = vf.Secret
		for _, v := range vf.Vectors {
			tokens = append(tokens, v.Token)
			for _, c := range v.Cookies {
				tokens = append(tokens, c.Value) // chunks: token prefixes and pieces
			}
			iat, exp = max(iat, v.IAT), max(exp, v.Exp)
		}
	}
	if len(tokens) == 0 || secret == "" {
		f.Fatal("no seeds loaded from ../cookie/authjs/testdata")
	}
	return secret, tokens, iat, exp
}

func authjsReader(f *testing.F, secret string, now int64) *authjs.Reader {
	r, err := authjs.New([]string{secret}, authjs.Options{Now: func() time.Time { return time.Unix(now, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	return r
}

// FuzzAuthjsOpen: Reader.Open never panics, returns zero claims with
// every error, which matches ErrInvalid or ErrExpired (and not both), and
// opens only what the vectors hold: an opened token carries the claims of
// a seed, does not open under another secret, and is ErrExpired, not
// invalid, once past its exp.
func FuzzAuthjsOpen(f *testing.F) {
	secret, tokens, iat, exp := authjsVectors(f)
	r := authjsReader(f, secret, iat+60)
	other := authjsReader(f, "another secret of 32 characters.", iat+60)
	late := authjsReader(f, secret, exp+24*3600)
	var known []authjs.Claims
	for _, tok := range tokens {
		f.Add(tok)
		if c, err := r.Open(tok); err == nil {
			known = append(known, c)
		}
	}
	if len(known) == 0 {
		f.Fatal("no authentic seed: the Auth.js vectors did not open")
	}
	f.Add("")
	f.Add("a.b.c.d.e")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := r.Open(tok)
		_, lateErr := late.Open(tok)
		if lateErr == nil {
			t.Fatalf("opened after every seed's exp: %q", tok)
		}
		if err != nil {
			if !reflect.ValueOf(c).IsZero() {
				t.Fatalf("error %v came with claims %+v", err, c)
			}
			if errors.Is(err, cookie.ErrInvalid) == errors.Is(err, cookie.ErrExpired) {
				t.Fatalf("error %v matches not exactly one of ErrInvalid and ErrExpired", err)
			}
			// No seed is expired at iat+60, so no input can be.
			if errors.Is(err, cookie.ErrExpired) {
				t.Fatalf("ErrExpired at iat+60: %q", tok)
			}
			if errors.Is(lateErr, cookie.ErrExpired) {
				// Expiry is only checked after authentication.
				t.Fatalf("ErrExpired later for a token that is %v now: %q", err, tok)
			}
			return
		}
		if !containsClaims(known, c) {
			t.Fatalf("opened to claims no seed holds: %+v", c)
		}
		if c2, err := r.Open(tok); err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("second Open = %+v, %v", c2, err)
		}
		if c2, err := other.Open(tok); !errors.Is(err, cookie.ErrInvalid) || !reflect.ValueOf(c2).IsZero() {
			t.Fatalf("opened under another secret: %+v, %v", c2, err)
		}
		if !errors.Is(lateErr, cookie.ErrExpired) || errors.Is(lateErr, cookie.ErrInvalid) {
			t.Fatalf("after exp: %v, want ErrExpired", lateErr)
		}
	})
}

func containsClaims(known []authjs.Claims, c authjs.Claims) bool {
	for _, k := range known {
		if reflect.DeepEqual(k, c) {
			return true
		}
	}
	return false
}

var (
	gorillaHash  = bytes.Repeat([]byte{0x11}, 32)
	gorillaBlock = bytes.Repeat([]byte{0x22}, 32)
	gorillaOther = bytes.Repeat([]byte{0x33}, 32)
	// gorillaSessions are session values as gorilla/sessions stores them.
	gorillaSessions = []map[any]any{
		{},
		{"user_id": 42, "role": "admin"},
		{"s": "text", "b": true, "i8": int8(-8), "u64": uint64(1<<64 - 1), "f": 2.25, "bytes": []byte{0, 1},
			"strs": []string{"a"}, "ints": []int{1, 2}, "t": time.Date(2026, 11, 23, 10, 0, 0, 5, time.UTC),
			"m": map[string]any{"k": []any{"v", 1}}, "_flash": []any{"saved"}},
		{"nested": map[string]any{"a": map[string]any{"b": []any{[]any{"c"}}}}},
		{7: "int key"},
		{"c": complex(1, 2)},
	}
)

// registerLegacyTypes registers with gob the types the old app's sessions
// hold, as that app did, once per test binary.
var registerLegacyTypes = sync.OnceFunc(func() {
	gob.Register(time.Time{})
	gob.Register(map[string]any{})
	gob.Register([]any{})
})

// gorillaDecoder is a decoder under test, with a decoder of the same keys
// that accepts any age and two under another hash key (and block key).
type gorillaDecoder struct {
	name                      string
	hashKey, blockKey         []byte
	g, forever, other, other2 *gorilla.Decoder
}

// securecookie stamps values with time.Now, so the decoders read the same
// clock.
func newGorillaDecoders(f *testing.F) []gorillaDecoder {
	registerLegacyTypes()
	mk := func(h, b []byte, maxAge time.Duration) *gorilla.Decoder {
		g, err := gorilla.New(h, b, gorilla.Options{MaxAge: maxAge, Anonymous: true})
		if err != nil {
			f.Fatal(err)
		}
		return g
	}
	var out []gorillaDecoder
	for _, d := range []struct {
		name string
		b    []byte
	}{{"hash and block keys", gorillaBlock}, {"hash key only", nil}} {
		out = append(out, gorillaDecoder{name: d.name, hashKey: gorillaHash, blockKey: d.b,
			g:       mk(gorillaHash, d.b, 0),
			forever: mk(gorillaHash, d.b, 100*365*24*time.Hour),
			other:   mk(gorillaOther, d.b, 0),
			other2:  mk(gorillaOther, gorillaOther, 0),
		})
	}
	return out
}

// FuzzGorillaDecode: DecodeLegacy never panics, returns a nil map with
// every error, which matches ErrInvalid (ErrLegacyType included),
// ErrExpired or, over 4096 bytes, ErrTooLarge; ErrExpired and
// ErrLegacyType come only for authentic values. What decodes is one of
// the sessions the seeds hold, decodes the same again, and fails under
// another hash key or cookie name.
func FuzzGorillaDecode(f *testing.F) {
	ds := newGorillaDecoders(f)
	var known []map[string]any
	for _, d := range ds {
		for _, s := range gorillaSessions {
			v, err := securecookie.New(d.hashKey, d.blockKey).Encode("session", s)
			if err != nil {
				f.Fatal(err)
			}
			f.Add("session", v)
			if m, err := d.g.DecodeLegacy("session", v); err == nil {
				known = append(known, m)
			} else if !errors.Is(err, cookie.ErrLegacyType) {
				f.Fatalf("%s: seed %v: %v", d.name, s, err)
			}
		}
	}
	if len(known) == 0 {
		f.Fatal("no authentic seed decoded")
	}
	// Vector files, if the cookie package ever keeps some.
	if dir := "../cookie/testdata/gorilla"; dirExists(dir) {
		for _, v := range vectorValues(f, dir) {
			f.Add("session", v)
		}
	}
	f.Add("session", "")
	f.Add("session", strings.Repeat("A", 4097))
	f.Fuzz(func(t *testing.T, name, v string) {
		for _, d := range ds {
			m, err := d.g.DecodeLegacy(name, v)
			if err != nil {
				if m != nil {
					t.Fatalf("%s: error %v came with %v", d.name, err, m)
				}
				switch {
				case errors.Is(err, cookie.ErrTooLarge) != (len(v) > 4096):
					t.Fatalf("%s: %d-byte value: %v", d.name, len(v), err)
				case errors.Is(err, cookie.ErrExpired), errors.Is(err, cookie.ErrLegacyType):
					// Both come only after authentication.
					if fm, ferr := d.forever.DecodeLegacy(name, v); ferr != nil && !errors.Is(ferr, cookie.ErrLegacyType) {
						t.Fatalf("%s: %v for a value that does not authenticate (%v, %v)", d.name, err, fm, ferr)
					}
				case errors.Is(err, cookie.ErrInvalid), errors.Is(err, cookie.ErrTooLarge):
				default:
					t.Fatalf("%s: error %v matches no sentinel", d.name, err)
				}
				continue
			}
			if m == nil {
				t.Fatalf("%s: nil map without an error", d.name)
			}
			if !containsMap(known, m) {
				t.Fatalf("%s: decoded a session no seed holds: %#v", d.name, m)
			}
			if m2, err := d.g.DecodeLegacy(name, v); err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("%s: second decode = %#v, %v", d.name, m2, err)
			}
			if m2, err := d.forever.DecodeLegacy(name, v); err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("%s: decode without MaxAge = %#v, %v", d.name, m2, err)
			}
			for _, o := range []*gorilla.Decoder{d.other, d.other2} {
				if m2, err := o.DecodeLegacy(name, v); !errors.Is(err, cookie.ErrInvalid) || m2 != nil {
					t.Fatalf("%s: decoded under another hash key: %#v, %v", d.name, m2, err)
				}
			}
			if m2, err := d.g.DecodeLegacy(name+"x", v); !errors.Is(err, cookie.ErrInvalid) || m2 != nil {
				t.Fatalf("%s: decoded as cookie %q: %#v, %v", d.name, name+"x", m2, err)
			}
		}
	})
}

// FuzzGorillaGob: DecodeLegacy on authentic cookies holding any gob
// stream never panics and returns a nil map with every error, which
// matches ErrLegacyType; it errs whenever encoding/gob cannot decode the
// stream as gorilla's map, and decodes the same map every time.
func FuzzGorillaGob(f *testing.F) {
	ds := newGorillaDecoders(f)
	for _, s := range gorillaSessions {
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(s); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ref map[any]any
		refErr := gobDecode(raw, &ref)
		for _, d := range ds {
			sc := securecookie.New(d.hashKey, d.blockKey)
			sc.SetSerializer(securecookie.NopEncoder{})
			v, err := sc.Encode("session", raw)
			if err != nil {
				return // too long for a cookie
			}
			if err := sc.Decode("session", v, new([]byte)); err != nil {
				// securecookie itself cannot read it back (with a
				// block key, the empty value), so no app wrote it.
				continue
			}
			m, err := d.g.DecodeLegacy("session", v)
			if err != nil {
				if m != nil || !errors.Is(err, cookie.ErrLegacyType) {
					t.Fatalf("%s: %#v, %v", d.name, m, err)
				}
				continue
			}
			if refErr != nil {
				t.Fatalf("%s: decoded %#v from a stream gob refuses (%v)", d.name, m, refErr)
			}
			if m == nil || len(m) != len(ref) {
				t.Fatalf("%s: decoded %#v from %#v", d.name, m, ref)
			}
			if m2, err := d.g.DecodeLegacy("session", v); err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("%s: second decode = %#v, %v", d.name, m2, err)
			}
		}
	})
}

// gobDecode decodes like gorilla, reporting a panic as an error.
func gobDecode(raw []byte, dst *map[any]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("gob panicked")
		}
	}()
	return gob.NewDecoder(bytes.NewReader(raw)).Decode(dst)
}

func containsMap(known []map[string]any, m map[string]any) bool {
	for _, k := range known {
		if reflect.DeepEqual(k, m) {
			return true
		}
	}
	return false
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}
