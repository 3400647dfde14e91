package keyring

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestKeyFileWithoutLifetime: a key set file written before the lifetime
// section (testdata/keyset-v1.json, made by the previous release's
// MarshalKeyFile) parses, records no lifetime (every reader takes the
// defaults), and is written back byte for byte as version 1, so a
// reader from before version 2 keeps reading it after a keys step.
func TestKeyFileWithoutLifetime(t *testing.T) {
	old, err := os.ReadFile("testdata/keyset-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseKeyFile(old)
	if err != nil {
		t.Fatal(err)
	}
	if set.Lifetime != (Lifetime{}) {
		t.Fatalf("Lifetime = %+v, want none recorded", set.Lifetime)
	}
	want := Lifetime{IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 7 * 24 * time.Hour, ClockSkew: 30 * time.Second, RolloutDelay: time.Hour}
	if got := set.Lifetime.WithDefaults(); got != want {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
	again, err := set.MarshalKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, old) {
		t.Fatalf("written back as\n%s\nwant the version-1 file unchanged:\n%s", again, old)
	}
}

// TestKeyFileWithLifetime: the version-2 vector's lifetime section reads
// into Set.Lifetime and the keyring, and is written back byte for byte;
// a set with only some fields recorded writes only those.
func TestKeyFileWithLifetime(t *testing.T) {
	file, err := os.ReadFile("testdata/keyset-v2-lifetime.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := Lifetime{IdleTimeout: time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour, ClockSkew: 10 * time.Second, RolloutDelay: 5 * time.Minute}
	if set.Lifetime != want {
		t.Fatalf("Lifetime = %+v, want %+v", set.Lifetime, want)
	}
	kr, err := New(set)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Lifetime() != want || kr.Set().Lifetime != want {
		t.Fatalf("keyring Lifetime %+v, Set().Lifetime %+v, want %+v", kr.Lifetime(), kr.Set().Lifetime, want)
	}
	again, err := set.MarshalKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, file) {
		t.Fatalf("written back as\n%s\nwant\n%s", again, file)
	}

	set.Lifetime = Lifetime{AbsoluteTimeout: 30 * 24 * time.Hour}
	partial, err := set.MarshalKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(partial, []byte(`"cookieseal_keyset": 2`)) || !bytes.Contains(partial, []byte(`"absolute_timeout": "720h0m0s"`)) || bytes.Contains(partial, []byte("idle_timeout")) {
		t.Fatalf("partial lifetime written as\n%s", partial)
	}
	back, err := ParseKeyFile(partial)
	if err != nil || back.Lifetime != set.Lifetime {
		t.Fatalf("partial lifetime read back as %+v, %v", back.Lifetime, err)
	}
}

// TestLifetimeRules: every rule of a recorded lifetime, in the file form,
// the compact form and Set.Validate, refused with ErrInvalidKeySet.
func TestLifetimeRules(t *testing.T) {
	v2, err := os.ReadFile("testdata/keyset-v2-lifetime.json")
	if err != nil {
		t.Fatal(err)
	}
	file := string(v2)
	section := `"lifetime": {
    "idle_timeout": "1h0m0s",
    "absolute_timeout": "720h0m0s",
    "clock_skew": "10s",
    "rollout_delay": "5m0s"
  },`
	if !strings.Contains(file, section) {
		t.Fatal("vector changed: no lifetime section to edit")
	}
	withSection := func(s string) string { return strings.Replace(file, section, s, 1) }
	for _, tc := range []struct {
		name string
		file string
	}{
		{"lifetime in a version-1 file", strings.Replace(file, `"cookieseal_keyset": 2`, `"cookieseal_keyset": 1`, 1)},
		{"version 3", strings.Replace(file, `"cookieseal_keyset": 2`, `"cookieseal_keyset": 3`, 1)},
		{"version 0", strings.Replace(file, `"cookieseal_keyset": 2`, `"cookieseal_keyset": 0`, 1)},
		{"unknown lifetime field", withSection(`"lifetime": {"absolute_timeout": "1h", "max_age": "1h"},`)},
		{"days are not a Go duration", withSection(`"lifetime": {"absolute_timeout": "7d"},`)},
		{"zero", withSection(`"lifetime": {"clock_skew": "0s"},`)},
		{"negative", withSection(`"lifetime": {"rollout_delay": "-1h"},`)},
		{"a number, not a string", withSection(`"lifetime": {"idle_timeout": 3600},`)},
		{"not whole seconds", withSection(`"lifetime": {"clock_skew": "1.5s"},`)},
		{"skew over a minute", withSection(`"lifetime": {"clock_skew": "61s"},`)},
		{"absolute over 400 days", withSection(`"lifetime": {"absolute_timeout": "9601h"},`)},
		{"absolute shorter than idle", withSection(`"lifetime": {"idle_timeout": "2h", "absolute_timeout": "1h"},`)},
		{"absolute shorter than the default idle", withSection(`"lifetime": {"absolute_timeout": "1h"},`)},
	} {
		t.Run("file/"+tc.name, func(t *testing.T) {
			if _, err := ParseKeyFile([]byte(tc.file)); !errors.Is(err, ErrInvalidKeySet) {
				t.Fatalf("ParseKeyFile = %v, want ErrInvalidKeySet", err)
			}
		})
	}
	// The bounds themselves are accepted.
	for _, s := range []string{
		`"lifetime": {"clock_skew": "1m0s", "absolute_timeout": "9600h", "idle_timeout": "9600h", "rollout_delay": "9600h"},`,
		`"lifetime": {"idle_timeout": "1s", "absolute_timeout": "1s", "clock_skew": "1s", "rollout_delay": "1s"},`,
		`"lifetime": {},`,
	} {
		if _, err := ParseKeyFile([]byte(withSection(s))); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}

	set := Set{Keys: []Key{mustKey(t, 7, StatusPrimary, 7)}}
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, suffix string
		want         Lifetime
	}{
		{"all four", ",idle_timeout=1h,absolute_timeout=720h,clock_skew=10s,rollout_delay=5m", Lifetime{time.Hour, 720 * time.Hour, 10 * time.Second, 5 * time.Minute}},
		{"one", ", absolute_timeout=720h ", Lifetime{AbsoluteTimeout: 720 * time.Hour}},
		{"repeated", ",clock_skew=10s,clock_skew=10s", Lifetime{}},
		{"unknown setting", ",max_session_age=720h", Lifetime{}},
		{"zero", ",clock_skew=0", Lifetime{}},
		{"malformed", ",absolute_timeout=7d", Lifetime{}},
		{"out of bounds", ",clock_skew=2m", Lifetime{}},
		{"empty", ",rollout_delay=", Lifetime{}},
	} {
		t.Run("compact/"+tc.name, func(t *testing.T) {
			got, err := ParseString(compact + tc.suffix)
			if tc.want == (Lifetime{}) {
				if !errors.Is(err, ErrInvalidKeySet) {
					t.Fatalf("ParseString = %+v, %v; want ErrInvalidKeySet", got.Lifetime, err)
				}
				return
			}
			if err != nil || got.Lifetime != tc.want {
				t.Fatalf("ParseString = %+v, %v; want %+v", got.Lifetime, err, tc.want)
			}
		})
	}
}

// TestCompactFormKeepsLifetime: MarshalString writes the recorded fields
// and ParseString reads them back, so keys export-env and an environment
// variable carry the policy; a set that records none writes no entry.
func TestCompactFormKeepsLifetime(t *testing.T) {
	set := Set{Keys: []Key{mustKey(t, 7, StatusPrimary, 7)}, EpochPeriod: 24 * time.Hour,
		Lifetime: Lifetime{IdleTimeout: time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour, RolloutDelay: 5 * time.Minute}}
	s, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(s, ",epoch=24h0m0s,idle_timeout=1h0m0s,absolute_timeout=720h0m0s,rollout_delay=5m0s") {
		t.Fatalf("MarshalString = …%s", s[strings.Index(s, ","):])
	}
	got, err := ParseString(s)
	if err != nil || got.Lifetime != set.Lifetime || got.EpochPeriod != set.EpochPeriod {
		t.Fatalf("ParseString = %+v, %v", got.Lifetime, err)
	}
	set.Lifetime = Lifetime{}
	if s, _ := set.MarshalString(); strings.Contains(s, "=1h0m0s") || strings.Contains(s, "timeout") {
		t.Fatalf("a set without a lifetime wrote one: …%s", s[strings.Index(s, ","):])
	}
}
