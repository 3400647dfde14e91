package cookie

// skippedCRLF against values with one to six CR or LF planted anywhere,
// payload lengths 0 to 11 (every residue of the value length).

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCRLFRandom(t *testing.T) {
	c := newCodec(t, testKeyring(t), "s", &clock{t0})
	rng := rand.New(rand.NewPCG(5, 6))
	var vals []string
	for n := range 12 {
		vals = append(vals, mustSeal(t, c, strings.Repeat("q", n)))
	}
	for iter := 0; iter < 20000; iter++ {
		v := vals[rng.IntN(len(vals))]
		k := 1 + rng.IntN(6)
		b := []byte(v)
		for j := 0; j < k; j++ {
			at := rng.IntN(len(b) + 1)
			ch := "\r\n"[rng.IntN(2)]
			b = append(b[:at], append([]byte{ch}, b[at:]...)...)
		}
		if _, _, err := c.Open(string(b)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%q opened: %v", b, err)
		}
	}
}
