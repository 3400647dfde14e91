package rotate

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUsageCounts(t *testing.T) {
	var clock atomic.Int64
	clock.Store(t0.Unix())
	u, err := NewUsage(UsageOptions{Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				u.RecordSeal(uint32(g%2+1), uint32(i%3))
				u.RecordOpen(uint32(g%2+1), uint32(i%3))
				u.RecordOpen(uint32(g%2+1), uint32(i%3))
			}
		}()
	}
	wg.Wait()
	clock.Add(5)
	u.RecordOpen(2, 9)
	snap := u.Snapshot()
	if len(snap) != 7 {
		t.Fatalf("%d pairs, want 7: %+v", len(snap), snap)
	}
	var seals, opens uint64
	for i, c := range snap {
		if i > 0 && (snap[i-1].KeyID > c.KeyID || snap[i-1].KeyID == c.KeyID && snap[i-1].Epoch >= c.Epoch) {
			t.Fatalf("not sorted at %d: %+v", i, snap)
		}
		seals += c.Seals
		opens += c.Opens
	}
	if seals != 8000 || opens != 16001 {
		t.Fatalf("seals %d opens %d, want 8000 16001", seals, opens)
	}
	last := snap[len(snap)-1]
	if last.KeyID != 2 || last.Epoch != 9 || !last.LastSeen.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("last = %+v", last)
	}
	by := u.ByKey()
	if len(by) != 2 || by[0].Seals != 4000 || by[1].Opens != 8001 || !by[1].LastSeen.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("ByKey = %+v", by)
	}
}

func TestUsageBoundEvictsLeastRecentlySeen(t *testing.T) {
	now := t0
	u, err := NewUsage(UsageOptions{MaxPairs: 3, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for e := range uint32(3) {
		u.RecordOpen(1, e)
		now = now.Add(time.Second)
	}
	u.RecordOpen(1, 0) // epoch 0 is now the most recent; epoch 1 the least
	now = now.Add(time.Second)
	u.RecordSeal(1, 7)
	snap := u.Snapshot()
	if len(snap) != 3 || u.Evicted() != 1 {
		t.Fatalf("snapshot %+v evicted %d", snap, u.Evicted())
	}
	for _, c := range snap {
		if c.Epoch == 1 {
			t.Fatalf("the least recently seen pair was kept: %+v", snap)
		}
	}
}

func TestUsageNoAllocsAfterFirstUse(t *testing.T) {
	u, err := NewUsage(UsageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.RecordOpen(3, 4)
	if n := testing.AllocsPerRun(100, func() { u.RecordOpen(3, 4); u.RecordSeal(3, 4) }); n != 0 {
		t.Fatalf("%v allocations per record", n)
	}
}

func TestNewUsageRefusesBadOptions(t *testing.T) {
	for _, n := range []int{-1, PairLimit + 1} {
		if _, err := NewUsage(UsageOptions{MaxPairs: n}); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("MaxPairs %d: %v", n, err)
		}
	}
}
