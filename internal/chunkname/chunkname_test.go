package chunkname

import (
	"math"
	"testing"
)

func TestIndex(t *testing.T) {
	for _, tc := range []struct {
		cookie string
		want   int
		ok     bool
	}{
		{"s.0", 0, true},
		{"s.1", 1, true},
		{"s.15", 15, true},
		{"s.99999999999999999999999", math.MaxInt, true},
		{"s", 0, false},
		{"s.", 0, false},
		{"s.00", 0, false},
		{"s.01", 0, false},
		{"s.-1", 0, false},
		{"s.+1", 0, false},
		{"s.1a", 0, false},
		{"t.1", 0, false},
		{"sx1", 0, false},
		{"ss.1", 0, false},
	} {
		got, ok := Index(tc.cookie, "s")
		if got != tc.want || ok != tc.ok {
			t.Errorf("Index(%q, %q) = %d, %v; want %d, %v", tc.cookie, "s", got, ok, tc.want, tc.ok)
		}
	}
}
