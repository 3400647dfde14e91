package gorilla

import (
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
)

// TestGorillaReasons: legacy refusals carry the same typed reasons as
// the native format's.
func TestGorillaReasons(t *testing.T) {
	good := gorillaEncode(t, "session", gorillaHash, gorillaBlock, map[any]any{"user_id": 42})
	for _, tc := range []struct {
		name   string
		value  string
		offset time.Duration
		want   cookie.Reason
	}{
		{"tampered", good[:10] + string(good[10]^1) + good[11:], 0, cookie.ReasonTampered},
		{"line break", good[:20] + "\n" + good[20:], 0, cookie.ReasonMalformed},
		{"from the future", good, -2 * time.Minute, cookie.ReasonTimestamps},
		{"past MaxAge", good, 61 * time.Minute, cookie.ReasonExpired},
		{"oversized", strings.Repeat("A", 4097), 0, cookie.ReasonTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newGorilla(t, tc.offset).DecodeLegacy("session", tc.value)
			if got := cookie.ReasonOf(err); got != tc.want {
				t.Fatalf("ReasonOf(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
}
