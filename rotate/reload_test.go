package rotate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

type recorder struct {
	mu      sync.Mutex
	errs    []error
	changes []Change
}

func (r *recorder) onError(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }
func (r *recorder) onChange(c Change) { r.mu.Lock(); r.changes = append(r.changes, c); r.mu.Unlock() }
func (r *recorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs), len(r.changes)
}

func newTestReloader(t *testing.T, set keyring.Set, now func() time.Time, ticks <-chan time.Time) (*Holder, *Reloader, *recorder, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.json")
	writeSet(t, path, set)
	src := NewFileSource(path)
	h, err := LoadHolder(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	r, err := NewReloader(h, src, ReloaderOptions{Now: now, Policy: testPolicy, OnError: rec.onError, OnChange: rec.onChange, Ticks: ticks})
	if err != nil {
		t.Fatal(err)
	}
	return h, r, rec, path
}

func TestReloadKeepsGoodKeyringOnBadFile(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return t0 }
	h, r, rec, path := newTestReloader(t, lifecycleSet(t), now, nil)
	good := h.Keyring()
	bad := []struct {
		name    string
		content []byte
		want    error
	}{
		{"truncated", []byte(`{"cookieseal_keyset": 1, "keys": [{"id": 1`), keyring.ErrInvalidKeySet},
		{"two primaries", nil, keyring.ErrInvalidKeySet},
		{"empty", []byte{}, keyring.ErrInvalidKeySet},
		{"deleted", nil, ErrSource},
	}
	// "two primaries": a file that is well formed but breaks a rule.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad[1].content = bytes.Replace(data, []byte(`"decrypt-only"`), []byte(`"primary"`), 1)
	for i, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "deleted" {
				os.Remove(path)
			} else if err := os.WriteFile(path, c.content, 0o600); err != nil {
				t.Fatal(err)
			}
			err := r.Reload(ctx)
			if !errors.Is(err, c.want) {
				t.Fatalf("Reload = %v, want %v", err, c.want)
			}
			if h.Keyring() != good {
				t.Fatal("a bad file replaced the keyring in force")
			}
			if n, _ := rec.counts(); n != i+1 {
				t.Fatalf("OnError called %d times, want %d", n, i+1)
			}
			if st := r.Status(); !errors.Is(st.LastError, c.want) || !st.LastAttempt.Equal(t0) {
				t.Fatalf("Status = %+v", st)
			}
		})
	}
	// A good file again: reloaded, no change since it equals the keyring
	// in force, so the snapshot (and its derived-key cache) is kept.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if h.Keyring() != good {
		t.Fatal("an unchanged key set replaced the snapshot")
	}
	if _, n := rec.counts(); n != 0 {
		t.Fatalf("OnChange called %d times for an unchanged set", n)
	}
	if st := r.Status(); st.LastError != nil || !st.LastSuccess.Equal(t0) {
		t.Fatalf("Status = %+v", st)
	}
}

func TestReloadChanges(t *testing.T) {
	ctx := context.Background()
	emergency := testPolicy
	emergency.EmergencyRemove = true
	emergency.EmergencySkipRolloutDelay = true
	cases := []struct {
		name    string
		at      time.Time
		edit    func(keyring.Set) (keyring.Set, error)
		added   int
		removed []uint32
		primary uint32
		warn    []error
		refused error
	}{
		{"add", t0, func(s keyring.Set) (keyring.Set, error) { s, _, err := Add(s, t0); return s, err }, 1, nil, 0, nil, nil},
		{"promote in time", t0.Add(time.Hour), func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 2, t0.Add(time.Hour), testPolicy)
		}, 0, nil, 2, nil, nil},
		{"promote too soon", t0, func(s keyring.Set) (keyring.Set, error) {
			return Promote(s, 2, t0, emergency)
		}, 0, nil, 2, []error{ErrTooSoon}, nil},
		{"remove drained", t0.Add(drain), func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 3, t0.Add(drain), testPolicy)
		}, 0, []uint32{3}, 0, nil, nil},
		{"remove in use", t0, func(s keyring.Set) (keyring.Set, error) {
			return Remove(s, 3, t0, emergency)
		}, 0, []uint32{3}, 0, []error{ErrInUse}, nil},
		{"disable in use", t0, func(s keyring.Set) (keyring.Set, error) {
			return Disable(s, 3, t0, emergency)
		}, 0, nil, 0, []error{ErrInUse}, nil},
		{"epoch change", t0, func(s keyring.Set) (keyring.Set, error) {
			s.EpochPeriod = time.Hour
			return s, nil
		}, 0, nil, 0, []error{ErrEpochChange}, nil},
		{"new primary never loaded", t0, func(s keyring.Set) (keyring.Set, error) {
			s.Keys[0].Status = keyring.StatusDecryptOnly
			s.Keys[0].Demoted = t0
			s.Keys = append(s.Keys, testKey(t, 8, keyring.StatusPrimary, t0.Add(-time.Hour), t0, time.Time{}))
			return s, nil
		}, 1, nil, 8, []error{ErrTooSoon}, nil},
		{"secret changed under the same id", t0, func(s keyring.Set) (keyring.Set, error) {
			k, err := keyring.NewKey(3, keyring.StatusDecryptOnly, bytes.Repeat([]byte{0xee}, keyring.SecretSize))
			k.Added, k.Promoted, k.Demoted = s.Keys[2].Added, s.Keys[2].Promoted, s.Keys[2].Demoted
			s.Keys[2] = k
			return s, err
		}, 0, nil, 0, nil, ErrState},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, r, rec, path := newTestReloader(t, lifecycleSet(t), func() time.Time { return c.at }, nil)
			old := h.Keyring()
			next, err := c.edit(old.Set())
			if err != nil {
				t.Fatal(err)
			}
			writeSet(t, path, next)
			err = r.Reload(ctx)
			if c.refused != nil {
				if !errors.Is(err, c.refused) || h.Keyring() != old {
					t.Fatalf("Reload = %v, keyring swapped %v; want refusal %v", err, h.Keyring() != old, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Keyring() == old {
				t.Fatal("not swapped")
			}
			if len(rec.changes) != 1 {
				t.Fatalf("OnChange called %d times", len(rec.changes))
			}
			ch := rec.changes[0]
			if ch.Old != old || ch.New != h.Keyring() || len(ch.Added) != c.added || len(ch.Removed) != len(c.removed) || ch.Primary != c.primary {
				t.Fatalf("change = %+v", ch)
			}
			if len(ch.Warnings) != len(c.warn) {
				t.Fatalf("warnings = %v, want %v", ch.Warnings, c.warn)
			}
			if len(rec.errs) != len(c.warn) {
				t.Fatalf("OnError told of %v, want the %d warnings", rec.errs, len(c.warn))
			}
			for i, w := range c.warn {
				if !errors.Is(ch.Warnings[i], w) {
					t.Fatalf("warning %d = %v, want %v", i, ch.Warnings[i], w)
				}
			}
		})
	}
}

func TestRunReloadsOnTicks(t *testing.T) {
	ticks := make(chan time.Time)
	h, r, rec, path := newTestReloader(t, lifecycleSet(t), func() time.Time { return t0 }, ticks)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	ticks <- t0 // Run is receiving: its first reload is over.
	if err := r.Run(ctx); err == nil {
		t.Fatal("a second Run did not fail")
	}
	next, _, err := Add(h.Keyring().Set(), t0)
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, path, next)
	ticks <- t0 // the reload of this tick ends before the next receive
	ticks <- t0
	if len(h.Keyring().Keys()) != 6 {
		t.Fatalf("Run did not reload: %v", h.Keyring())
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	ticks <- t0
	ticks <- t0
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	nerr, nchg := rec.counts()
	if nerr < 1 || nchg != 1 || len(h.Keyring().Keys()) != 6 {
		t.Fatalf("errors %d changes %d keyring %v", nerr, nchg, h.Keyring())
	}
}

func TestNewReloaderRefusesBadOptions(t *testing.T) {
	h := NewHolder(mustKeyring(t, oneKeySet(t, 1)))
	src := NewFileSource("unused")
	cases := []struct {
		name string
		h    *Holder
		src  Source
		opts ReloaderOptions
	}{
		{"nil holder", nil, src, ReloaderOptions{}},
		{"nil source", h, nil, ReloaderOptions{}},
		{"tiny interval", h, src, ReloaderOptions{Interval: time.Millisecond}},
		{"negative interval", h, src, ReloaderOptions{Interval: -time.Second}},
		{"bad policy", h, src, ReloaderOptions{Policy: Policy{Lifetime: keyring.Lifetime{ClockSkew: time.Hour}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewReloader(c.h, c.src, c.opts); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func mustKeyring(t testing.TB, set keyring.Set) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestHolder(t *testing.T) {
	a, b := mustKeyring(t, oneKeySet(t, 1)), mustKeyring(t, oneKeySet(t, 2))
	h := NewHolder(a)
	if h.Keyring() != a {
		t.Fatal("NewHolder")
	}
	if h.CompareAndSwap(b, b) || h.Keyring() != a {
		t.Fatal("CompareAndSwap with a stale old value swapped")
	}
	if !h.CompareAndSwap(a, b) || h.Keyring() != b {
		t.Fatal("CompareAndSwap")
	}
	if old := h.Swap(a); old != b || h.Keyring() != a {
		t.Fatal("Swap")
	}
	h.Store(b)
	if h.Keyring() != b {
		t.Fatal("Store")
	}
	for name, f := range map[string]func(){
		"NewHolder(nil)": func() { NewHolder(nil) },
		"Store(nil)":     func() { h.Store(nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
	if h.Keyring() != b {
		t.Fatal("a refused Store changed the keyring")
	}
}

// The reloader's early-promotion warning counts from the enable too, and
// warns when this instance still held the new primary disabled.
func TestReloadWarnsOnPromotionSoonAfterEnable(t *testing.T) {
	tE := t0.Add(48 * time.Hour)
	delay := testPolicy.Lifetime.RolloutDelay + time.Second
	emergency := testPolicy
	emergency.EmergencySkipRolloutDelay = true
	enabledAt := func(t testing.TB) keyring.Set {
		s, err := Enable(lifecycleSet(t), 4, tE)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name string
		base func(testing.TB) keyring.Set // what this instance holds
		at   time.Time                    // when the key is promoted
		warn string                       // in the one warning; "" for none
	}{
		{"held disabled, enabled and promoted in one change", lifecycleSet, tE.Add(24 * time.Hour), "still held it disabled"},
		{"held enabled, promoted one second early", enabledAt, tE.Add(delay - time.Second), "since it was added or enabled"},
		{"held enabled, promoted at the boundary", enabledAt, tE.Add(delay), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, r, rec, path := newTestReloader(t, c.base(t), func() time.Time { return c.at }, nil)
			next := h.Keyring().Set()
			if keyByID(t, next, 4).Status == keyring.StatusDisabled {
				var err error
				if next, err = Enable(next, 4, c.at); err != nil {
					t.Fatal(err)
				}
			}
			next, err := Promote(next, 4, c.at, emergency)
			if err != nil {
				t.Fatal(err)
			}
			writeSet(t, path, next)
			if err := r.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(rec.changes) != 1 || rec.changes[0].Primary != 4 {
				t.Fatalf("changes = %+v", rec.changes)
			}
			w := rec.changes[0].Warnings
			switch {
			case c.warn == "" && len(w) != 0:
				t.Fatalf("warnings = %v, want none", w)
			case c.warn != "" && (len(w) != 1 || !errors.Is(w[0], ErrTooSoon) || !strings.Contains(w[0].Error(), c.warn)):
				t.Fatalf("warnings = %v, want one ErrTooSoon saying %q", w, c.warn)
			}
		})
	}
}
