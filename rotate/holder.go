package rotate

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/cookieseal/cookieseal/keyring"
)

// Holder hands out the keyring in force and swaps in new snapshots. Its
// Keyring method is one atomic load, with no lock, so codecs call it on
// every request. It is safe for concurrent use.
//
// A Holder is a [keyring.Provider]: pass it to cookie.New or the session
// manager in place of a fixed *[keyring.Keyring].
type Holder struct {
	kr atomic.Pointer[keyring.Keyring]
}

var _ keyring.Provider = (*Holder)(nil)

// NewHolder returns a [Holder] of kr. kr must not be nil; a nil keyring is a
// setup error and panics.
func NewHolder(kr *keyring.Keyring) *Holder {
	if kr == nil {
		panic("rotate: NewHolder with a nil keyring")
	}
	h := &Holder{}
	h.kr.Store(kr)
	return h
}

// LoadHolder loads a key set from src and returns a [Holder] of it: the
// usual start-up step before [NewReloader].
func LoadHolder(ctx context.Context, src Source) (*Holder, error) {
	set, err := src.Load(ctx)
	if err != nil {
		return nil, err
	}
	kr, err := keyring.New(set)
	if err != nil {
		return nil, fmt.Errorf("rotate: %w", err)
	}
	return NewHolder(kr), nil
}

// Keyring returns the keyring in force.
func (h *Holder) Keyring() *keyring.Keyring { return h.kr.Load() }

// Store makes kr the keyring in force. kr must not be nil (it panics).
func (h *Holder) Store(kr *keyring.Keyring) { h.Swap(kr) }

// Swap makes kr the keyring in force and returns the one it replaces. kr
// must not be nil (it panics).
func (h *Holder) Swap(kr *keyring.Keyring) *keyring.Keyring {
	if kr == nil {
		panic("rotate: storing a nil keyring")
	}
	return h.kr.Swap(kr)
}

// CompareAndSwap makes kr the keyring in force only if old still is, and
// reports whether it did. kr must not be nil (it panics).
func (h *Holder) CompareAndSwap(old, kr *keyring.Keyring) bool {
	if kr == nil {
		panic("rotate: storing a nil keyring")
	}
	return h.kr.CompareAndSwap(old, kr)
}
