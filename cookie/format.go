package cookie

import (
	"fmt"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// Sealer is what every cookie format implements: the native v1 Codec and
// the JWE codec share it, so the session manager works with either.
// Implementations are safe for concurrent use and return errors matching
// ErrTooLarge, ErrInvalid or ErrExpired.
//
// Use it, do not implement it: this package's codecs are its only
// implementations, NewSealer returns them, and the interface may gain
// methods as formats do. Nothing in the module accepts a Sealer of
// another making (the session manager picks one by Options.Format).
type Sealer interface {
	// Seal seals payload; a zero issuedAt means now.
	Seal(payload []byte, issuedAt time.Time) (string, error)
	// AppendSeal is Seal appending the value to dst.
	AppendSeal(dst, payload []byte, issuedAt time.Time) ([]byte, error)
	// Open authenticates value and returns its payload and header.
	Open(value string) ([]byte, Meta, error)
	// AppendOpen is Open appending the payload to dst.
	AppendOpen(dst []byte, value string) ([]byte, Meta, error)
	// Deadline is when a value with this header expires.
	Deadline(m Meta) time.Time
}

var _ Sealer = (*Codec)(nil)

// Format names a wire format. The zero value is the native v1 format.
type Format uint8

const (
	// Native is the native v1 format (the default): XChaCha20-Poly1305,
	// unpadded base64url.
	Native Format = iota
	// JWE is JWE compact serialization (dir + A256GCM), readable by other
	// languages' JOSE libraries.
	JWE
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case Native:
		return "native"
	case JWE:
		return "jwe"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// NewSealer returns a Sealer of format f for purpose under the keyring
// keys provides. An unknown format is refused.
func NewSealer(f Format, keys keyring.Provider, purpose string, opts Options) (Sealer, error) {
	switch f {
	case Native:
		c, err := New(keys, purpose, opts)
		if err != nil {
			return nil, err // not a typed nil in a non-nil interface
		}
		return c, nil
	case JWE:
		c, err := NewJWE(keys, purpose, opts)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("cookie: unsupported format %v", f)
}
