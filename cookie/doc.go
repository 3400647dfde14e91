// Package cookie seals byte payloads into cookie values and opens them.
//
// For most uses, build one [Codec] per cookie with [New] and call Seal and
// Open; the middleware package does this for you.
//
// # Formats
//
// A Codec seals in one of two formats, chosen by Options.Format: the
// native format (the default) or [JWE] compact, which other languages'
// JOSE libraries read. It opens both, whatever it seals in: the first
// bytes of a value tell them apart (a native v1 value starts with 'A' and
// never holds a '.'; a JWE compact value holds four), so instances that
// seal in different formats share sessions, and switching the format
// logs nobody out. Both formats pass the same checks in the same order,
// under the same [Options], expiry rule and errors.
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
// # JWE format
//
// A JWE value is the five dot-separated parts of RFC 7516 §7.1, with
// "alg":"dir" and "enc":"A256GCM":
//
//	BASE64URL(header) . "" . BASE64URL(iv, 12 bytes) . BASE64URL(ciphertext) . BASE64URL(tag, 16 bytes)
//
// The encrypted key is empty, as "dir" requires, and the additional data
// is the ASCII of the encoded header (RFC 7516 §5.1), so every header
// member is authenticated. The protected header holds exactly:
//
//   - "alg": "dir" and "enc": "A256GCM";
//   - "kid": the keyring key ID in decimal, followed by "." and the epoch
//     when the keyring uses epoch keys ("7", or "7.20415" with epochs);
//     canonical decimal, no sign and no leading zero;
//   - "iat": the session's issued-at time and "rat" its refreshed-at
//     time, as NumericDates (RFC 7519 §2: seconds since the Unix epoch)
//     with millisecond precision, as the native format: a JSON number
//     with no sign and no exponent, written as an integer for a whole
//     second and otherwise with one to three decimals and no trailing
//     zero ("1795428000", "1795428000.5", "1795428000.503"). Open reads
//     an integer or a number with a fraction; digits past the third
//     decimal are truncated (toward the earlier millisecond), so [Meta]'s
//     times are whole milliseconds. Values written before millisecond
//     precision carry whole seconds and read as before.
//
// The content key is derived from the keyring for keyring.A256GCM, the
// codec's purpose and the epoch: a label of its own, so the JWE and
// native formats never share a key, and a value sealed for one purpose
// fails to authenticate under another (JWE compact has no external
// additional data, so the per-purpose key is the purpose binding).
//
// Open accepts nothing else: any other alg or enc, a "zip" (compression)
// or "crit" member, any member not listed above, a member given twice, a
// string with escapes, a time that is not a plain non-negative JSON
// number (a string, a sign, an exponent, NaN or Infinity, more than 12
// integer digits or 32 decimals), a non-empty encrypted key, an IV or tag
// of another size, or a value longer than MaxValueSize is refused
// ([ErrInvalid], or [ErrTooLarge] for the length, which is checked first)
// before any key is derived or anything is decrypted. Members may come in
// any order, with any JSON white space. The order of checks is the
// native format's: length, encoding, header, epoch window, key, AEAD,
// times.
//
// The compact form is written and read here, under the keyring's cached
// AES-256-GCM, rather than through go-jose's generic JWE object, which
// allocates dozens of times per value and measured several times slower;
// go-jose and Node's jose check it both ways in the tests (see the
// interop package), and they read the exported key set.
//
// AES-GCM's random 96-bit IVs are safe for about 2^32 seals per key:
// rotate the primary key, or use epoch keys, well before one key seals
// that many values.
//
// To read the session in another language, hand the derived key to the
// other service through your secret store: [Codec.InsecureExportJWKSet]
// gives it as a JSON Web Key Set of "oct" keys whose "kid" match the
// values' kid; Keyring.InsecureExportDerivedKey with keyring.A256GCM, the
// purpose, key ID and epoch gives the raw 32 bytes. Either is as secret
// as the master key for that purpose.
//
// # Time: one fleet, many clocks
//
// Every value carries its session's issued-at and refreshed-at times, to
// the millisecond in both formats. The rules, for both formats:
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
// keyring.MaxClockSkew (one minute); IdleTimeout and AbsoluteTimeout are at most
// keyring.MaxTimeout (400 days, browsers' cap on a cookie's lifetime, RFC 6265bis),
// which also keeps every deadline far from the largest [time.Duration].
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
// [SealJSON] and [OpenJSON] seal and open a typed value as JSON: exactly what
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
// to the chunk size times the chunk cap, cut the sealed value with [Split]
// into name.0, name.1, … (at most [ChunkLimit]; [DefaultMaxChunks], 1, is the
// default of every reader and writer: no chunking), and
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
// ErrTooLarge, ErrInvalid and [ErrExpired] are the sentinels to test with
// [errors.Is]. Each of them means "no session" to a server. [ErrNoChunks],
// from chunk.Join, only means "read the plain cookie instead".
package cookie
