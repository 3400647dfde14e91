package jsonscan

// The exact decoder: encoding/json, with numbers that keep their exact
// value. Decoded into interface values (any, map[string]any, …) they
// become json.Number instead of float64, so a 64-bit integer survives a
// round trip.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
)

// errTrailing reports data after the JSON value, which json.Unmarshal
// refuses too.
var errTrailing = errors.New("invalid data after the JSON value")

// HoldsInterface reports whether decoding into t may create interface
// values, where encoding/json would turn numbers into float64. Types with
// a custom UnmarshalJSON count as holding one, to be safe. Callers cache
// the answer per type: it walks the type.
func HoldsInterface(t reflect.Type) bool {
	return holdsInterface(t, map[reflect.Type]bool{})
}

func holdsInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return true
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsInterface(t.Elem(), seen)
	case reflect.Map:
		return holdsInterface(t.Key(), seen) || holdsInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterface(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// Decode decodes the JSON value p into v, which must be a non-nil pointer.
// With exact set (see HoldsInterface), numbers in interface values become
// json.Number; either way it accepts and refuses what json.Unmarshal does,
// trailing data included.
func Decode(p []byte, v any, exact bool) error {
	if !exact {
		return json.Unmarshal(p, v)
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Decode stops after one value; only white space may follow it.
	if _, err := dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}
