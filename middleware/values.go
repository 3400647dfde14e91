package middleware

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/cookieseal/cookieseal/internal/jsonscan"
)

// decode decodes raw JSON into *v: the common scalar types take a fast
// path that allocates nothing (strings aside), the rest goes through
// encoding/json with exact numbers for interface targets.
func decode[T any](m *Manager, raw []byte, v *T) error {
	if f, ok := decodeFast[T](raw); ok {
		*v = f
		return nil
	}
	return decodeSlow(m, raw, v)
}

// decodeSlow is decode through encoding/json.
func decodeSlow[T any](m *Manager, raw []byte, v *T) error {
	return jsonscan.Decode(raw, v, m.holdsInterface(reflect.TypeFor[T]()))
}

// getSlow is Get's decoding through encoding/json, apart so that Get's
// own variable does not escape.
func getSlow[T any](m *Manager, raw []byte, key string) (T, bool, error) {
	var v T
	if err := decodeSlow(m, raw, &v); err != nil {
		var zero T
		return zero, true, fmt.Errorf("%w: %q: %w", ErrType, key, err)
	}
	return v, true, nil
}

// decodeFast decodes the scalar types most sessions hold without
// reflection. Its value never escapes, so it stays on the stack.
func decodeFast[T any](raw []byte) (T, bool) {
	var v T
	if len(raw) == 0 || raw[0] == 'n' { // null leaves the target as is: the slow way
		return v, false
	}
	switch p := any(&v).(type) {
	case *string:
		if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
			*p = string(raw[1 : len(raw)-1])
			return v, true
		}
	case *int64:
		if n, ok := jsonscan.ParseInt(raw, 64); ok {
			*p = n
			return v, true
		}
	case *int:
		if n, ok := jsonscan.ParseInt(raw, strconv.IntSize); ok {
			*p = int(n)
			return v, true
		}
	case *bool:
		switch string(raw) {
		case "true":
			*p = true
			return v, true
		case "false":
			*p = false
			return v, true
		}
	case *json.RawMessage:
		*p = bytes.Clone(raw)
		return v, true
	}
	return v, false
}

// holdsInterface reports whether decoding into t may create interface
// values, where encoding/json would turn numbers into float64. Answers are
// cached on the manager.
func (m *Manager) holdsInterface(t reflect.Type) bool {
	if v, ok := m.types.Load(t); ok {
		return v.(bool)
	}
	r := jsonscan.HoldsInterface(t)
	m.types.Store(t, r)
	return r
}
