package rotate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// recorded is a lifetime policy far from every default, so that a guard
// that used a default instead of the recorded value is caught.
var recorded = keyring.Lifetime{IdleTimeout: time.Hour, AbsoluteTimeout: 2 * time.Hour, ClockSkew: 10 * time.Second, RolloutDelay: 5 * time.Minute}

// TestGuardsUseRecordedLifetime: with a zero Policy, Promote waits the
// rollout delay the key set records, and Remove and Disable wait its
// rollout delay + absolute timeout + clock skew after the demotion, to
// the second; PromotableAt and RemovableAt of the resolved Policy give
// exactly those times.
func TestGuardsUseRecordedLifetime(t *testing.T) {
	set := keyring.Set{Keys: []keyring.Key{testKey(t, 1, keyring.StatusPrimary, t0, t0, time.Time{})}, Lifetime: recorded}
	set, k, err := Add(set, t0)
	if err != nil {
		t.Fatal(err)
	}
	promotable := t0.Add(5*time.Minute + time.Second)
	if _, err := Promote(set, k.ID, promotable.Add(-time.Nanosecond), Policy{}); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("Promote before the recorded rollout delay = %v, want ErrTooSoon", err)
	}
	promoted, err := Promote(set, k.ID, promotable, Policy{})
	if err != nil {
		t.Fatalf("Promote after the recorded rollout delay: %v", err)
	}
	pol, err := Policy{}.Resolve(set)
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := pol.PromotableAt(k); !ok || !at.Equal(promotable) {
		t.Fatalf("PromotableAt = %v, %v; want %v", at, ok, promotable)
	}

	old := keyByID(t, promoted, 1)
	removable := promotable.Add(5*time.Minute + 2*time.Hour + 10*time.Second + time.Second)
	if at, ok := pol.RemovableAt(old); !ok || !at.Equal(removable) {
		t.Fatalf("RemovableAt = %v, %v; want %v", at, ok, removable)
	}
	for _, step := range []struct {
		name string
		do   func(keyring.Set, uint32, time.Time, Policy) (keyring.Set, error)
	}{{"Remove", Remove}, {"Disable", Disable}} {
		if _, err := step.do(promoted, 1, removable.Add(-time.Nanosecond), Policy{}); !errors.Is(err, ErrInUse) {
			t.Fatalf("%s before the recorded drain = %v, want ErrInUse", step.name, err)
		}
		if _, err := step.do(promoted, 1, removable, Policy{}); err != nil {
			t.Fatalf("%s after the recorded drain: %v", step.name, err)
		}
	}
	if promoted.Lifetime != recorded {
		t.Fatalf("Promote lost the recorded lifetime: %+v", promoted.Lifetime)
	}
}

// TestPolicyResolve: the recorded value wins, a Policy duration fills
// what the key set does not record, the default the rest; a Policy
// duration that disagrees with a recorded one is refused naming both,
// by Resolve and by every step.
func TestPolicyResolve(t *testing.T) {
	withIdle := func(p Policy, d time.Duration) Policy { p.Lifetime.IdleTimeout = d; return p }
	base := keyring.Set{Keys: []keyring.Key{testKey(t, 1, keyring.StatusPrimary, t0, t0, time.Time{})}}
	partial := base
	partial.Lifetime = keyring.Lifetime{AbsoluteTimeout: 30 * 24 * time.Hour}
	full := base
	full.Lifetime = recorded
	for _, tc := range []struct {
		name string
		set  keyring.Set
		p    Policy
		want Policy
	}{
		{"nothing anywhere: defaults", base, Policy{}, Policy{Lifetime: keyring.Lifetime{IdleTimeout: 24 * time.Hour, RolloutDelay: time.Hour, AbsoluteTimeout: 7 * 24 * time.Hour, ClockSkew: 30 * time.Second}}},
		{"no record: the Policy", base, testPolicy, withIdle(testPolicy, 24*time.Hour)},
		{"a partial record, the Policy, defaults", partial, Policy{Lifetime: keyring.Lifetime{RolloutDelay: time.Minute}}, Policy{Lifetime: keyring.Lifetime{IdleTimeout: 24 * time.Hour, RolloutDelay: time.Minute, AbsoluteTimeout: 30 * 24 * time.Hour, ClockSkew: 30 * time.Second}}},
		{"the record", full, Policy{}, Policy{Lifetime: keyring.Lifetime{IdleTimeout: recorded.IdleTimeout, RolloutDelay: 5 * time.Minute, AbsoluteTimeout: 2 * time.Hour, ClockSkew: 10 * time.Second}}},
		{"the record, agreeing Policy", full, Policy{Lifetime: keyring.Lifetime{AbsoluteTimeout: 2 * time.Hour}, EmergencyRemove: true}, Policy{Lifetime: keyring.Lifetime{IdleTimeout: recorded.IdleTimeout, RolloutDelay: 5 * time.Minute, AbsoluteTimeout: 2 * time.Hour, ClockSkew: 10 * time.Second}, EmergencyRemove: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.Resolve(tc.set)
			if err != nil || got != tc.want {
				t.Fatalf("Resolve = %+v, %v; want %+v", got, err, tc.want)
			}
			again, err := got.Resolve(tc.set)
			if err != nil || again != got {
				t.Fatalf("Resolve of the resolved Policy = %+v, %v", again, err)
			}
		})
	}

	long := Policy{Lifetime: keyring.Lifetime{AbsoluteTimeout: 30 * 24 * time.Hour}}
	_, err := long.Resolve(full)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "720h0m0s") || !strings.Contains(err.Error(), "2h0m0s") {
		t.Fatalf("a disagreeing Policy: Resolve = %v, want ErrInvalidConfig naming 720h0m0s and 2h0m0s", err)
	}
	set, k, err := Add(full, t0)
	if err != nil {
		t.Fatal(err)
	}
	late := t0.Add(365 * 24 * time.Hour)
	if _, err := Promote(set, k.ID, late, Policy{Lifetime: keyring.Lifetime{RolloutDelay: time.Minute}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Promote with a disagreeing Policy = %v, want ErrInvalidConfig", err)
	}
	set, err = Promote(set, k.ID, late, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Remove(set, 1, late.Add(365*24*time.Hour), long); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Remove with a disagreeing Policy = %v, want ErrInvalidConfig", err)
	}
}

// TestReloaderAndLifetime: NewReloader refuses a Policy that disagrees
// with the keyring in force; a reload that changes the recorded policy
// swaps it in with an ErrLifetimeChange warning; a reloaded set whose
// record disagrees with the Policy is judged by the record, with an
// ErrInvalidConfig warning.
func TestReloaderAndLifetime(t *testing.T) {
	ctx := context.Background()
	set := lifecycleSet(t)
	set.Lifetime = recorded
	path := filepath.Join(t.TempDir(), "keys.json")
	writeSet(t, path, set)
	src := NewFileSource(path)
	h, err := LoadHolder(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewReloader(h, src, ReloaderOptions{Policy: Policy{Lifetime: keyring.Lifetime{AbsoluteTimeout: 30 * 24 * time.Hour}}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewReloader with a disagreeing Policy = %v, want ErrInvalidConfig", err)
	}
	// Key 3 was demoted at t0: under the record it drains at
	// t0 + 5m + 2h + 10s + 1s; under this Policy's 30 days it would not.
	now := t0.Add(3 * time.Hour)
	rec := &recorder{}
	r, err := NewReloader(h, src, ReloaderOptions{Now: func() time.Time { return now }, OnError: rec.onError, OnChange: rec.onChange})
	if err != nil {
		t.Fatal(err)
	}

	next := set.Clone()
	next.Lifetime.IdleTimeout = 30 * time.Minute
	writeSet(t, path, next)
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.Keyring().Lifetime(); got != next.Lifetime {
		t.Fatalf("after the reload the keyring records %+v, want %+v", got, next.Lifetime)
	}
	if len(rec.changes) != 1 || len(rec.changes[0].Warnings) != 1 || !errors.Is(rec.changes[0].Warnings[0], ErrLifetimeChange) {
		t.Fatalf("changes %+v, want one with an ErrLifetimeChange warning", rec.changes)
	}

	// A Policy whose AbsoluteTimeout the keyring in force does not record
	// (so NewReloader takes it), then a reload of a set that records a
	// shorter one and removes key 3: the record judges the removal
	// (drained at t0 + 5m + 2h + 10s + 1s, before now), not the
	// Policy's 30 days, and a warning says the two disagree.
	unrecorded := set.Clone()
	unrecorded.Lifetime.AbsoluteTimeout = 0
	writeSet(t, path, unrecorded)
	src2 := NewFileSource(path)
	h2, err := LoadHolder(ctx, src2)
	if err != nil {
		t.Fatal(err)
	}
	rec2 := &recorder{}
	r2, err := NewReloader(h2, src2, ReloaderOptions{Now: func() time.Time { return now }, OnError: rec2.onError, OnChange: rec2.onChange, Policy: Policy{Lifetime: keyring.Lifetime{AbsoluteTimeout: 30 * 24 * time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := Remove(set, 3, now, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, path, removed)
	if err := r2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rec2.changes) != 1 {
		t.Fatalf("%d changes, want 1", len(rec2.changes))
	}
	var sawConflict, sawInUse bool
	for _, w := range rec2.changes[0].Warnings {
		sawConflict = sawConflict || errors.Is(w, ErrInvalidConfig)
		sawInUse = sawInUse || errors.Is(w, ErrInUse)
	}
	if !sawConflict || sawInUse {
		t.Fatalf("warnings %v: want an ErrInvalidConfig one and no ErrInUse (the record says key 3 drained)", rec2.changes[0].Warnings)
	}
}

// TestOldKeyFileStaysVersion1: a step on a key set file from before the
// lifetime section (version 1) writes it back as version 1 with no
// lifetime, so readers of the previous release keep reading it; the
// guards use the defaults for it.
func TestOldKeyFileStaysVersion1(t *testing.T) {
	old, err := os.ReadFile("../keyring/testdata/keyset-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var added keyring.Key
	if err := UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
		s, added, err = Add(s, at)
		return s, err
	}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"cookieseal_keyset": 1,`) || strings.Contains(string(data), "lifetime") {
		t.Fatalf("a step rewrote the version-1 file as\n%s", data)
	}
	set, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Promote(set, added.ID, at.Add(keyring.DefaultRolloutDelay), Policy{}); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("Promote at the default rollout delay = %v, want ErrTooSoon (one second short)", err)
	}
	if _, err := Promote(set, added.ID, at.Add(keyring.DefaultRolloutDelay+time.Second), Policy{}); err != nil {
		t.Fatalf("Promote after the default rollout delay: %v", err)
	}
}
