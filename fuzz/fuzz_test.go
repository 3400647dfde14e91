package fuzz

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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
