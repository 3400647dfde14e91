package jsonscan

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The Plan fast path of cookie.SealJSON and cookie.OpenJSON: for a flat
// struct of strings, booleans and integers it writes exactly the bytes
// encoding/json.Marshal writes and decodes the inputs it handles to
// exactly what encoding/json.Unmarshal gives, without encoding/json's
// reflection. Every input it does not handle is reported, and the caller
// falls back to encoding/json.

// maxPlanFields bounds the fields of a struct with a fast path, so the
// decoder's bookkeeping fits in a uint64 and a stack array.
const maxPlanFields = 64

// Plan is the fast JSON path for one flat struct type: its fields, by
// offset, in declaration order (encoding/json's order for such structs).
// It is immutable and safe for concurrent use.
type Plan struct {
	fields []planField
}

type planField struct {
	name      string       // the JSON name
	key       string       // `"name":`
	off       uintptr      // offset in the struct
	kind      reflect.Kind // String, Bool, Int*, Uint*
	size      uintptr      // bytes, for integers
	omitEmpty bool
}

var (
	numberType          = reflect.TypeFor[json.Number]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// customJSON reports whether encoding/json would call a method of t (or
// *t) instead of using its kind.
func customJSON(t reflect.Type) bool {
	for _, it := range []reflect.Type{jsonMarshalerType, jsonUnmarshalerType, textMarshalerType, textUnmarshalerType} {
		if t.Implements(it) || reflect.PointerTo(t).Implements(it) {
			return true
		}
	}
	return false
}

// plainName reports whether s is non-empty and made only of ASCII letters,
// digits, '_', '-' and '.': valid as an encoding/json tag name and written
// by it without escapes.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// New returns the fast path for t, or nil when t is not a struct that
// the fast path encodes and decodes exactly as encoding/json does. A
// field of type json.Number is refused: encoding/json writes and reads it
// as a number, not as the string its kind says.
func New(t reflect.Type) *Plan {
	if t.Kind() != reflect.Struct || customJSON(t) {
		return nil
	}
	pl := &Plan{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil // embedded fields follow encoding/json's dominance rules
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		omitEmpty := false
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "":
			case "omitempty":
				omitEmpty = true
			default:
				return nil // ",string", "omitzero" and unknown options
			}
		}
		if name == "" {
			name = sf.Name
		}
		if !plainName(name) || customJSON(sf.Type) || sf.Type == numberType {
			return nil
		}
		f := planField{name: name, key: `"` + name + `":`, off: sf.Offset, kind: sf.Type.Kind(), size: sf.Type.Size(), omitEmpty: omitEmpty}
		switch f.kind {
		case reflect.String, reflect.Bool,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			return nil
		}
		for _, g := range pl.fields {
			if strings.EqualFold(g.name, name) {
				return nil // encoding/json's conflict and case-folding rules
			}
		}
		pl.fields = append(pl.fields, f)
	}
	if len(pl.fields) > maxPlanFields {
		return nil
	}
	return pl
}

// isSigned reports whether k is a signed integer kind.
func isSigned(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64
}

// loadInt reads the integer field at p as a uint64 bit pattern (sign
// extended for signed kinds).
func (f *planField) loadInt(p unsafe.Pointer) uint64 {
	signed := isSigned(f.kind)
	switch f.size {
	case 1:
		if signed {
			return uint64(int64(*(*int8)(p)))
		}
		return uint64(*(*uint8)(p))
	case 2:
		if signed {
			return uint64(int64(*(*int16)(p)))
		}
		return uint64(*(*uint16)(p))
	case 4:
		if signed {
			return uint64(int64(*(*int32)(p)))
		}
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

// storeInt writes the low f.size bytes of n to the integer field at p.
func (f *planField) storeInt(p unsafe.Pointer, n uint64) {
	switch f.size {
	case 1:
		*(*uint8)(p) = uint8(n)
	case 2:
		*(*uint16)(p) = uint16(n)
	case 4:
		*(*uint32)(p) = uint32(n)
	default:
		*(*uint64)(p) = n
	}
}

// AppendJSON appends the JSON encoding/json.Marshal writes for the struct
// at base. It reports false, and the caller falls back, when a string
// needs escaping (control characters, '"', '\\', HTML's <, > and &,
// invalid UTF-8, U+2028 and U+2029).
func (pl *Plan) AppendJSON(dst []byte, base unsafe.Pointer) ([]byte, bool) {
	dst = append(dst, '{')
	first := true
	for i := range pl.fields {
		f := &pl.fields[i]
		p := unsafe.Add(base, f.off)
		switch {
		case f.kind == reflect.String:
			s := *(*string)(p)
			if f.omitEmpty && s == "" {
				continue
			}
			if !plainString(s) {
				return dst, false
			}
			dst = appendKey(dst, f.key, first)
			dst = append(dst, '"')
			dst = append(dst, s...)
			dst = append(dst, '"')
		case f.kind == reflect.Bool:
			b := *(*bool)(p)
			if f.omitEmpty && !b {
				continue
			}
			dst = appendKey(dst, f.key, first)
			if b {
				dst = append(dst, "true"...)
			} else {
				dst = append(dst, "false"...)
			}
		default:
			n := f.loadInt(p)
			if f.omitEmpty && n == 0 {
				continue
			}
			dst = appendKey(dst, f.key, first)
			if isSigned(f.kind) {
				dst = appendInt(dst, int64(n))
			} else {
				dst = appendUint(dst, n)
			}
		}
		first = false
	}
	return append(dst, '}'), true
}

// appendKey appends key, after a comma unless it is the first.
func appendKey(dst []byte, key string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	return append(dst, key...)
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int64) []byte {
	if n < 0 {
		return appendUint(append(dst, '-'), uint64(-n)) // -MinInt64 wraps to itself, read as unsigned it is right
	}
	return appendUint(dst, uint64(n))
}

// appendUint appends n in decimal.
func appendUint(dst []byte, n uint64) []byte {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return append(dst, b[i:]...)
}

// plainByte marks the ASCII bytes that encoding/json writes unescaped
// (with its default HTML escaping): all but control characters, '"',
// '\\', '<', '>' and '&'. Bytes from 0x80 are false here and checked as
// UTF-8.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// plainString reports whether encoding/json writes s between quotes
// unchanged. Small enough to inline: the ASCII run is checked here, the
// rest (from the first byte the table does not pass) by plainFrom.
func plainString(s string) bool {
	for i := range len(s) {
		if !plainByte[s[i]] {
			return plainFrom(s, i)
		}
	}
	return true
}

// plainFrom is plainString from s[i], a byte that plainByte does not
// pass: false for ASCII, else s[i:] must be valid UTF-8 that
// encoding/json writes unchanged.
func plainFrom(s string, i int) bool {
	if s[i] < utf8.RuneSelf {
		return false
	}
	s = s[i:]
	return utf8.ValidString(s) && plainNonASCII(s)
}

// plainNonASCII reports whether valid UTF-8 s has none of the bytes
// encoding/json escapes: the ASCII ones, U+2028 and U+2029.
func plainNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf && !plainByte[c] {
			return false
		}
	}
	return !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029")
}

// scanPlainString scans a JSON string whose opening quote is at p[i-1]
// and returns the end of its contents (the closing quote's index). It
// reports false for what it does not handle: escapes, control characters
// (which JSON forbids), invalid UTF-8 (which encoding/json replaces) and
// an unterminated string.
func scanPlainString(p []byte, i int) (int, bool) {
	end, _ := plainEnd(p, i, len(p), false)
	if end == len(p) || p[end] != '"' {
		return end, false
	}
	return end, utf8.Valid(p[i:end])
}

// matchKey returns the index of the field whose JSON name, followed by a
// closing quote, starts p[i:], and the index of that quote; -1 when none
// does. Field names are plain ASCII (plainName), so a key that matches
// has no escapes and is exactly that name; every other key (escaped,
// non-ASCII, unknown, case-folded or unterminated) matches none, and the
// decoder falls back.
func (pl *Plan) matchKey(p []byte, i int) (int, int) {
	for fi := range pl.fields {
		name := pl.fields[fi].name
		if end := i + len(name); end < len(p) && p[end] == '"' && string(p[i:end]) == name {
			return fi, end
		}
	}
	return -1, i
}

// Decode decodes p into the zero struct at base and reports whether it
// could; on false the caller must zero the struct and use encoding/json.
// It succeeds only for a JSON object (with any JSON whitespace) whose keys
// each name a field exactly, once, with no escapes, and whose values are
// of the field's kind: strings without escapes and in valid UTF-8, true or
// false, and integers in JSON's syntax without fraction or exponent that
// fit the field. encoding/json accepts every such input and decodes it to
// the same struct; every other input falls back to it, so that input is
// accepted or refused exactly as encoding/json does.
func (pl *Plan) Decode(p []byte, base unsafe.Pointer) bool {
	var (
		spans [maxPlanFields]struct{ start, end int }
		seen  uint64
		total int
	)
	i := SkipWS(p, 0)
	if i == len(p) || p[i] != '{' {
		return false
	}
	i = SkipWS(p, i+1)
	if i < len(p) && p[i] == '}' {
		i++
	} else {
		for {
			if i == len(p) || p[i] != '"' {
				return false
			}
			fi, end := pl.matchKey(p, i+1)
			if fi < 0 || seen&(1<<fi) != 0 {
				return false // unknown (maybe case-folded) or repeated key
			}
			seen |= 1 << fi
			i = SkipWS(p, end+1)
			if i == len(p) || p[i] != ':' {
				return false
			}
			i = SkipWS(p, i+1)
			if i == len(p) {
				return false
			}
			f := &pl.fields[fi]
			fp := unsafe.Add(base, f.off)
			switch {
			case f.kind == reflect.String:
				if p[i] != '"' {
					return false
				}
				end, ok := scanPlainString(p, i+1)
				if !ok {
					return false
				}
				spans[fi].start, spans[fi].end = i+1, end
				total += end - i - 1
				i = end + 1
			case f.kind == reflect.Bool:
				switch {
				case bytes.HasPrefix(p[i:], []byte("true")):
					*(*bool)(fp) = true
					i += 4
				case bytes.HasPrefix(p[i:], []byte("false")):
					i += 5
				default:
					return false
				}
			default:
				n, next, ok := scanInt(p, i, isSigned(f.kind), uint(8*f.size))
				if !ok {
					return false
				}
				f.storeInt(fp, n)
				i = next
			}
			// A value must be followed by ',' or '}', so "truex", "1.5"
			// and "1e3" end up here and fall back.
			i = SkipWS(p, i)
			if i == len(p) {
				return false
			}
			if p[i] == ',' {
				i = SkipWS(p, i+1)
				continue
			}
			if p[i] != '}' {
				return false
			}
			i++
			break
		}
	}
	if SkipWS(p, i) != len(p) {
		return false
	}
	if total > 0 {
		// One allocation for every string field; the result owns it and
		// nothing writes to it again.
		var b strings.Builder
		b.Grow(total)
		for fi := range pl.fields {
			if sp := spans[fi]; sp.end > sp.start {
				b.Write(p[sp.start:sp.end])
			}
		}
		all, off := b.String(), 0
		for fi := range pl.fields {
			if sp := spans[fi]; sp.end > sp.start {
				n := sp.end - sp.start
				*(*string)(unsafe.Add(base, pl.fields[fi].off)) = all[off : off+n]
				off += n
			}
		}
	}
	return true
}
