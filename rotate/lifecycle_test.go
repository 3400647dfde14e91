package rotate

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func testKey(t testing.TB, id uint32, st keyring.Status, added, promoted, demoted time.Time) keyring.Key {
	t.Helper()
	k, err := keyring.NewKey(id, st, bytes.Repeat([]byte{byte(id)}, keyring.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	k.Added, k.Promoted, k.Demoted = added, promoted, demoted
	return k
}

func keyByID(t testing.TB, set keyring.Set, id uint32) keyring.Key {
	t.Helper()
	for _, k := range set.Keys {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("key %d not in set", id)
	return keyring.Key{}
}

var testPolicy = Policy{Lifetime: keyring.Lifetime{RolloutDelay: 10 * time.Minute, AbsoluteTimeout: 2 * time.Hour, ClockSkew: 30 * time.Second}}

// drain is how long after its demotion a key stays in use under testPolicy.
const drain = 10*time.Minute + 2*time.Hour + 30*time.Second + time.Second

// lifecycleSet: 1 primary, 2 decrypt-only and new (added at t0), 3
// decrypt-only demoted at t0, 4 disabled, 5 decrypt-only with no history.
func lifecycleSet(t testing.TB) keyring.Set {
	old := t0.Add(-30 * 24 * time.Hour)
	return keyring.Set{Keys: []keyring.Key{
		testKey(t, 1, keyring.StatusPrimary, old, old.Add(time.Hour), time.Time{}),
		testKey(t, 2, keyring.StatusDecryptOnly, t0, time.Time{}, time.Time{}),
		testKey(t, 3, keyring.StatusDecryptOnly, old, old, t0),
		testKey(t, 4, keyring.StatusDisabled, old, old, old),
		testKey(t, 5, keyring.StatusDecryptOnly, time.Time{}, time.Time{}, time.Time{}),
	}}
}

func TestLifecycleSteps(t *testing.T) {
	emergencyPromote := testPolicy
	emergencyPromote.EmergencySkipRolloutDelay = true
	emergencyRemove := testPolicy
	emergencyRemove.EmergencyRemove = true
	promotable := t0.Add(10*time.Minute + time.Second)

	type step func(keyring.Set) (keyring.Set, error)
	cases := []struct {
		name    string
		step    step
		want    error                  // nil: success
		primary uint32                 // on success, the expected primary
		check   func(keyring.Set) bool // on success, a further check
	}{
		{"promote before roll-out", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 2, promotable.Add(-time.Nanosecond), testPolicy)
		}, ErrTooSoon, 0, nil},
		{"promote exactly at roll-out", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 2, promotable, testPolicy)
		}, nil, 2, nil},
		{"promote early with emergency override", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 2, t0, emergencyPromote)
		}, nil, 2, nil},
		{"promote the primary", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 1, promotable, testPolicy)
		}, ErrState, 0, nil},
		{"promote a disabled key", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 4, promotable, emergencyPromote)
		}, ErrState, 0, nil},
		{"promote a key with no added time", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 5, promotable, testPolicy)
		}, ErrTooSoon, 0, nil},
		{"promote an unknown key", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 99, promotable, testPolicy)
		}, ErrNotFound, 0, nil},
		{"promote a demoted key back (roll back)", func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 3, t0, testPolicy)
		}, nil, 3, nil},
		{"demote a non-primary", func(s keyring.Set) (keyring.Set, error) {
			return Demote(s, 3, promotable, testPolicy)
		}, ErrState, 0, nil},
		{"demote the primary to its one successor", func(s keyring.Set) (keyring.Set, error) {
			return Demote(s, 1, promotable, testPolicy)
		}, nil, 2, nil},
		{"demote before the successor rolled out", func(s keyring.Set) (keyring.Set, error) {
			return Demote(s, 1, t0, testPolicy)
		}, ErrTooSoon, 0, nil},
		{"remove the primary", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 1, t0.Add(365*24*time.Hour), emergencyRemove)
		}, ErrState, 0, nil},
		{"remove while draining", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 3, t0.Add(drain-time.Nanosecond), testPolicy)
		}, ErrInUse, 0, nil},
		{"remove exactly when drained", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 3, t0.Add(drain), testPolicy)
		}, nil, 1, func(s keyring.Set) bool { return len(s.Keys) == 4 }},
		{"remove while draining with emergency override", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 3, t0, emergencyRemove)
		}, nil, 1, func(s keyring.Set) bool { return len(s.Keys) == 4 }},
		{"remove a never-promoted key at once", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 2, t0, testPolicy)
		}, nil, 1, func(s keyring.Set) bool { return len(s.Keys) == 4 }},
		{"remove a disabled key", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 4, t0, testPolicy)
		}, nil, 1, func(s keyring.Set) bool { return len(s.Keys) == 4 }},
		{"remove a key with no history", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 5, t0.Add(365*24*time.Hour), testPolicy)
		}, ErrInUse, 0, nil},
		{"remove an unknown key", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 99, t0, emergencyRemove)
		}, ErrNotFound, 0, nil},
		{"disable while draining", func(s keyring.Set) (keyring.Set, error) {
			return Disable(s, 3, t0, testPolicy)
		}, ErrInUse, 0, nil},
		{"disable when drained", func(s keyring.Set) (keyring.Set, error) {
			return Disable(s, 3, t0.Add(drain), testPolicy)
		}, nil, 1, func(s keyring.Set) bool { return keyByIDOrZero(s, 3).Status == keyring.StatusDisabled }},
		{"disable the primary", func(s keyring.Set) (keyring.Set, error) {
			return Disable(s, 1, t0, emergencyRemove)
		}, ErrState, 0, nil},
		{"disable a disabled key", func(s keyring.Set) (keyring.Set, error) {
			return Disable(s, 4, t0, testPolicy)
		}, ErrState, 0, nil},
		{"enable a disabled key", func(s keyring.Set) (keyring.Set, error) {
			return Enable(s, 4, t0)
		}, nil, 1, func(s keyring.Set) bool { return keyByIDOrZero(s, 4).Status == keyring.StatusDecryptOnly }},
		{"enable a decrypt-only key", func(s keyring.Set) (keyring.Set, error) {
			return Enable(s, 3, t0)
		}, ErrState, 0, nil},
		{"negative policy", func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 3, t0, Policy{Lifetime: keyring.Lifetime{AbsoluteTimeout: -1}})
		}, ErrInvalidConfig, 0, nil},
		{"invalid input set", func(keyring.Set) (keyring.Set, error) {
			return Remove(keyring.Set{}, 3, t0, testPolicy)
		}, keyring.ErrInvalidKeySet, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := lifecycleSet(t)
			before := in.Clone()
			out, err := c.step(in)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if err := out.Validate(); err != nil {
					t.Fatalf("result fails Validate: %v", err)
				}
				kr, err := keyring.New(out)
				if err != nil {
					t.Fatal(err)
				}
				if kr.Primary().ID != c.primary {
					t.Fatalf("primary = %d, want %d", kr.Primary().ID, c.primary)
				}
				if c.check != nil && !c.check(out) {
					t.Fatalf("check failed on %v", out.Keys)
				}
			}
			// The input is never changed.
			for i := range before.Keys {
				b, a := before.Keys[i], in.Keys[i]
				if a.ID != b.ID || a.Status != b.Status || !a.Demoted.Equal(b.Demoted) || !a.Promoted.Equal(b.Promoted) {
					t.Fatalf("input key %d changed: %v → %v", b.ID, b, a)
				}
			}
		})
	}
}

func keyByIDOrZero(set keyring.Set, id uint32) keyring.Key {
	for _, k := range set.Keys {
		if k.ID == id {
			return k
		}
	}
	return keyring.Key{}
}

func TestPromoteStampsBothKeys(t *testing.T) {
	now := t0.Add(time.Hour + 1500*time.Millisecond)
	out, err := Promote(lifecycleSet(t), 2, now, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	old, nw := keyByID(t, out, 1), keyByID(t, out, 2)
	want := t0.Add(time.Hour + time.Second)
	if old.Status != keyring.StatusDecryptOnly || !old.Demoted.Equal(want) {
		t.Fatalf("old primary = %v demoted %v, want decrypt-only demoted %v", old, old.Demoted, want)
	}
	if nw.Status != keyring.StatusPrimary || !nw.Promoted.Equal(want) {
		t.Fatalf("new primary = %v promoted %v", nw, nw.Promoted)
	}
	// The old primary now drains: removable exactly drain after its
	// (truncated) demotion.
	if _, err := Remove(out, 1, want.Add(drain-time.Nanosecond), testPolicy); !errors.Is(err, ErrInUse) {
		t.Fatalf("early remove: %v", err)
	}
	if _, err := Remove(out, 1, want.Add(drain), testPolicy); err != nil {
		t.Fatalf("remove after drain: %v", err)
	}
}

func TestAdd(t *testing.T) {
	in := lifecycleSet(t)
	out, k, err := Add(in, t0.Add(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Keys) != 5 || len(out.Keys) != 6 {
		t.Fatalf("len in %d out %d", len(in.Keys), len(out.Keys))
	}
	got := keyByID(t, out, k.ID)
	if got.Status != keyring.StatusDecryptOnly || !got.Added.Equal(t0.Add(time.Second)) || !got.Promoted.IsZero() {
		t.Fatalf("added key = %v added %v", got, got.Added)
	}
	if _, _, err := Add(keyring.Set{}, t0); !errors.Is(err, keyring.ErrInvalidKeySet) {
		t.Fatalf("Add to an invalid set: %v", err)
	}
}

func TestDemoteAmbiguousSuccessor(t *testing.T) {
	set := lifecycleSet(t)
	set.Keys = append(set.Keys, testKey(t, 6, keyring.StatusDecryptOnly, t0, time.Time{}, time.Time{}))
	if _, err := Demote(set, 1, t0.Add(time.Hour), testPolicy); !errors.Is(err, ErrState) {
		t.Fatalf("err = %v, want ErrState", err)
	}
	one := keyring.Set{Keys: set.Keys[:1]}
	if _, err := Demote(one, 1, t0.Add(time.Hour), testPolicy); !errors.Is(err, ErrState) {
		t.Fatalf("no successor: err = %v, want ErrState", err)
	}
}

func TestPolicyDefaults(t *testing.T) {
	k := testKey(t, 3, keyring.StatusDecryptOnly, t0, t0, t0)
	at, ok := Policy{}.RemovableAt(k)
	want := t0.Add(keyring.DefaultRolloutDelay + keyring.DefaultAbsoluteTimeout + keyring.DefaultClockSkew + time.Second)
	if !ok || !at.Equal(want) {
		t.Fatalf("RemovableAt = %v %v, want %v", at, ok, want)
	}
	for _, p := range []Policy{{Lifetime: keyring.Lifetime{RolloutDelay: -1}}, {Lifetime: keyring.Lifetime{ClockSkew: 2 * time.Minute}}} {
		if err := p.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("Validate(%+v) = %v", p, err)
		}
	}
}

func TestEmergencyReplace(t *testing.T) {
	cases := []struct {
		name     string
		id       uint32
		want     error
		newPrime bool
	}{
		{"leaked primary", 1, nil, true},
		{"leaked draining key", 3, nil, false},
		{"leaked key with no history", 5, nil, false},
		{"unknown key", 99, ErrNotFound, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := lifecycleSet(t)
			out, fresh, err := EmergencyReplace(in, c.id, t0)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err != nil {
				return
			}
			if keyByIDOrZero(out, c.id).ID != 0 || len(in.Keys) != 5 {
				t.Fatalf("key %d still in %v (input %d keys)", c.id, out.Keys, len(in.Keys))
			}
			kr := mustKeyring(t, out)
			if c.newPrime {
				if kr.Primary().ID != fresh.ID || fresh.Status != keyring.StatusPrimary || len(out.Keys) != 5 {
					t.Fatalf("primary %v, fresh %v, keys %d", kr.Primary(), fresh, len(out.Keys))
				}
			} else if fresh.ID != 0 || kr.Primary().ID != 1 || len(out.Keys) != 4 {
				t.Fatalf("fresh %v primary %v keys %d", fresh, kr.Primary(), len(out.Keys))
			}
		})
	}
}

// Every roll-out guard counts from the step that made the key usable:
// Add, or Enable of a disabled key. Each case enables key 4 (disabled in
// lifecycleSet) or a key with another history at tE and tries a step at
// tE + d.
func TestGuardsCountFromEnable(t *testing.T) {
	tE := t0.Add(48 * time.Hour)
	delay := testPolicy.Lifetime.RolloutDelay + time.Second // the guard adds the stamp precision
	old := t0.Add(-30 * 24 * time.Hour)
	histories := []struct {
		name string
		key  keyring.Key
	}{
		{"once primary, demoted long ago", testKey(t, 4, keyring.StatusDisabled, old, old, old)},
		{"never primary", testKey(t, 4, keyring.StatusDisabled, old, time.Time{}, time.Time{})},
		{"no recorded history (compact form)", testKey(t, 4, keyring.StatusDisabled, time.Time{}, time.Time{}, time.Time{})},
	}
	for _, h := range histories {
		set := lifecycleSet(t)
		set.Keys[3] = h.key
		enabled, err := Enable(set, 4, tE.Add(999*time.Millisecond)) // stamped to whole seconds
		if err != nil {
			t.Fatalf("%s: Enable: %v", h.name, err)
		}
		if got := keyByID(t, enabled, 4); got.Status != keyring.StatusDecryptOnly || !UsableSince(got).Equal(tE) {
			t.Fatalf("%s: enabled key = %v, usable since %v, want decrypt-only since %v", h.name, got, UsableSince(got), tE)
		}
		if got := keyByID(t, enabled, 4); !got.Added.Equal(h.key.Added) || !got.Enabled.Equal(tE) {
			t.Fatalf("%s: Added = %v, Enabled = %v; want Added kept (%v), Enabled %v", h.name, got.Added, got.Enabled, h.key.Added, tE)
		}
		file, err := enabled.MarshalKeyFile()
		if err != nil {
			t.Fatal(err)
		}
		back, err := keyring.ParseKeyFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := keyByID(t, back, 4); !got.Enabled.Equal(tE) || !UsableSince(got).Equal(tE) {
			t.Fatalf("%s: after a key file round trip Enabled = %v, usable since %v; want %v", h.name, got.Enabled, UsableSince(got), tE)
		}
		if at, ok := testPolicy.PromotableAt(keyByID(t, enabled, 4)); !ok || !at.Equal(tE.Add(delay)) {
			t.Fatalf("%s: PromotableAt = %v, %v; want %v", h.name, at, ok, tE.Add(delay))
		}
		cases := []struct {
			name string
			at   time.Time
			want error
		}{
			{"promote one nanosecond early", tE.Add(delay - time.Nanosecond), ErrTooSoon},
			{"promote at the boundary", tE.Add(delay), nil},
			{"promote long after", tE.Add(24 * time.Hour), nil},
		}
		for _, c := range cases {
			t.Run(h.name+"/"+c.name, func(t *testing.T) {
				out, err := Promote(enabled, 4, c.at, testPolicy)
				if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
					t.Fatalf("Promote = %v, want %v", err, c.want)
				}
				if err == nil && keyByID(t, out, 4).Status != keyring.StatusPrimary {
					t.Fatalf("key 4 not primary: %v", out.Keys)
				}
			})
		}
	}

	t.Run("the emergency override still skips it", func(t *testing.T) {
		enabled, err := Enable(lifecycleSet(t), 4, tE)
		if err != nil {
			t.Fatal(err)
		}
		p := testPolicy
		p.EmergencySkipRolloutDelay = true
		if _, err := Promote(enabled, 4, tE, p); err != nil {
			t.Fatalf("emergency promote: %v", err)
		}
	})
	t.Run("demote picks an enabled, never promoted key after its delay only", func(t *testing.T) {
		set := lifecycleSet(t)
		set, err := Remove(set, 2, t0, testPolicy) // the other rolling-out key
		if err != nil {
			t.Fatal(err)
		}
		set.Keys[2] = testKey(t, 4, keyring.StatusDisabled, old, time.Time{}, time.Time{})
		enabled, err := Enable(set, 4, tE)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Demote(enabled, 1, tE.Add(delay-time.Nanosecond), testPolicy); !errors.Is(err, ErrTooSoon) {
			t.Fatalf("early demote = %v, want ErrTooSoon", err)
		}
		out, err := Demote(enabled, 1, tE.Add(delay), testPolicy)
		if err != nil || keyByID(t, out, 4).Status != keyring.StatusPrimary {
			t.Fatalf("demote at the boundary = %v", err)
		}
	})
	t.Run("an enabled key that never sealed may be removed at once", func(t *testing.T) {
		set := lifecycleSet(t)
		set.Keys[3] = testKey(t, 4, keyring.StatusDisabled, time.Time{}, time.Time{}, time.Time{})
		enabled, err := Enable(set, 4, tE)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Remove(enabled, 4, tE, testPolicy); err != nil {
			t.Fatalf("Remove = %v", err)
		}
	})
}
