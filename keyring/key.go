package keyring

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// SecretSize is the size in bytes of a master secret.
const SecretSize = 32

// Status is a key's place in its lifecycle. The zero value, [StatusUnknown],
// is invalid: a key must always say what it may be used for.
type Status uint8

const (
	// StatusUnknown is the zero value. A key set holding it is refused.
	StatusUnknown Status = iota
	// StatusPrimary marks the one key that seals new values. It also opens.
	StatusPrimary
	// StatusDecryptOnly marks a key that opens values but never seals them:
	// a new key being rolled out, or an old key draining.
	StatusDecryptOnly
	// StatusDisabled marks a key that is kept in the set but used for
	// nothing. Values sealed under it fail to open as if the key were unknown.
	StatusDisabled
)

var statusNames = [...]string{
	StatusUnknown:     "unknown",
	StatusPrimary:     "primary",
	StatusDecryptOnly: "decrypt-only",
	StatusDisabled:    "disabled",
}

// String returns the status name used in key set files: "primary",
// "decrypt-only", "disabled" or "unknown".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText encodes the status by name. [StatusUnknown] is refused.
func (s Status) MarshalText() ([]byte, error) {
	if s == StatusUnknown || int(s) >= len(statusNames) {
		return nil, fmt.Errorf("%w: status %v", ErrInvalidKeySet, s)
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText decodes a status name. Unknown names are refused.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if i != int(StatusUnknown) && n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown status", ErrInvalidKeySet)
}

// Key is one master key: an ID, a lifecycle status, lifecycle timestamps,
// and a 32-byte secret that no method of Key ever prints or marshals.
//
// A Key is a value; copies share the same immutable secret.
type Key struct {
	// ID names the key in every value it seals. It is never 0.
	ID uint32
	// Status is what the key may be used for.
	Status Status
	// Added is when the key entered the set.
	Added time.Time
	// Promoted is when the key last became primary; zero if never.
	Promoted time.Time
	// Demoted is when the key last stopped being primary; zero if never.
	Demoted time.Time
	// Enabled is when a disabled key was last enabled again; zero if
	// never. Like Added, it starts a roll-out: a key that was disabled
	// opens nothing, so instances must learn it is usable before any
	// value is sealed under it (see rotate.UsableSince).
	Enabled time.Time

	secret *[SecretSize]byte
}

// GenerateKey returns a new key with a random nonzero ID, a random secret
// from crypto/rand, the given status, and Added set to now.
func GenerateKey(status Status, now time.Time) (Key, error) {
	var secret [SecretSize]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return Key{}, fmt.Errorf("keyring: generating secret: %w", err)
	}
	id, err := randomID()
	if err != nil {
		return Key{}, err
	}
	k := Key{ID: id, Status: status, Added: now.UTC().Truncate(time.Second), secret: &secret}
	if status == StatusPrimary {
		k.Promoted = k.Added
	}
	return k, nil
}

// NewKey returns a key with the given ID, status and secret. The secret is
// copied; the caller may wipe its slice afterwards. It is for tests and for
// importing keys made elsewhere; most callers want [GenerateKey].
func NewKey(id uint32, status Status, secret []byte) (Key, error) {
	if len(secret) != SecretSize {
		return Key{}, fmt.Errorf("%w: secret must be %d bytes, got %d", ErrInvalidKeySet, SecretSize, len(secret))
	}
	var s [SecretSize]byte
	copy(s[:], secret)
	k := Key{ID: id, Status: status, secret: &s}
	if err := k.validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

func randomID() (uint32, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("keyring: generating key id: %w", err)
		}
		if id := binary.BigEndian.Uint32(b[:]); id != 0 {
			return id, nil
		}
	}
}

func (k Key) validate() error {
	switch {
	case k.ID == 0:
		return fmt.Errorf("%w: key id 0 is reserved", ErrInvalidKeySet)
	case k.Status == StatusUnknown || int(k.Status) >= len(statusNames):
		return fmt.Errorf("%w: key %d has invalid status %v", ErrInvalidKeySet, k.ID, k.Status)
	case k.secret == nil:
		return fmt.Errorf("%w: key %d has no secret", ErrInvalidKeySet, k.ID)
	case *k.secret == [SecretSize]byte{}:
		return fmt.Errorf("%w: key %d has an all-zero secret", ErrInvalidKeySet, k.ID)
	}
	return nil
}

// String describes the key without its secret, e.g. "key 1234 (primary)".
func (k Key) String() string {
	return fmt.Sprintf("key %d (%v)", k.ID, k.Status)
}

// GoString is like String, so %#v shows no secret either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb, so %v, %+v, %#v, %s, %q and %x never
// reach the secret.
func (k Key) Format(f fmt.State, verb rune) { fmt.Fprint(f, k.String()) }

// redactedKey is the JSON shape of a Key outside a key set file.
type redactedKey struct {
	ID       uint32    `json:"id"`
	Status   Status    `json:"status"`
	Added    time.Time `json:"added,omitzero"`
	Promoted time.Time `json:"promoted,omitzero"`
	Demoted  time.Time `json:"demoted,omitzero"`
}

// MarshalJSON encodes the key's ID, status and timestamps, never its
// secret. Key set files are written with [Set.MarshalKeyFile].
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(redactedKey{k.ID, k.Status, k.Added, k.Promoted, k.Demoted})
}

// SameSecret reports whether k and o hold the same secret, in constant time.
func (k Key) SameSecret(o Key) bool {
	if k.secret == nil || o.secret == nil {
		return false
	}
	return constantTimeEqual(k.secret[:], o.secret[:])
}
