package cookie

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cookieseal/cookieseal/keyring"
)

var (
	// ErrInvalid reports a value that is malformed, tampered with, sealed
	// for another purpose or under an unknown key. Treat it as "no session".
	ErrInvalid = errors.New("cookie: invalid value")
	// ErrExpired reports an authentic value past its idle or absolute
	// deadline. It is only returned after authentication.
	ErrExpired = errors.New("cookie: expired")
	// ErrTooLarge reports a value over the size budget, on seal or before
	// any decoding work on open.
	ErrTooLarge = errors.New("cookie: value too large")
	// ErrInvalidConfig is matched by every error New returns: options or
	// a keyring it refuses. The message says which rule they break; an
	// error from the keyring's recorded lifetime also matches
	// keyring.ErrInvalidKeySet.
	ErrInvalidConfig = errors.New("cookie: invalid configuration")
)

// configError is an error of New: it reads as err, and matches both
// ErrInvalidConfig and what err matches.
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }

// b64 is the text encoding: unpadded base64url, strict so that no value
// has a second spelling.
var b64 = base64.RawURLEncoding.Strict()

// Version1 is the native format's version byte.
const Version1 = 1

const (
	nonceSize  = 24
	tagSize    = 16
	headerSize = 1 + 4 + 4 + 8 + 8 + nonceSize // version, key id, epoch, issued-at, refreshed-at, nonce
	overhead   = headerSize + tagSize
)

// DefaultMaxValueSize is Options.MaxValueSize's default: a Set-Cookie
// line of 4096 bytes less room for the name and attributes. The lifetime's
// defaults and bounds are keyring's ([keyring.DefaultIdleTimeout],
// [keyring.MaxTimeout], …), the same for every reader of the policy.
const DefaultMaxValueSize = 3800

// Options configures a [Codec]. The zero value is the safe default.
//
// IdleTimeout, AbsoluteTimeout and ClockSkew are the key set's lifetime
// policy ([keyring.Lifetime]): left zero, each takes the value the keyring
// in force at [New] records, else its default. New refuses an
// AbsoluteTimeout or ClockSkew longer than the recorded one, which key
// rotation counts on before it removes a key.
type Options struct {
	// IdleTimeout ends a session that no request refreshed for this long.
	// Default: the key set's idle_timeout, else 24h; at most keyring.MaxTimeout
	// (400 days).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after it was issued,
	// whatever its activity. Default: the key set's absolute_timeout,
	// else 7 days; at most keyring.MaxTimeout (400 days), and at most the
	// recorded absolute_timeout.
	AbsoluteTimeout time.Duration
	// ClockSkew is how far the clocks of the instances sharing a keyring
	// may disagree. Every comparison between a time a value carries and
	// this instance's clock allows it: deadlines are extended by it,
	// timestamps may lie this far in the future, and refreshed-at may lie
	// this far before issued-at. Default: the key set's clock_skew, else
	// 30s; at most keyring.MaxClockSkew (one minute), and at most the recorded
	// clock_skew.
	ClockSkew time.Duration
	// MaxValueSize bounds an encoded value in bytes. Default 3800, which
	// keeps a Set-Cookie line under browsers' 4096 bytes. To spread larger
	// values over several cookies, raise it to the chunk size times the
	// chunk cap and use Split and Join. At most 1 MiB. A session manager
	// (middleware.Options.Codec) applies it to each cookie it writes, and
	// its codec seals up to MaxValueSize × middleware.Options.MaxChunks.
	MaxValueSize int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Usage, if set, is told of each seal and successful open, by key ID
	// and epoch, so an operator can see when an old key has drained.
	Usage keyring.UsageRecorder
	// Format is the format Seal writes. Default Native. Open reads every
	// format whatever Format says, so switching it logs nobody out.
	Format Format
}

// Meta is the authenticated header of a sealed value.
type Meta struct {
	// KeyID is the ID of the keyring key that sealed the value.
	KeyID uint32
	// Epoch is the value's epoch (0 without epoch keys).
	Epoch uint32
	// IssuedAt is when the session was issued, to the millisecond.
	IssuedAt time.Time
	// RefreshedAt is when the value was sealed (or issued-at, when that
	// is later), to the millisecond.
	RefreshedAt time.Time
	// Format is the format the value was written in.
	Format Format
}

// Codec seals payloads into cookie values for one purpose and opens them:
// it seals in the format of Options.Format and opens both formats, native
// and [JWE], telling them apart by the value's first bytes, so values from
// an instance configured with the other format open too. It is safe for
// concurrent use.
type Codec struct {
	keys    keyring.Provider
	purpose string
	opts    Options
	maxRaw  int // maximum decoded length

	testNonce io.Reader // tests only: a fixed nonce (native) or IV (JWE) source for vectors; nil means crypto/rand

	bufs  sync.Pool // *[]byte scratch buffers for the string and JSON paths
	types sync.Map  // reflect.Type → *typeInfo (see json.go)

	// sealKey caches the AEAD that sealing last used, so the common case
	// (seal and open under the primary key) skips the keyring's locked
	// cache. It only changes when the keyring, primary or epoch does.
	sealKey atomic.Pointer[cachedAEAD]
}

// cachedAEAD is the AEAD of one key and epoch of one keyring snapshot.
// Snapshots are immutable, so the entry stays right for that snapshot.
type cachedAEAD struct {
	kr        *keyring.Keyring
	id, epoch uint32
	aead      cipher.AEAD
}

// aead returns the codec's AEAD for key id and epoch of kr. Only sealing
// (forSeal) refreshes the one-entry cache, so opening values under older
// keys during a rotation never makes it thrash.
func (c *Codec) aead(kr *keyring.Keyring, id, epoch uint32, forSeal bool) (cipher.AEAD, error) {
	if e := c.sealKey.Load(); e != nil && e.kr == kr && e.id == id && e.epoch == epoch {
		return e.aead, nil
	}
	a, err := kr.AEAD(keyring.XChaCha20Poly1305, c.purpose, id, epoch)
	if err == nil && forSeal {
		c.sealKey.Store(&cachedAEAD{kr: kr, id: id, epoch: epoch, aead: a})
	}
	return a, err
}

// New returns a codec for purpose (usually the cookie's name) keyed by the
// keyring keys provides, sealing in opts.Format. Invalid options (an
// unknown [Format] among them) are refused: the error matches
// [ErrInvalidConfig].
func New(keys keyring.Provider, purpose string, opts Options) (*Codec, error) {
	c, err := buildCodec(keys, purpose, opts)
	if err != nil {
		return nil, configError{err}
	}
	return c, nil
}

func buildCodec(keys keyring.Provider, purpose string, opts Options) (*Codec, error) {
	if keys == nil || keys.Keyring() == nil {
		return nil, errors.New("cookie: no keyring")
	}
	if purpose == "" {
		return nil, errors.New("cookie: empty purpose")
	}
	opts, err := withRecordedLifetime(keys.Keyring(), opts)
	if err != nil {
		return nil, err
	}
	if opts.MaxValueSize == 0 {
		opts.MaxValueSize = DefaultMaxValueSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.IdleTimeout < 0 || opts.AbsoluteTimeout < 0:
		return nil, errors.New("cookie: negative timeout")
	case opts.IdleTimeout > keyring.MaxTimeout || opts.AbsoluteTimeout > keyring.MaxTimeout:
		return nil, fmt.Errorf("cookie: IdleTimeout and AbsoluteTimeout must be at most %v (400 days, browsers' cap on a cookie's lifetime)", keyring.MaxTimeout)
	case opts.ClockSkew < 0 || opts.ClockSkew > keyring.MaxClockSkew:
		return nil, errors.New("cookie: clock skew must be within (0, 1m]")
	case opts.MaxValueSize < base64.RawURLEncoding.EncodedLen(overhead) || opts.MaxValueSize > 1<<20:
		return nil, errors.New("cookie: MaxValueSize out of range")
	case opts.Format != Native && opts.Format != JWE:
		return nil, fmt.Errorf("cookie: unknown format %v", opts.Format)
	}
	if err := checkEpochWindow(keys.Keyring(), opts); err != nil {
		return nil, err
	}
	return &Codec{keys: keys, purpose: purpose, opts: opts, maxRaw: base64.RawURLEncoding.DecodedLen(opts.MaxValueSize)}, nil
}

// Seal seals payload into a cookie value in the codec's format
// (Options.Format). issuedAt is the session's issue time; zero means now.
// The refreshed-at time is now, or issuedAt when that is later (issuedAt
// may come from an instance whose clock is ahead of this one's), so
// refreshed-at is never before issued-at. An issuedAt more than ClockSkew
// after now, or before 1970, is refused: no instance would open the
// value.
func (c *Codec) Seal(payload []byte, issuedAt time.Time) (string, error) {
	bp := c.getBuf()
	defer c.bufs.Put(bp)
	b, err := c.AppendSeal((*bp)[:0], payload, issuedAt)
	*bp = b[:0]
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// sealTail seals the payload at the start of buf into the rest of buf
// (growing it if need be) and returns the value as a string, so that
// SealJSON needs one scratch buffer.
func (c *Codec) sealTail(buf []byte, payloadLen int, issuedAt time.Time) (string, error) {
	b, err := c.AppendSeal(buf[payloadLen:payloadLen], buf[:payloadLen], issuedAt)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AppendSeal is Seal appending the value to dst. It allocates nothing
// when dst has room for the value and its scratch space (twice the value's
// length is always enough).
func (c *Codec) AppendSeal(dst, payload []byte, issuedAt time.Time) ([]byte, error) {
	if c.opts.Format == JWE {
		return c.appendSealJWE(dst, payload, issuedAt)
	}
	rawLen := len(payload) + overhead
	encLen := base64.RawURLEncoding.EncodedLen(rawLen)
	if encLen > c.opts.MaxValueSize {
		return dst, fmt.Errorf("%w: %d-byte payload", ErrTooLarge, len(payload))
	}
	kr := c.keys.Keyring()
	now := c.opts.Now()
	iat, rat, err := c.sealTimes(issuedAt, now)
	if err != nil {
		return dst, err
	}
	primaryID := kr.Primary().ID
	epoch := kr.Epoch(now)
	aead, err := c.aead(kr, primaryID, epoch, true)
	if err != nil {
		return dst, fmt.Errorf("cookie: %w", err)
	}
	// Layout of the grown tail: [encoded value | raw value | aad].
	start := len(dst)
	out := grow(dst, encLen+rawLen+headerSize+len(c.purpose))
	raw := out[start+encLen : start+encLen : start+encLen+rawLen]
	raw = append(raw, Version1)
	raw = binary.BigEndian.AppendUint32(raw, primaryID)
	raw = binary.BigEndian.AppendUint32(raw, epoch)
	raw = binary.BigEndian.AppendUint64(raw, uint64(iat))
	raw = binary.BigEndian.AppendUint64(raw, uint64(rat))
	raw = raw[:headerSize]
	nonceSrc := rand.Reader
	if c.testNonce != nil {
		nonceSrc = c.testNonce
	}
	if _, err := io.ReadFull(nonceSrc, raw[headerSize-nonceSize:]); err != nil {
		return dst, fmt.Errorf("cookie: nonce: %w", err)
	}
	aad := c.aad(out[start+encLen+rawLen:start+encLen+rawLen], raw)
	raw = aead.Seal(raw, raw[headerSize-nonceSize:], payload, aad)
	b64.Encode(out[start:start+encLen], raw)
	if c.opts.Usage != nil {
		c.opts.Usage.RecordSeal(primaryID, epoch)
	}
	return out[:start+encLen], nil
}

// sealTimes returns the issued-at and refreshed-at times, in Unix
// milliseconds, that a value sealed at now for a session issued at
// issuedAt carries: issued-at is issuedAt (now when zero) and
// refreshed-at is the later of now and issued-at, so that every instance
// whose clock is within ClockSkew opens the value.
func (c *Codec) sealTimes(issuedAt, now time.Time) (iat, rat int64, err error) {
	rat = now.UnixMilli()
	iat = rat
	if !issuedAt.IsZero() {
		iat = issuedAt.UnixMilli()
	}
	switch {
	case iat < 0 || rat < 0:
		return 0, 0, errors.New("cookie: times must be after 1970")
	case iat > rat+c.opts.ClockSkew.Milliseconds():
		return 0, 0, fmt.Errorf("cookie: issued-at is more than ClockSkew (%v) after now", c.opts.ClockSkew)
	}
	return iat, max(rat, iat), nil
}

// grow returns b with room for n more bytes beyond len(b), whose length
// is extended by n.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

func (c *Codec) getBuf() *[]byte {
	if bp, ok := c.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 2048)
	return &b
}

// aad is the header followed by the purpose.
func (c *Codec) aad(dst, header []byte) []byte {
	return append(append(dst, header[:headerSize]...), c.purpose...)
}

// Open authenticates value, in either format whatever the codec seals
// in, and returns its payload and header. Errors match [ErrTooLarge],
// [ErrInvalid] or [ErrExpired], and carry a [Reason] (see [ReasonOf]):
// malformed, bad version, unknown key, epoch out of window, tampered, invalid
// timestamps, idle or absolute expiry, too large.
func (c *Codec) Open(value string) ([]byte, Meta, error) {
	return c.AppendOpen(nil, value)
}

// AppendOpen is Open appending the payload to dst. It allocates nothing
// when dst has room for the decoded value and its scratch space.
func (c *Codec) AppendOpen(dst []byte, value string) ([]byte, Meta, error) {
	if len(value) > c.opts.MaxValueSize {
		return dst, Meta{}, errTooLargeValue
	}
	if isJWE(value) {
		return c.appendOpenJWE(dst, value)
	}
	start := len(dst)
	rawMax := base64.RawURLEncoding.DecodedLen(len(value))
	// Layout of the grown tail: [raw value, opened in place | aad].
	scratch := grow(dst, rawMax+headerSize+len(c.purpose))
	// The decoder only reads its source, so viewing the string's bytes
	// without a copy is safe.
	src := unsafe.Slice(unsafe.StringData(value), len(value))
	n, err := b64.Decode(scratch[start:start+rawMax], src)
	// encoding/base64 skips CR and LF; refuse them so that no value has
	// a second spelling (told by the decoded length: see skippedCRLF).
	if err != nil || n < overhead || skippedCRLF(len(value), n) {
		return dst, Meta{}, errMalformed
	}
	raw := scratch[start : start+n]
	if raw[0] != Version1 {
		return dst, Meta{}, errBadVersion
	}
	m := Meta{
		KeyID:       binary.BigEndian.Uint32(raw[1:]),
		Epoch:       binary.BigEndian.Uint32(raw[5:]),
		IssuedAt:    time.UnixMilli(int64(binary.BigEndian.Uint64(raw[9:]))),
		RefreshedAt: time.UnixMilli(int64(binary.BigEndian.Uint64(raw[17:]))),
	}
	kr := c.keys.Keyring()
	now := c.opts.Now()
	if !c.epochInWindow(kr, m.Epoch, now) {
		return dst, Meta{}, errEpoch(m.KeyID, m.Epoch)
	}
	aead, err := c.aead(kr, m.KeyID, m.Epoch, false)
	if err != nil {
		return dst, Meta{}, errKey(m.KeyID, m.Epoch, err)
	}
	aad := c.aad(scratch[start+rawMax:start+rawMax], raw)
	body := raw[headerSize:]
	plain, err := aead.Open(body[:0], raw[headerSize-nonceSize:headerSize], body, aad)
	if err != nil {
		return dst, Meta{}, errTampered
	}
	if err := c.checkTimes(m, now); err != nil {
		return dst, Meta{}, err
	}
	if c.opts.Usage != nil {
		c.opts.Usage.RecordOpen(m.KeyID, m.Epoch)
	}
	out := scratch[:start+len(plain)]
	copy(out[start:], plain)
	return out, m, nil
}

// epochInWindow bounds the epochs a value may name before any key is
// derived, so forged epochs cannot fill the keyring's cache. See
// epochRange.
func (c *Codec) epochInWindow(kr *keyring.Keyring, epoch uint32, now time.Time) bool {
	if kr.EpochPeriod() == 0 {
		return epoch == 0
	}
	lo, hi := c.epochRange(kr, now)
	return epoch >= lo && epoch <= hi && epoch != 0
}

// epochRange returns the first and last epoch a value opened at now may
// name. The window runs from the epoch of now - AbsoluteTimeout -
// 2×ClockSkew (the sealing instance's clock may have been ClockSkew
// behind the issued-at it kept, which may itself lie ClockSkew before
// this clock) to the epoch of now + ClockSkew. New refuses options whose
// window spans more than keyring.MaxEpochWindow epochs; a keyring
// reloaded later with a shorter period is handled here instead: the
// window keeps its newest MaxEpochWindow epochs, so older values are
// refused rather than churning the derived-key cache.
func (c *Codec) epochRange(kr *keyring.Keyring, now time.Time) (lo, hi uint32) {
	skew := c.opts.ClockSkew
	lo, hi = kr.Epoch(now.Add(-c.opts.AbsoluteTimeout-2*skew)), kr.Epoch(now.Add(skew))
	if hi >= keyring.MaxEpochWindow && lo < hi-(keyring.MaxEpochWindow-1) {
		lo = hi - (keyring.MaxEpochWindow - 1)
	}
	return lo, hi
}

// epochWindow is the number of epochs of period p that the window of
// epochInWindow can span: the window's length over p, plus one for the
// partial epochs at either end.
func epochWindow(p time.Duration, opts Options) int64 {
	return int64((opts.AbsoluteTimeout+3*opts.ClockSkew)/p) + 2
}

// checkEpochWindow refuses options under which one snapshot of kr would
// accept more epochs than its derived-key cache holds (see
// keyring.MaxEpochWindow): forged values naming distinct epochs would
// then evict each other's keys, and every one would cost a derivation.
func checkEpochWindow(kr *keyring.Keyring, opts Options) error {
	p := kr.EpochPeriod()
	if p == 0 {
		return nil
	}
	if n := epochWindow(p, opts); n > keyring.MaxEpochWindow {
		return fmt.Errorf("cookie: AbsoluteTimeout %v with epoch period %v spans %d epochs, more than the %d a keyring caches; use a longer epoch period", opts.AbsoluteTimeout, p, n, keyring.MaxEpochWindow)
	}
	return nil
}

// checkTimes applies the expiry rule: a value is expired when now is past
// issued-at + AbsoluteTimeout + skew or refreshed-at + IdleTimeout + skew.
// A timestamp more than skew after now, or a refreshed-at more than skew
// before issued-at, is invalid. (Values sealed before refreshed-at was
// raised to issued-at may carry a refreshed-at up to one skew early: the
// sealing instance's clock was behind the one that issued the session.)
func (c *Codec) checkTimes(m Meta, now time.Time) error {
	skew := c.opts.ClockSkew
	if m.IssuedAt.After(now.Add(skew)) || m.RefreshedAt.After(now.Add(skew)) {
		return errFuture
	}
	if m.RefreshedAt.Before(m.IssuedAt.Add(-skew)) {
		return errRefreshedFirst
	}
	if now.After(m.IssuedAt.Add(c.opts.AbsoluteTimeout + skew)) {
		return errAbsolute
	}
	if now.After(m.RefreshedAt.Add(c.opts.IdleTimeout + skew)) {
		return errIdle
	}
	return nil
}

// Deadline returns when a value with this header expires: the earlier of
// the idle and absolute deadlines, without the skew allowance. Use it for
// the cookie's Max-Age.
func (c *Codec) Deadline(m Meta) time.Time {
	abs := m.IssuedAt.Add(c.opts.AbsoluteTimeout)
	idle := m.RefreshedAt.Add(c.opts.IdleTimeout)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// skippedCRLF reports whether a value of valueLen bytes that
// encoding/base64 decoded without error, unpadded, into n bytes held a CR
// or LF, the only bytes its decoder skips, without scanning the value
// again. With c of them skipped, n is (valueLen-c)*6/8. For c = 0 that is
// valueLen*6/8, and valueLen%4 is not 1 (no unpadded encoding has that
// length). For c >= 1 it is less, except when c = 1 and valueLen%4 is 1
// (then valueLen-1 is a multiple of 4 and the two quotients are equal).
// TestLineBreaksRefused tries every residue of the length with 1 to 3
// breaks.
func skippedCRLF(valueLen, n int) bool {
	return n != valueLen*6/8 || valueLen%4 == 1
}

// hasCRLF reports whether s holds a CR or LF, which encoding/base64 would
// skip. Two byte scans are an order of magnitude faster here than
// strings.ContainsAny, which builds a set per call.
func hasCRLF(s string) bool {
	return strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0
}
