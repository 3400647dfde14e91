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
// # Time: one fleet, many clocks
//
// Every value carries its session's issued-at and refreshed-at times, to
// the millisecond in both formats. The rules, for every Sealer:
//
//   - Open accepts a value while now ≤ issued-at + AbsoluteTimeout +
//     ClockSkew and now ≤ refreshed-at + IdleTimeout + ClockSkew.
//   - Every comparison between a time a value carries (written by any
//     instance) and this instance's clock allows ClockSkew: issued-at and
//     refreshed-at may lie up to ClockSkew after now, and refreshed-at may
//     lie up to ClockSkew before issued-at (values an instance with a
//     slower clock re-sealed before the next rule existed). Anything
//     further out is ErrInvalid.
//   - Seal never writes a pair another instance refuses: refreshed-at is
//     the later of now and issued-at (issued-at may come from an instance
//     whose clock is ahead), and an issued-at more than ClockSkew after
//     now is refused with an error.
//
// So a value written by any instance opens on every instance whose clock
// is within ClockSkew of the writer's, whichever instance issued the
// session, re-sealed it, or rotated its key. ClockSkew is at most
// MaxClockSkew (one minute); IdleTimeout and AbsoluteTimeout are at most
// MaxTimeout (400 days, browsers' cap on a cookie's lifetime, RFC 6265bis),
// which also keeps every deadline far from the largest time.Duration.
//
// With epoch keys, Open accepts the epochs from that of now −
// AbsoluteTimeout − 2×ClockSkew (a sealing clock may trail the issued-at
// it keeps by ClockSkew) to that of now + ClockSkew, and checks this
// before deriving any key. New refuses options whose window spans more
// than keyring.MaxEpochWindow epochs (1024; with the default 7 days,
// periods from 10 minutes fit), so forged epochs cannot churn the
// keyring's derived-key cache. A keyring reloaded later with a shorter
// period (rotate.Holder) is handled at open time: the window keeps its
// newest MaxEpochWindow epochs and values from older ones are refused.
//
// # JSON payloads
//
// SealJSON and OpenJSON seal and open a typed value as JSON: exactly what
// encoding/json writes and reads, with integers exact (numbers in
// interface values become json.Number). Flat structs of strings,
// booleans and integers (json.Number fields excepted: encoding/json
// treats them as numbers) take a fast path that skips encoding/json's
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
// reassemble it with chunk.Join (package cookie/chunk, which takes
// net/http's cookies), which refuses gaps, duplicates, too many chunks
// and too long a total before joining anything. chunk.Stale names the
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
// from chunk.Join, only means "read the plain cookie instead".
package cookie
