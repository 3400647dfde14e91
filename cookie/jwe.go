package cookie

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/cookieseal/cookieseal/keyring"
)

// The [JWE] format's fixed parameters. A value's protected header holds
// exactly the members alg, enc, kid, iat and rat, in that order when we
// write it:
//
//	{"alg":"dir","enc":"A256GCM","kid":"7","iat":1795428000,"rat":1795431600.503}
const (
	// JWEAlgorithm is the only JWE "alg" this format writes or accepts:
	// direct use of a shared symmetric key.
	JWEAlgorithm = "dir"
	// JWEEncryption is the only JWE "enc" this format writes or accepts.
	JWEEncryption = "A256GCM"
	// JWERefreshedAtHeader is the private protected-header member that
	// holds the refreshed-at time (a NumericDate, seconds with up to
	// three decimals). The issued-at time is in the registered name
	// "iat".
	JWERefreshedAtHeader = "rat"
)

const (
	jweIVSize  = 12 // AES-GCM's standard nonce
	jweTagSize = 16
	// jweMaxHeader bounds the decoded protected header. Ours is at most
	// 97 bytes; anything much longer is not ours and is refused before
	// it is parsed.
	jweMaxHeader = 256
	// jweMaxDigits bounds the integer part of iat and rat: 12 digits
	// reach the year 33658.
	jweMaxDigits = 12
	// jweMaxFraction bounds the digits after the point that Open reads
	// in iat and rat; only the first three count.
	jweMaxFraction = 32
)

var (
	jweIVLen  = base64.RawURLEncoding.EncodedLen(jweIVSize)
	jweTagLen = base64.RawURLEncoding.EncodedLen(jweTagSize)
	// jweMaxHeaderLen is the longest encoded header Open will decode.
	jweMaxHeaderLen = base64.RawURLEncoding.EncodedLen(jweMaxHeader)
)

// jweKID formats a key ID and epoch as the "kid" header value.
func jweKID(dst []byte, id, epoch uint32) []byte {
	dst = strconv.AppendUint(dst, uint64(id), 10)
	if epoch != 0 {
		dst = append(dst, '.')
		dst = strconv.AppendUint(dst, uint64(epoch), 10)
	}
	return dst
}

// appendJWEHeader appends the protected header's JSON; iat and rat are
// Unix milliseconds.
func appendJWEHeader(dst []byte, id, epoch uint32, iat, rat int64) []byte {
	dst = append(dst, `{"alg":"`+JWEAlgorithm+`","enc":"`+JWEEncryption+`","kid":"`...)
	dst = jweKID(dst, id, epoch)
	dst = append(dst, `","iat":`...)
	dst = appendNumericDate(dst, iat)
	dst = append(dst, `,"`+JWERefreshedAtHeader+`":`...)
	dst = appendNumericDate(dst, rat)
	return append(dst, '}')
}

// appendNumericDate appends ms (non-negative Unix milliseconds) as a
// NumericDate: whole seconds as an integer, otherwise with up to three
// decimals and no trailing zero.
func appendNumericDate(dst []byte, ms int64) []byte {
	dst = strconv.AppendInt(dst, ms/1000, 10)
	frac := ms % 1000
	if frac == 0 {
		return dst
	}
	d := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for d[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, d[:n]...)
}

// jweLen is the length of an encoded value with a header of hdrLen bytes
// and a payload of n bytes.
func jweLen(hdrLen, n int) int {
	return base64.RawURLEncoding.EncodedLen(hdrLen) + 2 + jweIVLen + 1 +
		base64.RawURLEncoding.EncodedLen(n) + 1 + jweTagLen
}

// appendSealJWE is AppendSeal in the JWE format: the refreshed-at time
// is now, or issuedAt when that is later, as in the native format; an
// issuedAt more than ClockSkew after now, or before 1970, is refused.
func (c *Codec) appendSealJWE(dst, payload []byte, issuedAt time.Time) ([]byte, error) {
	kr := c.keys.Keyring()
	now := c.opts.Now()
	iat, rat, err := c.sealTimes(issuedAt, now)
	if err != nil {
		return dst, err
	}
	primary := kr.Primary()
	epoch := kr.Epoch(now)
	var hbuf [jweMaxHeader]byte
	hdr := appendJWEHeader(hbuf[:0], primary.ID, epoch, iat, rat)
	encLen := jweLen(len(hdr), len(payload))
	if encLen > c.opts.MaxValueSize {
		return dst, fmt.Errorf("%w: %d-byte payload", ErrTooLarge, len(payload))
	}
	aead, err := kr.AEAD(keyring.A256GCM, c.purpose, primary.ID, epoch)
	if err != nil {
		return dst, fmt.Errorf("cookie: %w", err)
	}
	// Layout of the grown tail: [encoded value | iv | ciphertext ‖ tag].
	start := len(dst)
	out := grow(dst, encLen+jweIVSize+len(payload)+jweTagSize)
	enc := out[start : start+encLen]
	iv := out[start+encLen : start+encLen+jweIVSize]
	src := rand.Reader
	if c.testNonce != nil {
		src = c.testNonce
	}
	if _, err := io.ReadFull(src, iv); err != nil {
		return dst, fmt.Errorf("cookie: iv: %w", err)
	}
	hLen := base64.RawURLEncoding.EncodedLen(len(hdr))
	b64.Encode(enc, hdr)
	i := hLen
	enc[i], enc[i+1] = '.', '.'
	i += 2
	b64.Encode(enc[i:], iv)
	i += jweIVLen
	enc[i] = '.'
	i++
	// The additional data is the encoded header: enc[:hLen].
	sealed := aead.Seal(out[start+encLen+jweIVSize:start+encLen+jweIVSize], iv, payload, enc[:hLen])
	b64.Encode(enc[i:], sealed[:len(payload)])
	i += base64.RawURLEncoding.EncodedLen(len(payload))
	enc[i] = '.'
	b64.Encode(enc[i+1:], sealed[len(payload):])
	if c.opts.Usage != nil {
		c.opts.Usage.RecordSeal(primary.ID, epoch)
	}
	return out[:start+encLen], nil
}

// appendOpenJWE is AppendOpen for a value that isJWE picked: the length
// is checked already. It allocates nothing when dst has room for the
// decoded value (the value's length is always enough).
func (c *Codec) appendOpenJWE(dst []byte, value string) ([]byte, Meta, error) {
	h, ek, ivs, cts, tags, ok := splitJWE(value)
	// encoding/base64 skips CR and LF; refuse them so that no value has
	// a second spelling.
	if !ok || ek != "" || len(h) > jweMaxHeaderLen || len(ivs) != jweIVLen || len(tags) != jweTagLen ||
		hasCRLF(value) {
		return dst, Meta{}, Reject(ReasonMalformed, fmt.Errorf("%w: malformed JWE", ErrInvalid))
	}
	var hbuf [jweMaxHeader]byte
	n, err := b64.Decode(hbuf[:], unsafe.Slice(unsafe.StringData(h), len(h)))
	if err != nil {
		return dst, Meta{}, Reject(ReasonMalformed, fmt.Errorf("%w: malformed JWE header", ErrInvalid))
	}
	m, err := parseJWEHeader(hbuf[:n])
	if err != nil {
		if ReasonOf(err) == ReasonInvalid {
			err = Reject(ReasonMalformed, err)
		}
		return dst, Meta{}, err
	}
	kr := c.keys.Keyring()
	now := c.opts.Now()
	if !c.epochInWindow(kr, m.Epoch, now) {
		return dst, Meta{}, errEpoch(m.KeyID, m.Epoch)
	}
	aead, err := kr.AEAD(keyring.A256GCM, c.purpose, m.KeyID, m.Epoch)
	if err != nil {
		return dst, Meta{}, errKey(m.KeyID, m.Epoch, err)
	}
	ctMax := base64.RawURLEncoding.DecodedLen(len(cts))
	start := len(dst)
	// Layout of the grown tail: [ciphertext ‖ tag, opened in place | iv].
	scratch := grow(dst, ctMax+jweTagSize+jweIVSize)
	body := scratch[start : start+ctMax+jweTagSize]
	iv := scratch[start+ctMax+jweTagSize:]
	ctn, err := b64.Decode(body, unsafe.Slice(unsafe.StringData(cts), len(cts)))
	if err != nil {
		return dst, Meta{}, Reject(ReasonMalformed, fmt.Errorf("%w: malformed JWE ciphertext", ErrInvalid))
	}
	if tn, err := b64.Decode(body[ctn:], unsafe.Slice(unsafe.StringData(tags), len(tags))); err != nil || tn != jweTagSize {
		return dst, Meta{}, Reject(ReasonMalformed, fmt.Errorf("%w: malformed JWE tag", ErrInvalid))
	}
	if in, err := b64.Decode(iv, unsafe.Slice(unsafe.StringData(ivs), len(ivs))); err != nil || in != jweIVSize {
		return dst, Meta{}, Reject(ReasonMalformed, fmt.Errorf("%w: malformed JWE iv", ErrInvalid))
	}
	// The additional data is the encoded header as sent; the AEAD only
	// reads it.
	aad := unsafe.Slice(unsafe.StringData(h), len(h))
	plain, err := aead.Open(body[:0], iv, body[:ctn+jweTagSize], aad)
	if err != nil {
		return dst, Meta{}, errTampered
	}
	if err := c.checkTimes(m, now); err != nil {
		return dst, Meta{}, err
	}
	if c.opts.Usage != nil {
		c.opts.Usage.RecordOpen(m.KeyID, m.Epoch)
	}
	return scratch[:start+len(plain)], m, nil
}

// splitJWE cuts a compact value into its five parts.
func splitJWE(v string) (h, ek, iv, ct, tag string, ok bool) {
	var ok1, ok2, ok3, ok4 bool
	h, v, ok1 = strings.Cut(v, ".")
	ek, v, ok2 = strings.Cut(v, ".")
	iv, v, ok3 = strings.Cut(v, ".")
	ct, tag, ok4 = strings.Cut(v, ".")
	ok = ok1 && ok2 && ok3 && ok4 && !strings.Contains(tag, ".")
	return
}

var (
	// errJWEHeader reports a header that is not the JSON object we allow.
	errJWEHeader = Reject(ReasonMalformed, fmt.Errorf("%w: malformed JWE header", ErrInvalid))
	// errJWEAlgorithm reports an alg or enc off the allow-list.
	errJWEAlgorithm = Reject(ReasonBadVersion, fmt.Errorf("%w: JWE alg or enc not allowed", ErrInvalid))
	// errJWETime reports an iat or rat that is not a NumericDate we read.
	errJWETime = Reject(ReasonMalformed, fmt.Errorf("%w: JWE iat or rat is not a non-negative NumericDate without exponent", ErrInvalid))
)

// parseJWEHeader applies the allow-list to a decoded protected header and
// returns the key and times it names. Every failure is ErrInvalid.
//
// It is a small strict JSON reader rather than encoding/json, so that
// Open allocates nothing: the header must be one object whose members are
// exactly alg, enc, kid, iat and rat, in any order and each once, with
// string values free of escapes and NumericDate times (see
// jsonScanner.numericDate). A "zip" or "crit" member is refused by name.
func parseJWEHeader(b []byte) (Meta, error) {
	const (
		hasAlg = 1 << iota
		hasEnc
		hasKID
		hasIAT
		hasRAT
		hasAll = hasAlg | hasEnc | hasKID | hasIAT | hasRAT
	)
	malformed := errJWEHeader
	s := jsonScanner{b: b}
	if !s.eat('{') {
		return Meta{}, malformed
	}
	var (
		seen     int
		kid      []byte
		iat, rat int64
	)
	for {
		key, ok := s.str()
		if !ok || !s.eat(':') {
			return Meta{}, malformed
		}
		var bit int
		switch string(key) {
		case "alg", "enc":
			bit = hasAlg
			want := JWEAlgorithm
			if string(key) == "enc" {
				bit, want = hasEnc, JWEEncryption
			}
			v, ok := s.str()
			if !ok {
				return Meta{}, malformed
			}
			if string(v) != want {
				return Meta{}, errJWEAlgorithm
			}
		case "kid":
			bit = hasKID
			if kid, ok = s.str(); !ok {
				return Meta{}, malformed
			}
		case "iat":
			bit = hasIAT
			if iat, ok = s.numericDate(); !ok {
				return Meta{}, errJWETime
			}
		case JWERefreshedAtHeader:
			bit = hasRAT
			if rat, ok = s.numericDate(); !ok {
				return Meta{}, errJWETime
			}
		case "zip":
			return Meta{}, fmt.Errorf("%w: compressed JWE refused", ErrInvalid)
		case "crit":
			return Meta{}, fmt.Errorf("%w: JWE crit header refused", ErrInvalid)
		default:
			return Meta{}, fmt.Errorf("%w: JWE header member not allowed", ErrInvalid)
		}
		if seen&bit != 0 {
			return Meta{}, malformed
		}
		seen |= bit
		if s.eat(',') {
			continue
		}
		if !s.eat('}') || !s.end() {
			return Meta{}, malformed
		}
		break
	}
	if seen != hasAll {
		return Meta{}, fmt.Errorf("%w: JWE header members are not exactly alg, enc, kid, iat, rat", ErrInvalid)
	}
	id, epoch, ok := parseJWEKID(kid)
	if !ok {
		return Meta{}, fmt.Errorf("%w: malformed JWE kid", ErrInvalid)
	}
	return Meta{KeyID: id, Epoch: epoch, IssuedAt: time.UnixMilli(iat), RefreshedAt: time.UnixMilli(rat), Format: JWE}, nil
}

// jsonScanner reads the few JSON forms a JWE header may hold. Each method
// skips white space first.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// eat consumes c.
func (s *jsonScanner) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *jsonScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string without escapes or control characters and returns
// its contents.
func (s *jsonScanner) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// numericDate reads a NumericDate as Unix milliseconds: a non-negative
// JSON number with at most jweMaxDigits integer digits and no leading
// zero, optionally a '.' and one to jweMaxFraction decimals, of which
// digits past the third are truncated; no sign or exponent. Only white
// space, ',' or '}' may follow.
func (s *jsonScanner) numericDate() (int64, bool) {
	s.ws()
	start := s.i
	var sec int64
	for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
		sec = sec*10 + int64(s.b[s.i]-'0')
	}
	n := s.i - start
	if n == 0 || n > jweMaxDigits || (n > 1 && s.b[start] == '0') {
		return 0, false
	}
	var ms int64
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		fstart := s.i
		for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
			if d := s.i - fstart; d < 3 {
				ms = ms*10 + int64(s.b[s.i]-'0')
			}
		}
		nf := s.i - fstart
		if nf == 0 || nf > jweMaxFraction {
			return 0, false
		}
		for k := nf; k < 3; k++ {
			ms *= 10
		}
	}
	// Only white space, ',' or '}' may follow.
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r', ',', '}':
		default:
			return 0, false
		}
	}
	return sec*1000 + ms, true
}

// parseJWEKID parses "<id>" or "<id>.<epoch>" in canonical decimal, both
// nonzero.
func parseJWEKID(kid []byte) (id, epoch uint32, ok bool) {
	ids, eps, hasEpoch := bytes.Cut(kid, []byte("."))
	id, ok = parseCanonicalUint32(ids)
	if !ok {
		return 0, 0, false
	}
	if hasEpoch {
		if epoch, ok = parseCanonicalUint32(eps); !ok {
			return 0, 0, false
		}
	}
	return id, epoch, true
}

// parseCanonicalUint32 parses a nonzero decimal with no sign and no
// leading zero, so that each number has one spelling.
func parseCanonicalUint32(s []byte) (uint32, bool) {
	if len(s) == 0 || len(s) > 10 || s[0] == '0' {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// InsecureExportJWKSet returns the derived keys that open this codec's
// [JWE] values now, whatever its Options.Format (a codec that seals
// natively opens JWE values too), as a JSON Web Key Set (RFC 7517) of
// "oct" keys: one per enabled keyring key (and, with epoch keys, per
// epoch in the accepted window), each with the "kid" that values sealed
// under it carry and "alg":"dir". Another service's JOSE library picks
// the key by kid. With epoch keys the set changes as epochs pass: fetch
// it again at least once per epoch period.
//
// The output decrypts, and forges, every value of this purpose: keep it
// in a secret store, exactly like the master keys.
func (c *Codec) InsecureExportJWKSet() ([]byte, error) {
	kr := c.keys.Keyring()
	now := c.opts.Now()
	var set jwkSet
	epochs := []uint32{0}
	if kr.EpochPeriod() != 0 {
		epochs = epochs[:0]
		lo, hi := c.epochRange(kr, now)
		lo = max(lo, 1)
		for e := lo; e <= hi; e++ {
			epochs = append(epochs, e)
		}
	}
	for _, k := range kr.Keys() {
		if k.Status != keyring.StatusPrimary && k.Status != keyring.StatusDecryptOnly {
			continue
		}
		for _, e := range epochs {
			key, err := kr.InsecureExportDerivedKey(keyring.A256GCM, c.purpose, k.ID, e)
			if err != nil {
				return nil, fmt.Errorf("cookie: %w", err)
			}
			set.Keys = append(set.Keys, jwk{Kty: "oct", Use: "enc", Kid: string(jweKID(nil, k.ID, e)), Alg: JWEAlgorithm, K: base64.RawURLEncoding.EncodeToString(key)})
		}
	}
	return json.Marshal(set)
}

// jwkSet and jwk are the JSON Web Key Set and the "oct" key of RFC 7517
// §5 and RFC 7518 §6.4, written here rather than through a JOSE library
// so that the codec links none (interop checks go-jose, Node's jose and
// Python read the output).
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	K   string `json:"k"` // base64url without padding (RFC 7518 §6.4.1)
}
