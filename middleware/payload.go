package middleware

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/cookieseal/cookieseal/cookie"
)

// The session payload is a JSON object, the envelope:
//
//	{"id":"<22 base64url chars>","sub":"user-42","d":{"user_id":42},"f":["Saved."]}
//
// id is a random 128-bit session id; sub (the subject), d (the data) and
// f (the flashes) are left out when empty. Unknown members are ignored, so
// a later version may add some. Values stay JSON text until a typed Get
// decodes them, so 64-bit integers are exact.

// span is a [start, end) range of the payload; end 0 means absent.
type span struct{ start, end int }

func (s span) ok() bool { return s.end > 0 }

// envelope locates the members of a payload without copying anything.
type envelope struct {
	id, sub, data, flashes span
}

// errSyntax is the scanner's error; it never escapes the package unwrapped.
var errSyntax = errors.New("malformed JSON")

const maxDepth = 256

// parseEnvelope indexes payload's top-level members, checking the
// structure of every value it skips.
func parseEnvelope(b []byte) (envelope, error) {
	var e envelope
	err := eachMember(b, span{0, len(b)}, func(key []byte, v span) error {
		var want byte
		var dst *span
		switch string(key) {
		case "id":
			want, dst = '"', &e.id
		case "sub":
			want, dst = '"', &e.sub
		case "d":
			want, dst = '{', &e.data
		case "f":
			want, dst = '[', &e.flashes
		default:
			return nil
		}
		if b[v.start] != want || dst.ok() {
			return errSyntax
		}
		*dst = v
		return nil
	})
	if err != nil {
		return envelope{}, fmt.Errorf("%w: %w: %w", ErrPayload, cookie.ErrInvalid, err)
	}
	if !e.id.ok() || e.id.end-e.id.start < 3 {
		return envelope{}, fmt.Errorf("%w: %w: no session id", ErrPayload, cookie.ErrInvalid)
	}
	return e, nil
}

// eachMember calls fn for each member of the object at s, with the raw
// key (between its quotes, escapes kept) and the value's span. It stops at
// fn's first error.
func eachMember(b []byte, s span, fn func(key []byte, v span) error) error {
	it := members{b: b, end: s.end, i: s.start}
	for {
		key, v, ok := it.next()
		if !ok {
			return it.err
		}
		if err := fn(key, v); err != nil {
			return err
		}
	}
}

// members iterates over the members of a JSON object without allocating.
type members struct {
	b       []byte
	end, i  int
	started bool
	err     error
}

// next returns the next member's raw key and value span; ok is false at
// the end of the object or on a syntax error (then err is set).
func (it *members) next() (key []byte, v span, ok bool) {
	b, end := it.b, it.end
	if it.err != nil || it.i < 0 {
		return nil, span{}, false
	}
	i := skipWS(b, it.i)
	if !it.started {
		it.started = true
		if i >= end || b[i] != '{' {
			return it.fail()
		}
		i = skipWS(b, i+1)
		if i < end && b[i] == '}' {
			return it.finish(i + 1)
		}
	} else {
		if i >= end {
			return it.fail()
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return it.finish(i + 1)
		default:
			return it.fail()
		}
	}
	if i >= end || b[i] != '"' {
		return it.fail()
	}
	ke, err := skipString(b, i, end)
	if err != nil {
		return it.fail()
	}
	key = b[i+1 : ke-1]
	i = skipWS(b, ke)
	if i >= end || b[i] != ':' {
		return it.fail()
	}
	vs := skipWS(b, i+1)
	ve, err := skipValue(b, vs, end, 0)
	if err != nil {
		return it.fail()
	}
	it.i = ve
	return key, span{vs, ve}, true
}

func (it *members) fail() ([]byte, span, bool) {
	it.err = errSyntax
	return nil, span{}, false
}

func (it *members) finish(i int) ([]byte, span, bool) {
	it.err = trailing(it.b, i, it.end)
	it.i = -1
	return nil, span{}, false
}

// eachElement calls fn for each element of the array at s.
func eachElement(b []byte, s span, fn func(v span) error) error {
	i := skipWS(b, s.start)
	if i >= s.end || b[i] != '[' {
		return errSyntax
	}
	i = skipWS(b, i+1)
	if i < s.end && b[i] == ']' {
		return trailing(b, i+1, s.end)
	}
	for {
		ve, err := skipValue(b, i, s.end, 0)
		if err != nil {
			return err
		}
		if err := fn(span{i, ve}); err != nil {
			return err
		}
		i = skipWS(b, ve)
		if i >= s.end {
			return errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return trailing(b, i+1, s.end)
		default:
			return errSyntax
		}
	}
}

func trailing(b []byte, i, end int) error {
	if skipWS(b, i) != end {
		return errSyntax
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i, end int) (int, error) {
	for i++; i < end; {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= end {
				return 0, errSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > end {
					return 0, errSyntax
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, errSyntax
					}
				}
				i += 6
			default:
				return 0, errSyntax
			}
		case c < 0x20:
			return 0, errSyntax
		default:
			i++
		}
	}
	return 0, errSyntax
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i, end, depth int) (int, error) {
	if i >= end {
		return 0, errSyntax
	}
	if depth > maxDepth {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i, end)
	case c == '{':
		i = skipWS(b, i+1)
		if i < end && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= end || b[i] != '"' {
				return 0, errSyntax
			}
			ke, err := skipString(b, i, end)
			if err != nil {
				return 0, err
			}
			i = skipWS(b, ke)
			if i >= end || b[i] != ':' {
				return 0, errSyntax
			}
			ve, err := skipValue(b, skipWS(b, i+1), end, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipWS(b, ve)
			if i >= end {
				return 0, errSyntax
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errSyntax
			}
			i = skipWS(b, i+1)
		}
	case c == '[':
		i = skipWS(b, i+1)
		if i < end && b[i] == ']' {
			return i + 1, nil
		}
		for {
			ve, err := skipValue(b, i, end, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipWS(b, ve)
			if i >= end {
				return 0, errSyntax
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errSyntax
			}
			i = skipWS(b, i+1)
		}
	case c == 't':
		return literal(b, i, end, "true")
	case c == 'f':
		return literal(b, i, end, "false")
	case c == 'n':
		return literal(b, i, end, "null")
	case c == '-' || '0' <= c && c <= '9':
		return skipNumber(b, i, end)
	}
	return 0, errSyntax
}

func literal(b []byte, i, end int, lit string) (int, error) {
	if end-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// skipNumber follows JSON's number grammar.
func skipNumber(b []byte, i, end int) (int, error) {
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < end && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < end && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return 0, errSyntax
	}
	if i < end && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0, errSyntax
		}
	}
	if i < end && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < end && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, errSyntax
		}
	}
	return i, nil
}

// lookup finds key in the data object of payload without allocating.
func lookup(b []byte, data span, key string) (json.RawMessage, bool) {
	if !data.ok() {
		return nil, false
	}
	it := members{b: b, end: data.end, i: data.start}
	for {
		k, v, ok := it.next()
		if !ok {
			return nil, false
		}
		if keyEqual(k, key) {
			return b[v.start:v.end:v.end], true
		}
	}
}

// keyEqual compares a raw JSON key (escapes kept) with key.
func keyEqual(raw []byte, key string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	return unquote(raw) == key
}

// unquote decodes the text of a JSON string given without its quotes.
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return ""
	}
	return s
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD, as encoding/json does
	}
	q, _ := json.Marshal(s) // a valid string always encodes
	return append(b, q...)
}

// encodeEnvelope appends the envelope of a session to b. Keys are sorted,
// so the same session always gives the same bytes.
func encodeEnvelope(b []byte, id, sub string, data map[string]json.RawMessage, flashes []json.RawMessage) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	if sub != "" {
		b = append(b, `,"sub":`...)
		b = appendString(b, sub)
	}
	if len(data) > 0 {
		b = append(b, `,"d":{`...)
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = append(b, data[k]...)
		}
		b = append(b, '}')
	}
	if len(flashes) > 0 {
		b = append(b, `,"f":[`...)
		for i, f := range flashes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, f...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// newID returns a random 128-bit session id as unpadded base64url.
func newID() string {
	var raw [16]byte
	rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(raw[:])
}
