package fuzz

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/chunk"
	"github.com/cookieseal/cookieseal/keyring"
)

const vectorKeys = "1:primary:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE,2:decrypt-only:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"

var vectorNow = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

// The vector directories the targets are seeded from.
const (
	v1Dir  = "../cookie/testdata/v1"
	jweDir = "../cookie/testdata/jwe"
)

// vectorFile is one vector file of cookie/testdata: a header of
// "key: value" lines, a blank line, and the cookie value.
type vectorFile struct{ header, value string }

// vectorFiles reads the vector files in dir (cookie/testdata/v1 or
// cookie/testdata/jwe).
func vectorFiles(f *testing.F, dir string) []vectorFile {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	var out []vectorFile
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		header, value, ok := bytes.Cut(data, []byte("\n\n"))
		if !ok {
			f.Fatalf("%s: no blank line", file)
		}
		out = append(out, vectorFile{string(header), strings.TrimSpace(string(value))})
	}
	return out
}

// vectorValues returns the cookie values of the vector files in dir,
// failing the target if none loads.
func vectorValues(f *testing.F, dir string) []string {
	var out []string
	for _, v := range vectorFiles(f, dir) {
		out = append(out, v.value)
	}
	if len(out) == 0 {
		f.Fatalf("no seeds loaded from %s", dir)
	}
	return out
}

// vectorKeyring returns the keyring of a key set string such as vectorKeys.
func vectorKeyring(f *testing.F, keys string) *keyring.Keyring {
	set, err := keyring.ParseString(keys)
	if err != nil {
		f.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		f.Fatal(err)
	}
	return kr
}

// vectorOptions are the options the vectors were made with, at vectorNow.
var vectorOptions = cookie.Options{
	IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: time.Second,
	Now: func() time.Time { return vectorNow },
}

func codec(f *testing.F) *cookie.Codec {
	c, err := cookie.New(vectorKeyring(f, vectorKeys), "session", vectorOptions)
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// FuzzOpen: Open never panics, returns nil results with every error, and
// succeeds only for authentic values, which re-seal and re-open to the
// same payload.
func FuzzOpen(f *testing.F) {
	c := codec(f)
	authentic := map[string]bool{}
	for _, v := range vectorValues(f, v1Dir) {
		f.Add(v)
		if _, _, err := c.Open(v); err == nil {
			authentic[v] = true
		}
	}
	if len(authentic) == 0 {
		f.Fatal("no authentic seed: the valid vectors did not open")
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, m, err := c.Open(v)
		if err != nil {
			if p != nil || m != (cookie.Meta{}) {
				t.Fatalf("error %v came with results", err)
			}
			if !errors.Is(err, cookie.ErrInvalid) && !errors.Is(err, cookie.ErrExpired) && !errors.Is(err, cookie.ErrTooLarge) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			return
		}
		if !authentic[v] {
			// Decoding is strict, so not even a re-encoding of an
			// authentic value opens.
			t.Fatalf("unauthentic value opened: %q", v)
		}
		v2, err := c.Seal(p, m.IssuedAt)
		if err != nil {
			t.Fatal(err)
		}
		if p2, _, err := c.Open(v2); err != nil || !bytes.Equal(p, p2) {
			t.Fatalf("re-seal round trip: %v", err)
		}
	})
}

// FuzzKeySet: parsing never panics; anything that parses is valid,
// re-encodes, and parses back to the same keys.
func FuzzKeySet(f *testing.F) {
	for _, s := range []string{vectorKeys, vectorKeys + ",epoch=1h", "1:primary:short", "{}", ""} {
		f.Add(s)
	}
	set, _ := keyring.ParseString(vectorKeys)
	file, err := set.MarshalKeyFile()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(file))
	f.Fuzz(func(t *testing.T, s string) {
		set, err := keyring.ParseString(s)
		if err != nil {
			if !errors.Is(err, keyring.ErrInvalidKeySet) {
				t.Fatalf("error %v is not ErrInvalidKeySet", err)
			}
			return
		}
		if err := set.Validate(); err != nil {
			t.Fatalf("parsed set is invalid: %v", err)
		}
		out, err := set.MarshalKeyFile()
		if err != nil {
			t.Fatal(err)
		}
		back, err := keyring.ParseKeyFile(out)
		if err != nil || len(back.Keys) != len(set.Keys) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range set.Keys {
			if !back.Keys[i].SameSecret(set.Keys[i]) || back.Keys[i].ID != set.Keys[i].ID {
				t.Fatal("round trip changed a key")
			}
		}
	})
}

// parseCookies reads one "name=value" cookie per line.
func parseCookies(data string) []*http.Cookie {
	var cs []*http.Cookie
	for line := range strings.SplitSeq(data, "\n") {
		if line == "" {
			continue
		}
		n, v, _ := strings.Cut(line, "=")
		cs = append(cs, &http.Cookie{Name: n, Value: v})
	}
	return cs
}

// refIndex is an independent reading of the chunk-name rule: name + "." +
// digits, no leading zero unless the index is "0". Indices too large for
// an int are reported as -1 (a chunk beyond any cap).
func refIndex(cookieName, name string) (int, bool) {
	digits, ok := strings.CutPrefix(cookieName, name+".")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	if err != nil {
		return -1, true
	}
	return i, true
}

// FuzzJoin: Join never panics, returns "" with every error, and agrees
// with a direct reading of its contract: on success the value is the
// concatenation of name.0 … name.(n-1) in index order, no longer than
// maxLen; duplicates, gaps and too many chunks are ErrInvalid, too long is
// ErrTooLarge, no name.0 is ErrNoChunks.
func FuzzJoin(f *testing.F) {
	for k, v := range vectorValues(f, v1Dir) {
		for _, size := range []int{1 + k, 64, 1000, 5000} {
			pieces, err := cookie.Split(v, size, 1<<20)
			if err != nil {
				f.Fatal(err)
			}
			var lines []string
			for i, p := range pieces {
				lines = append(lines, cookie.ChunkName("session", i)+"="+p)
			}
			if k%2 == 1 {
				slices.Reverse(lines)
			}
			lines = append(lines, "other=1", "session.x=2", "session.01=3")
			f.Add(strings.Join(lines, "\n"), "session", uint8(len(pieces)), uint16(len(v)))
			f.Add(strings.Join(lines, "\n"), "session", uint8(4), uint16(3800))
		}
	}
	f.Add("a.b.0=xy\na.b.1=z\na.0=q", "a.b", uint8(3), uint16(10))
	f.Add("s.0=ab\ns.2=cd", "s", uint8(4), uint16(10))
	f.Add("s.0=ab\ns.0=cd", "s", uint8(4), uint16(10))
	f.Fuzz(func(t *testing.T, data, name string, maxChunks uint8, maxLen uint16) {
		cs := parseCookies(data)
		got, n, err := chunk.Join(cs, name, int(maxChunks), int(maxLen))

		// The expected outcome, computed directly.
		var idx []int
		byIndex := map[int][]string{}
		for _, c := range cs {
			if i, ok := refIndex(c.Name, name); ok {
				idx = append(idx, i)
				byIndex[i] = append(byIndex[i], c.Value)
			}
		}
		maxIdx, total, dup, tooMany := -1, 0, false, false
		for _, i := range idx {
			if i < 0 || i >= int(maxChunks) {
				tooMany = true
				continue
			}
			maxIdx = max(maxIdx, i)
			dup = dup || len(byIndex[i]) > 1
		}
		var want strings.Builder
		for i := 0; i <= maxIdx; i++ {
			if vs := byIndex[i]; len(vs) > 0 {
				total += len(vs[0])
				want.WriteString(vs[0])
			}
		}
		var wantErr error
		switch {
		case maxChunks < 1 || maxLen < 1:
			if err == nil || errors.Is(err, cookie.ErrInvalid) || errors.Is(err, cookie.ErrTooLarge) || errors.Is(err, cookie.ErrNoChunks) || got != "" {
				t.Fatalf("caller bug: Join = %q, %d, %v", got, n, err)
			}
			return
		case len(byIndex[0]) == 0:
			wantErr = cookie.ErrNoChunks
		case dup || tooMany || len(idx) != maxIdx+1:
			wantErr = cookie.ErrInvalid
		case total > int(maxLen):
			wantErr = cookie.ErrTooLarge
		}
		if wantErr != nil {
			wantN := len(idx)
			if wantErr == cookie.ErrNoChunks {
				wantN = 0
			}
			if !errors.Is(err, wantErr) || got != "" || n != wantN {
				t.Fatalf("Join = %q, %d, %v; want \"\", %d, %v", got, n, err, wantN, wantErr)
			}
			if wantErr == cookie.ErrNoChunks && errors.Is(err, cookie.ErrInvalid) {
				t.Fatal("ErrNoChunks matches ErrInvalid")
			}
			return
		}
		if err != nil || got != want.String() || n != len(idx) || len(got) > int(maxLen) {
			t.Fatalf("Join = %q, %d, %v; want %q, %d", got, n, err, want.String(), len(idx))
		}
		// What chunk.Stale names for keep = n is exactly nothing, and for
		// keep = 0 every chunk.
		if s := chunk.Stale(cs, name, n); s != nil {
			t.Fatalf("Stale(keep=n) = %q", s)
		}
		if s := chunk.Stale(cs, name, 0); len(s) != n {
			t.Fatalf("Stale(keep=0) = %q, want %d names", s, n)
		}
	})
}

// vectorPayloads returns the payloads of the valid vectors in
// cookie/testdata/v1, failing the target if none loads.
func vectorPayloads(f *testing.F) []string {
	var out []string
	for _, v := range vectorFiles(f, v1Dir) {
		for line := range strings.SplitSeq(v.header, "\n") {
			if p, ok := strings.CutPrefix(line, "payload: "); ok {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		f.Fatalf("no payload seeds loaded from %s", v1Dir)
	}
	return out
}

type named string

// flat has every field kind of cookie's JSON fast path.
type flat struct {
	UserID int64  `json:"user_id"`
	Role   string `json:"role"`
	Name   string `json:"name,omitempty"`
	OK     bool   `json:"ok"`
	I8     int8
	I16    int16  `json:"i16,omitempty"`
	I32    int32  `json:"i32"`
	U8     uint8  `json:"u8"`
	U16    uint16 `json:"u16"`
	U32    uint32 `json:"u32,omitempty"`
	U64    uint64 `json:"u64"`
	N      named  `json:"n"`
	Skip   string `json:"-"`
}

// session is the benchmark's session shape.
type session struct {
	UserID    int64  `json:"user_id"`
	Role      string `json:"role"`
	LoginTime string `json:"login_time"`
	CSRF      string `json:"csrf"`
}

// openDiff seals payload and checks that OpenJSON[T] agrees with
// json.Unmarshal: an error exactly when it errs, and the same value.
func openDiff[T comparable](t *testing.T, c *cookie.Codec, payload []byte) {
	v, err := c.Seal(payload, time.Time{})
	if err != nil {
		return // too large for a cookie
	}
	var want T
	wantErr := json.Unmarshal(payload, &want)
	got, _, err := cookie.OpenJSON[T](c, v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("OpenJSON(%q) error = %v, json.Unmarshal error = %v", payload, err, wantErr)
	}
	var zero T
	if err != nil && (!errors.Is(err, cookie.ErrInvalid) || got != zero) {
		t.Fatalf("OpenJSON(%q) = %+v, %v", payload, got, err)
	}
	if err == nil && got != want {
		t.Fatalf("OpenJSON(%q):\n got %+v\nwant %+v", payload, got, want)
	}
}

// FuzzOpenJSONDifferential: OpenJSON, fast path or not, accepts exactly
// the payloads encoding/json.Unmarshal accepts and gives the same value.
func FuzzOpenJSONDifferential(f *testing.F) {
	c := codec(f)
	for _, p := range vectorPayloads(f) {
		f.Add([]byte(p))
		var s session
		if err := json.Unmarshal([]byte(p), &s); err != nil {
			f.Fatal(err)
		}
		s.LoginTime, s.CSRF = "2026-11-23T10:00:00Z", "q1w2e3r4t5y6u7i8o9p0"
		js, _ := json.Marshal(s)
		f.Add(js)
		js, _ = json.Marshal(flat{UserID: s.UserID, Role: s.Role, Name: "Zoë", OK: true, I8: -128, U64: 1<<64 - 1, N: "n"})
		f.Add(js)
	}
	for _, p := range []string{`{}`, ` {"role" : "a\u0062", "ROLE":"x"} `, `{"user_id":1.0}`, `{"i8":128}`, `{"u8":-0}`, `{"role":null}`, `{"role":"a","role":"b"}`, "{\"role\":\"\xff\"}", `{"role":"a"} x`} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		openDiff[flat](t, c, payload)
		openDiff[session](t, c, payload)
		// The json.Number path: the same error-ness as Unmarshal.
		var want map[string]any
		wantErr := json.Unmarshal(payload, &want)
		if v, err := c.Seal(payload, time.Time{}); err == nil {
			if _, _, err := cookie.OpenJSON[map[string]any](c, v); (err != nil) != (wantErr != nil) {
				t.Fatalf("OpenJSON[map](%q) error = %v, json.Unmarshal error = %v", payload, err, wantErr)
			}
		}
	})
}

// FuzzSealJSONDifferential: SealJSON seals exactly the bytes
// encoding/json.Marshal writes, fast path or not, and OpenJSON reads back
// what json.Unmarshal reads from them.
func FuzzSealJSONDifferential(f *testing.F) {
	c := codec(f)
	for _, p := range vectorPayloads(f) {
		var s flat
		if err := json.Unmarshal([]byte(p), &s); err != nil {
			f.Fatal(err)
		}
		f.Add(s.Role, "", s.UserID, uint64(0), false)
	}
	f.Add("<&>", "a\u2028b", int64(-1<<63), uint64(1<<64-1), true)
	f.Add("Zoë", "\xff\"\\\n", int64(127), uint64(65536), false)
	f.Fuzz(func(t *testing.T, s1, s2 string, i int64, u uint64, b bool) {
		v := flat{UserID: i, Role: s1, Name: s2, OK: b, I8: int8(i), I16: int16(i >> 8), I32: int32(i >> 16),
			U8: uint8(u), U16: uint16(u >> 8), U32: uint32(u >> 16), U64: u, N: named(s2 + s1), Skip: s1}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := cookie.SealJSON(c, v, time.Time{})
		if errors.Is(err, cookie.ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := c.Open(sealed)
		if err != nil || !bytes.Equal(p, want) {
			t.Fatalf("SealJSON payload %q, %v; want %q", p, err, want)
		}
		var ref flat
		if err := json.Unmarshal(want, &ref); err != nil {
			t.Fatal(err)
		}
		if back, _, err := cookie.OpenJSON[flat](c, sealed); err != nil || back != ref {
			t.Fatalf("OpenJSON = %+v, %v; want %+v", back, err, ref)
		}
	})
}
