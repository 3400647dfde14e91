// Package gorilla reads the session cookies that gorilla/sessions' CookieStore
// wrote, so that an app can move to cookieseal without logging anyone out.
//
// It lives apart from package cookie because it links encoding/gob and
// github.com/gorilla/securecookie, which a program that only seals and
// opens native cookies should not carry.
package gorilla

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// DefaultMaxAge is gorilla/sessions' and gorilla/securecookie's
// default MaxAge: 30 days.
const DefaultMaxAge = 30 * 24 * time.Hour

// gorillaMaxLength is securecookie's default limit on an encoded value.
const gorillaMaxLength = 4096

// Options configures a [Decoder]. The zero value is the
// default.
type Options struct {
	// MaxAge is how old, since it was last written, a legacy cookie may
	// be: the MaxAge the old app gave its CookieStore. Default 30 days,
	// gorilla's default.
	MaxAge time.Duration
	// ClockSkew is how far in the future a legacy timestamp may lie.
	// Default 30s; at most one minute.
	ClockSkew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// SubjectKey names the session value that holds the user (for
	// example "user_id"): DecodeSession returns it as the session's
	// subject, so that a migrated session is Authenticated, revocation by
	// subject reaches it, and its Destroy revokes it. A string is taken as
	// is, an integer in decimal; any other type fails with
	// cookie.ErrLegacyType. The value also stays among the session's
	// values. New requires it, or Anonymous: there is no safe default.
	SubjectKey string
	// Anonymous declares that the legacy sessions hold no user (a cart,
	// preferences): they migrate without a subject. Such a session grants
	// nothing, and nothing revokes it: Destroy of it clears the cookie
	// but a copy stays valid until it expires (with a Revoker,
	// middleware's Destroy says so with middleware.ErrNoSubject). Set it
	// only when that is true, or when the decoder is used for
	// DecodeLegacy alone. It cannot be set with SubjectKey.
	Anonymous bool
}

// ErrNoSubjectKey is returned by [New] when [Options] names neither a
// SubjectKey nor Anonymous: migrated sessions would have no subject, so
// a logout could not revoke them, and the choice must be made.
var ErrNoSubjectKey = errors.New("gorilla: Options.SubjectKey is empty: name the session value that holds the user, or set Options.Anonymous")

// Decoder reads the session cookies that gorilla/sessions' CookieStore
// wrote, so that an app can move to cookieseal without logging anyone out.
// It only reads: it never writes the legacy format. It is safe for
// concurrent use.
//
// The value is authenticated and decrypted by github.com/gorilla/securecookie
// with the old hash and block keys, its timestamp is checked against
// MaxAge with the injected clock, and the gob-encoded
// map[interface{}]interface{} of session values is converted to a
// map[string]any:
//
//   - keys must be strings;
//   - string, bool, every int, uint and float kind (as int64, uint64 and
//     float64), []byte and []string keep their values;
//   - other slices and arrays become []any, maps with string keys become
//     map[string]any, converted recursively; gorilla's flashes (key
//     "_flash") arrive as []any;
//   - [time.Time] becomes an RFC 3339 string with nanoseconds, in UTC;
//   - anything else (a struct, a pointer, a complex number, a map with
//     other keys) fails with an error matching [cookie.ErrLegacyType] that
//     names the session key and the Go type, never the value.
//
// encoding/gob decodes an interface value only when its type is
// registered in this process, as it was in the app that wrote the cookie.
// The basic types above are registered by encoding/gob itself; []any
// (gorilla's flashes) is registered by importing github.com/gorilla/sessions,
// and time.Time and map[string]any need [gob.Register] in your main, as the
// old app had. A cookie holding an unregistered type fails with
// cookie.ErrLegacyType.
type Decoder struct {
	sc     *securecookie.SecureCookie
	maxAge int64 // seconds
	skew   int64 // seconds, rounded up
	now    func() time.Time
	subKey string
}

// New returns a decoder for cookies written with the given hash key
// (at least 32 bytes) and block key (16, 24 or 32 bytes for AES, or nil
// when the old app only authenticated its cookies). The keys are copied.
// [Options] must name a SubjectKey or set Anonymous; with neither the
// error matches [ErrNoSubjectKey].
func New(hashKey, blockKey []byte, opts Options) (*Decoder, error) {
	if len(hashKey) < 32 {
		return nil, errors.New("gorilla: gorilla hash key shorter than 32 bytes")
	}
	switch len(blockKey) {
	case 0:
		if blockKey != nil {
			return nil, errors.New("gorilla: empty gorilla block key (use nil for none)")
		}
	case 16, 24, 32:
	default:
		return nil, errors.New("gorilla: gorilla block key must be 16, 24 or 32 bytes")
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.ClockSkew == 0 {
		opts.ClockSkew = keyring.DefaultClockSkew
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.SubjectKey == "" && !opts.Anonymous:
		return nil, ErrNoSubjectKey
	case opts.SubjectKey != "" && opts.Anonymous:
		return nil, errors.New("gorilla: Options.SubjectKey and Options.Anonymous both set")
	case opts.MaxAge < time.Second:
		return nil, errors.New("gorilla: gorilla MaxAge must be at least one second")
	case opts.ClockSkew < 0 || opts.ClockSkew > time.Minute:
		return nil, errors.New("gorilla: clock skew must be within (0, 1m]")
	}
	var bk []byte
	if blockKey != nil {
		bk = bytes.Clone(blockKey)
	}
	// securecookie checks the MAC and decrypts; NopEncoder hands back the
	// gob bytes so that decoding errors are ours to classify, and its own
	// time check, which only reads time.Now, is off (MaxAge 0): Decode
	// applies MaxAge with the injected clock instead.
	sc := securecookie.New(bytes.Clone(hashKey), bk).MaxAge(0).MaxLength(gorillaMaxLength)
	sc.SetSerializer(securecookie.NopEncoder{})
	return &Decoder{
		sc:     sc,
		maxAge: int64(opts.MaxAge / time.Second),
		skew:   int64((opts.ClockSkew + time.Second - 1) / time.Second),
		now:    opts.Now,
		subKey: opts.SubjectKey,
	}, nil
}

// DecodeLegacy authenticates and decodes the value of the legacy cookie
// called name and returns its session values. Errors match
// [cookie.ErrTooLarge], [cookie.ErrInvalid] (not a valid legacy cookie of
// this name under these keys), [cookie.ErrExpired] (older than MaxAge) or
// [cookie.ErrLegacyType] (authentic, but holding a value that cannot be
// converted; it matches cookie.ErrInvalid too).
func (g *Decoder) DecodeLegacy(name, value string) (map[string]any, error) {
	s, err := g.DecodeSession(name, value)
	return s.Values, err
}

// DecodeSession is DecodeLegacy returning the session's timestamp and
// subject too (see [cookie.LegacySession]); it is what
// middleware.Options.Legacy calls. Errors are DecodeLegacy's; a SubjectKey
// value of another type than a string or an integer fails with
// [cookie.ErrLegacyType].
func (g *Decoder) DecodeSession(name, value string) (cookie.LegacySession, error) {
	values, ts, err := g.decode(name, value)
	if err != nil {
		return cookie.LegacySession{}, err
	}
	s := cookie.LegacySession{Values: values, IssuedAt: time.Unix(ts, 0)}
	if g.subKey != "" {
		switch v := values[g.subKey].(type) {
		case nil:
		case string:
			s.Subject = v
		case int64:
			s.Subject = strconv.FormatInt(v, 10)
		case uint64:
			s.Subject = strconv.FormatUint(v, 10)
		default:
			return cookie.LegacySession{}, fmt.Errorf("%w: subject key %q holds a %T", cookie.ErrLegacyType, g.subKey, v)
		}
	}
	return s, nil
}

// decode is DecodeLegacy returning the timestamp too.
func (g *Decoder) decode(name, value string) (map[string]any, int64, error) {
	if len(value) > gorillaMaxLength {
		return nil, 0, cookie.ErrTooLarge
	}
	// securecookie's base64 skips CR and LF; refuse them, as the native
	// and JWE formats do, so that no value has two spellings.
	if strings.ContainsAny(value, "\r\n") {
		return nil, 0, cookie.Reject(cookie.ReasonMalformed, fmt.Errorf("%w: gorilla cookie: line break", cookie.ErrInvalid))
	}
	var raw []byte
	if err := g.sc.Decode(name, value, &raw); err != nil {
		return nil, 0, cookie.Reject(cookie.ReasonTampered, fmt.Errorf("%w: gorilla cookie: authentication failed", cookie.ErrInvalid))
	}
	// The MAC that Decode verified covers "name|timestamp|value", so the
	// timestamp read here is authentic.
	ts, ok := gorillaTimestamp(value)
	if !ok {
		return nil, 0, cookie.Reject(cookie.ReasonMalformed, fmt.Errorf("%w: gorilla cookie: malformed timestamp", cookie.ErrInvalid))
	}
	now := g.now().Unix()
	if ts > now+g.skew {
		return nil, 0, cookie.Reject(cookie.ReasonTimestamps, fmt.Errorf("%w: gorilla cookie: timestamp in the future", cookie.ErrInvalid))
	}
	if ts < now-g.maxAge {
		return nil, 0, fmt.Errorf("%w: gorilla cookie older than MaxAge", cookie.ErrExpired)
	}
	values, err := gobDecodeValues(raw)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[string]any, len(values))
	for k, v := range values {
		ks, ok := k.(string)
		if !ok {
			return nil, 0, fmt.Errorf("%w: session key of type %T", cookie.ErrLegacyType, k)
		}
		cv, err := convertLegacy(reflect.ValueOf(v))
		if err != nil {
			return nil, 0, fmt.Errorf("%w: session key %q: %s", cookie.ErrLegacyType, ks, err)
		}
		out[ks] = cv
	}
	return out, ts, nil
}

// gorillaTimestamp reads the timestamp of a securecookie value:
// base64url("timestamp|value|mac").
func gorillaTimestamp(value string) (int64, bool) {
	b, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return 0, false
	}
	ts, _, ok := bytes.Cut(b, []byte("|"))
	if !ok {
		return 0, false
	}
	t, err := strconv.ParseInt(string(ts), 10, 64)
	return t, err == nil
}

// gobDecodeValues decodes gorilla's session values. encoding/gob reports
// unregistered and mismatched types as errors; the recover is a last line
// of defence so that a request never panics.
func gobDecodeValues(raw []byte) (values map[any]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			values, err = nil, fmt.Errorf("%w: gob decoder panicked", cookie.ErrLegacyType)
		}
	}()
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&values); err != nil {
		// gob's messages name types, never values.
		return nil, fmt.Errorf("%w: %s (register the type with encoding/gob as the old app did, or drop it from the session)", cookie.ErrLegacyType, err)
	}
	return values, nil
}

var timeType = reflect.TypeFor[time.Time]()

// convertLegacy converts one gob-decoded value; see Decoder.
func convertLegacy(v reflect.Value) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	if v.Type() == timeType {
		return v.Interface().(time.Time).UTC().Format(time.RFC3339Nano), nil
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.Interface:
		return convertLegacy(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil, nil
		}
		switch v.Type().Elem().Kind() {
		case reflect.Uint8:
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return b, nil
		case reflect.String:
			s := make([]string, v.Len())
			for i := range s {
				s[i] = v.Index(i).String()
			}
			return s, nil
		}
		out := make([]any, v.Len())
		for i := range out {
			e, err := convertLegacy(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map with %s keys", v.Type().Key())
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			e, err := convertLegacy(it.Value())
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("type %s", v.Type())
}
