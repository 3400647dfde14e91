package cookie

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// SealJSON encodes v as JSON and seals it. issuedAt is as for Seal.
func SealJSON[T any](c *Codec, v T, issuedAt time.Time) (string, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := bytes.NewBuffer((*bp)[:0])
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("cookie: encoding payload: %w", err)
	}
	p := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	out, err := c.Seal(p, issuedAt)
	*bp = buf.Bytes()[:0]
	return out, err
}

// OpenJSON opens value and decodes its JSON payload into a T. Numbers
// decoded into interface values keep their exact text as json.Number, so
// 64-bit integers survive a round trip. A payload that is not valid JSON
// for T matches ErrInvalid.
func OpenJSON[T any](c *Codec, value string) (T, Meta, error) {
	var v T
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	p, m, err := c.AppendOpen((*bp)[:0], value)
	if err != nil {
		return v, Meta{}, err
	}
	*bp = p[:0]
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return v, Meta{}, fmt.Errorf("%w: payload: %w", ErrInvalid, err)
	}
	return v, m, nil
}
