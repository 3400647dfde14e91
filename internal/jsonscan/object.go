package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Span is a [Start, End) range of a JSON text; End 0 means absent.
type Span struct{ Start, End int }

// Ok reports whether the span is present.
func (s Span) Ok() bool { return s.End > 0 }

// Field is one member of an object: its raw key (between the quotes,
// escapes kept) and its value.
type Field struct{ Key, Val Span }

// IndexObject appends the members of the object at b[i] to fields and
// returns the index after it.
func IndexObject(b []byte, i int, fields []Field) (int, []Field, error) {
	end := len(b)
	i = SkipWS(b, i+1)
	if i < end && b[i] == '}' {
		return i + 1, fields, nil
	}
	for {
		if i >= end || b[i] != '"' {
			return 0, fields, ErrSyntax
		}
		ke, err := SkipString(b, i, end)
		if err != nil {
			return 0, fields, err
		}
		k := Span{i + 1, ke - 1}
		i = SkipWS(b, ke)
		if i >= end || b[i] != ':' {
			return 0, fields, ErrSyntax
		}
		vs := SkipWS(b, i+1)
		ve, err := SkipValue(b, vs, end, 1)
		if err != nil {
			return 0, fields, err
		}
		fields = append(fields, Field{k, Span{vs, ve}})
		i = SkipWS(b, ve)
		if i >= end {
			return 0, fields, ErrSyntax
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case '}':
			return i + 1, fields, nil
		default:
			return 0, fields, ErrSyntax
		}
	}
}

// EachElement calls fn for each element of the array at s.
func EachElement(b []byte, s Span, fn func(v Span) error) error {
	i := SkipWS(b, s.Start)
	if i >= s.End || b[i] != '[' {
		return ErrSyntax
	}
	i = SkipWS(b, i+1)
	if i < s.End && b[i] == ']' {
		return Trailing(b, i+1, s.End)
	}
	for {
		ve, err := SkipValue(b, i, s.End, 0)
		if err != nil {
			return err
		}
		if err := fn(Span{i, ve}); err != nil {
			return err
		}
		i = SkipWS(b, ve)
		if i >= s.End {
			return ErrSyntax
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case ']':
			return Trailing(b, i+1, s.End)
		default:
			return ErrSyntax
		}
	}
}

// Lookup finds key among an object's members (fields, indexed in b by
// IndexObject) without allocating. A repeated key resolves to its last
// value, as encoding/json does.
func Lookup(b []byte, fields []Field, key string) (json.RawMessage, bool) {
	for i := len(fields) - 1; i >= 0; i-- {
		f := fields[i]
		if keyEqual(b[f.Key.Start:f.Key.End], key) {
			return b[f.Val.Start:f.Val.End:f.Val.End], true
		}
	}
	return nil, false
}

// keyEqual compares a raw JSON key (escapes kept) with key.
func keyEqual(raw []byte, key string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	return Unquote(raw) == key
}

// Unquote decodes the text of a JSON string given without its quotes; ""
// when it does not decode.
func Unquote(raw []byte) string {
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

// AppendString appends s as a JSON string, exactly as encoding/json.Marshal
// writes it, except that invalid UTF-8 becomes U+FFFD itself rather than
// the escape \ufffd (as writing the string's runes would).
func AppendString(b []byte, s string) []byte {
	if plainString(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	q, _ := json.Marshal(s) // a valid string always encodes
	return append(b, q...)
}
