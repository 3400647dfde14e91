package cookie

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/cookieseal/cookieseal/internal/jsonscan"
)

// SealJSON encodes v as JSON and seals it with c, in c's format.
// issuedAt is as for Seal.
//
// The JSON is exactly what encoding/json.Marshal writes. For flat structs
// of strings, booleans and integers (see [OpenJSON]) it is written without
// encoding/json's reflection.
func SealJSON[T any](c *Codec, v T, issuedAt time.Time) (string, error) {
	if pl := c.typeInfo(reflect.TypeFor[T]()).plan; pl != nil {
		bp := c.getBuf()
		defer c.bufs.Put(bp)
		b, ok := pl.AppendJSON((*bp)[:0], unsafe.Pointer(&v))
		*bp = b[:0]
		if ok {
			return c.sealTail(b[:cap(b)], len(b), issuedAt)
		}
	}
	p, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cookie: encoding payload: %w", err)
	}
	return c.Seal(p, issuedAt)
}

// OpenJSON opens value (in either format) with c and decodes its JSON
// payload into a T. Numbers decoded into interface values (any,
// map[string]any, …) keep their exact text as [json.Number], so 64-bit
// integers survive a round trip; typed integer fields are exact as
// always. A payload that is not valid JSON for T matches [ErrInvalid].
//
// The result is what encoding/json.Unmarshal gives for the payload, and
// an error exactly when it gives one. When T is a flat struct of strings,
// booleans and integers (no embedded fields, no ",string" or "omitzero"
// options, no custom (un)marshalers, no json.Number fields, ASCII names),
// a payload written the way [SealJSON] writes it (known keys, once each, no
// escapes, no null) is decoded without encoding/json, and all the string
// fields share one allocation; anything else falls back to encoding/json.
func OpenJSON[T any](c *Codec, value string) (T, Meta, error) {
	bp := c.getBuf()
	defer c.bufs.Put(bp)
	p, m, err := c.AppendOpen((*bp)[:0], value)
	if err != nil {
		var zero T
		return zero, Meta{}, err
	}
	*bp = p[:0]
	ti := c.typeInfo(reflect.TypeFor[T]())
	if ti.plan != nil {
		// v stays on the stack: only the fast path sees its address.
		var v T
		if ti.plan.Decode(p, unsafe.Pointer(&v)) {
			return v, m, nil
		}
	}
	v, err := decodeJSON[T](p, ti.iface)
	if err != nil {
		return v, Meta{}, err
	}
	return v, m, nil
}

// decodeJSON decodes p with encoding/json, numbers in interface values
// as json.Number when iface is set.
func decodeJSON[T any](p []byte, iface bool) (T, error) {
	var v T
	if err := jsonscan.Decode(p, &v, iface); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: payload: %w", ErrInvalid, err)
	}
	return v, nil
}

// typeInfo is what the codec caches per payload type.
type typeInfo struct {
	iface bool           // decoding may create interface values: use json.Number
	plan  *jsonscan.Plan // non-nil: the type has a fast path
}

// typeInfo returns t's cached information, computing it on first use.
func (c *Codec) typeInfo(t reflect.Type) *typeInfo {
	if v, ok := c.types.Load(t); ok {
		return v.(*typeInfo)
	}
	ti := &typeInfo{iface: jsonscan.HoldsInterface(t), plan: jsonscan.New(t)}
	v, _ := c.types.LoadOrStore(t, ti)
	return v.(*typeInfo)
}
