package jsonscan

import (
	"bytes"
	"encoding/json"
	"slices"
)

// The session envelope of package middleware: a JSON object
//
//	{"id":"<22 base64url chars>","sub":"user-42","d":{"user_id":42},"f":["Saved."],"dl":1767225600000,"p":true}
//
// whose members the middleware documents (middleware/payload.go). Here it
// is indexed and encoded; what the members mean is the middleware's.

// Envelope locates the members of a session payload without copying
// anything: each span covers the member's value, quotes and brackets
// included.
type Envelope struct {
	ID, Sub, Data, Flashes Span
	DL, P                  Span    // the session's own lifetime ("dl", "p")
	Fields                 []Field // the data object's members, in order
}

// IndexEnvelope indexes b's top-level members and the data object's
// members in one pass, checking the structure of every value it skips;
// the data object's members are appended to fields. Any structural error
// is ErrSyntax; so is a known member given twice or with a value of the
// wrong kind ("id" and "sub" strings, "d" an object, "f" an array), and a
// key that would match a known member only case-insensitively or through
// escapes. It does not check that "id" is present.
func IndexEnvelope(b []byte, fields []Field) (Envelope, error) {
	e := Envelope{Fields: fields}
	end := len(b)
	i := SkipWS(b, 0)
	if i >= end || b[i] != '{' {
		return e, ErrSyntax
	}
	i = SkipWS(b, i+1)
	if i < end && b[i] == '}' {
		return e, Trailing(b, i+1, end)
	}
	for {
		if i >= end || b[i] != '"' {
			return e, ErrSyntax
		}
		ke, err := SkipString(b, i, end)
		if err != nil {
			return e, err
		}
		key := b[i+1 : ke-1]
		i = SkipWS(b, ke)
		if i >= end || b[i] != ':' {
			return e, ErrSyntax
		}
		vs := SkipWS(b, i+1)
		if vs >= end {
			return e, ErrSyntax
		}
		var ve int
		var want byte
		var dst *Span
		switch string(key) {
		case "d":
			if b[vs] != '{' || e.Data.Ok() {
				return e, ErrSyntax
			}
			ve, e.Fields, err = IndexObject(b, vs, e.Fields)
			if err != nil {
				return e, err
			}
			e.Data = Span{vs, ve}
		case "id":
			want, dst = '"', &e.ID
		case "sub":
			want, dst = '"', &e.Sub
		case "f":
			want, dst = '[', &e.Flashes
		case "dl":
			dst = &e.DL // checked by the middleware (parseLifetime)
		case "p":
			dst = &e.P
		default:
			// encoding/json would match a known member case-insensitively
			// or through escapes; the middleware never writes such keys, so
			// refuse them rather than read the envelope another way.
			if bytes.IndexByte(key, '\\') >= 0 || isEnvelopeKeyFold(key) {
				return e, ErrSyntax
			}
		}
		if string(key) != "d" {
			if ve, err = SkipValue(b, vs, end, 0); err != nil {
				return e, err
			}
			if dst != nil {
				if (want != 0 && b[vs] != want) || dst.Ok() {
					return e, ErrSyntax
				}
				*dst = Span{vs, ve}
			}
		}
		i = SkipWS(b, ve)
		if i >= end {
			return e, ErrSyntax
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case '}':
			return e, Trailing(b, i+1, end)
		default:
			return e, ErrSyntax
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

// EncodeEnvelope appends the envelope of a session to b (without "dl"
// and "p", which the middleware appends). Keys are sorted,
// so the same session always gives the same bytes.
func EncodeEnvelope(b []byte, id, sub string, data map[string]json.RawMessage, flashes []json.RawMessage) []byte {
	b = append(b, `{"id":`...)
	b = AppendString(b, id)
	if sub != "" {
		b = append(b, `,"sub":`...)
		b = AppendString(b, sub)
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
			b = AppendString(b, k)
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
