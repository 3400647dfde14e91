package cookie

import (
	"fmt"
	"strings"
)

// Format names a wire format. The zero value is the native v1 format.
// A [Codec] seals in the format of its Options.Format and opens every
// format, telling them apart by the value's first bytes (see isJWE), so
// switching Options.Format, either way, logs nobody out.
type Format uint8

const (
	// Native is the native v1 format (the default): XChaCha20-Poly1305,
	// unpadded base64url. See the package documentation.
	Native Format = iota
	// JWE is JWE compact serialization (dir + A256GCM), readable by other
	// languages' JOSE libraries. See "JWE format" in the package
	// documentation.
	JWE
)

// String returns the format's name: "native" or "jwe".
func (f Format) String() string {
	switch f {
	case Native:
		return "native"
	case JWE:
		return "jwe"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// nativeLead is the first character of every native v1 value: the
// base64url digit of the top six bits of the version byte 0x01.
const nativeLead = 'A'

// isJWE reports whether Open reads value as JWE compact rather than as
// the native format. It looks at no more than the bytes that decide, so
// a native v1 value costs one byte comparison.
//
// Why the two can never be confused:
//
//   - A native value is unpadded base64url, whose alphabet is A–Z, a–z,
//     0–9, '-' and '_': it never holds a '.'. Its first character is the
//     digit of the version byte's top six bits; for Version1 (0x01) they
//     are 000000, so every native v1 value starts with 'A'.
//   - A JWE compact value is five base64url parts joined by four '.'
//     (RFC 7516 §7.1), and it starts with the encoded protected header,
//     a JSON object: its first decoded byte is '{' (0x7B, top six bits
//     011110: 'e', so a header written as {"alg":… starts "eyJ"), or JSON
//     white space before it (' ', '\t', '\n', '\r': 'I', 'C', 'C', 'D').
//     None of these is 'A': a value starting with 'A' decodes to a first
//     byte below 4, which no JWE header we accept begins with.
//
// So: a value starting with 'A' is read as native (no JWE we would open
// starts so); any other value holding a '.' is read as JWE (no native
// value holds one); the rest (a native value of another version, or
// garbage) is read as native, which refuses it with the reason it would
// have had before (bad version, malformed). Each value goes to the only
// reader that could open it, and the other reader is never tried, so
// the open order holds for both: length, decode, version or header, key
// lookup by ID, AEAD open, then the times.
//
// A future native version keeps this rule as long as its text holds no
// '.', which base64url guarantees.
func isJWE(value string) bool {
	return len(value) > 0 && value[0] != nativeLead && strings.IndexByte(value, '.') >= 0
}
