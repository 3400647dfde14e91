package cookie

import (
	"errors"
	"slices"
	"testing"
)

func TestChunkName(t *testing.T) {
	cases := []struct {
		name string
		i    int
		want string
	}{
		{"first", 0, "session.0"},
		{"tenth", 10, "session.10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChunkName("session", tc.i); got != tc.want {
				t.Fatalf("ChunkName = %q, want %q", got, tc.want)
			}
		})
	}
	if got := ChunkName("a.b", 2); got != "a.b.2" {
		t.Fatalf("dotted name: %q", got)
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name          string
		value         string
		size, max     int
		want          []string
		wantErr       error
		wantCallerBug bool
	}{
		{name: "empty", value: "", size: 4, max: 1, want: []string{""}},
		{name: "fits", value: "abcd", size: 4, max: 1, want: []string{"abcd"}},
		{name: "fits with room", value: "ab", size: 4, max: 3, want: []string{"ab"}},
		{name: "exact multiple", value: "abcdefgh", size: 4, max: 2, want: []string{"abcd", "efgh"}},
		{name: "short tail", value: "abcdefghi", size: 4, max: 3, want: []string{"abcd", "efgh", "i"}},
		{name: "size one", value: "abc", size: 1, max: 3, want: []string{"a", "b", "c"}},
		{name: "over cap", value: "abcdefghi", size: 4, max: 2, wantErr: ErrTooLarge},
		{name: "over cap by one byte", value: "abcdefghi", size: 8, max: 1, wantErr: ErrTooLarge},
		{name: "zero size", value: "abc", size: 0, max: 3, wantCallerBug: true},
		{name: "negative size", value: "abc", size: -1, max: 3, wantCallerBug: true},
		{name: "zero cap", value: "abc", size: 4, max: 0, wantCallerBug: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Split(tc.value, tc.size, tc.max)
			switch {
			case tc.wantCallerBug:
				if err == nil || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalid) || got != nil {
					t.Fatalf("Split = %q, %v; want a plain error", got, err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) || got != nil {
					t.Fatalf("Split = %q, %v; want %v", got, err, tc.wantErr)
				}
			default:
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("Split = %q, %v; want %q", got, err, tc.want)
				}
			}
		})
	}
}
