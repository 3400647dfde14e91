package cookie

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite cookie/testdata/v1 from the current code")

// A vector file is a header of "name: value" lines, a blank line, then the
// cookie value:
//
//	expect: valid | invalid | expired | too large
//	purpose: the purpose to open with
//	now: the time to open at (RFC 3339)
//	keys: the key set, in keyring.ParseString's compact form
//	payload: the payload, for valid vectors
//	issued-at: Meta.IssuedAt that Open returns (RFC 3339, optional)
//	refreshed-at: Meta.RefreshedAt that Open returns (RFC 3339, optional)
//
// Every vector uses IdleTimeout 1h, AbsoluteTimeout 24h, ClockSkew 1s.
type vector struct {
	name, expect, purpose, keys, payload string
	now                                  time.Time
	issuedAt, refreshedAt                time.Time // zero: not checked
	value                                string
}

const vectorKeys = "1:primary:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE,2:decrypt-only:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"

// makeVectors seals each case with a fixed nonce and clock. Only tests
// can fix the nonce.
func makeVectors(t *testing.T) []vector {
	set, err := keyring.ParseString(vectorKeys)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t0}
	c := newCodec(t, kr, "session", clk)
	c.testNonce = bytes.NewReader(bytes.Repeat([]byte{0x24}, 24*16))
	payload := `{"user_id":123456,"role":"admin"}`
	valid, err := c.Seal([]byte(payload), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	old, err := c.Seal([]byte(payload), t0.Add(-23*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ahead, err := c.Seal([]byte(payload), t0.Add(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(valid)
	enc := base64.RawURLEncoding.EncodeToString
	flip := func(i int) string { b := bytes.Clone(raw); b[i] ^= 0x01; return enc(b) }
	badVersion := bytes.Clone(raw)
	badVersion[0] = 2
	unknownKey := bytes.Clone(raw)
	unknownKey[4] = 9 // key id 9
	v := func(name, expect, purpose string, now time.Time, value string) vector {
		p := ""
		if expect == "valid" {
			p = payload
		}
		return vector{name: name, expect: expect, purpose: purpose, keys: vectorKeys, payload: p, now: now, value: value}
	}
	return []vector{
		v("valid", "valid", "session", t0.Add(30*time.Minute), valid),
		v("valid-near-absolute", "valid", "session", t0.Add(time.Hour), old),
		v("tampered-ciphertext", "invalid", "session", t0, flip(len(raw)-20)),
		v("tampered-tag", "invalid", "session", t0, flip(len(raw)-1)),
		v("tampered-issued-at", "invalid", "session", t0, flip(16)),
		v("expired-idle", "expired", "session", t0.Add(time.Hour+2*time.Second), valid),
		v("expired-absolute", "expired", "session", t0.Add(time.Hour+2*time.Second), old),
		v("wrong-purpose", "invalid", "csrf", t0, valid),
		v("unknown-key", "invalid", "session", t0, enc(unknownKey)),
		v("truncated", "invalid", "session", t0, valid[:len(valid)-10]),
		v("bad-version", "invalid", "session", t0, enc(badVersion)),
		v("oversized", "too large", "session", t0, strings.Repeat("A", DefaultMaxValueSize+1)),
		// Added with issue 9: refreshed-at is raised to an issued-at
		// ahead of the sealing clock, and values from before that rule
		// (refreshed-at up to ClockSkew before issued-at) still open.
		withTimes(v("valid-issued-ahead", "valid", "session", t0.Add(30*time.Minute), ahead), t0.Add(500*time.Millisecond), t0.Add(500*time.Millisecond)),
		withTimes(v("valid-refreshed-before-issued", "valid", "session", t0.Add(30*time.Minute),
			sealRawNative(t, kr, "session", t0.UnixMilli()+500, t0.UnixMilli()-500, []byte(payload))), t0.Add(500*time.Millisecond), t0.Add(-500*time.Millisecond)),
		v("refreshed-too-long-before-issued", "invalid", "session", t0.Add(30*time.Minute),
			sealRawNative(t, kr, "session", t0.UnixMilli()+500, t0.UnixMilli()-501, []byte(payload))),
	}
}

// withTimes sets the times a valid vector's Open must return.
func withTimes(v vector, issuedAt, refreshedAt time.Time) vector {
	v.issuedAt, v.refreshedAt = issuedAt.UTC(), refreshedAt.UTC()
	return v
}

func (v vector) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "expect: %s\npurpose: %s\nnow: %s\nkeys: %s\n", v.expect, v.purpose, v.now.Format(time.RFC3339), v.keys)
	if v.payload != "" {
		fmt.Fprintf(&b, "payload: %s\n", v.payload)
	}
	if !v.issuedAt.IsZero() {
		fmt.Fprintf(&b, "issued-at: %s\n", v.issuedAt.Format(time.RFC3339Nano))
	}
	if !v.refreshedAt.IsZero() {
		fmt.Fprintf(&b, "refreshed-at: %s\n", v.refreshedAt.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, "\n%s\n", v.value)
	return b.Bytes()
}

func parseVector(t *testing.T, name string, data []byte) vector {
	v := vector{name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if !sc.Scan() {
				t.Fatalf("%s: no value after the header", name)
			}
			v.value = sc.Text()
			return v
		}
		k, val, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s: bad header line %q", name, line)
		}
		switch k {
		case "expect":
			v.expect = val
		case "purpose":
			v.purpose = val
		case "keys":
			v.keys = val
		case "payload":
			v.payload = val
		case "now", "issued-at", "refreshed-at":
			tm, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			*map[string]*time.Time{"now": &v.now, "issued-at": &v.issuedAt, "refreshed-at": &v.refreshedAt}[k] = tm
		default:
			t.Fatalf("%s: unknown header %q", name, k)
		}
	}
	t.Fatalf("%s: no blank line", name)
	return v
}

func TestVectors(t *testing.T) {
	runVectorFiles(t, filepath.Join("testdata", "v1"), makeVectors(t), func(kr *keyring.Keyring, purpose string, clk *clock) *Codec {
		return newCodec(t, kr, purpose, clk)
	})
}

// runVectorFiles writes vectors to dir when -update is set, then opens
// every vector file in dir with the codec newSealer builds and checks the
// outcome its header expects. It fails if dir holds fewer files than
// vectors, so a glob that matches nothing cannot pass.
func runVectorFiles(t *testing.T, dir string, vectors []vector, newSealer func(kr *keyring.Keyring, purpose string, clk *clock) *Codec) {
	t.Helper()
	if *updateVectors {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, v := range vectors {
			if err := os.WriteFile(filepath.Join(dir, v.name+".txt"), v.encode(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(vectors) {
		t.Fatalf("found %d vector files in %s, want at least %d", len(files), dir, len(vectors))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v := parseVector(t, name, data)
			set, err := keyring.ParseString(v.keys)
			if err != nil {
				t.Fatal(err)
			}
			kr, err := keyring.New(set)
			if err != nil {
				t.Fatal(err)
			}
			// Codecs sealing in either format open every vector alike.
			for _, f := range []Format{Native, JWE} {
				p, m, err := withFormat(t, newSealer(kr, v.purpose, &clock{v.now}), f).Open(v.value)
				want := map[string]error{"invalid": ErrInvalid, "expired": ErrExpired, "too large": ErrTooLarge}[v.expect]
				switch {
				case v.expect == "valid":
					if err != nil || string(p) != v.payload {
						t.Fatalf("%v codec: Open = %q, %v; want %q", f, p, err, v.payload)
					}
					if !v.issuedAt.IsZero() && !m.IssuedAt.Equal(v.issuedAt) || !v.refreshedAt.IsZero() && !m.RefreshedAt.Equal(v.refreshedAt) {
						t.Fatalf("%v codec: Open times %v, %v; want %v, %v", f, m.IssuedAt, m.RefreshedAt, v.issuedAt, v.refreshedAt)
					}
				case want == nil:
					t.Fatalf("unknown expectation %q", v.expect)
				case !errors.Is(err, want):
					t.Fatalf("%v codec: Open error = %v, want %v", f, err, want)
				}
			}
		})
	}
}

// TestVectorsAreCurrent checks that sealing with the fixed nonce and clock
// still gives every frozen vector byte for byte, header included: a format
// change must bump the version, not silently change the bytes.
func TestVectorsAreCurrent(t *testing.T) {
	for _, v := range makeVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "v1", v.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			if got := v.encode(); !bytes.Equal(got, data) {
				t.Fatalf("sealing changed:\n got %s\nwant %s", got, data)
			}
		})
	}
}
