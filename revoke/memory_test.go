package revoke

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable clock for tests, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestMemoryCheck(t *testing.T) {
	ctx := context.Background()
	type op func(m *Memory) error
	session := func(id, subject string, until time.Time) op {
		return func(m *Memory) error { return m.RevokeSession(ctx, id, subject, until) }
	}
	subject := func(subject string, before, until time.Time) op {
		return func(m *Memory) error { return m.RevokeSubject(ctx, subject, before, until) }
	}
	day := t0.Add(24 * time.Hour)
	sess := SessionRef{ID: "id1", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}
	tests := []struct {
		name    string
		ops     []op
		check   SessionRef
		revoked bool
	}{
		{"empty list", nil, sess, false},
		{"session revoked", []op{session("id1", "alice", day)}, sess, true},
		{"other session id", []op{session("id2", "alice", day)}, sess, false},
		{"session revoked under another subject", []op{session("id1", "bob", day)}, sess, false},
		{"session without subject", []op{session("id1", "", day)}, SessionRef{ID: "id1", IssuedAt: t0}, true},
		{"subject revoked, issued before", []op{subject("alice", t0, day)}, sess, true},
		{"subject revoked, other subject", []op{subject("bob", t0, day)}, sess, false},
		{"subject revoked, issued 1ms before", []op{subject("alice", t0, day)},
			SessionRef{ID: "x", Subject: "alice", IssuedAt: t0.Add(-time.Millisecond)}, true},
		{"subject revoked, issued at before", []op{subject("alice", t0, day)},
			SessionRef{ID: "x", Subject: "alice", IssuedAt: t0}, false},
		{"subject revoked, issued after", []op{subject("alice", t0, day)},
			SessionRef{ID: "x", Subject: "alice", IssuedAt: t0.Add(time.Millisecond)}, false},
		{"subject revoked, before has sub-ms part, issued same ms", []op{subject("alice", t0.Add(999*time.Microsecond), day)},
			SessionRef{ID: "x", Subject: "alice", IssuedAt: t0}, false},
		{"subject revoked, issued sub-ms before but same ms", []op{subject("alice", t0, day)},
			SessionRef{ID: "x", Subject: "alice", IssuedAt: t0.Add(-time.Microsecond)}, true},
		{"subject: earlier before does not weaken", []op{subject("alice", t0, day), subject("alice", t0.Add(-2*time.Hour), day)}, sess, true},
		{"subject: later before strengthens", []op{subject("alice", t0.Add(-2*time.Hour), day), subject("alice", t0, day)}, sess, true},
		{"subject: sessionless check ignores subjects", []op{subject("alice", t0, day)}, SessionRef{ID: "id1", IssuedAt: t0.Add(-time.Hour)}, false},
		{"until in the past is a no-op", []op{session("id1", "alice", t0.Add(-time.Second))}, sess, false},
		{"until now is a no-op", []op{session("id1", "alice", t0)}, sess, false},
		{"subject until in the past is a no-op", []op{subject("alice", t0, t0.Add(-time.Second))}, sess, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			m := NewMemory(MemoryOptions{Now: clk.Now})
			for i, op := range tt.ops {
				if err := op(m); err != nil {
					t.Fatalf("op %d: %v", i, err)
				}
			}
			err := m.Check(ctx, tt.check)
			if got := errors.Is(err, ErrRevoked); got != tt.revoked || (err != nil && !got) {
				t.Fatalf("Check(%+v) = %v; want revoked=%v", tt.check, err, tt.revoked)
			}
		})
	}
}

func TestMemoryInvalidArguments(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{})
	day := time.Now().Add(24 * time.Hour)
	tests := []struct {
		name string
		call func() error
	}{
		{"check empty id", func() error { return m.Check(ctx, SessionRef{Subject: "a", IssuedAt: t0}) }},
		{"session empty id", func() error { return m.RevokeSession(ctx, "", "a", day) }},
		{"session zero until", func() error { return m.RevokeSession(ctx, "id", "a", time.Time{}) }},
		{"subject empty", func() error { return m.RevokeSubject(ctx, "", t0, day) }},
		{"subject zero before", func() error { return m.RevokeSubject(ctx, "a", time.Time{}, day) }},
		{"subject zero until", func() error { return m.RevokeSubject(ctx, "a", t0, time.Time{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrRevoked) {
				t.Fatalf("err = %v; want ErrInvalidArgument", err)
			}
			if msg := err.Error(); len(msg) < 7 || msg[:7] != "revoke:" {
				t.Fatalf("message %q lacks the package prefix", msg)
			}
		})
	}
	if m.Stats().Entries != 0 {
		t.Fatalf("invalid calls left %d entries", m.Stats().Entries)
	}
}

func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{Now: clk.Now})
	s := SessionRef{ID: "id1", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}
	if err := m.RevokeSession(ctx, s.ID, s.Subject, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeSubject(ctx, "alice", t0, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	other := SessionRef{ID: "id2", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}

	steps := []struct {
		name              string
		at                time.Duration
		sessRevoked, subj bool
		entries           int
	}{
		{"both live", time.Minute - time.Nanosecond, true, true, 2},
		{"session entry ends at until", time.Minute, true, true, 1}, // still revoked through the subject
		{"subject entry live", 2*time.Minute - time.Nanosecond, true, true, 1},
		{"all forgotten", 2 * time.Minute, false, false, 0},
	}
	for _, st := range steps {
		clk.ns.Store(t0.Add(st.at).UnixNano())
		if got := errors.Is(m.Check(ctx, s), ErrRevoked); got != st.sessRevoked {
			t.Fatalf("%s: session revoked = %v; want %v", st.name, got, st.sessRevoked)
		}
		if got := errors.Is(m.Check(ctx, other), ErrRevoked); got != st.subj {
			t.Fatalf("%s: other session revoked = %v; want %v", st.name, got, st.subj)
		}
		if got := m.Stats().Entries; got != st.entries {
			t.Fatalf("%s: %d entries held; want %d (pruned by Check)", st.name, got, st.entries)
		}
	}
}

func TestMemoryExtendKeepsLaterUntil(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{Now: clk.Now})
	s := SessionRef{ID: "id1", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}
	for _, until := range []time.Duration{2 * time.Minute, time.Minute} { // the shorter one must not win
		if err := m.RevokeSession(ctx, s.ID, s.Subject, t0.Add(until)); err != nil {
			t.Fatal(err)
		}
		if err := m.RevokeSubject(ctx, "bob", t0, t0.Add(until)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(90 * time.Second)
	if err := m.Check(ctx, s); !errors.Is(err, ErrRevoked) {
		t.Fatalf("session forgotten at its shorter until: %v", err)
	}
	if err := m.Check(ctx, SessionRef{ID: "b", Subject: "bob", IssuedAt: t0.Add(-time.Second)}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("subject forgotten at its shorter until: %v", err)
	}
	clk.Add(time.Minute)
	if err := m.Check(ctx, s); err != nil {
		t.Fatalf("after the later until: %v", err)
	}
}

func TestMemoryPruneIsBounded(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{Now: clk.Now})
	const n = 10 * pruneBatch
	for i := range n {
		if err := m.RevokeSession(ctx, fmt.Sprint(i), "", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Minute)
	s := SessionRef{ID: "live", IssuedAt: t0}
	for calls := 1; m.Stats().Entries > 0; calls++ {
		if err := m.Check(ctx, s); err != nil {
			t.Fatal(err)
		}
		if want := n - calls*pruneBatch; m.Stats().Entries != max(want, 0) {
			t.Fatalf("after %d checks: %d entries; want %d (one batch each)", calls, m.Stats().Entries, max(want, 0))
		}
	}
	// Writes prune too.
	for i := range n {
		if err := m.RevokeSession(ctx, fmt.Sprint(i), "", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Minute)
	if err := m.RevokeSession(ctx, "new", "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Stats().Entries, n+1-pruneBatch; got != want {
		t.Fatalf("after one write: %d entries; want %d", got, want)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{Now: clk.Now})
	const writers, checkers, n = 4, 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range n {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := m.RevokeSession(ctx, id, "s", clk.Now().Add(time.Duration(i%7+1)*time.Millisecond)); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					if err := m.RevokeSubject(ctx, fmt.Sprint("u", i), t0, clk.Now().Add(time.Second)); err != nil {
						t.Error(err)
						return
					}
				}
				clk.Add(time.Millisecond)
			}
		})
	}
	// Revoked with an until far ahead: must read as revoked throughout.
	if err := m.RevokeSession(ctx, "pinned", "s", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for range checkers {
		wg.Go(func() {
			for range n {
				if err := m.Check(ctx, SessionRef{ID: "pinned", Subject: "s", IssuedAt: t0}); !errors.Is(err, ErrRevoked) {
					t.Errorf("pinned session: %v", err)
					return
				}
				if err := m.Check(ctx, SessionRef{ID: "never", Subject: "s", IssuedAt: t0}); err != nil {
					t.Errorf("never-revoked session: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestMemoryCap: a full list refuses a new entry with ErrFull rather than
// forget a live one, after forgetting every expired entry first; updating
// an entry already held always works.
func TestMemoryCap(t *testing.T) {
	ctx := context.Background()
	const limit = 4
	tests := []struct {
		name     string
		expire   int  // how many of the filled entries have expired at the write
		subject  bool // the new entry is a subject entry
		wantFull bool
	}{
		{"full of live entries: session refused", 0, false, true},
		{"full of live entries: subject refused", 0, true, true},
		{"one expired entry makes room", 1, false, false},
		{"every expired entry is forgotten, not just a batch", limit, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			m := NewMemory(MemoryOptions{Now: clk.Now, MaxEntries: limit})
			for i := range limit {
				until := t0.Add(time.Hour)
				if i < tt.expire {
					until = t0.Add(time.Minute)
				}
				if err := m.RevokeSession(ctx, fmt.Sprint("s", i), "alice", until); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(2 * time.Minute)
			var err error
			if tt.subject {
				err = m.RevokeSubject(ctx, "bob", t0, t0.Add(time.Hour))
			} else {
				err = m.RevokeSession(ctx, "new", "bob", t0.Add(time.Hour))
			}
			if got := errors.Is(err, ErrFull); got != tt.wantFull || errors.Is(err, ErrRevoked) || (err != nil && !got) {
				t.Fatalf("revoke on a full list = %v; want ErrFull=%v", err, tt.wantFull)
			}
			st := m.Stats()
			if st.MaxEntries != limit || st.Entries > limit || (st.Rejected == 1) != tt.wantFull {
				t.Fatalf("Stats = %+v", st)
			}
			// No live revocation was forgotten.
			for i := tt.expire; i < limit; i++ {
				if err := m.Check(ctx, SessionRef{ID: fmt.Sprint("s", i), Subject: "alice", IssuedAt: t0}); !errors.Is(err, ErrRevoked) {
					t.Fatalf("live entry s%d: %v", i, err)
				}
			}
			// Strengthening an entry already held works on a full list.
			if err := m.RevokeSession(ctx, fmt.Sprint("s", limit-1), "alice", t0.Add(2*time.Hour)); err != nil {
				t.Fatalf("extend a held entry: %v", err)
			}
		})
	}
	t.Run("default and unlimited", func(t *testing.T) {
		if got := NewMemory(MemoryOptions{}).Stats().MaxEntries; got != DefaultMaxEntries {
			t.Fatalf("default MaxEntries = %d; want %d", got, DefaultMaxEntries)
		}
		m := NewMemory(MemoryOptions{MaxEntries: -1, Now: newClock(t0).Now})
		for i := range 100 {
			if err := m.RevokeSession(ctx, fmt.Sprint(i), "", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if st := m.Stats(); st.Entries != 100 || st.MaxEntries != 0 {
			t.Fatalf("unlimited: Stats = %+v", st)
		}
	})
}

// TestMemoryHeapBounded: revoking the same entries again and again (each
// time with a later until) does not grow the expiry heap without bound.
func TestMemoryHeapBounded(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{Now: clk.Now})
	for i := range 10_000 {
		if err := m.RevokeSession(ctx, fmt.Sprint(i%10), "", t0.Add(time.Hour+time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	m.mu.RLock()
	n, h := len(m.sessions), len(m.exp)
	m.mu.RUnlock()
	if n != 10 || h > 2*n+64+1 {
		t.Fatalf("%d entries, %d heap items; want 10 and a bounded heap", n, h)
	}
	// The rebuilt heap still expires entries at their latest until.
	clk.Add(time.Hour + 10*time.Second)
	for i := range 10 {
		if err := m.Check(ctx, SessionRef{ID: fmt.Sprint(i), IssuedAt: t0}); err != nil {
			t.Fatalf("entry %d after its latest until: %v", i, err)
		}
	}
	for m.Stats().Entries > 0 {
		_ = m.Check(ctx, SessionRef{ID: "x", IssuedAt: t0})
	}
}
