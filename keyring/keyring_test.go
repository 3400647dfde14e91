package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func mustKey(t *testing.T, id uint32, st Status, fill byte) Key {
	t.Helper()
	k, err := NewKey(id, st, bytes.Repeat([]byte{fill}, SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestValidate(t *testing.T) {
	p1 := mustKey(t, 1, StatusPrimary, 1)
	p2 := mustKey(t, 2, StatusPrimary, 2)
	d2 := mustKey(t, 2, StatusDecryptOnly, 2)
	cases := []struct {
		name string
		set  Set
		ok   bool
	}{
		{"one primary", Set{Keys: []Key{p1}}, true},
		{"primary and decrypt-only", Set{Keys: []Key{p1, d2}}, true},
		{"empty", Set{}, false},
		{"two primaries", Set{Keys: []Key{p1, p2}}, false},
		{"no primary", Set{Keys: []Key{d2}}, false},
		{"duplicate id", Set{Keys: []Key{p1, {ID: 1, Status: StatusDecryptOnly, secret: d2.secret}}}, false},
		{"zero status", Set{Keys: []Key{p1, {ID: 3, secret: d2.secret}}}, false},
		{"no secret", Set{Keys: []Key{p1, {ID: 3, Status: StatusDisabled}}}, false},
		{"epoch too short", Set{Keys: []Key{p1}, EpochPeriod: time.Second}, false},
		{"epoch ok", Set{Keys: []Key{p1}, EpochPeriod: time.Hour}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.set.Validate()
			if (err == nil) != c.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidKeySet) {
				t.Fatalf("error %v does not match ErrInvalidKeySet", err)
			}
		})
	}
}

func TestKeyFileRoundTripAndNoLeak(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p, err := GenerateKey(StatusPrimary, now)
	if err != nil {
		t.Fatal(err)
	}
	d, err := GenerateKey(StatusDecryptOnly, now)
	if err != nil {
		t.Fatal(err)
	}
	set := Set{Keys: []Key{p, d}, EpochPeriod: time.Hour}
	file, err := set.MarshalKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 2 || !got.Keys[0].SameSecret(p) || !got.Keys[1].SameSecret(d) || got.EpochPeriod != time.Hour {
		t.Fatalf("round trip lost data")
	}
	str, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	got2, err := ParseString(str)
	if err != nil || !got2.Keys[0].SameSecret(p) {
		t.Fatalf("string round trip: %v", err)
	}
	kr, err := New(set)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(p)
	printed := fmt.Sprintf("%v %+v %#v %s %x %q", p, p, p, p, p, p) + kr.String() + fmt.Sprintf("%v %+v %#v", kr, kr, set) + string(js)
	var file2 struct{ Keys []struct{ Secret string } }
	_ = json.Unmarshal(file, &file2)
	for _, k := range file2.Keys {
		if bytes.Contains([]byte(printed), []byte(k.Secret)) {
			t.Fatalf("secret leaked into printed form: %s", printed)
		}
	}
	// A corrupted file must not echo its contents in the error.
	bad := bytes.Replace(file, []byte(`"primary"`), []byte(`"`+file2.Keys[0].Secret+`"`), 1)
	if _, err := ParseKeyFile(bad); err == nil || bytes.Contains([]byte(err.Error()), []byte(file2.Keys[0].Secret)) {
		t.Fatalf("bad file: err = %v", err)
	}
}

func TestDerivation(t *testing.T) {
	kr, err := New(Set{Keys: []Key{mustKey(t, 1, StatusPrimary, 1), mustKey(t, 2, StatusDisabled, 2)}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := kr.InsecureExportDerivedKey(XChaCha20Poly1305, "a", 1, 0)
	b, _ := kr.InsecureExportDerivedKey(XChaCha20Poly1305, "b", 1, 0)
	g, _ := kr.InsecureExportDerivedKey(A256GCM, "a", 1, 0)
	e, _ := kr.InsecureExportDerivedKey(XChaCha20Poly1305, "a", 1, 5)
	if bytes.Equal(a, b) || bytes.Equal(a, g) || bytes.Equal(a, e) {
		t.Fatal("derived keys are not separated by purpose, algorithm and epoch")
	}
	x1, _ := kr.AEAD(XChaCha20Poly1305, "a", 1, 0)
	x2, _ := kr.AEAD(XChaCha20Poly1305, "a", 1, 0)
	if x1 != x2 {
		t.Fatal("AEAD not cached")
	}
	if _, err := kr.AEAD(XChaCha20Poly1305, "a", 2, 0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("disabled key: %v", err)
	}
	if _, err := kr.AEAD(XChaCha20Poly1305, "a", 9, 0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("absent key: %v", err)
	}
}
