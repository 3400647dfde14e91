package jsonscan

import (
	"math/rand/v2"
	"testing"
)

// TestPlainRunRandom is a random differential of plainRun's 32-byte SWAR
// test against its byte-at-a-time definition, on lengths up to 300 with
// zero to two arbitrary bytes planted.
func TestPlainRunRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 50000; iter++ {
		n := rng.IntN(300)
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(0x20 + rng.IntN(0xe0))
			if v[i] == '\\' {
				v[i] = 'a'
			}
		}
		k := rng.IntN(3)
		for j := 0; j < k && n > 0; j++ {
			v[rng.IntN(n)] = byte(rng.IntN(256))
		}
		want := true
		for _, c := range v {
			if c < 0x20 || c == '\\' {
				want = false
			}
		}
		if got := plainRun(v); got != want {
			t.Fatalf("plainRun(%q) = %v want %v", v, got, want)
		}
	}
}

func TestParseIntExact(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		want int64
		ok   bool
	}{
		{"0", 64, 0, true},
		{"-0", 64, 0, true},
		{"9223372036854775807", 64, 9223372036854775807, true},
		{"-9223372036854775808", 64, -9223372036854775808, true},
		{"9223372036854775808", 64, 0, false},
		{"-9223372036854775809", 64, 0, false},
		{"2147483648", 32, 0, false},
		{"-2147483648", 32, -2147483648, true},
		{"01", 64, 0, false},
		{"1e3", 64, 0, false},
		{"1.0", 64, 0, false},
		{"-", 64, 0, false},
		{"", 64, 0, false},
		{"99999999999999999999", 64, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseInt([]byte(tt.in), tt.bits)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ParseInt(%q, %d) = %d, %v; want %d, %v", tt.in, tt.bits, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestPlainStringByteTable(t *testing.T) {
	if len(plainStringByte) != 256 {
		t.Fatalf("table has %d entries", len(plainStringByte))
	}
	for c := range 256 {
		want := c >= 0x20 && c != '"' && c != '\\'
		if got := plainStringByte[c] == 1; got != want {
			t.Fatalf("byte %#x: %v, want %v", c, got, want)
		}
	}
}

// TestScanIntUnsigned checks the 20-digit edge of scanInt for a uint64:
// the largest value, one past it, and 21 digits.
func TestScanIntUnsigned(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"18446744073709551615", 18446744073709551615, true},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"184467440737095516150", 0, false},
		{"10000000000000000000", 10000000000000000000, true},
		{"-1", 0, false},
	}
	for _, tt := range tests {
		n, next, ok := scanInt([]byte(tt.in), 0, false, 64)
		if ok != tt.ok || ok && (n != tt.want || next != len(tt.in)) {
			t.Fatalf("scanInt(%q) = %d, %d, %v; want %d, %v", tt.in, n, next, ok, tt.want, tt.ok)
		}
	}
}
