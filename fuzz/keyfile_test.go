package fuzz

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/keyring"
)

// jsonStringValue finds the string values of a JSON text (after a
// colon), long enough to be a secret or part of one.
var jsonStringValue = regexp.MustCompile(`:\s*"([^"\\]{12,})"`)

// FuzzParseKeyFile: keyring.ParseKeyFile, which rotate.FileSource,
// rotate.ReadKeyFile and the cookieseal command run on key set files,
// never panics; every error matches ErrInvalidKeySet and quotes no string
// value of the file (a secret); whatever parses is a valid set that
// MarshalKeyFile writes and ParseKeyFile reads back to the same keys,
// dates, epoch period and lifetime.
func FuzzParseKeyFile(f *testing.F) {
	files, err := filepath.Glob("../keyring/testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if len(files) == 0 {
		f.Fatal("no seeds loaded from ../keyring/testdata")
	}
	for _, s := range []string{vectorKeys, vectorKeys + ",epoch=1h,absolute_timeout=720h,rollout_delay=5m"} {
		set, err := keyring.ParseString(s)
		if err != nil {
			f.Fatal(err)
		}
		data, err := set.MarshalKeyFile()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"cookieseal_keyset":1,"keys":[]}`))
	f.Add([]byte(`{"cookieseal_keyset":2,"lifetime":{"clock_skew":"2m"},"keys":[{"id":1,"status":"primary","secret":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","added":"2026-11-23T10:00:00.5+01:00"}]} `))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := keyring.ParseKeyFile(data)
		if err != nil {
			if !errors.Is(err, keyring.ErrInvalidKeySet) {
				t.Fatalf("error %v does not match ErrInvalidKeySet", err)
			}
			for _, m := range jsonStringValue.FindAllSubmatch(data, -1) {
				if strings.Contains(err.Error(), string(m[1])) {
					t.Fatalf("error %q quotes the file's value %q", err, m[1])
				}
			}
			if len(set.Keys) != 0 || set.EpochPeriod != 0 || set.Lifetime != (keyring.Lifetime{}) {
				t.Fatalf("error %v came with a set", err)
			}
			return
		}
		if err := set.Validate(); err != nil {
			t.Fatalf("parsed set is invalid: %v", err)
		}
		out, err := set.MarshalKeyFile()
		if err != nil {
			t.Fatalf("a parsed set does not marshal: %v", err)
		}
		back, err := keyring.ParseKeyFile(out)
		if err != nil {
			t.Fatalf("MarshalKeyFile's output does not parse: %v", err)
		}
		if back.EpochPeriod != set.EpochPeriod || back.Lifetime != set.Lifetime || len(back.Keys) != len(set.Keys) {
			t.Fatalf("round trip changed the set: %+v, want %+v", back, set)
		}
		for i, k := range set.Keys {
			b := back.Keys[i]
			if b.ID != k.ID || b.Status != k.Status || !b.SameSecret(k) || !b.Added.Equal(k.Added) ||
				!b.Promoted.Equal(k.Promoted) || !b.Demoted.Equal(k.Demoted) || !b.Enabled.Equal(k.Enabled) {
				t.Fatalf("round trip changed key %d: %+v, want %+v", i, b, k)
			}
		}
	})
}
