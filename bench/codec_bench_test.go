package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/gorilla/securecookie"
	"golang.org/x/crypto/chacha20poly1305"
)

// Session is the JSON session of the foundation issue (its 43-character
// csrf token makes it 122 bytes, not the 120 the issue rounds to) that every implementation seals
// and opens: a typed struct to a cookie value and back.
type Session struct {
	UserID    int64  `json:"user_id"`
	Role      string `json:"role"`
	LoginTime string `json:"login_time"`
	CSRF      string `json:"csrf"`
}

var sess = Session{UserID: 123456, Role: "admin", LoginTime: "2026-11-23T10:00:00Z", CSRF: "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"}

// impl seals a Session into a cookie value and opens one back.
type impl struct {
	name string
	seal func(Session) (string, error)
	open func(string) (Session, error)
}

func impls(b testing.TB) []impl {
	key := make([]byte, 32)
	rand.Read(key)
	hashKey := make([]byte, 32)
	rand.Read(hashKey)

	kr, err := keyring.Generate()
	if err != nil {
		b.Fatal(err)
	}
	codec, err := cookie.New(kr, "session", cookie.Options{})
	if err != nil {
		b.Fatal(err)
	}

	scGob := securecookie.New(hashKey, key)
	scJSON := securecookie.New(hashKey, key)
	scJSON.SetSerializer(securecookie.JSONEncoder{})

	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: key}, nil)
	if err != nil {
		b.Fatal(err)
	}

	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		b.Fatal(err)
	}

	jwe, err := cookie.New(kr, "session", cookie.Options{Format: cookie.JWE})
	if err != nil {
		b.Fatal(err)
	}

	return []impl{
		{"cookieseal",
			func(s Session) (string, error) { return cookie.SealJSON(codec, s, time.Time{}) },
			func(v string) (Session, error) { s, _, err := cookie.OpenJSON[Session](codec, v); return s, err }},
		{"securecookie-gob",
			func(s Session) (string, error) { return scGob.Encode("session", s) },
			func(v string) (s Session, err error) { err = scGob.Decode("session", v, &s); return }},
		{"securecookie-json",
			func(s Session) (string, error) { return scJSON.Encode("session", s) },
			func(v string) (s Session, err error) { err = scJSON.Decode("session", v, &s); return }},
		{"jwe",
			func(s Session) (string, error) {
				p, err := json.Marshal(s)
				if err != nil {
					return "", err
				}
				obj, err := enc.Encrypt(p)
				if err != nil {
					return "", err
				}
				return obj.CompactSerialize()
			},
			func(v string) (s Session, err error) {
				obj, err := jose.ParseEncryptedCompact(v, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
				if err != nil {
					return s, err
				}
				p, err := obj.Decrypt(key)
				if err != nil {
					return s, err
				}
				err = json.Unmarshal(p, &s)
				return
			}},
		{"cookieseal-jwe",
			func(s Session) (string, error) {
				p, err := json.Marshal(s)
				if err != nil {
					return "", err
				}
				return jwe.Seal(p, time.Time{})
			},
			func(v string) (s Session, err error) {
				p, _, err := jwe.Open(v)
				if err != nil {
					return s, err
				}
				err = json.Unmarshal(p, &s)
				return
			}},
		{"raw",
			func(s Session) (string, error) {
				p, err := json.Marshal(s)
				if err != nil {
					return "", err
				}
				nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(p)+aead.Overhead())
				rand.Read(nonce)
				return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, p, nil)), nil
			},
			func(v string) (s Session, err error) {
				raw, err := base64.RawURLEncoding.DecodeString(v)
				if err != nil || len(raw) < chacha20poly1305.NonceSizeX {
					return s, securecookie.ErrMacInvalid
				}
				p, err := aead.Open(nil, raw[:chacha20poly1305.NonceSizeX], raw[chacha20poly1305.NonceSizeX:], nil)
				if err != nil {
					return s, err
				}
				err = json.Unmarshal(p, &s)
				return
			}},
	}
}

func TestImplsRoundTrip(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			v, err := im.seal(sess)
			if err != nil {
				t.Fatal(err)
			}
			got, err := im.open(v)
			if err != nil || got != sess {
				t.Fatalf("round trip: %v %+v", err, got)
			}
			if js, _ := json.Marshal(sess); len(js) != 122 {
				t.Fatalf("session JSON is %d bytes, want 122", len(js))
			}
			tampered := []byte(v)
			tampered[len(v)/2] ^= 'A' ^ 'Q'
			if _, err := im.open(string(bytes.Clone(tampered))); err == nil {
				t.Fatal("tampered value opened")
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, im := range impls(b) {
		b.Run(im.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := im.seal(sess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, im := range impls(b) {
		v, err := im.seal(sess)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(im.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := im.open(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
