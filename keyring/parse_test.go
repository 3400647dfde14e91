package keyring

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// TestParsersRefuseTrailingData: every parser of a key set takes exactly
// one value and white space after it; anything else after the value, in
// the file form, the file form given as a string (an environment
// variable), and the compact form, is refused with ErrInvalidKeySet.
func TestParsersRefuseTrailingData(t *testing.T) {
	set := Set{Keys: []Key{mustKey(t, 7, StatusPrimary, 1), mustKey(t, 3, StatusDecryptOnly, 2)}}
	fileBytes, err := set.MarshalKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	file := string(fileBytes)
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	secret := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\x01", SecretSize)))
	// The last character of a 32-byte secret carries 4 bits, of which 2
	// are unused; "F" sets them, "E" is the strict spelling.
	if !strings.HasSuffix(secret, "E") {
		t.Fatalf("secret %q does not end in E", secret)
	}
	looseSecret := secret[:len(secret)-1] + "F"
	type parser struct {
		name  string
		parse func(string) (Set, error)
	}
	fileParser := parser{"file", func(s string) (Set, error) { return ParseKeyFile([]byte(s)) }}
	envParser := parser{"env", ParseString}
	for _, tc := range []struct {
		name    string
		parsers []parser
		input   string
		ok      bool
	}{
		{"file alone", []parser{fileParser, envParser}, file, true},
		{"file and white space", []parser{fileParser, envParser}, file + " \n\t\r\n", true},
		{"file then }", []parser{fileParser, envParser}, file + "}", false},
		{"file then ]", []parser{fileParser, envParser}, file + "]", false},
		{"file then ,", []parser{fileParser, envParser}, file + ",", false},
		{"file then :", []parser{fileParser, envParser}, file + ":", false},
		{"file then a second object", []parser{fileParser, envParser}, file + "{}", false},
		{"file then the file again", []parser{fileParser, envParser}, file + file, false},
		{"file then a number", []parser{fileParser, envParser}, file + "1", false},
		{"file then a string", []parser{fileParser, envParser}, file + `"x"`, false},
		{"file then null", []parser{fileParser, envParser}, file + "null", false},
		{"file then garbage", []parser{fileParser, envParser}, file + "x", false},
		{"file then NUL", []parser{fileParser}, file + "\x00", false},
		{"file with a loose secret", []parser{fileParser, envParser}, strings.Replace(file, secret, looseSecret, 1), false},
		{"compact alone", []parser{envParser}, compact, true},
		{"compact and white space", []parser{envParser}, " " + compact + "\n", true},
		{"compact then a comma", []parser{envParser}, compact + ",", false},
		{"compact then }", []parser{envParser}, compact + "}", false},
		{"compact then ]", []parser{envParser}, compact + "]", false},
		{"compact then a fourth field", []parser{envParser}, compact + ":x", false},
		{"compact with a character after a secret", []parser{envParser}, strings.Replace(compact, secret, secret+"A", 1), false},
		{"compact with a loose secret", []parser{envParser}, strings.Replace(compact, secret, looseSecret, 1), false},
		{"compact with a line break in a secret", []parser{envParser}, strings.Replace(compact, secret, secret[:20]+"\n"+secret[20:], 1), false},
		{"compact with epoch then garbage", []parser{envParser}, compact + ",epoch=1h}", false},
		{"compact with a repeated epoch", []parser{envParser}, compact + ",epoch=1h,epoch=1h", false},
	} {
		for _, p := range tc.parsers {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				got, err := p.parse(tc.input)
				if tc.ok {
					if err != nil || len(got.Keys) != 2 {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				if !errors.Is(err, ErrInvalidKeySet) {
					t.Fatalf("parse = %d keys, %v; want ErrInvalidKeySet", len(got.Keys), err)
				}
				if strings.Contains(err.Error(), secret[:20]) {
					t.Fatalf("error quotes a secret: %v", err)
				}
			})
		}
	}
}

// TestCacheHoldsEpochWindows: the derived-key cache of a snapshot holds a
// full epoch window (MaxEpochWindow epochs) for two purposes of every
// enabled key without being emptied, and its bound stays within
// [minCached, maxCached].
func TestCacheHoldsEpochWindows(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []Key
		want int
	}{
		{"one key", []Key{mustKey(t, 1, StatusPrimary, 1)}, minCached},
		{"two keys", []Key{mustKey(t, 1, StatusPrimary, 1), mustKey(t, 2, StatusDecryptOnly, 2)}, 4 * MaxEpochWindow},
		{"three keys, one disabled", []Key{mustKey(t, 1, StatusPrimary, 1), mustKey(t, 2, StatusDecryptOnly, 2), mustKey(t, 3, StatusDisabled, 3)}, 4 * MaxEpochWindow},
		{"three keys", []Key{mustKey(t, 1, StatusPrimary, 1), mustKey(t, 2, StatusDecryptOnly, 2), mustKey(t, 3, StatusDecryptOnly, 3)}, 6 * MaxEpochWindow},
		{"twenty keys, capped", func() []Key {
			ks := []Key{mustKey(t, 1, StatusPrimary, 1)}
			for i := 2; i <= 20; i++ {
				ks = append(ks, mustKey(t, uint32(i), StatusDecryptOnly, byte(i)))
			}
			return ks
		}(), maxCached},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := New(Set{Keys: tc.keys, EpochPeriod: MinEpochPeriod})
			if err != nil {
				t.Fatal(err)
			}
			if kr.cacheMax != tc.want {
				t.Fatalf("cache bound %d, want %d", kr.cacheMax, tc.want)
			}
		})
	}
	// Fill two purposes × two keys × a full window: nothing is evicted.
	kr, err := New(Set{Keys: []Key{mustKey(t, 1, StatusPrimary, 1), mustKey(t, 2, StatusDecryptOnly, 2)}, EpochPeriod: MinEpochPeriod})
	if err != nil {
		t.Fatal(err)
	}
	const first = 490000
	for _, purpose := range []string{"session", "csrf"} {
		for _, id := range []uint32{1, 2} {
			for e := uint32(first); e < first+MaxEpochWindow; e++ {
				if _, err := kr.AEAD(XChaCha20Poly1305, purpose, id, e); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if n := len(kr.cache); n != 4*MaxEpochWindow {
		t.Fatalf("cache holds %d keys after a full window for 2 keys × 2 purposes, want %d (it was emptied)", n, 4*MaxEpochWindow)
	}
	// One more distinct key empties it: memory stays bounded.
	if _, err := kr.AEAD(A256GCM, "session", 1, first); err != nil {
		t.Fatal(err)
	}
	if n := len(kr.cache); n != 1 {
		t.Fatalf("cache holds %d keys past its bound, want 1", n)
	}
}
