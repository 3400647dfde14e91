// Package keyring holds the master keys that seal cookieseal sessions.
//
// For most uses, load a key set once and hand the *[Keyring] to the cookie
// codec or the session manager:
//
//	set, err := keyring.ParseString(os.Getenv("COOKIESEAL_KEYS"))
//	if err != nil { … }
//	kr, err := keyring.New(set)
//
// # Keys and their lifecycle
//
// A [Key] is a 32-byte random master secret with a nonzero uint32 ID, a
// [Status] and lifecycle timestamps. A key set has exactly one primary key,
// which seals new values; decrypt-only keys open values but never seal;
// disabled keys are kept but used for nothing. The zero Status is invalid.
// [Set.Validate] holds every rule in one place.
//
// A *Keyring is the read-only, validated snapshot of a [Set]. It never
// changes; rotation (package rotate) builds a new snapshot and swaps it in
// behind a [Provider].
//
// # Lifetime policy
//
// A key set records the lifetime policy of the sessions sealed under it
// (Set.Lifetime: idle and absolute timeouts, clock skew, rollout delay),
// written once, at "cookieseal keygen", and read from there by every
// part: the session manager and the cookie codec (their zero options take
// the recorded values, and a longer AbsoluteTimeout or ClockSkew than the
// recorded one is refused), package rotate's guards, the cookieseal
// command and the Python peer. A key set that records none (a file from
// before version 2) keeps working with the documented defaults. See
// [Lifetime] for the rules and [FileVersion] for the file versions.
//
// # Key derivation
//
// Master secrets never key a cipher directly. Each (algorithm, purpose,
// key, epoch) gets its own key from HKDF-SHA256 with a versioned label, so
// a value sealed for one cookie cannot be opened as another, and the JWE
// and native formats never share a key. Derived keys are computed once and
// cached on the snapshot, never per request. The cache holds two full
// epoch windows ([MaxEpochWindow] epochs) per enabled key, at least 4096
// and at most 16384 keys; the cookie package refuses configurations whose
// window is longer, so forged epochs never evict valid keys.
//
// # Parsing, and where key set files live
//
// This package turns a key set into text and back, in memory, and never
// touches a file system (it runs where there is none: edge runtimes,
// WebAssembly). Files on disk are package rotate's: ReadKeyFile,
// CreateKeyFile, WriteKeyFile and UpdateKeyFile (atomic, locked, and
// refusing a planted link), and FileSource for reloading; the cookieseal
// command uses them.
//
// [ParseKeyFile] reads key set files of version 1 and 2 (see FileVersion);
// [ParseString] reads either a key set file or the compact form, which
// carries the lifetime too. Both take exactly one key set and nothing
// after it but white space: a stray '}' or ']' after a key file, a trailing
// comma or field in the compact form, or a secret in a second spelling
// (unused base64 bits set, a line break) is refused with [ErrInvalidKeySet].
//
// # Key material
//
// String, GoString, Format (so %v, %+v and %#v) and MarshalJSON of Key and
// Keyring never show a secret, and no error quotes one. Secrets leave the
// package only through [Set.MarshalKeyFile] and [Set.MarshalString], which
// write the key set an operator stores, and through
// [Keyring.InsecureExportDerivedKey], for interoperability.
package keyring
