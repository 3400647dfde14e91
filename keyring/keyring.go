package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

var (
	// ErrInvalidKeySet reports a key set that breaks a rule: no key, not
	// exactly one primary, a duplicate or zero ID, an unknown status, a
	// missing or malformed secret, or a malformed file.
	ErrInvalidKeySet = errors.New("keyring: invalid key set")
	// ErrUnknownKey reports a key ID that is not in the keyring, or names a
	// disabled key.
	ErrUnknownKey = errors.New("keyring: unknown key")
)

// Algorithm names what a derived key is for. Each algorithm has its own
// domain-separation label, so one master secret never feeds two ciphers
// the same key.
type Algorithm uint8

const (
	// XChaCha20Poly1305 is the native cookie format's AEAD.
	XChaCha20Poly1305 Algorithm = iota + 1
	// A256GCM is AES-256-GCM, the JWE format's content encryption.
	A256GCM
)

// Domain-separation labels for HKDF's info. A change to derivation gets a
// new label; old labels stay as they are.
const (
	labelXChaCha = "cookieseal/v1/xchacha20poly1305"
	labelA256GCM = "cookieseal/v1/jwe-a256gcm"
)

func (a Algorithm) label() (string, bool) {
	switch a {
	case XChaCha20Poly1305:
		return labelXChaCha, true
	case A256GCM:
		return labelA256GCM, true
	}
	return "", false
}

// String returns the algorithm's name.
func (a Algorithm) String() string {
	switch a {
	case XChaCha20Poly1305:
		return "XChaCha20-Poly1305"
	case A256GCM:
		return "A256GCM"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// MaxEpochWindow is the most epochs that a reader of one purpose may
// accept at once (the cookie package's window runs from
// AbsoluteTimeout + 2×ClockSkew before now to ClockSkew after it). The
// derived-key cache holds at least two such windows per enabled key, so
// that values naming any accepted epoch, forged or not, never evict each
// other's keys. With the default 7-day AbsoluteTimeout, epoch periods
// from 10 minutes fit.
const MaxEpochWindow = 1024

// Bounds of the derived-key cache of one snapshot: 2 × MaxEpochWindow
// entries per enabled key (two purposes or algorithms, each with a full
// window), at least minCached and at most maxCached. The bound stops a
// flood of distinct epochs from growing memory without limit; when the
// cache is full it is emptied.
const (
	minCached = 4096
	maxCached = 16384
)

// cacheBound returns the derived-key cache bound for a snapshot with n
// enabled keys.
func cacheBound(n int) int {
	return min(max(2*MaxEpochWindow*n, minCached), maxCached)
}

// MaxEpochPeriod and [MinEpochPeriod] bound Set.EpochPeriod.
const (
	MinEpochPeriod = time.Minute
	MaxEpochPeriod = 365 * 24 * time.Hour
)

// Set is the editable form of a keyring: the keys and settings an operator
// keeps in a secret store. Build the read-only *[Keyring] from it with [New].
type Set struct {
	// Keys holds the master keys. Exactly one is primary.
	Keys []Key
	// EpochPeriod, when nonzero, turns on automatic epoch keys: the key
	// that seals at time t is derived from the primary master and
	// floor(t / EpochPeriod), so instances rotate in step by their clocks
	// alone. Zero means no epochs. When set it must lie within
	// [MinEpochPeriod, MaxEpochPeriod] and be a whole number of seconds.
	EpochPeriod time.Duration
	// Lifetime is the sessions' lifetime policy, recorded once here for
	// every reader (see Lifetime). Its zero fields are not recorded:
	// readers use the defaults.
	Lifetime Lifetime
}

// Validate checks every rule a key set must follow, in one place: at
// least one key, exactly one primary, nonzero unique IDs, known statuses,
// present non-zero secrets, a sane epoch period, and a lifetime within
// its bounds (see [Lifetime]).
func (s Set) Validate() error {
	if len(s.Keys) == 0 {
		return fmt.Errorf("%w: no keys", ErrInvalidKeySet)
	}
	primaries := 0
	seen := make(map[uint32]bool, len(s.Keys))
	for _, k := range s.Keys {
		if err := k.validate(); err != nil {
			return err
		}
		if seen[k.ID] {
			return fmt.Errorf("%w: duplicate key id %d", ErrInvalidKeySet, k.ID)
		}
		seen[k.ID] = true
		if k.Status == StatusPrimary {
			primaries++
		}
	}
	if primaries != 1 {
		return fmt.Errorf("%w: %d primary keys, want exactly 1", ErrInvalidKeySet, primaries)
	}
	if p := s.EpochPeriod; p != 0 && (p < MinEpochPeriod || p > MaxEpochPeriod || p%time.Second != 0) {
		return fmt.Errorf("%w: epoch period %v outside [%v, %v] or not whole seconds", ErrInvalidKeySet, p, MinEpochPeriod, MaxEpochPeriod)
	}
	return s.Lifetime.validate()
}

// Clone returns a deep copy of the set's key list, safe to edit.
func (s Set) Clone() Set {
	s.Keys = slices.Clone(s.Keys)
	return s
}

// Keyring is an immutable, validated snapshot of a key set. It is safe for
// concurrent use. Derived keys are computed once per (algorithm, purpose,
// key, epoch) and cached on the snapshot.
//
// A *Keyring is a [Provider] of itself, so a fixed keyring can be passed
// wherever a Provider is wanted; rotate.Holder provides one that changes.
type Keyring struct {
	keys        []Key // sorted by ID
	primary     int   // index into keys
	epochPeriod time.Duration
	lifetime    Lifetime

	mu       sync.RWMutex
	cache    map[cacheKey]*derived
	cacheMax int // see cacheBound
}

type cacheKey struct {
	alg     Algorithm
	id      uint32
	epoch   uint32
	purpose string
}

type derived struct {
	key  [32]byte
	aead cipher.AEAD
}

// Provider hands out the keyring currently in force. Implementations are
// safe for concurrent use and cheap to call on every request.
type Provider interface {
	Keyring() *Keyring
}

var _ Provider = (*Keyring)(nil)

// New validates set ([Set.Validate]) and returns its read-only snapshot.
// The set's key slice is copied. A set that breaks a rule gives an error
// matching [ErrInvalidKeySet] that names the rule.
func New(set Set) (*Keyring, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	keys := slices.Clone(set.Keys)
	slices.SortFunc(keys, func(a, b Key) int { return int64cmp(int64(a.ID), int64(b.ID)) })
	kr := &Keyring{keys: keys, epochPeriod: set.EpochPeriod, lifetime: set.Lifetime, cache: make(map[cacheKey]*derived)}
	enabled := 0
	for i, k := range keys {
		if k.Status == StatusPrimary {
			kr.primary = i
		}
		if k.Status != StatusDisabled {
			enabled++
		}
	}
	kr.cacheMax = cacheBound(enabled)
	return kr, nil
}

func int64cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Generate returns a throwaway keyring of one new primary key, added
// now ([time.Now]): for tests, examples and programs whose sessions need
// not outlive the process. A fleet shares a key set from a file or the
// environment instead (see [ParseString]); [GenerateKey] makes a key for one
// at a time of your choosing.
func Generate() (*Keyring, error) {
	k, err := GenerateKey(StatusPrimary, time.Now())
	if err != nil {
		return nil, err
	}
	return New(Set{Keys: []Key{k}})
}

// Keyring returns kr itself, making *Keyring a [Provider].
func (kr *Keyring) Keyring() *Keyring { return kr }

// Set returns an editable copy of the key set behind kr.
func (kr *Keyring) Set() Set {
	return Set{Keys: slices.Clone(kr.keys), EpochPeriod: kr.epochPeriod, Lifetime: kr.lifetime}
}

// Primary returns the key that seals new values.
func (kr *Keyring) Primary() Key { return kr.keys[kr.primary] }

// Keys returns a copy of the keys, sorted by ID.
func (kr *Keyring) Keys() []Key { return slices.Clone(kr.keys) }

// Lookup returns the key with the given ID, whatever its status.
func (kr *Keyring) Lookup(id uint32) (Key, bool) {
	i, ok := slices.BinarySearchFunc(kr.keys, id, func(k Key, id uint32) int { return int64cmp(int64(k.ID), int64(id)) })
	if !ok {
		return Key{}, false
	}
	return kr.keys[i], true
}

// Lifetime returns the lifetime policy the key set records: a zero field
// is not recorded ([Lifetime.WithDefaults] gives the values in force).
func (kr *Keyring) Lifetime() Lifetime { return kr.lifetime }

// EpochPeriod returns the epoch period, or 0 when epochs are off.
func (kr *Keyring) EpochPeriod() time.Duration { return kr.epochPeriod }

// Epoch returns the epoch in force at t: floor(t / EpochPeriod), or 0 when
// epochs are off. Epochs start at 1 for any time after the Unix epoch plus
// one period, so 0 always means "no epoch".
func (kr *Keyring) Epoch(t time.Time) uint32 {
	if kr.epochPeriod == 0 {
		return 0
	}
	e := t.Unix() / int64(kr.epochPeriod/time.Second)
	if e <= 0 || e > int64(^uint32(0)) {
		return 0
	}
	return uint32(e)
}

// String describes the keyring without key material.
func (kr *Keyring) String() string {
	return fmt.Sprintf("keyring(%d keys, primary %d)", len(kr.keys), kr.Primary().ID)
}

// GoString is like String.
func (kr *Keyring) GoString() string { return kr.String() }

// Format prints String for every verb.
func (kr *Keyring) Format(f fmt.State, verb rune) { fmt.Fprint(f, kr.String()) }

// AEAD returns the cached AEAD for alg, derived from key id for purpose and
// epoch. It fails with [ErrUnknownKey] when id is absent or disabled.
//
// The AEAD key is HKDF-SHA256(master, salt = nil, info = label ‖ 0x00 ‖
// epoch (4 bytes, big-endian) ‖ purpose), where label is a versioned
// constant per algorithm.
//
// It is the primitive the cookie formats are built on, and it stays
// (the derivation is part of the wire format other languages implement),
// but applications do not need it: seal with cookie.Codec or
// middleware.Manager, which pick the key and epoch, draw nonces and
// bind the header. A caller that seals with this AEAD directly owns
// nonce uniqueness and the format of what it seals.
func (kr *Keyring) AEAD(alg Algorithm, purpose string, id, epoch uint32) (cipher.AEAD, error) {
	d, err := kr.derive(alg, purpose, id, epoch)
	if err != nil {
		return nil, err
	}
	return d.aead, nil
}

// InsecureExportDerivedKey returns a copy of the derived key that AEAD
// uses. It exists so that another language can open the JWE format: the
// returned bytes decrypt every value of this purpose and epoch, so treat
// them exactly like the master secret.
func (kr *Keyring) InsecureExportDerivedKey(alg Algorithm, purpose string, id, epoch uint32) ([]byte, error) {
	d, err := kr.derive(alg, purpose, id, epoch)
	if err != nil {
		return nil, err
	}
	return slices.Clone(d.key[:]), nil
}

func (kr *Keyring) derive(alg Algorithm, purpose string, id, epoch uint32) (*derived, error) {
	ck := cacheKey{alg, id, epoch, purpose}
	kr.mu.RLock()
	d := kr.cache[ck]
	kr.mu.RUnlock()
	if d != nil {
		return d, nil
	}
	label, ok := alg.label()
	if !ok {
		return nil, fmt.Errorf("keyring: unknown algorithm %v", alg)
	}
	k, ok := kr.Lookup(id)
	if !ok || k.Status == StatusDisabled {
		return nil, ErrUnknownKey
	}
	info := make([]byte, 0, len(label)+5+len(purpose))
	info = append(info, label...)
	info = append(info, 0)
	info = binary.BigEndian.AppendUint32(info, epoch)
	info = append(info, purpose...)
	raw, err := hkdf.Key(sha256.New, k.secret[:], nil, string(info), 32)
	if err != nil {
		return nil, fmt.Errorf("keyring: deriving key: %w", err)
	}
	d = &derived{}
	copy(d.key[:], raw)
	clear(raw)
	switch alg {
	case XChaCha20Poly1305:
		d.aead, err = chacha20poly1305.NewX(d.key[:])
	case A256GCM:
		d.aead, err = newGCM(d.key[:])
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: building %v: %w", alg, err)
	}
	kr.mu.Lock()
	if prev := kr.cache[ck]; prev != nil {
		d = prev
	} else {
		if len(kr.cache) >= kr.cacheMax {
			clear(kr.cache)
		}
		kr.cache[ck] = d
	}
	kr.mu.Unlock()
	return d, nil
}

func constantTimeEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// UsageRecorder is told each time a key seals or opens a value, by key ID
// and epoch, so an operator can see when an old key has drained.
// Implementations must be safe for concurrent use and cheap.
type UsageRecorder interface {
	RecordSeal(id, epoch uint32)
	RecordOpen(id, epoch uint32)
}
