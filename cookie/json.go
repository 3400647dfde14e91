package cookie

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// SealJSON encodes v as JSON and seals it. issuedAt is as for Seal.
func SealJSON[T any](c *Codec, v T, issuedAt time.Time) (string, error) {
	p, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cookie: encoding payload: %w", err)
	}
	return c.Seal(p, issuedAt)
}

// OpenJSON opens value and decodes its JSON payload into a T. Numbers
// decoded into interface values (any, map[string]any, …) keep their exact
// text as json.Number, so 64-bit integers survive a round trip; typed
// integer fields are exact as always. A payload that is not valid JSON
// for T matches ErrInvalid.
func OpenJSON[T any](c *Codec, value string) (T, Meta, error) {
	var v T
	bp := c.getBuf()
	defer c.bufs.Put(bp)
	p, m, err := c.AppendOpen((*bp)[:0], value)
	if err != nil {
		return v, Meta{}, err
	}
	*bp = p[:0]
	if c.holdsInterface(reflect.TypeFor[T]()) {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		err = dec.Decode(&v)
	} else {
		err = json.Unmarshal(p, &v)
	}
	if err != nil {
		var zero T
		return zero, Meta{}, fmt.Errorf("%w: payload: %w", ErrInvalid, err)
	}
	return v, m, nil
}

// holdsInterface reports whether decoding into t may create interface
// values, where encoding/json would otherwise turn numbers into float64.
// Answers are cached on the codec.
func (c *Codec) holdsInterface(t reflect.Type) bool {
	if v, ok := c.types.Load(t); ok {
		return v.(bool)
	}
	r := typeHoldsInterface(t, map[reflect.Type]bool{})
	c.types.Store(t, r)
	return r
}

func typeHoldsInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return true // custom decoding: be safe and keep numbers exact
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeHoldsInterface(t.Elem(), seen)
	case reflect.Map:
		return typeHoldsInterface(t.Key(), seen) || typeHoldsInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if typeHoldsInterface(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
