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
// # JSON payloads
//
// SealJSON and OpenJSON seal and open a typed value as JSON: exactly what
// encoding/json writes and reads, with integers exact (numbers in
// interface values become json.Number). Flat structs of strings,
// booleans and integers take a fast path that skips encoding/json's
// reflection and gives every string field one shared allocation; any
// payload the fast path does not handle is decoded by encoding/json, so
// the result and the errors are always encoding/json's.
//
// # Size budget and chunking
//
// A Set-Cookie line over 4096 bytes is dropped by browsers, so by default
// a value over Options.MaxValueSize (3800 bytes of value, leaving room for
// the name and attributes) fails with ErrTooLarge when sealed, and a
// longer value is refused before any decoding when opened.
//
// A larger session can be spread over several cookies: raise MaxValueSize
// to the chunk size times the chunk cap, cut the sealed value with Split
// into name.0, name.1, … (at most DefaultMaxChunks by default), and
// reassemble it with Join, which refuses gaps, duplicates, too many chunks
// and too long a total before joining anything. StaleChunks names the
// chunk cookies to expire when a value shrinks. The middleware package
// follows this rule: a value that fits goes in the plain cookie and every
// chunk is cleared; a longer one goes in chunks and the plain cookie is
// cleared.
//
// The browser is not the only bound: a reverse proxy limits the request's
// Cookie header and the response's whole header block (a default nginx:
// 8 KB per request header line, 4 KB for all the response headers).
// DefaultMaxChunks says what passes where; the session manager budgets
// the Set-Cookie lines of a response as a whole.
//
// # Errors
//
// ErrTooLarge, ErrInvalid and ErrExpired are the sentinels to test with
// errors.Is. Each of them means "no session" to a server. ErrNoChunks,
// from Join, only means "read the plain cookie instead".
package cookie
