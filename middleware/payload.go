package middleware

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cookieseal/cookieseal/cookie"
)

// The session payload is a JSON object, the envelope:
//
//	{"id":"<22 base64url chars>","sub":"user-42","d":{"user_id":42},"f":["Saved."],"dl":1767225600000,"p":true}
//
// id is a random 128-bit session id; sub (the subject), d (the data) and
// f (the flashes) are left out when empty; dl and p (the session's own
// deadline and cookie kind, see lifetime.go) when unset. Unknown members are ignored, so
// a later version may add some. Values stay JSON text until a typed Get
// decodes them, so 64-bit integers are exact.

// span is a [start, end) range of the payload; end 0 means absent.
type span struct{ start, end int }

func (s span) ok() bool { return s.end > 0 }

// field is one member of the data object: its raw key (between the
// quotes, escapes kept) and its value.
type field struct{ key, val span }

// envelope locates the members of a payload without copying anything.
type envelope struct {
	id, sub, data, flashes span
	dl, p                  span    // the session's own lifetime (lifetime.go)
	fields                 []field // the data object's members, in order
}

// errSyntax is the scanner's error; it never escapes the package unwrapped.
var errSyntax = errors.New("malformed JSON")

// errNoSessionID rejects an envelope without a session id.
var errNoSessionID = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: no session id", ErrPayload, cookie.ErrInvalid))

const maxDepth = 256

// parseEnvelope indexes payload's top-level members and the data object's
// members in one pass, checking the structure of every value it skips.
// fields is reused for the index.
func parseEnvelope(b []byte, fields []field) (envelope, error) {
	e, err := indexEnvelope(b, fields[:0])
	if err != nil {
		return envelope{fields: fields[:0]}, cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: %w", ErrPayload, cookie.ErrInvalid, err))
	}
	if !e.id.ok() || e.id.end-e.id.start < 3 {
		return envelope{fields: fields[:0]}, errNoSessionID
	}
	return e, nil
}

func indexEnvelope(b []byte, fields []field) (envelope, error) {
	e := envelope{fields: fields}
	end := len(b)
	i := skipWS(b, 0)
	if i >= end || b[i] != '{' {
		return e, errSyntax
	}
	i = skipWS(b, i+1)
	if i < end && b[i] == '}' {
		return e, trailing(b, i+1, end)
	}
	for {
		if i >= end || b[i] != '"' {
			return e, errSyntax
		}
		ke, err := skipString(b, i, end)
		if err != nil {
			return e, err
		}
		key := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= end || b[i] != ':' {
			return e, errSyntax
		}
		vs := skipWS(b, i+1)
		if vs >= end {
			return e, errSyntax
		}
		var ve int
		var want byte
		var dst *span
		switch string(key) {
		case "d":
			if b[vs] != '{' || e.data.ok() {
				return e, errSyntax
			}
			ve, e.fields, err = indexObject(b, vs, e.fields)
			if err != nil {
				return e, err
			}
			e.data = span{vs, ve}
		case "id":
			want, dst = '"', &e.id
		case "sub":
			want, dst = '"', &e.sub
		case "f":
			want, dst = '[', &e.flashes
		case "dl":
			dst = &e.dl // checked by parseLifetime
		case "p":
			dst = &e.p
		default:
			// encoding/json would match a known member case-insensitively
			// or through escapes; this package never writes such keys, so
			// refuse them rather than read the envelope another way.
			if bytes.IndexByte(key, '\\') >= 0 || isEnvelopeKeyFold(key) {
				return e, errSyntax
			}
		}
		if string(key) != "d" {
			if ve, err = skipValue(b, vs, end, 0); err != nil {
				return e, err
			}
			if dst != nil {
				if (want != 0 && b[vs] != want) || dst.ok() {
					return e, errSyntax
				}
				*dst = span{vs, ve}
			}
		}
		i = skipWS(b, ve)
		if i >= end {
			return e, errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return e, trailing(b, i+1, end)
		default:
			return e, errSyntax
		}
	}
}

// isEnvelopeKeyFold reports whether key equals an envelope member's name
// under Unicode case folding (a differently spelled "id", "sub", "d", "f",
// "dl" or "p").
func isEnvelopeKeyFold(key []byte) bool {
	for _, k := range [...]string{"d", "id", "sub", "f", "dl", "p"} {
		if bytes.EqualFold(key, []byte(k)) {
			return true
		}
	}
	return false
}

// indexObject appends the members of the object at b[i] to fields and
// returns the index after it.
func indexObject(b []byte, i int, fields []field) (int, []field, error) {
	end := len(b)
	i = skipWS(b, i+1)
	if i < end && b[i] == '}' {
		return i + 1, fields, nil
	}
	for {
		if i >= end || b[i] != '"' {
			return 0, fields, errSyntax
		}
		ke, err := skipString(b, i, end)
		if err != nil {
			return 0, fields, err
		}
		k := span{i + 1, ke - 1}
		i = skipWS(b, ke)
		if i >= end || b[i] != ':' {
			return 0, fields, errSyntax
		}
		vs := skipWS(b, i+1)
		ve, err := skipValue(b, vs, end, 1)
		if err != nil {
			return 0, fields, err
		}
		fields = append(fields, field{k, span{vs, ve}})
		i = skipWS(b, ve)
		if i >= end {
			return 0, fields, errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, fields, nil
		default:
			return 0, fields, errSyntax
		}
	}
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
	// Keys and most values end within a few words, which the run below
	// takes eight bytes at a time. A string still plain after 32 bytes
	// is likely long (a blob): once per string, its closing quote is
	// found with bytes.IndexByte (vectorized) and the run before it
	// checked at once.
	long := false
	for i++; i < end; {
		// Fast run over plain characters, eight at a time, then one.
		for n := 0; i+8 <= end; n++ {
			x := binary.LittleEndian.Uint64(b[i:])
			if hasLess(x, 0x20)|hasByte(x, '"')|hasByte(x, '\\') != 0 {
				break
			}
			i += 8
			if n == 3 && !long {
				long = true
				if q := bytes.IndexByte(b[i:end], '"'); q >= 0 && plainRun(b[i:i+q]) {
					return i + q + 1, nil
				}
			}
		}
		for i < end && plainStringByte[b[i]] == 1 {
			i++
		}
		if i >= end {
			break
		}
		switch c := b[i]; {
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
		default: // a control character
			return 0, errSyntax
		}
	}
	return 0, errSyntax
}

// plainRun reports whether s holds no '\\' and no control character
// (below 0x20): every byte stands for itself in a JSON string. 32 bytes
// at a time, branch-free: in each byte of acc, the top bit ends up set
// when the byte of s is below 0x20 (x - 0x20 borrows into it, and x does
// not have it); a borrow that crosses into the next byte only follows a
// byte already caught.
func plainRun(s []byte) bool {
	if bytes.IndexByte(s, '\\') >= 0 {
		return false
	}
	var acc uint64
	i := 0
	for ; i+32 <= len(s); i += 32 {
		b := s[i : i+32 : i+32]
		x, y := binary.LittleEndian.Uint64(b[0:8]), binary.LittleEndian.Uint64(b[8:16])
		z, w := binary.LittleEndian.Uint64(b[16:24]), binary.LittleEndian.Uint64(b[24:32])
		acc |= (x-swarLo*0x20)&^x | (y-swarLo*0x20)&^y | (z-swarLo*0x20)&^z | (w-swarLo*0x20)&^w
	}
	for _, c := range s[i:] {
		if c < 0x20 {
			return false
		}
	}
	return acc&swarHi == 0
}

// plainStringByte is 1 at the bytes that stand for themselves inside a
// JSON string: not '"', not '\', not a control character. A string
// constant, so nothing can change it.
const plainStringByte = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x01\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

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

// lookup finds key among the data object's members without allocating.
// A repeated key resolves to its last value, as encoding/json (and so
// materialize) does.
func lookup(b []byte, fields []field, key string) (json.RawMessage, bool) {
	for i := len(fields) - 1; i >= 0; i-- {
		f := fields[i]
		if keyEqual(b[f.key.start:f.key.end], key) {
			return b[f.val.start:f.val.end:f.val.end], true
		}
	}
	return nil, false
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

// Word-at-a-time byte tests: each is non-zero exactly when some byte of x
// matches.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// hasLess: some byte of x is below n (n <= 128).
func hasLess(x uint64, n byte) uint64 { return (x - swarLo*uint64(n)) & ^x & swarHi }

// hasByte: some byte of x is c.
func hasByte(x uint64, c byte) uint64 {
	y := x ^ (swarLo * uint64(c))
	return (y - swarLo) & ^y & swarHi
}

// parseInt parses a plain JSON integer (no fraction or exponent) that fits
// in bits.
func parseInt(b []byte, bits int) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	limit := uint64(1) << (bits - 1)
	if neg {
		if n > limit {
			return 0, false
		}
		return -int64(n), true
	}
	if n >= limit {
		return 0, false
	}
	return int64(n), true
}

// A session's own lifetime: two optional members of the envelope, sealed
// with the rest, so the client can neither extend nor drop them.
//
//	"dl": the session's absolute deadline, Unix milliseconds (an integer).
//	      The session ends when now is past dl + ClockSkew, as it does past
//	      issued-at + AbsoluteTimeout + ClockSkew; the earlier rule wins.
//	"p":  true for a persistent cookie (Max-Age), false for a
//	      browser-session cookie; absent, Options.BrowserSession decides.
//
// Envelopes without them (every envelope written before they existed)
// read as before.

// lifetime is the session's "dl" and "p".
type lifetime struct {
	deadline time.Time // zero: only the manager's AbsoluteTimeout
	persist  int8      // 0: the manager's choice; 1 persistent; -1 browser session
}

// The rejections of a malformed "dl" or "p", built once.
var (
	errDeadlineField = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: \"dl\" is not a positive integer of milliseconds", ErrPayload, cookie.ErrInvalid))
	errPersistField  = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: \"p\" is not a boolean", ErrPayload, cookie.ErrInvalid))
)

// parseLifetime reads "dl" and "p" from an indexed envelope. A "dl" that
// is not a positive integer, or a "p" that is not a boolean, is
// malformed: the session does not open.
func parseLifetime(b []byte, e envelope) (lifetime, error) {
	var l lifetime
	if e.dl.ok() {
		ms, ok := parseInt(b[e.dl.start:e.dl.end], 64)
		if !ok || ms <= 0 {
			return l, errDeadlineField
		}
		l.deadline = time.UnixMilli(ms)
	}
	if e.p.ok() {
		switch string(b[e.p.start:e.p.end]) {
		case "true":
			l.persist = 1
		case "false":
			l.persist = -1
		default:
			return l, errPersistField
		}
	}
	return l, nil
}

// appendTo adds "dl" and "p" to an encoded envelope (which ends in '}').
func (l lifetime) appendTo(b []byte) []byte {
	if l.deadline.IsZero() && l.persist == 0 {
		return b
	}
	b = b[:len(b)-1]
	if !l.deadline.IsZero() {
		b = append(b, `,"dl":`...)
		b = strconv.AppendInt(b, l.deadline.UnixMilli(), 10)
	}
	switch l.persist {
	case 1:
		b = append(b, `,"p":true`...)
	case -1:
		b = append(b, `,"p":false`...)
	}
	return append(b, '}')
}

// capDeadline returns the earlier of t and the session's own deadline.
func (l lifetime) capDeadline(t time.Time) time.Time {
	if !l.deadline.IsZero() && l.deadline.Before(t) {
		return l.deadline
	}
	return t
}

// capAt returns the earlier of t and limit.
func (lifetime) capAt(t, limit time.Time) time.Time {
	if t.After(limit) {
		return limit
	}
	return t
}
