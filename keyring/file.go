package keyring

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// FileVersion is the newest key set file version this package reads
// and writes. Version 2 added the "lifetime" section; a version-1 file is
// a version-2 file without it. MarshalKeyFile writes the oldest version
// that holds the set: 1 when the set records no lifetime, so that readers
// from before version 2 keep reading every file that needs nothing newer,
// and 2 when it records one, so that those readers refuse it by its
// version ("unsupported version 2") rather than misread it. [ParseKeyFile]
// reads both, and refuses a "lifetime" section in a version-1 file.
const FileVersion = 2

// fileVersionLifetime is the first version with the lifetime section.
const fileVersionLifetime = 2

// MaxFileSize bounds the key set files and strings this package parses.
const MaxFileSize = 1 << 20

// fileSet is the JSON shape of a key set file.
type fileSet struct {
	Version     int           `json:"cookieseal_keyset"`
	EpochPeriod string        `json:"epoch_period,omitempty"`
	Lifetime    *fileLifetime `json:"lifetime,omitempty"`
	Keys        []fileKey     `json:"keys"`
}

// fileLifetime is the "lifetime" section: Go duration strings ("168h0m0s"),
// each absent when not recorded.
type fileLifetime struct {
	IdleTimeout     string `json:"idle_timeout,omitempty"`
	AbsoluteTimeout string `json:"absolute_timeout,omitempty"`
	ClockSkew       string `json:"clock_skew,omitempty"`
	RolloutDelay    string `json:"rollout_delay,omitempty"`
}

func (f *fileLifetime) fields() [len(lifetimeFields)]*string {
	return [...]*string{&f.IdleTimeout, &f.AbsoluteTimeout, &f.ClockSkew, &f.RolloutDelay}
}

func lifetimeToFile(l Lifetime) *fileLifetime {
	if l == (Lifetime{}) {
		return nil
	}
	f := &fileLifetime{}
	for i, dst := range f.fields() {
		if d := *l.field(lifetimeFields[i]); d != 0 {
			*dst = d.String()
		}
	}
	return f
}

func lifetimeFromFile(f *fileLifetime) (Lifetime, error) {
	var l Lifetime
	if f == nil {
		return l, nil
	}
	for i, src := range f.fields() {
		if *src == "" {
			continue
		}
		d, err := parseLifetimeDuration("", lifetimeFields[i], *src)
		if err != nil {
			return Lifetime{}, err
		}
		*l.field(lifetimeFields[i]) = d
	}
	return l, nil
}

// parseLifetimeDuration parses a recorded duration: a positive Go
// duration. Zero is refused, since a field that is not recorded is left
// out; the bounds are Set.Validate's.
// where prefixes the error's detail, e.g. "entry 3: ".
func parseLifetimeDuration(where, name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: %slifetime %s is not a positive duration such as 168h", ErrInvalidKeySet, where, name)
	}
	return d, nil
}

type fileKey struct {
	ID       uint32    `json:"id"`
	Status   Status    `json:"status"`
	Secret   string    `json:"secret"`
	Added    time.Time `json:"added,omitzero"`
	Promoted time.Time `json:"promoted,omitzero"`
	Demoted  time.Time `json:"demoted,omitzero"`
	Enabled  time.Time `json:"enabled,omitzero"`
}

// MarshalKeyFile encodes the set as a key set file, secrets included:
//
//	{
//	  "cookieseal_keyset": 2,
//	  "epoch_period": "1h0m0s",
//	  "lifetime": {
//	    "idle_timeout": "24h0m0s",
//	    "absolute_timeout": "168h0m0s",
//	    "clock_skew": "30s",
//	    "rollout_delay": "1h0m0s"
//	  },
//	  "keys": [
//	    {"id": 2841713315, "status": "primary", "secret": "<base64url>", "added": "…"}
//	  ]
//	}
//
// The "lifetime" section holds the fields of s.Lifetime that are
// recorded (nonzero); a set that records none is written as version 1,
// without the section (see [FileVersion]).
//
// The output is as secret as the keys themselves: write it only to a
// secret store or a file readable by the service alone. The set is
// validated first.
func (s Set) MarshalKeyFile() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	f := fileSet{Version: 1, Lifetime: lifetimeToFile(s.Lifetime), Keys: make([]fileKey, len(s.Keys))}
	if f.Lifetime != nil {
		f.Version = fileVersionLifetime
	}
	if s.EpochPeriod != 0 {
		f.EpochPeriod = s.EpochPeriod.String()
	}
	for i, k := range s.Keys {
		f.Keys[i] = fileKey{
			ID: k.ID, Status: k.Status, Secret: base64.RawURLEncoding.EncodeToString(k.secret[:]),
			Added: k.Added, Promoted: k.Promoted, Demoted: k.Demoted, Enabled: k.Enabled,
		}
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("keyring: encoding key file: %w", err)
	}
	return append(out, '\n'), nil
}

// ParseKeyFile decodes and validates a key set file of version 1 or 2
// (see [FileVersion]): exactly one JSON object, followed by nothing but
// white space. Trailing data, unknown fields, an unknown version, a
// "lifetime" section in a version-1 file, a malformed secret or duration,
// or any broken rule is refused with an error matching [ErrInvalidKeySet].
// A file without a "lifetime" section records none: Set.Lifetime is zero
// and every reader uses the defaults. Errors never quote the file's
// contents.
func ParseKeyFile(data []byte) (Set, error) {
	if len(data) > MaxFileSize {
		return Set{}, fmt.Errorf("%w: file larger than %d bytes", ErrInvalidKeySet, MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileSet
	if err := dec.Decode(&f); err != nil {
		return Set{}, fmt.Errorf("%w: %s", ErrInvalidKeySet, describeJSONError(err))
	}
	// One value and nothing after it but white space: Decode stops after
	// the first value, and More() is false before a stray '}' or ']'.
	if _, err := dec.Token(); err != io.EOF {
		return Set{}, fmt.Errorf("%w: trailing data after the key set", ErrInvalidKeySet)
	}
	if f.Version < 1 || f.Version > FileVersion {
		return Set{}, fmt.Errorf("%w: unsupported version %d", ErrInvalidKeySet, f.Version)
	}
	if f.Lifetime != nil && f.Version < fileVersionLifetime {
		return Set{}, fmt.Errorf("%w: a lifetime section needs version %d", ErrInvalidKeySet, fileVersionLifetime)
	}
	var s Set
	var err error
	if s.Lifetime, err = lifetimeFromFile(f.Lifetime); err != nil {
		return Set{}, err
	}
	if f.EpochPeriod != "" {
		p, err := time.ParseDuration(f.EpochPeriod)
		if err != nil {
			return Set{}, fmt.Errorf("%w: bad epoch_period", ErrInvalidKeySet)
		}
		s.EpochPeriod = p
	}
	s.Keys = make([]Key, len(f.Keys))
	for i, fk := range f.Keys {
		k, err := keyFromText(fk.ID, fk.Status, fk.Secret)
		if err != nil {
			return Set{}, err
		}
		k.Added, k.Promoted, k.Demoted, k.Enabled = fk.Added, fk.Promoted, fk.Demoted, fk.Enabled
		s.Keys[i] = k
	}
	if err := s.Validate(); err != nil {
		return Set{}, err
	}
	return s, nil
}

// secretEncoding is the secrets' text form: unpadded base64url, strict
// (the unused low bits of the last character must be zero), so that a
// secret has one spelling and nothing can trail it.
var secretEncoding = base64.RawURLEncoding.Strict()

func keyFromText(id uint32, status Status, secret string) (Key, error) {
	raw, err := secretEncoding.DecodeString(secret)
	// encoding/base64 skips CR and LF; refuse them.
	if err != nil || len(raw) != SecretSize || strings.ContainsAny(secret, "\r\n") {
		return Key{}, fmt.Errorf("%w: key %d: secret is not %d bytes of unpadded base64url", ErrInvalidKeySet, id, SecretSize)
	}
	defer clear(raw)
	return NewKey(id, status, raw)
}

// describeJSONError names what went wrong in a key file without quoting
// any of its bytes: a syntax or type error may otherwise echo a secret.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case errors.Is(err, ErrInvalidKeySet):
		return strings.TrimPrefix(err.Error(), ErrInvalidKeySet.Error()+": ")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "unknown field"
	}
	return "malformed key file"
}

// emptyKeySet is ParseString's error text for an empty string, which is
// what os.Getenv returns for an unset variable: it says so and how to
// make a key set.
const emptyKeySet = "no keys: the string is empty (is the environment variable unset?); " +
	"make a key set with `cookieseal keygen -out keys.json` and pass the file's contents, " +
	"or the one-line form `cookieseal keys export-env -file keys.json -i-know-this-prints-secrets` prints"

// ParseString decodes a key set from one string, as kept in a single
// environment variable. Two forms are accepted:
//
//   - a key set file (a string starting with "{"), as written by
//     MarshalKeyFile;
//   - a compact list of comma-separated entries "id:status:secret", where
//     secret is 32 bytes of unpadded base64url, optionally with one entry
//     "epoch=<duration>" and the lifetime's entries, at most one each,
//     "idle_timeout=", "absolute_timeout=", "clock_skew=" and
//     "rollout_delay=" with a duration (see [Lifetime]), e.g.
//     "7:primary:<43 chars>,3:decrypt-only:<43 chars>,epoch=24h,absolute_timeout=720h".
//
// The compact form carries the lifetime so that a fleet whose keys live
// in one environment variable records its policy there too, in the one
// place every instance reads; it keeps no lifecycle dates.
//
// An empty string (an unset environment variable) is refused with an
// error that says so and names the command that makes a key set.
// Surrounding white space is ignored (around the string and around each
// entry); anything else after a value is refused, as [ParseKeyFile]
// refuses data after the key set: an empty entry (a trailing comma), a
// fourth ":" field, characters after the secret's 43 (or a secret whose
// last character has unused bits set), a line break inside a secret.
// Errors match [ErrInvalidKeySet] and never quote a secret.
func ParseString(s string) (Set, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Set{}, fmt.Errorf("%w: %s", ErrInvalidKeySet, emptyKeySet)
	}
	if strings.HasPrefix(s, "{") {
		return ParseKeyFile([]byte(s))
	}
	if len(s) > MaxFileSize {
		return Set{}, fmt.Errorf("%w: string larger than %d bytes", ErrInvalidKeySet, MaxFileSize)
	}
	var set Set
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if p, ok := strings.CutPrefix(entry, "epoch="); ok {
			d, err := time.ParseDuration(p)
			if err != nil || set.EpochPeriod != 0 {
				return Set{}, fmt.Errorf("%w: entry %d: bad or repeated epoch", ErrInvalidKeySet, i)
			}
			set.EpochPeriod = d
			continue
		}
		if name, v, ok := strings.Cut(entry, "="); ok {
			dst := set.Lifetime.field(name)
			if dst == nil {
				return Set{}, fmt.Errorf("%w: entry %d: unknown setting", ErrInvalidKeySet, i)
			}
			if *dst != 0 {
				return Set{}, fmt.Errorf("%w: entry %d: repeated %s", ErrInvalidKeySet, i, name)
			}
			d, err := parseLifetimeDuration(fmt.Sprintf("entry %d: ", i), name, v)
			if err != nil {
				return Set{}, err
			}
			*dst = d
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) != 3 {
			return Set{}, fmt.Errorf("%w: entry %d: want id:status:secret", ErrInvalidKeySet, i)
		}
		id, err := strconv.ParseUint(parts[0], 10, 32)
		if err != nil {
			return Set{}, fmt.Errorf("%w: entry %d: bad key id", ErrInvalidKeySet, i)
		}
		var st Status
		if err := st.UnmarshalText([]byte(parts[1])); err != nil {
			return Set{}, fmt.Errorf("%w: entry %d: unknown status", ErrInvalidKeySet, i)
		}
		k, err := keyFromText(uint32(id), st, parts[2])
		if err != nil {
			return Set{}, err
		}
		set.Keys = append(set.Keys, k)
	}
	if err := set.Validate(); err != nil {
		return Set{}, err
	}
	return set, nil
}

// MarshalString encodes the set in [ParseString]'s compact form, secrets
// included, with its epoch period and recorded lifetime. Lifecycle
// timestamps are not kept; use MarshalKeyFile for a file an operator
// edits over time.
func (s Set) MarshalString() (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, k := range s.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%s:%s", k.ID, statusNames[k.Status], base64.RawURLEncoding.EncodeToString(k.secret[:]))
	}
	if s.EpochPeriod != 0 {
		fmt.Fprintf(&b, ",epoch=%s", s.EpochPeriod)
	}
	for _, name := range lifetimeFields {
		if d := *s.Lifetime.field(name); d != 0 {
			fmt.Fprintf(&b, ",%s=%s", name, d)
		}
	}
	return b.String(), nil
}
