package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/rotate"
)

// clearLifetimeEnv unsets the variables the commands refuse, so that an
// operator's shell cannot change a test's outcome.
func clearLifetimeEnv(t *testing.T) {
	t.Helper()
	for _, r := range removedEnv {
		t.Setenv(r.name, "")
	}
}

// timeAfter returns the RFC 3339 time that follows prefix in s.
func timeAfter(t *testing.T, s, prefix string) time.Time {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no time after %q in:\n%s", prefix, s)
	}
	at, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// listedTimes runs keys list -json at now and returns key id's
// promotable_at and removable_at (zero when absent).
func listedTimes(t *testing.T, file string, now time.Time, id string) (promotable, removable time.Time) {
	t.Helper()
	r := runAt(t, now, "", "keys", "list", "-file", file, "-json")
	var out struct {
		Keys []struct {
			ID           json.Number `json:"id"`
			PromotableAt *time.Time  `json:"promotable_at"`
			RemovableAt  *time.Time  `json:"removable_at"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != exitOK {
		t.Fatalf("keys list -json: %v %+v", err, r)
	}
	for _, k := range out.Keys {
		if k.ID.String() == id {
			if k.PromotableAt != nil {
				promotable = *k.PromotableAt
			}
			if k.RemovableAt != nil {
				removable = *k.RemovableAt
			}
			return promotable, removable
		}
	}
	t.Fatalf("key %s not listed: %s", id, r.stdout)
	return
}

// TestCommandsAgreeOnTimes: for one key, keys add, keys list (text and
// JSON), a refused keys promote and the rotate guard print the same
// promotable time, the recorded rollout delay after the add; keys promote
// (text and JSON), keys list and a refused keys remove print the same
// removable time, the recorded rollout delay + absolute timeout + clock
// skew after the demotion; and each step succeeds at that instant and is
// refused a second before it. With a policy recorded at keygen, then with
// an old key file that records none (the defaults).
func TestCommandsAgreeOnTimes(t *testing.T) {
	clearLifetimeEnv(t)
	for _, tc := range []struct {
		name     string
		keygen   []string
		old      bool // a version-1 file with no lifetime section
		rollout  time.Duration
		drainFor time.Duration // rollout + absolute + skew
	}{
		{"recorded at keygen", []string{"-rollout-delay", "2s", "-idle-timeout", "1h", "-absolute-timeout", "3h", "-clock-skew", "10s"}, false, 2 * time.Second, 2*time.Second + 3*time.Hour + 10*time.Second},
		{"keygen's defaults", nil, false, time.Hour, time.Hour + 7*24*time.Hour + 30*time.Second},
		{"old file without a policy", nil, true, time.Hour, time.Hour + 7*24*time.Hour + 30*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "keys.json")
			r := runAt(t, t0, "", append([]string{"keygen", "-out", file}, tc.keygen...)...)
			if r.code != exitOK {
				t.Fatalf("keygen: %+v", r)
			}
			first := firstID(t, r.stdout)
			if tc.old {
				set, err := rotate.ReadKeyFile(file)
				if err != nil {
					t.Fatal(err)
				}
				set.Lifetime = keyring.Lifetime{}
				if err := rotate.WriteKeyFile(file, set); err != nil {
					t.Fatal(err)
				}
				if data, _ := os.ReadFile(file); !strings.Contains(string(data), `"cookieseal_keyset": 1,`) {
					t.Fatalf("not a version-1 file:\n%s", data)
				}
			}

			added := t0.Add(time.Minute)
			r = runAt(t, added, "", "keys", "add", "-file", file)
			if r.code != exitOK {
				t.Fatalf("add: %+v", r)
			}
			second := firstID(t, r.stdout)
			promotable := added.Add(tc.rollout + time.Second) // the lifecycle dates' one-second precision
			if got := timeAfter(t, r.stdout, "promote it at "); !got.Equal(promotable) {
				t.Fatalf("keys add prints %v, want %v", got, promotable)
			}
			soon := added.Add(time.Second)
			if got := timeAfter(t, runAt(t, soon, "", "keys", "list", "-file", file).stdout, "promotable at "); !got.Equal(promotable) {
				t.Fatalf("keys list prints %v, want %v", got, promotable)
			}
			if got, _ := listedTimes(t, file, soon, second); !got.Equal(promotable) {
				t.Fatalf("keys list -json has %v, want %v", got, promotable)
			}
			r = runAt(t, promotable.Add(-time.Second), "", "keys", "promote", "-file", file, "-id", second)
			if r.code != exitFail || !timeAfter(t, r.stderr, "promote it at ").Equal(promotable) {
				t.Fatalf("promote a second early: %+v", r)
			}

			r = runAt(t, promotable, "", "keys", "promote", "-file", file, "-id", second, "-json")
			if r.code != exitOK {
				t.Fatalf("promote on time: %+v", r)
			}
			var promoted struct {
				Demoted struct {
					RemovableAt time.Time `json:"removable_at"`
				} `json:"demoted"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &promoted); err != nil {
				t.Fatal(err)
			}
			removable := promotable.Add(tc.drainFor + time.Second)
			if !promoted.Demoted.RemovableAt.Equal(removable) {
				t.Fatalf("keys promote -json has %v, want %v", promoted.Demoted.RemovableAt, removable)
			}
			if _, got := listedTimes(t, file, promotable, first); !got.Equal(removable) {
				t.Fatalf("keys list -json has %v, want %v", got, removable)
			}
			if got := timeAfter(t, runAt(t, promotable, "", "keys", "list", "-file", file).stdout, "removable at "); !got.Equal(removable) {
				t.Fatalf("keys list prints %v, want %v", got, removable)
			}
			r = runAt(t, removable.Add(-time.Second), "", "keys", "remove", "-file", file, "-id", first)
			if r.code != exitFail || !timeAfter(t, r.stderr, "may be valid until ").Equal(removable) {
				t.Fatalf("remove a second early: %+v", r)
			}
			r = runAt(t, removable, "", "keys", "remove", "-file", file, "-id", first)
			if r.code != exitOK {
				t.Fatalf("remove on time: %+v", r)
			}
		})
	}

	// keys promote's text output names the removable time too.
	file := filepath.Join(t.TempDir(), "keys.json")
	runAt(t, t0, "", "keygen", "-out", file, "-rollout-delay", "2s")
	second := firstID(t, runAt(t, t0, "", "keys", "add", "-file", file).stdout)
	r := runAt(t, t0.Add(3*time.Second), "", "keys", "promote", "-file", file, "-id", second)
	want := t0.Add(3*time.Second + 2*time.Second + 7*24*time.Hour + 30*time.Second + time.Second)
	if r.code != exitOK || !timeAfter(t, r.stdout, "may stay valid until ").Equal(want) {
		t.Fatalf("promote: %+v; want removable %v", r, want)
	}
}

// TestKeygenRecordsLifetime: keygen records its four lifetime flags in
// the file, and the defaults for those not given, so the file holds the
// whole policy; keys policy shows it, from the file or from the compact
// form in an environment variable.
func TestKeygenRecordsLifetime(t *testing.T) {
	clearLifetimeEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.json")
	r := runAt(t, t0, "", "keygen", "-out", file, "-absolute-timeout", "720h", "-rollout-delay", "5m")
	if r.code != exitOK || !strings.Contains(r.stdout, "lifetime: idle-timeout 24h0m0s, absolute-timeout 720h0m0s, clock-skew 30s, rollout-delay 5m0s") {
		t.Fatalf("keygen: %+v", r)
	}
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := keyring.Lifetime{IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 720 * time.Hour, ClockSkew: 30 * time.Second, RolloutDelay: 5 * time.Minute}
	if set.Lifetime != want {
		t.Fatalf("file records %+v, want %+v", set.Lifetime, want)
	}
	r = runAt(t, t0, "", "keys", "policy", "-file", file, "-json")
	var shown struct {
		Lifetime lifetimeJSON `json:"lifetime"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || !reflect.DeepEqual(shown.Lifetime, lifetimeJSON{"24h0m0s", "720h0m0s", "30s", "5m0s", nil}) {
		t.Fatalf("keys policy -json: %v %+v", err, r)
	}
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_KEYS", compact)
	if r := runAt(t, t0, "", "keys", "policy", "show", "-env", "TEST_KEYS"); r.code != exitOK || !strings.Contains(r.stdout, "absolute-timeout 720h0m0s") {
		t.Fatalf("keys policy -env: %+v", r)
	}
}

// TestPolicySet: keys policy set records a longer value at once, refuses
// a shorter absolute timeout, clock skew or rollout delay without
// -allow-shorter, and
// turns an old file into one that records the policy; keys policy shows
// an old file's defaults as not recorded.
func TestPolicySet(t *testing.T) {
	clearLifetimeEnv(t)
	old, err := os.ReadFile("../../keyring/testdata/keyset-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(file, old, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runAt(t, t0, "", "keys", "policy", "-file", file)
	if r.code != exitOK || !strings.Contains(r.stdout, "not recorded in the key set") || !strings.Contains(r.stdout, "absolute-timeout 168h0m0s") {
		t.Fatalf("policy of an old file: %+v", r)
	}
	r = runAt(t, t0, "", "keys", "policy", "set", "-file", file, "-absolute-timeout", "720h")
	if r.code != exitOK || !strings.Contains(r.stdout, "absolute-timeout 720h0m0s, clock-skew 30s (default)") {
		t.Fatalf("policy set longer: %+v", r)
	}
	set, err := rotate.ReadKeyFile(file)
	if err != nil || set.Lifetime != (keyring.Lifetime{AbsoluteTimeout: 720 * time.Hour}) {
		t.Fatalf("file records %+v, %v", set.Lifetime, err)
	}
	for _, args := range [][]string{{"-absolute-timeout", "168h"}, {"-clock-skew", "10s"}, {"-rollout-delay", "1s"}} {
		before, _ := os.ReadFile(file)
		r := runAt(t, t0, "", append([]string{"keys", "policy", "set", "-file", file}, args...)...)
		if after, _ := os.ReadFile(file); r.code != exitFail || !strings.Contains(r.stderr, "-allow-shorter") || string(before) != string(after) {
			t.Fatalf("policy set %v: %+v", args, r)
		}
	}
	r = runAt(t, t0, "", "keys", "policy", "set", "-file", file, "-clock-skew", "10s", "-rollout-delay", "1m", "-allow-shorter", "-json")
	var out struct {
		Lifetime lifetimeJSON `json:"lifetime"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Lifetime.ClockSkew != "10s" || out.Lifetime.RolloutDelay != "1m0s" || strings.Join(out.Lifetime.Defaults, ",") != "idle_timeout" {
		t.Fatalf("policy set -allow-shorter -json: %v %+v", err, r)
	}
}

// TestRemovedEnvironmentRefused: each variable that used to set a guard's
// duration stops the commands that used it, saying how to record the
// value instead; help still prints.
func TestRemovedEnvironmentRefused(t *testing.T) {
	clearLifetimeEnv(t)
	file := filepath.Join(t.TempDir(), "keys.json")
	runAt(t, t0, "", "keygen", "-out", file)
	for _, v := range []struct{ name, flag string }{
		{"COOKIESEAL_ROLLOUT_DELAY", "-rollout-delay 10m"},
		{"COOKIESEAL_MAX_SESSION_AGE", "-absolute-timeout 10m"},
		{"COOKIESEAL_CLOCK_SKEW", "-clock-skew 10m"},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Setenv(v.name, "10m")
			for _, args := range [][]string{{"keys", "list", "-file", file}, {"keys", "add", "-file", file}, {"inspect", "-file", file, "-name", "s"}, {"keygen", "-out", file + ".2"}} {
				r := runAt(t, t0, "x", args...)
				if r.code != exitUsage || !strings.Contains(r.stderr, v.name+" is no longer read") || !strings.Contains(r.stderr, "keys policy set -file FILE "+v.flag) {
					t.Fatalf("%v: %+v", args, r)
				}
			}
			if r := runAt(t, t0, "", "keys", "add", "-h"); r.code != exitOK {
				t.Fatalf("help: %+v", r)
			}
		})
	}
}

// TestImportRecordsLifetime: keys import keeps the lifetime the compact
// form records, fills what it does not from the flags, then the defaults
// (and says which), and refuses a flag that disagrees with the source.
func TestImportRecordsLifetime(t *testing.T) {
	clearLifetimeEnv(t)
	dir := t.TempDir()
	k, err := keyring.GenerateKey(keyring.StatusPrimary, t0)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := keyring.Set{Keys: []keyring.Key{k}, Lifetime: keyring.Lifetime{AbsoluteTimeout: 720 * time.Hour}}.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_KEYS", compact)
	out := filepath.Join(dir, "keys.json")
	r := runAt(t, t0, "", "keys", "import", "-env", "TEST_KEYS", "-out", out, "-rollout-delay", "10m")
	if r.code != exitOK || !strings.Contains(r.stdout, "recorded the defaults for -idle-timeout, -clock-skew") {
		t.Fatalf("import: %+v", r)
	}
	set, err := rotate.ReadKeyFile(out)
	want := keyring.Lifetime{IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 720 * time.Hour, ClockSkew: 30 * time.Second, RolloutDelay: 10 * time.Minute}
	if err != nil || set.Lifetime != want {
		t.Fatalf("imported file records %+v, %v; want %+v", set.Lifetime, err, want)
	}
	r = runAt(t, t0, "", "keys", "import", "-env", "TEST_KEYS", "-out", filepath.Join(dir, "b.json"), "-absolute-timeout", "168h")
	if r.code != exitUsage || !strings.Contains(r.stderr, "records 720h0m0s") {
		t.Fatalf("import with a disagreeing flag: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.json")); err == nil {
		t.Fatal("a refused import wrote a file")
	}
}
