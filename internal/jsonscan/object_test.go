package jsonscan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// marshalString is what AppendString must write: encoding/json.Marshal of
// s, with invalid UTF-8 first turned into U+FFFD runes.
func marshalString(s string) []byte {
	if !utf8.ValidString(s) {
		s = string([]rune(s))
	}
	q, _ := json.Marshal(s)
	return q
}

var appendStringSeeds = []string{
	"", "user-42", "café", "a<b>&c", "line\u2028sep\u2029", "tab\there", `quote"back\slash`,
	"\x7f", "\xff\xfe", "ok\xc3", "日本語", "\x00", "emoji 😀",
}

// TestAppendStringMatchesMarshal checks AppendString against encoding/json
// on the seeds and on random strings drawn from bytes that take every
// path: plain ASCII, HTML characters, control characters, valid and
// invalid UTF-8, U+2028.
func TestAppendStringMatchesMarshal(t *testing.T) {
	pieces := []string{"a", "Z", "0", " ", "<", ">", "&", `"`, `\`, "\n", "\x01", "\x7f", "é", "\u2028", "\u2029", "😀", "\xff", "\xc3", "\xe2\x80"}
	rng := rand.New(rand.NewPCG(5, 6))
	inputs := append([]string(nil), appendStringSeeds...)
	for range 20000 {
		var b []byte
		for range rng.IntN(12) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		if got, want := AppendString([]byte("x"), s), append([]byte("x"), marshalString(s)...); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzAppendString holds AppendString to encoding/json byte for byte.
func FuzzAppendString(f *testing.F) {
	for _, s := range appendStringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendString(nil, s), marshalString(s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %q, want %q", s, got, want)
		}
	})
}
