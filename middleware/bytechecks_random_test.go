package middleware

// A random differential of validCookieValue's 32-byte SWAR test against
// its byte-at-a-time definition, on lengths up to 300 with zero to two
// arbitrary bytes planted (plainRun's is in internal/jsonscan).

import (
	"math/rand/v2"
	"testing"
)

func TestValidCookieValueRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	valid := []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~! #$%&'()*+,/:<=>?@[]^`{|}")
	for iter := 0; iter < 50000; iter++ {
		n := rng.IntN(300)
		v := make([]byte, n)
		for i := range v {
			v[i] = valid[rng.IntN(len(valid))]
		}
		k := rng.IntN(3)
		for j := 0; j < k && n > 0; j++ {
			v[rng.IntN(n)] = byte(rng.IntN(256))
		}
		// net/http's validCookieValueByte, byte by byte.
		want := true
		for _, c := range v {
			if !(c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\') {
				want = false
			}
		}
		if got := validCookieValue(string(v)); got != want {
			t.Fatalf("validCookieValue(%q) = %v want %v", v, got, want)
		}
	}
}
