package authjs

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookieseal/cookieseal/cookie"
)

// authjsVectors are tokens made by @auth/core's own encode and cookies
// split by its own SessionStore (see interop/authjs.mjs), frozen so that
// this package is checked against real Auth.js output without Node.
type authjsVectors struct {
	Secret  string `json:"secret"`
	Vectors []struct {
		Name       string `json:"name"`
		CookieName string `json:"cookieName"`
		Token      string `json:"token"`
		Cookies    []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"cookies"`
		IAT int64  `json:"iat"`
		Exp int64  `json:"exp"`
		JTI string `json:"jti"`
	} `json:"vectors"`
}

func loadVectors(t *testing.T) authjsVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/authjs-core-0.41.3.json")
	if err != nil {
		t.Fatal(err)
	}
	var v authjsVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) != 3 {
		t.Fatalf("loaded %d vectors, want 3", len(v.Vectors))
	}
	return v
}

func at(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }

func newReader(t *testing.T, secrets []string, opts Options) *Reader {
	t.Helper()
	r, err := New(secrets, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAuthjsCoreVectors(t *testing.T) {
	vs := loadVectors(t)
	for _, v := range vs.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			if v.Name == "chunked" && len(v.Cookies) < 2 {
				t.Fatalf("chunked vector has %d cookies", len(v.Cookies))
			}
			req := httptest.NewRequest("GET", "/", nil)
			// Chunks arrive in any order, beside unrelated cookies.
			for i := len(v.Cookies) - 1; i >= 0; i-- {
				req.AddCookie(&http.Cookie{Name: v.Cookies[i].Name, Value: v.Cookies[i].Value})
			}
			req.AddCookie(&http.Cookie{Name: v.CookieName + ".callback", Value: "x"})
			req.AddCookie(&http.Cookie{Name: "other", Value: "y"})
			for _, tc := range []struct {
				name string
				now  int64
				want error
			}{
				{"fresh", v.IAT + 60, nil},
				{"within skew of exp", v.Exp + 14, nil},
				{"at exp plus skew", v.Exp + 15, cookie.ErrExpired},
				{"long expired", v.Exp + 3600, cookie.ErrExpired},
				{"issued in the future", v.IAT - 16, cookie.ErrInvalid},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := newReader(t, []string{vs.Secret}, Options{Now: at(tc.now)})
					c, err := r.OpenRequest(req)
					if !errors.Is(err, tc.want) {
						t.Fatalf("OpenRequest = %v, want %v", err, tc.want)
					}
					c2, err2 := r.Open(v.Token)
					if !errors.Is(err2, tc.want) {
						t.Fatalf("Open = %v, want %v", err2, tc.want)
					}
					if tc.want != nil {
						return
					}
					for _, c := range []Claims{c, c2} {
						if c.Subject != "user-42" || c.Name != "Ann Example" || c.Email != "ann@example.com" || c.Picture != "" ||
							c.ID != v.JTI || !c.IssuedAt.Equal(time.Unix(v.IAT, 0)) || !c.ExpiresAt.Equal(time.Unix(v.Exp, 0)) ||
							c.Raw["role"] != "admin" || c.Raw["n"] != json.Number("9007199254740992") {
							t.Fatalf("claims = %+v", c)
						}
						if v.Name == "chunked" && len(c.Raw["bio"].(string)) != 5000 {
							t.Fatalf("bio of %d bytes", len(c.Raw["bio"].(string)))
						}
					}
				})
			}
		})
	}
}

func TestAuthjsSecretsAndNames(t *testing.T) {
	vs := loadVectors(t)
	v := vs.Vectors[0] // "small", cookie authjs.session-token
	other := "another secret, at least 16 bytes"
	now := at(v.IAT + 60)
	for _, tc := range []struct {
		name    string
		secrets []string
		opts    Options
		want    error
	}{
		{"default names", []string{vs.Secret}, Options{}, nil},
		{"rotation: old secret second", []string{other, vs.Secret}, Options{}, nil},
		{"unknown secret", []string{other}, Options{}, cookie.ErrInvalid},
		{"its own cookie name", []string{vs.Secret}, Options{CookieName: v.CookieName}, nil},
		{"another cookie name (salt)", []string{vs.Secret}, Options{CookieName: "app.session"}, cookie.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Now = now
			r := newReader(t, tc.secrets, tc.opts)
			if _, err := r.Open(v.Token); !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
	// The cookie's name is the salt: the same token under the other
	// standard name does not open.
	r := newReader(t, []string{vs.Secret}, Options{Now: now})
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: SecureCookieName, Value: v.Token})
	if _, err := r.OpenRequest(req); !errors.Is(err, cookie.ErrInvalid) {
		t.Fatalf("token under the other cookie name: %v", err)
	}
	if _, err := r.OpenRequest(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrNoToken) {
		t.Fatalf("no cookie: %v", err)
	}
}

func TestAuthjsChunkRules(t *testing.T) {
	vs := loadVectors(t)
	v := vs.Vectors[1]
	c0, c1 := v.Cookies[0], v.Cookies[1]
	for _, tc := range []struct {
		name    string
		cookies [][2]string
		max     int
		want    error
	}{
		{"both chunks", [][2]string{{c0.Name, c0.Value}, {c1.Name, c1.Value}}, 0, nil},
		{"missing first chunk", [][2]string{{c1.Name, c1.Value}}, 0, cookie.ErrInvalid},
		{"missing last chunk", [][2]string{{c0.Name, c0.Value}}, 0, cookie.ErrInvalid},
		{"a gap", [][2]string{{c0.Name, c0.Value}, {v.CookieName + ".2", c1.Value}}, 0, cookie.ErrInvalid},
		{"duplicate chunk", [][2]string{{c0.Name, c0.Value}, {c1.Name, c1.Value}, {c1.Name, c1.Value}}, 0, cookie.ErrInvalid},
		{"over MaxChunks", [][2]string{{c0.Name, c0.Value}, {c1.Name, c1.Value}}, 1, cookie.ErrInvalid},
		{"non-canonical index ignored", [][2]string{{c0.Name, c0.Value}, {c1.Name, c1.Value}, {v.CookieName + ".01", "x"}}, 0, nil},
		{"stale whole cookie beside chunks", [][2]string{{v.CookieName, "stale"}, {c0.Name, c0.Value}, {c1.Name, c1.Value}}, 0, ErrDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(t, []string{vs.Secret}, Options{Now: at(v.IAT + 60), MaxChunks: tc.max})
			req := httptest.NewRequest("GET", "/", nil)
			for _, c := range tc.cookies {
				req.AddCookie(&http.Cookie{Name: c[0], Value: c[1]})
			}
			if _, err := r.OpenRequest(req); !errors.Is(err, tc.want) {
				t.Fatalf("OpenRequest = %v, want %v", err, tc.want)
			}
		})
	}
}

// seal makes an Auth.js-shaped token with go-jose under the key Auth.js
// derives for secret and cookie name, with any claims and options, so
// that a refusal below is the reader's policy, not a wrong key.
func seal(t *testing.T, secret, name string, enc jose.ContentEncryption, claims string, opts *jose.EncrypterOptions, withKID bool) string {
	t.Helper()
	k, err := deriveKey([]byte(secret), name, enc)
	if err != nil {
		t.Fatal(err)
	}
	rcpt := jose.Recipient{Algorithm: jose.DIRECT, Key: []byte(k.key)}
	if withKID {
		rcpt.KeyID = k.kid
	}
	e, err := jose.NewEncrypter(enc, rcpt, opts)
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.Encrypt([]byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthjsRefusals(t *testing.T) {
	const secret = "a test secret of enough bytes"
	const now = 1795428000
	claims := fmt.Sprintf(`{"sub":"u","iat":%d,"exp":%d}`, now, now+3600)
	s := func(enc jose.ContentEncryption, claims string, opts *jose.EncrypterOptions, kid bool) string {
		return seal(t, secret, CookieName, enc, claims, opts, kid)
	}
	good := s(jose.A256CBC_HS512, claims, nil, true)
	a128 := func() string {
		key := make([]byte, 16)
		rand.Read(key)
		e, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := e.Encrypt([]byte(claims))
		v, _ := o.CompactSerialize()
		return v
	}()
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"control A256CBC-HS512", good, nil},
		{"control A256GCM", s(jose.A256GCM, claims, nil, true), nil},
		{"no kid: every secret tried", s(jose.A256CBC_HS512, claims, nil, false), nil},
		{"exp as a float", s(jose.A256GCM, fmt.Sprintf(`{"exp":%d.5}`, now+10), nil, true), nil},
		{"enc A128GCM", a128, cookie.ErrInvalid},
		{"zip", s(jose.A256GCM, claims, &jose.EncrypterOptions{Compression: jose.DEFLATE}, true), cookie.ErrInvalid},
		{"crit", s(jose.A256GCM, claims, (&jose.EncrypterOptions{}).WithHeader("crit", []string{"x"}).WithHeader("x", 1), true), cookie.ErrInvalid},
		{"a kid naming no configured key", func() string {
			k, err := deriveKey([]byte(secret), CookieName, jose.A256GCM)
			if err != nil {
				t.Fatal(err)
			}
			e, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: []byte(k.key), KeyID: "not-a-thumbprint"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			o, _ := e.Encrypt([]byte(claims))
			v, _ := o.CompactSerialize()
			return v
		}(), cookie.ErrInvalid},
		{"no exp", s(jose.A256GCM, `{"sub":"u"}`, nil, true), cookie.ErrInvalid},
		{"exp a string", s(jose.A256GCM, `{"exp":"1795431600"}`, nil, true), cookie.ErrInvalid},
		{"exp negative", s(jose.A256GCM, `{"exp":-1}`, nil, true), cookie.ErrInvalid},
		{"expired", s(jose.A256GCM, fmt.Sprintf(`{"exp":%d}`, now-15), nil, true), cookie.ErrExpired},
		{"nbf in the future", s(jose.A256GCM, fmt.Sprintf(`{"exp":%d,"nbf":%d}`, now+3600, now+16), nil, true), cookie.ErrInvalid},
		{"sub a number", s(jose.A256GCM, fmt.Sprintf(`{"exp":%d,"sub":1}`, now+3600), nil, true), cookie.ErrInvalid},
		{"claims an array", s(jose.A256GCM, `[1]`, nil, true), cookie.ErrInvalid},
		{"claims not JSON", s(jose.A256GCM, `nope`, nil, true), cookie.ErrInvalid},
		{"trailing data", s(jose.A256GCM, fmt.Sprintf(`{"exp":%d} {}`, now+3600), nil, true), cookie.ErrInvalid},
		{"tampered", good[:len(good)-30] + string(good[len(good)-30]^1) + good[len(good)-29:], cookie.ErrInvalid},
		{"not a JWE", "abc", cookie.ErrInvalid},
		{"too large", strings.Repeat("A", authjsMaxChunks*ChunkSize+1), cookie.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(t, []string{"the newest secret, not this one", secret}, Options{Now: at(now)})
			if _, err := r.Open(tc.token); !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := []string{"0123456789abcdef"}
	for _, tc := range []struct {
		name    string
		secrets []string
		opts    Options
	}{
		{"no secrets", nil, Options{}},
		{"short secret", []string{"0123456789abcde"}, Options{}},
		{"one short secret among good", []string{ok[0], ""}, Options{}},
		{"negative skew", ok, Options{ClockSkew: -time.Second}},
		{"huge skew", ok, Options{ClockSkew: time.Hour}},
		{"negative MaxChunks", ok, Options{MaxChunks: -1}},
		{"huge MaxChunks", ok, Options{MaxChunks: 1000}},
		{"cookie name with ;", ok, Options{CookieName: "a;b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := New(tc.secrets, tc.opts); err == nil || r != nil {
				t.Fatalf("New = %v, %v", r, err)
			}
		})
	}
}

func TestNoKeyMaterialPrinted(t *testing.T) {
	const secret = "a secret that must never print"
	r := newReader(t, []string{secret}, Options{})
	out := fmt.Sprintf("%v %+v %#v %s %+v %#v %x", r, *r, *r, r, r.keys, r.keys[0], r.keys)
	for _, k := range r.keys {
		for _, leak := range []string{secret, base64.RawURLEncoding.EncodeToString(k.key), fmt.Sprint([]byte(k.key))} {
			if strings.Contains(out, leak) {
				t.Fatalf("key material printed: %s", out)
			}
		}
	}
	if !strings.Contains(out, "authjs.Reader(4 keys") || !strings.Contains(out, "authjs key (") {
		t.Fatalf("unexpected output: %s", out)
	}
	_, err := r.Open(seal(t, "some other secret value", CookieName, jose.A256GCM, `{"exp":1}`, nil, true))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error: %v", err)
	}
}

func TestAuthjsBearer(t *testing.T) {
	vs := loadVectors(t)
	v := vs.Vectors[0]
	r := newReader(t, []string{vs.Secret}, Options{Now: at(v.IAT + 60)})
	for _, tc := range []struct {
		name, header string
		cookie       string
		want         error
	}{
		{"bearer", "Bearer " + v.Token, "", nil},
		{"bearer, URL-encoded", "Bearer " + strings.ReplaceAll(v.Token, ".", "%2E"), "", nil},
		{"bearer, tampered", "Bearer " + v.Token[:len(v.Token)-2] + "AA", "", cookie.ErrInvalid},
		{"bearer, bad escape", "Bearer %zz", "", ErrNoToken},
		{"other scheme", "Basic " + v.Token, "", ErrNoToken},
		{"a cookie wins over the header", "Bearer " + v.Token, "garbage", cookie.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", tc.header)
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: v.CookieName, Value: tc.cookie})
			}
			c, err := r.OpenRequest(req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("OpenRequest = %v, want %v", err, tc.want)
			}
			if err == nil && c.Subject != "user-42" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// TestAuthjsDuplicates: a request that carries the session more than once
// has no session (ErrDuplicate, which matches cookie.ErrInvalid), whichever copy
// comes first and whether or not each copy authenticates: otherwise a
// sibling host that plants its own valid token for the parent domain
// swaps the user into its session. Stale chunks without a first chunk
// beside a whole cookie are not a second copy.
func TestAuthjsDuplicates(t *testing.T) {
	vs := loadVectors(t)
	small, chunked, other := vs.Vectors[0], vs.Vectors[1], vs.Vectors[2]
	if small.CookieName != CookieName || other.CookieName != CookieName || chunked.CookieName != SecureCookieName {
		t.Fatal("vector cookie names changed")
	}
	now := at(small.IAT + 60)
	c0, c1 := chunked.Cookies[0], chunked.Cookies[1]
	// The small token's claims, sealed for the other standard name.
	planted := func() string {
		r := newReader(t, []string{vs.Secret}, Options{Now: now})
		c, err := r.Open(small.Token)
		if err != nil {
			t.Fatal(err)
		}
		claims, _ := json.Marshal(c.Raw)
		return seal(t, vs.Secret, SecureCookieName, jose.A256CBC_HS512, string(claims), nil, true)
	}()
	type ck = [2]string
	for _, tc := range []struct {
		name    string
		cookies []ck
		want    error
	}{
		{"one whole cookie", []ck{{CookieName, small.Token}}, nil},
		{"one set of chunks", []ck{{c0.Name, c0.Value}, {c1.Name, c1.Value}}, nil},
		{"the same cookie twice", []ck{{CookieName, small.Token}, {CookieName, small.Token}}, ErrDuplicate},
		{"the user's then another session", []ck{{CookieName, small.Token}, {CookieName, other.Token}}, ErrDuplicate},
		{"another session then the user's", []ck{{CookieName, other.Token}, {CookieName, small.Token}}, ErrDuplicate},
		{"a valid and a garbage copy", []ck{{CookieName, "garbage"}, {CookieName, small.Token}}, ErrDuplicate},
		{"first chunk twice", []ck{{c0.Name, c0.Value}, {c0.Name, c0.Value}, {c1.Name, c1.Value}}, ErrDuplicate},
		{"last chunk twice", []ck{{c0.Name, c0.Value}, {c1.Name, c1.Value}, {c1.Name, "planted"}}, ErrDuplicate},
		{"whole cookie beside chunks", []ck{{SecureCookieName, planted}, {c0.Name, c0.Value}, {c1.Name, c1.Value}}, ErrDuplicate},
		{"chunks beside a whole cookie", []ck{{c0.Name, c0.Value}, {c1.Name, c1.Value}, {SecureCookieName, planted}}, ErrDuplicate},
		{"tokens under both standard names", []ck{{CookieName, small.Token}, {SecureCookieName, planted}}, ErrDuplicate},
		{"chunks and a token under the other name", []ck{{c0.Name, c0.Value}, {c1.Name, c1.Value}, {CookieName, small.Token}}, ErrDuplicate},
		{"stale chunk without a first beside a whole cookie", []ck{{CookieName, small.Token}, {CookieName + ".1", "stale"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(t, []string{vs.Secret}, Options{Now: now})
			req := httptest.NewRequest("GET", "/", nil)
			for _, c := range tc.cookies {
				req.AddCookie(&http.Cookie{Name: c[0], Value: c[1]})
			}
			_, err := r.OpenRequest(req)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("OpenRequest = %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, cookie.ErrInvalid) {
				t.Fatalf("OpenRequest = %v, want %v (and cookie.ErrInvalid)", err, tc.want)
			}
		})
	}
}
