package cookie

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// withFormat returns a codec like c (keys, purpose, options) that seals
// in f.
func withFormat(t testing.TB, c *Codec, f Format) *Codec {
	t.Helper()
	o := c.opts
	o.Format = f
	n, err := New(c.keys, c.purpose, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var bothFormats = []Format{Native, JWE}

// TestNewFormat: Options.Format picks what Seal writes (the zero value
// native), and an unknown format is refused with the options' other
// mistakes.
func TestNewFormat(t *testing.T) {
	kr := testKeyring(t)
	for _, tc := range []struct {
		name string
		opts Options
		dots int
	}{
		{"zero value", Options{}, 0},
		{"native", Options{Format: Native}, 0},
		{"jwe", Options{Format: JWE}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(kr, "session", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Seal([]byte("p"), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(v, "."); got != tc.dots {
				t.Fatalf("%q has %d dots, want %d", v, got, tc.dots)
			}
			if _, m, err := c.Open(v); err != nil || m.Format != tc.opts.Format {
				t.Fatalf("Open: format %v, %v; want %v", m.Format, err, tc.opts.Format)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		purpose string
		opts    Options
		want    string
	}{
		{"unknown format", "s", Options{Format: JWE + 1}, "format"},
		{"jwe without purpose", "", Options{Format: JWE}, "purpose"},
		{"jwe with bad options", "s", Options{Format: JWE, ClockSkew: time.Hour}, "skew"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(kr, tc.purpose, tc.opts)
			if err == nil || c != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error about %q", c, err, tc.want)
			}
		})
	}
}

// TestOpenEveryFormat: whatever a codec seals in, it opens what a codec
// of either format sealed, with the same payload and header, under plain
// and epoch keys, through every open path (Open, AppendOpen, OpenJSON).
// This is what lets instances of both formats share sessions.
func TestOpenEveryFormat(t *testing.T) {
	for _, kr := range []struct {
		name string
		kr   *keyring.Keyring
	}{{"plain keys", testKeyring(t)}, {"epoch keys", epochKeyring(t)}} {
		for _, sf := range bothFormats {
			for _, of := range bothFormats {
				t.Run(kr.name+"/sealed "+sf.String()+"/opened by "+of.String(), func(t *testing.T) {
					clk := &clock{t0.Add(1500 * time.Millisecond)}
					base := newCodec(t, kr.kr, "session", clk)
					sealer, opener := withFormat(t, base, sf), withFormat(t, base, of)
					iat := t0.Add(-time.Minute)
					v, err := sealer.Seal([]byte(`{"user_id":123456}`), iat)
					if err != nil {
						t.Fatal(err)
					}
					p, m, err := opener.Open(v)
					if err != nil || string(p) != `{"user_id":123456}` {
						t.Fatalf("Open = %q, %v", p, err)
					}
					if m.KeyID != 1 || m.Epoch != kr.kr.Epoch(clk.t) || !m.IssuedAt.Equal(iat) || !m.RefreshedAt.Equal(clk.t) || m.Format != sf {
						t.Fatalf("Meta = %+v, want key 1, epoch %d, times %v, %v, format %v", m, kr.kr.Epoch(clk.t), iat, clk.t, sf)
					}
					out, _, err := opener.AppendOpen([]byte("x"), v)
					if err != nil || string(out) != `x{"user_id":123456}` {
						t.Fatalf("AppendOpen = %q, %v", out, err)
					}
					type sess struct {
						UserID int64 `json:"user_id"`
					}
					js, err := SealJSON(sealer, sess{UserID: 7}, iat)
					if err != nil {
						t.Fatal(err)
					}
					if got := isJWE(js); got != (sf == JWE) {
						t.Fatalf("SealJSON wrote %q in the wrong format", js)
					}
					if s, m, err := OpenJSON[sess](opener, js); err != nil || s.UserID != 7 || m.Format != sf {
						t.Fatalf("OpenJSON = %+v, %+v, %v", s, m, err)
					}
					// A tampered value fails whichever codec opens it.
					b := []byte(v)
					if i := len(b) - 30; b[i] == 'A' { // inside the ciphertext of both formats
						b[i] = 'B'
					} else {
						b[i] = 'A'
					}
					if _, _, err := opener.Open(string(b)); !errors.Is(err, ErrInvalid) || ReasonOf(err) != ReasonTampered {
						t.Fatalf("tampered: %v (%v)", err, ReasonOf(err))
					}
				})
			}
		}
	}
}

// TestFormatDispatch pins the rule that tells the formats apart (see
// isJWE): every native v1 value starts with 'A' and holds no '.', every
// JWE value holds four dots and never starts with 'A', and values that
// are neither go to the reader whose refusal they earned before.
func TestFormatDispatch(t *testing.T) {
	kr := testKeyring(t)
	clk := &clock{t0}
	native, jwe := newCodec(t, kr, "session", clk), newJWE(t, kr, "session", clk)
	// Every payload length from 0 to 300 bytes (all residues of the
	// base64 groups, every length of the last group).
	for n := range 300 {
		p := bytes.Repeat([]byte{byte(n)}, n)
		nv, err := native.Seal(p, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if nv[0] != nativeLead || strings.Contains(nv, ".") || isJWE(nv) {
			t.Fatalf("native value %q: lead %q, JWE %v", nv, nv[0], isJWE(nv))
		}
		jv, err := jwe.Seal(p, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(jv, "eyJ") || strings.Count(jv, ".") != 4 || !isJWE(jv) {
			t.Fatalf("JWE value %q: JWE %v", jv, isJWE(jv))
		}
	}
	// Native values of key IDs, epochs and times that reach every bit of
	// the second character: still 'A' first (the version byte alone
	// decides it).
	for _, id := range []uint32{1, 0x3f_ff_ff_ff, 0xff_ff_ff_ff} {
		raw := []byte{Version1}
		raw = append(raw, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
		if s := base64.RawURLEncoding.EncodeToString(raw); s[0] != nativeLead {
			t.Fatalf("key id %#x: native value starts %q", id, s[0])
		}
	}
	// JWE headers that our reader accepts, including JSON white space
	// before and inside the object: none starts with 'A', all open on a
	// codec that seals natively.
	iat := `"iat":1795428000,"rat":1795428000`
	for _, h := range []string{
		`{"alg":"dir","enc":"A256GCM","kid":"1",` + iat + `}`,
		`{ "alg":"dir","enc":"A256GCM","kid":"1",` + iat + `}`,
		` {"alg":"dir","enc":"A256GCM","kid":"1",` + iat + `}`,
		"\t{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"kid\":\"1\"," + iat + "}",
		"\n{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"kid\":\"1\"," + iat + "}",
		"\r{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"kid\":\"1\"," + iat + "}",
		`{"kid":"1","alg":"dir","enc":"A256GCM",` + iat + `}`,
	} {
		v := sealRawJWE(t, kr, "session", 1, 0, h, []byte("p"))
		if v[0] == nativeLead || !isJWE(v) {
			t.Fatalf("header %q: value %q read as native", h, v)
		}
		if p, m, err := native.Open(v); err != nil || string(p) != "p" || m.Format != JWE {
			t.Fatalf("header %q: a native codec opens it as %q, %v, %v", h, p, m.Format, err)
		}
	}
	// Neither format: each goes to the reader whose refusal it had
	// before the formats were merged.
	for _, tc := range []struct {
		name, value string
		reason      Reason
	}{
		{"native version 2", "AgAAAAEAAAAA" + strings.Repeat("A", 100), ReasonBadVersion},
		{"native version 0xff", "_wAAAAEAAAAA" + strings.Repeat("A", 100), ReasonBadVersion},
		{"a dot after a native lead", "AQAAAAEA.AAAA" + strings.Repeat("A", 100), ReasonMalformed},
		{"four dots after a native lead", "A.b.c.d.e", ReasonMalformed},
		{"JWE parts with a bad header", "eyJ.." + strings.Repeat("A", 16) + ".AA." + strings.Repeat("A", 22), ReasonMalformed},
		{"dots only", "....", ReasonMalformed},
		{"empty", "", ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []*Codec{native, jwe} {
				if _, _, err := c.Open(tc.value); !errors.Is(err, ErrInvalid) || ReasonOf(err) != tc.reason {
					t.Fatalf("%v codec: %v (%v), want %v", c.opts.Format, err, ReasonOf(err), tc.reason)
				}
			}
		})
	}
}
