package cookie

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestJWENumericDate: the JWE header's iat and rat are NumericDates with
// millisecond precision. Open reads integers and numbers with a
// fraction (truncated to the millisecond) and refuses anything that is not
// a plain non-negative JSON number, with an error matching ErrInvalid.
func TestJWENumericDate(t *testing.T) {
	const sec = 1795428000 // t0
	kr := testKeyring(t)
	for _, tc := range []struct {
		name   string
		iat    string
		wantMS int64 // issued-at in Unix ms; ignored when refused
		ok     bool
	}{
		{"integer", "1795428000", sec * 1000, true},
		{"one decimal", "1795428000.5", sec*1000 + 500, true},
		{"two decimals", "1795428000.05", sec*1000 + 50, true},
		{"three decimals", "1795428000.503", sec*1000 + 503, true},
		{"trailing zeros", "1795428000.500", sec*1000 + 500, true},
		{"zero fraction", "1795428000.0", sec * 1000, true},
		{"four decimals truncated", "1795428000.5039", sec*1000 + 503, true},
		{"nines truncated, not rounded", "1795427999.9999999", sec*1000 - 1, true},
		{"32 decimals", "1795428000." + strings.Repeat("1", 32), sec*1000 + 111, true},
		{"33 decimals", "1795428000." + strings.Repeat("1", 33), 0, false},
		{"point without digits", "1795428000.", 0, false},
		{"point first", ".5", 0, false},
		{"two points", "1795428000.5.1", 0, false},
		{"exponent", "1.795428e9", 0, false},
		{"exponent after fraction", "1795428000.5e0", 0, false},
		{"capital exponent", "1795428000E0", 0, false},
		{"negative", "-1795428000", 0, false},
		{"negative zero", "-0", 0, false},
		{"plus sign", "+1795428000", 0, false},
		{"string", `"1795428000"`, 0, false},
		{"NaN", "NaN", 0, false},
		{"Infinity", "Infinity", 0, false},
		{"null", "null", 0, false},
		{"true", "true", 0, false},
		{"leading zero", "01795428000", 0, false},
		{"13 digits", "1795428000000", 0, false},
		{"hex", "0x6b0a5b20", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t0.Add(time.Second)}
			c := newJWE(t, kr, "session", clk)
			// rat equals iat where iat reads, so only iat's spelling matters.
			rat := tc.iat
			if !tc.ok {
				rat = "1795428000"
			}
			v := sealRawJWETimes(t, kr, tc.iat, rat)
			_, m, err := c.Open(v)
			if !tc.ok {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "iat or rat") {
					t.Fatalf("Open = %+v, %v; want ErrInvalid about iat or rat", m, err)
				}
				// The same spelling in rat is refused too.
				v = sealRawJWETimes(t, kr, "1795428000", tc.iat)
				if _, _, err := c.Open(v); !errors.Is(err, ErrInvalid) {
					t.Fatalf("rat %q: Open = %v, want ErrInvalid", tc.iat, err)
				}
				return
			}
			if err != nil || m.IssuedAt.UnixMilli() != tc.wantMS || m.IssuedAt.Nanosecond()%int(time.Millisecond) != 0 {
				t.Fatalf("Open = %+v, %v; want issued-at %d ms", m, err, tc.wantMS)
			}
		})
	}
}

// TestJWEHeaderTimeSpelling pins how Seal spells header times: whole
// seconds as integers, otherwise up to three decimals without trailing
// zeros, and each spelling opens to the same millisecond.
func TestJWEHeaderTimeSpelling(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Duration // after t0
		want string
	}{
		{"whole second", 0, "1795428000"},
		{"half", 500 * time.Millisecond, "1795428000.5"},
		{"fifty ms", 50 * time.Millisecond, "1795428000.05"},
		{"one ms", time.Millisecond, "1795428000.001"},
		{"503 ms", 503 * time.Millisecond, "1795428000.503"},
		{"999 ms", 999 * time.Millisecond, "1795428000.999"},
		{"sub-millisecond truncated", 503*time.Millisecond + 999*time.Microsecond, "1795428000.503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr := testKeyring(t)
			clk := &clock{t0.Add(tc.at)}
			c := newJWE(t, kr, "session", clk)
			v, err := c.Seal([]byte("p"), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			h, _, _ := strings.Cut(v, ".")
			raw, err := b64.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"alg":"dir","enc":"A256GCM","kid":"1","iat":` + tc.want + `,"rat":` + tc.want + `}`
			if string(raw) != want {
				t.Fatalf("header %s, want %s", raw, want)
			}
			_, m, err := c.Open(v)
			if err != nil || !m.IssuedAt.Equal(t0.Add(tc.at).Truncate(time.Millisecond)) {
				t.Fatalf("Open = %+v, %v", m, err)
			}
		})
	}
}

// TestSubSecondOrderKept is issue 9 §2's case, in both formats: a session
// issued 3 ms after a revocation cut-off reads as issued after it, so
// "log out my other sessions, keep this one" keeps this one.
func TestSubSecondOrderKept(t *testing.T) {
	cutoff := t0.Add(500 * time.Millisecond)
	for _, f := range skewFormats {
		for _, after := range []time.Duration{time.Millisecond, 3 * time.Millisecond, 499 * time.Millisecond} {
			t.Run(f.name+"/"+after.String(), func(t *testing.T) {
				clk := &clock{cutoff.Add(after)}
				s, err := f.new(testKeyring(t), Options{Now: clk.now})
				if err != nil {
					t.Fatal(err)
				}
				v, err := s.Seal([]byte("p"), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				_, m, err := s.Open(v)
				if err != nil || !m.IssuedAt.After(cutoff) {
					t.Fatalf("issued-at %v, %v; want after the cut-off %v", m.IssuedAt, err, cutoff)
				}
			})
		}
	}
}
