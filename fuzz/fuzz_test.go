package fuzz

import (
	"bytes"
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
	"github.com/cookieseal/cookieseal/keyring"
)

const vectorKeys = "1:primary:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE,2:decrypt-only:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"

var vectorNow = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

// vectorValues returns the cookie values of cookie/testdata/v1, failing
// the target if none loads.
func vectorValues(f *testing.F) []string {
	files, err := filepath.Glob("../cookie/testdata/v1/*.txt")
	if err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		_, value, ok := bytes.Cut(data, []byte("\n\n"))
		if !ok {
			f.Fatalf("%s: no blank line", file)
		}
		out = append(out, strings.TrimSpace(string(value)))
	}
	if len(out) == 0 {
		f.Fatal("no seeds loaded from ../cookie/testdata/v1")
	}
	return out
}

func codec(f *testing.F) *cookie.Codec {
	set, err := keyring.ParseString(vectorKeys)
	if err != nil {
		f.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		f.Fatal(err)
	}
	c, err := cookie.New(kr, "session", cookie.Options{
		IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: time.Second,
		Now: func() time.Time { return vectorNow },
	})
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
	for _, v := range vectorValues(f) {
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
	for k, v := range vectorValues(f) {
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
		got, n, err := cookie.Join(cs, name, int(maxChunks), int(maxLen))

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
		// What StaleChunks names for keep = n is exactly nothing, and for
		// keep = 0 every chunk.
		if s := cookie.StaleChunks(cs, name, n); s != nil {
			t.Fatalf("StaleChunks(keep=n) = %q", s)
		}
		if s := cookie.StaleChunks(cs, name, 0); len(s) != n {
			t.Fatalf("StaleChunks(keep=0) = %q, want %d names", s, n)
		}
	})
}
