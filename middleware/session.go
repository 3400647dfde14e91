package middleware

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cookieseal/cookieseal/internal/jsonexact"
)

// Session is one request's session. Reach it with From (or
// Manager.Session) inside a handler wrapped by Manager.Handler. It is safe
// for use by several goroutines of the same request; after the handler
// returns, every method answers ErrDone (or a zero value).
//
// A request without a valid session cookie has an empty session: ID is
// empty and Get finds nothing. It comes into existence, with a new random
// id, when something is stored in it.
type Session struct {
	mu sync.Mutex
	st *state
}

// lock locks s and returns its loaded state, or ErrDone / ErrNoMiddleware.
// On success the caller must call s.unlock.
func (s *Session) lock() (*state, error) {
	if s == nil {
		return nil, ErrNoMiddleware
	}
	s.mu.Lock()
	if s.st == nil {
		s.mu.Unlock()
		return nil, ErrDone
	}
	s.st.load()
	return s.st, nil
}

// unlock releases s and then runs the hooks that loading queued, so that
// they may take as long as they like.
func (s *Session) unlock() {
	st := s.st
	if st == nil || len(st.pending) == 0 {
		s.mu.Unlock()
		return
	}
	calls := slices.Clone(st.pending)
	st.pending = st.pending[:0]
	r, cfg := st.r, &st.m.cfg
	s.mu.Unlock()
	for _, c := range calls {
		if c.fault {
			cfg.OnFault(r, c.err)
		} else if cfg.OnInvalid != nil {
			cfg.OnInvalid(r, c.err)
		}
	}
}

// mutate locks s for a change: the session is materialized and the
// response must not have started.
func (s *Session) mutate() (*state, error) {
	st, err := s.lock()
	if err != nil {
		return nil, err
	}
	if st.committed {
		s.unlock()
		return nil, ErrResponseStarted
	}
	if err := st.materialize(); err != nil {
		s.unlock()
		return nil, err
	}
	return st, nil
}

// ID returns the session's id: 22 characters of base64url for 128 random
// bits, or "" when the request has no session yet.
func (s *Session) ID() string {
	return current(s, func(st *state) string { return st.id }, (*state).rawID)
}

// Subject returns the session's subject (the user), or "".
func (s *Session) Subject() string {
	return current(s, func(st *state) string { return st.sub }, (*state).rawSub)
}

// current reads a field of the session as the handler sees it: from the
// edited session once materialized, else from the opened cookie; the zero
// value when there is no session or the handler has returned.
func current[T any](s *Session, edited, opened func(*state) T) T {
	var zero T
	st, err := s.lock()
	if err != nil {
		return zero
	}
	defer s.unlock()
	switch {
	case st.mat:
		return edited(st)
	case st.valid:
		return opened(st)
	}
	return zero
}

// SetSubject sets the session's subject, the user it belongs to.
// Revocation by subject (Manager.RevokeSubject) finds the session through
// it. Call Renew first when the subject changes at login.
func (s *Session) SetSubject(subject string) error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	st.ensure()
	if st.sub != subject {
		st.sub = subject
		st.dirty = true
	}
	return nil
}

// IssuedAt returns when the session was issued (created, or last renewed),
// at millisecond precision, or the zero time when there is no session.
func (s *Session) IssuedAt() time.Time {
	return current(s, func(st *state) time.Time { return st.issuedAt }, func(st *state) time.Time { return st.meta.IssuedAt })
}

// Get returns the value stored under key, decoded into a T, and whether
// the key is present. A value that does not decode into a T gives an error
// matching ErrType. Numbers keep their exact value: an int64 stored is the
// int64 read; numbers decoded into interface types are json.Number.
//
//	uid, ok, err := middleware.Get[int64](sess, "user_id")
func Get[T any](s *Session, key string) (T, bool, error) {
	var v T
	st, err := s.lock()
	if err != nil {
		return v, false, err
	}
	defer s.unlock()
	raw, ok := st.get(key)
	if !ok {
		return v, false, nil
	}
	if f, ok := decodeFast[T](raw); ok {
		return f, true, nil
	}
	return getSlow[T](st.m, raw, key)
}

// Get is the dynamic form of the package's Get: the value under key as an
// any (strings, bools, json.Number, []any, map[string]any or nil).
func (s *Session) Get(key string) (any, bool, error) {
	return Get[any](s, key)
}

// Set stores v, encoded as JSON, under key. The error matches ErrValue
// when v does not encode, ErrResponseStarted when the response has begun.
func (s *Session) Set(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrValue, key, err)
	}
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	st.ensure()
	if st.data == nil {
		st.data = map[string]json.RawMessage{}
	}
	st.data[key] = raw
	st.dirty = true
	return nil
}

// Delete removes key.
func (s *Session) Delete(key string) error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	if _, ok := st.data[key]; ok {
		delete(st.data, key)
		st.dirty = true
	}
	return nil
}

// Clear removes every value and flash, keeping the session's id and
// subject. To end the session, use Destroy.
func (s *Session) Clear() error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	if len(st.data) > 0 || len(st.flashes) > 0 {
		clear(st.data)
		st.flashes = nil
		st.dirty = true
	}
	return nil
}

// Keys returns the stored keys, sorted.
func (s *Session) Keys() []string {
	st, err := s.lock()
	if err != nil {
		return nil
	}
	defer s.unlock()
	if st.materialize() != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(st.data))
}

// Values returns a copy of every stored value, decoded as by
// Session.Get.
func (s *Session) Values() (map[string]any, error) {
	st, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.unlock()
	if err := st.materialize(); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(st.data))
	for k, raw := range st.data {
		var v any
		if err := decode(st.m, raw, &v); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrType, k, err)
		}
		out[k] = v
	}
	return out, nil
}

// AddFlash queues a one-time message (any JSON-encodable value) for a
// later request, which reads it with PopFlashes or Session.Flashes.
func (s *Session) AddFlash(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: flash: %w", ErrValue, err)
	}
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	st.ensure()
	st.flashes = append(st.flashes, raw)
	st.dirty = true
	return nil
}

// PopFlashes returns the queued flashes decoded into T and removes them:
// each is seen once. If one does not decode, none is removed and the error
// matches ErrType.
func PopFlashes[T any](s *Session) ([]T, error) {
	st, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.unlock()
	if !st.mat && !(st.valid && st.env.flashes.ok()) {
		return nil, nil // nothing queued: no need to materialize
	}
	if err := st.materialize(); err != nil {
		return nil, err
	}
	if len(st.flashes) == 0 {
		return nil, nil
	}
	if st.committed {
		return nil, ErrResponseStarted
	}
	out := make([]T, len(st.flashes))
	for i, raw := range st.flashes {
		if err := decode(st.m, raw, &out[i]); err != nil {
			return nil, fmt.Errorf("%w: flash %d: %w", ErrType, i, err)
		}
	}
	st.flashes = nil
	st.dirty = true
	return out, nil
}

// Flashes is the dynamic form of PopFlashes.
func (s *Session) Flashes() ([]any, error) {
	return PopFlashes[any](s)
}

// Renew gives the session a new id and issue time, keeping its data. Call
// it at login and at every privilege change: an attacker who planted or
// learned the old id (session fixation) is left holding a session that no
// longer exists. The absolute timeout restarts from now.
//
// With a Revoker, the old id is revoked until its absolute deadline; if
// that fails, the session is renewed anyway and the error matches
// ErrRevokeFault.
func (s *Session) Renew() error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	rerr := st.revokeOpened()
	st.id = newID()
	st.issuedAt = st.m.now()
	st.dirty = true
	return rerr
}

// Destroy ends the session: its data goes, and the response clears its
// cookie (every chunk included). Storing something afterwards starts a new
// session with a new id.
//
// With a Revoker, the session's id is revoked until its absolute deadline,
// so a copy of the cookie stops working too; if that fails the session is
// destroyed anyway and the error matches ErrRevokeFault.
func (s *Session) Destroy() error {
	st, err := s.mutate()
	if err != nil {
		return err
	}
	defer s.unlock()
	rerr := st.revokeOpened()
	st.valid = false
	st.id, st.sub, st.issuedAt = "", "", time.Time{}
	st.data, st.flashes = nil, nil
	st.dirty = false
	st.clear = true
	st.destroyed = true
	return rerr
}

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
	return jsonexact.Decode(raw, v, m.holdsInterface(reflect.TypeFor[T]()))
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
		if n, ok := parseInt(raw, 64); ok {
			*p = n
			return v, true
		}
	case *int:
		if n, ok := parseInt(raw, strconv.IntSize); ok {
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

// holdsInterface reports whether decoding into t may create interface
// values, where encoding/json would turn numbers into float64. Answers are
// cached on the manager.
func (m *Manager) holdsInterface(t reflect.Type) bool {
	if v, ok := m.types.Load(t); ok {
		return v.(bool)
	}
	r := jsonexact.HoldsInterface(t)
	m.types.Store(t, r)
	return r
}

// revokeOpened revokes the session the request's cookie carried, if a
// Revoker is configured; Renew and Destroy both retire that id.
func (st *state) revokeOpened() error {
	if !st.valid || st.m.cfg.Revoker == nil {
		return nil
	}
	return st.m.revokeSession(st.r, st.rawID(), st.rawSub(), st.meta.IssuedAt)
}
