package middleware_test

import (
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/keyring"
)

// Shared fixtures (internal/sessiontest): the same in interop's tests.
type switchRevoker = fixtures.SwitchRevoker

var (
	newSwitchRevoker = fixtures.NewSwitchRevoker
	userApp          = fixtures.UserApp
)

// formats lists the wire formats every fleet rule is tested over.
var formats = []cookie.Format{cookie.Native, cookie.JWE}

// requireSkewSafe fails when format's codec refuses its own seal of an
// issued-at that lies ahead of its clock (within ClockSkew), the codec
// half of the fleet rule the manager's tests build on.
func requireSkewSafe(t *testing.T, f cookie.Format) {
	t.Helper()
	clk := newClock()
	s, err := cookie.New(testKeyring(t), "probe", cookie.Options{Now: clk.Now, Format: f})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Seal([]byte(`{}`), clk.Now().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(v); err != nil {
		t.Fatalf("the %v codec refuses its own seal of an issued-at 2s ahead: %v", f, err)
	}
}

// requireMillis fails when format's codec keeps less than millisecond
// precision, which the revocation-order rules need.
func requireMillis(t *testing.T, f cookie.Format) {
	t.Helper()
	clk := newClock()
	s, err := cookie.New(testKeyring(t), "probe", cookie.Options{Now: clk.Now, Format: f})
	if err != nil {
		t.Fatal(err)
	}
	at := clk.Now().Add(-1500 * time.Millisecond)
	v, err := s.Seal([]byte(`{}`), at)
	if err != nil {
		t.Fatal(err)
	}
	if _, meta, err := s.Open(v); err != nil || !meta.IssuedAt.Equal(at) {
		t.Fatalf("the %v codec does not keep milliseconds: issued-at %v, %v", f, meta.IssuedAt, err)
	}
}

// rotated returns kr with a new primary key; kr's keys stay, decrypt-only.
func rotated(t testing.TB, kr *keyring.Keyring) *keyring.Keyring {
	t.Helper()
	set := kr.Set().Clone()
	for i := range set.Keys {
		if set.Keys[i].Status == keyring.StatusPrimary {
			set.Keys[i].Status = keyring.StatusDecryptOnly
		}
	}
	k, err := keyring.GenerateKey(keyring.StatusPrimary, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	set.Keys = append(set.Keys, k)
	out, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
