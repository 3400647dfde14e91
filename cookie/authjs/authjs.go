package authjs

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/chunk"
)

// Errors of an unopened token match cookie.ErrInvalid (malformed,
// tampered with, sealed under none of the configured secrets, of a
// refused algorithm, or without a usable "exp": treat it as "no session")
// or cookie.ErrExpired (an authentic token past its "exp" plus the clock
// skew, only returned after authentication), as a cookieseal value's do:
// one test for every kind of session.
var (
	errInvalid = &authjsError{"authjs: invalid token", cookie.ErrInvalid}
	errExpired = &authjsError{"authjs: token expired", cookie.ErrExpired}
)

// authjsError is one of this package's messages for a cookie sentinel.
type authjsError struct {
	msg string
	err error
}

func (e *authjsError) Error() string { return e.msg }
func (e *authjsError) Unwrap() error { return e.err }

var (
	// ErrNoToken reports a request that carries no session cookie.
	ErrNoToken = errors.New("authjs: no session token")
	// ErrDuplicate reports a request that carries the session more than
	// once: a session cookie name twice, a chunk index twice, both the
	// whole cookie and its chunks, or tokens under both standard cookie
	// names. A sibling host can plant such a cookie for the parent
	// domain; taking whichever copy authenticates would let it swap the
	// user into its own session, so the request has no session. It
	// matches cookie.ErrInvalid too. (Auth.js itself expires every cookie of the
	// session's name when it next writes the session, which clears a
	// stray copy it set.)
	ErrDuplicate = fmt.Errorf("%w: session cookie sent more than once", errInvalid)
)

const (
	// SecureCookieName is the session cookie Auth.js sets on HTTPS sites.
	SecureCookieName = "__Secure-authjs.session-token"
	// CookieName is the session cookie Auth.js sets on plain-HTTP sites
	// (development).
	CookieName = "authjs.session-token"
	// ChunkSize is the largest chunk Auth.js writes: 4096 bytes less its
	// estimate of 160 bytes for the cookie's name and attributes.
	ChunkSize = 4096 - 160
	// MinSecretSize is the shortest secret New accepts. `npx auth secret`
	// makes 44-character secrets.
	MinSecretSize = 16
)

// Options' defaults: Auth.js's own values, not cookieseal's (whose clock
// skew is keyring.DefaultClockSkew and whose chunk default is
// cookie.DefaultMaxChunks), so they are not exported under those names.
const (
	// authjsClockSkew is Auth.js's own clock tolerance when it decodes.
	authjsClockSkew = 15 * time.Second
	// authjsMaxChunks bounds how many chunk cookies are joined.
	authjsMaxChunks = 10
)

// keyInfo is the HKDF info of Auth.js's getDerivedEncryptionKey; %s is
// the salt, which is the cookie name.
const keyInfo = "Auth.js Generated Encryption Key (%s)"

// Options configures a [Reader]. The zero value is the default.
type Options struct {
	// CookieName is the name of the session cookie, which Auth.js also
	// uses as the key derivation's salt. Default: both SecureCookieName
	// and CookieName are accepted, each with its own keys.
	CookieName string
	// ClockSkew is allowed past "exp" and before "nbf" and "iat".
	// Default 15s, as Auth.js; at most five minutes.
	ClockSkew time.Duration
	// MaxChunks bounds the chunk cookies <name>.0, <name>.1, … joined
	// into one token. Default 10. The token may be at most
	// MaxChunks × ChunkSize bytes.
	MaxChunks int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Claims is the payload of an Auth.js session token.
type Claims struct {
	// Subject is "sub": the user's ID.
	Subject string
	// Name, Email and Picture are the profile claims Auth.js puts in
	// its default token; empty when absent or null.
	Name, Email, Picture string
	// ID is "jti".
	ID string
	// IssuedAt, NotBefore and ExpiresAt are "iat", "nbf" and "exp"; zero
	// when absent ("exp" never is).
	IssuedAt, NotBefore, ExpiresAt time.Time
	// Raw holds every claim, with numbers as json.Number so that integers
	// keep their exact value.
	Raw map[string]any
}

// secret is key material that never prints.
type secret []byte

// String hides the key.
func (secret) String() string { return "[secret]" }

// Format hides the key for every verb.
func (s secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// Format hides the key for every verb.
func (k derivedKey) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "authjs key (%s, %s, kid %s)", k.name, k.enc, k.kid)
}

// derivedKey is one (cookie name, secret, enc) key and its kid.
type derivedKey struct {
	name string // the cookie name, which is the salt
	enc  jose.ContentEncryption
	key  secret
	kid  string // RFC 7638 thumbprint, as Auth.js's encode sets it
}

// Reader opens Auth.js (next-auth v5) session tokens: JWE compact with
// "alg":"dir" and "enc" "A256CBC-HS512" (what Auth.js writes) or
// "A256GCM" (which Auth.js also reads). It is safe for concurrent use.
type Reader struct {
	names     []string
	keys      []derivedKey // in secret order: the newest secret first
	skew      time.Duration
	maxChunks int
	now       func() time.Time
}

// New returns a [Reader] for tokens sealed under any of secrets, Auth.js's
// AUTH_SECRET values, newest first as Auth.js takes them. Every key is
// derived here, once. Secrets shorter than [MinSecretSize] and invalid
// options are refused.
func New(secrets []string, opts Options) (*Reader, error) {
	if len(secrets) == 0 {
		return nil, errors.New("authjs: no secret")
	}
	if opts.ClockSkew == 0 {
		opts.ClockSkew = authjsClockSkew
	}
	if opts.MaxChunks == 0 {
		opts.MaxChunks = authjsMaxChunks
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.ClockSkew < 0 || opts.ClockSkew > 5*time.Minute:
		return nil, errors.New("authjs: clock skew must be within (0, 5m]")
	case opts.MaxChunks < 1 || opts.MaxChunks > 100:
		return nil, errors.New("authjs: MaxChunks must be within [1, 100]")
	case strings.ContainsAny(opts.CookieName, " \t\r\n;,=\""):
		return nil, errors.New("authjs: invalid cookie name")
	}
	names := []string{SecureCookieName, CookieName}
	if opts.CookieName != "" {
		names = []string{opts.CookieName}
	}
	r := &Reader{names: names, skew: opts.ClockSkew, maxChunks: opts.MaxChunks, now: opts.Now}
	for i, s := range secrets {
		if len(s) < MinSecretSize {
			return nil, fmt.Errorf("authjs: secret %d is shorter than %d bytes", i, MinSecretSize)
		}
		for _, name := range names {
			for _, enc := range []jose.ContentEncryption{jose.A256CBC_HS512, jose.A256GCM} {
				k, err := deriveKey([]byte(s), name, enc)
				if err != nil {
					return nil, err
				}
				r.keys = append(r.keys, k)
			}
		}
	}
	return r, nil
}

// deriveKey is Auth.js's getDerivedEncryptionKey (packages/core/src/jwt.ts):
// HKDF-SHA256(secret, salt = cookie name, info = "Auth.js Generated
// Encryption Key (<salt>)"), 64 bytes for A256CBC-HS512 and 32 for
// A256GCM, with the kid Auth.js's encode sets: the RFC 7638 thumbprint of
// the key as an "oct" JWK, under SHA-512 or SHA-256 by the key's size.
func deriveKey(ikm []byte, salt string, enc jose.ContentEncryption) (derivedKey, error) {
	n := 32
	if enc == jose.A256CBC_HS512 {
		n = 64
	}
	key, err := hkdf.Key(sha256.New, ikm, []byte(salt), fmt.Sprintf(keyInfo, salt), n)
	if err != nil {
		return derivedKey{}, fmt.Errorf("authjs: %w", err)
	}
	jwk := []byte(`{"k":"` + base64.RawURLEncoding.EncodeToString(key) + `","kty":"oct"}`)
	var sum []byte
	if n == 64 {
		s := sha512.Sum512(jwk)
		sum = s[:]
	} else {
		s := sha256.Sum256(jwk)
		sum = s[:]
	}
	clear(jwk)
	return derivedKey{name: salt, enc: enc, key: key, kid: base64.RawURLEncoding.EncodeToString(sum)}, nil
}

// String describes the reader without key material.
func (r Reader) String() string {
	return fmt.Sprintf("authjs.Reader(%d keys, cookies %q)", len(r.keys), r.names)
}

// Format prints String for every verb, so that %v, %+v and %#v never
// reach a key.
func (r Reader) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

// Open authenticates a session token (the joined cookie value) against
// every configured cookie name and secret and returns its claims. Errors
// match [cookie.ErrInvalid] or [cookie.ErrExpired].
func (r *Reader) Open(token string) (Claims, error) {
	return r.open(token, "")
}

// OpenRequest finds the session token in r's cookies, joining the chunks
// <name>.0, <name>.1, … that Auth.js writes for a token over [ChunkSize],
// and opens it with the keys for that cookie name. As Auth.js's getToken,
// a request with no session cookie may carry the token in an
// "Authorization: Bearer" header instead (URL-encoded). It returns
// [ErrNoToken] when the request carries neither, and [ErrDuplicate] (which
// matches [cookie.ErrInvalid]) when it carries the session more than once;
// other errors match cookie.ErrInvalid or [cookie.ErrExpired].
func (r *Reader) OpenRequest(req *http.Request) (Claims, error) {
	cookies := req.Cookies()
	var token, tokenName string
	for _, name := range r.names {
		t, ok, err := r.token(cookies, name)
		if err != nil {
			return Claims{}, err
		}
		if !ok {
			continue
		}
		if tokenName != "" {
			return Claims{}, fmt.Errorf("%w: tokens under both %q and %q", ErrDuplicate, tokenName, name)
		}
		token, tokenName = t, name
	}
	if tokenName != "" {
		return r.open(token, tokenName)
	}
	// As Auth.js's getToken: with no session cookie, a token may come as
	// "Authorization: Bearer <token, URL-encoded>".
	if token, ok := bearer(req); ok {
		return r.open(token, "")
	}
	return Claims{}, ErrNoToken
}

// bearer returns the URL-decoded token of an "Authorization: Bearer"
// header.
func bearer(req *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || scheme != "Bearer" || tok == "" {
		return "", false
	}
	t, err := url.PathUnescape(tok)
	return t, err == nil
}

// token returns the session token that cookies carry under name: the
// joined chunks, or the whole cookie. ok is false when there is neither.
// Chunks are joined by chunk.Join's rules: contiguous from .0, at most
// MaxChunks of them. The name sent twice, a chunk index sent twice, or
// the whole cookie beside a complete set of chunks is ErrDuplicate;
// chunks without a .0 beside a whole cookie are stale and ignored, and
// alone match cookie.ErrInvalid.
func (r *Reader) token(cookies []*http.Cookie, name string) (token string, ok bool, err error) {
	chunks := chunk.Stale(cookies, name, 0) // each chunk name once
	var seen map[string]bool                // chunk name → sent already
	if len(chunks) > 0 {
		seen = make(map[string]bool, len(chunks))
		for _, n := range chunks {
			seen[n] = false
		}
	}
	nplain := 0
	for _, c := range cookies {
		if c.Name == name {
			nplain++
			token = c.Value
			continue
		}
		if sent, isChunk := seen[c.Name]; isChunk {
			if sent {
				return "", false, fmt.Errorf("%w: chunk %q", ErrDuplicate, c.Name)
			}
			seen[c.Name] = true
		}
	}
	if nplain > 1 {
		return "", false, fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	if len(chunks) > 0 {
		joined, _, err := chunk.Join(cookies, name, r.maxChunks, r.maxChunks*ChunkSize)
		switch {
		case err == nil:
			if nplain > 0 {
				return "", false, fmt.Errorf("%w: both %q and its chunks", ErrDuplicate, name)
			}
			return joined, true, nil
		case !errors.Is(err, cookie.ErrNoChunks):
			return "", false, fmt.Errorf("%w: chunks: %v", errInvalid, err)
		case nplain == 0:
			return "", false, fmt.Errorf("%w: chunks without a first chunk", errInvalid)
		}
	}
	return token, nplain == 1, nil
}

// open opens token with the keys of cookie name, or of every name when
// name is empty.
func (r *Reader) open(token, name string) (Claims, error) {
	if len(token) > r.maxChunks*ChunkSize {
		return Claims{}, fmt.Errorf("%w: token too large", errInvalid)
	}
	obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256CBC_HS512, jose.A256GCM})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: malformed", errInvalid)
	}
	for _, h := range []jose.HeaderKey{"zip", "crit"} {
		if _, ok := obj.Header.ExtraHeaders[h]; ok {
			return Claims{}, fmt.Errorf("%w: %s header refused", errInvalid, h)
		}
	}
	enc, _ := obj.Header.ExtraHeaders["enc"].(string)
	kid := obj.Header.KeyID
	var payload []byte
	for _, k := range r.keys {
		if string(k.enc) != enc || (name != "" && k.name != name) || (kid != "" && k.kid != kid) {
			continue
		}
		// With a kid (which Auth.js always sets) this is one decryption;
		// without one, each secret is tried as Auth.js does.
		if p, err := obj.Decrypt([]byte(k.key)); err == nil {
			payload = p
			break
		}
	}
	if payload == nil {
		return Claims{}, fmt.Errorf("%w: no secret opens it", errInvalid)
	}
	return r.claims(payload)
}

// claims decodes and checks an authentic payload.
func (r *Reader) claims(payload []byte) (Claims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil || dec.More() {
		return Claims{}, fmt.Errorf("%w: claims are not a JSON object", errInvalid)
	}
	c := Claims{Raw: raw}
	var ok bool
	if c.ExpiresAt, ok = numericDate(raw, "exp"); !ok || c.ExpiresAt.IsZero() {
		return Claims{}, fmt.Errorf("%w: missing or malformed exp", errInvalid)
	}
	if c.NotBefore, ok = numericDate(raw, "nbf"); !ok {
		return Claims{}, fmt.Errorf("%w: malformed nbf", errInvalid)
	}
	if c.IssuedAt, ok = numericDate(raw, "iat"); !ok {
		return Claims{}, fmt.Errorf("%w: malformed iat", errInvalid)
	}
	for claim, dst := range map[string]*string{"sub": &c.Subject, "name": &c.Name, "email": &c.Email, "picture": &c.Picture, "jti": &c.ID} {
		switch v := raw[claim].(type) {
		case nil:
		case string:
			*dst = v
		default:
			return Claims{}, fmt.Errorf("%w: %s is not a string", errInvalid, claim)
		}
	}
	now := r.now()
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(r.skew)) {
		return Claims{}, fmt.Errorf("%w: not valid yet (nbf)", errInvalid)
	}
	if !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(r.skew)) {
		return Claims{}, fmt.Errorf("%w: issued in the future (iat)", errInvalid)
	}
	// As jose's jwtDecrypt: expired when exp <= now - tolerance.
	if !c.ExpiresAt.After(now.Add(-r.skew)) {
		return Claims{}, errExpired
	}
	return c, nil
}

// numericDate reads a NumericDate claim. An absent claim is the zero time
// and ok; a present one must be a finite, non-negative number.
func numericDate(raw map[string]any, claim string) (time.Time, bool) {
	v, present := raw[claim]
	if !present {
		return time.Time{}, true
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
