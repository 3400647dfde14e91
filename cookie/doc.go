// Package cookie seals byte payloads into cookie values and opens them.
//
// For most uses, build one Codec per cookie with New and call Seal and
// Open; the middleware package does this for you.
//
// # Wire format (version 1)
//
// A value is unpadded base64url of
//
//	version(1) ‖ key id(4) ‖ epoch(4) ‖ issued-at(8) ‖ refreshed-at(8) ‖ nonce(24) ‖ ciphertext ‖ tag(16)
//
// with integers big-endian and times in Unix milliseconds. The cipher is
// XChaCha20-Poly1305 under a key derived from the keyring for the codec's
// purpose; the additional data is the header followed by the purpose, so a
// value sealed for one cookie fails as another and any flipped bit fails.
//
// Open checks, in order: the length, the encoding, the version, the epoch
// window, the key (looked up by ID, no trial decryption), the AEAD, and
// only then the timestamps.
//
// # Errors
//
// ErrTooLarge, ErrInvalid and ErrExpired are the sentinels to test with
// errors.Is. Each of them means "no session" to a server.
package cookie
