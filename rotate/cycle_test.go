package rotate

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// The rotation cycle test runs a fleet of two instances, A and B, each
// with its own FileSource, Holder, Reloader and codec, over one key set
// file. Workers seal and open sessions on random instances and re-seal a
// valid value under the primary as the session manager does, while the
// driver steps keys through add, promote, demote and remove, rewrites the
// file (with a bad version now and then) and reloads: A at once, B only
// after a lag shorter than the roll-out delay. The clock is a fake that
// only the driver moves.
//
// Invariants: no worker ever sees an unexpired value rejected (unless an
// emergency removal of its key was announced before the rejection), and
// no value sealed under a key is accepted by an instance that has
// finished the reload that removed the key.

const (
	cycPeriod  = time.Minute // epoch period: epochs turn over every third step
	cycStep    = 20 * time.Second
	cycLag     = 2 * time.Minute // how long B lags behind A's reload
	cycIdle    = 10 * time.Minute
	cycAbs     = 30 * time.Minute
	cycSkew    = time.Second
	cycRefresh = time.Minute
)

var cycPolicy = Policy{Lifetime: keyring.Lifetime{RolloutDelay: 5 * time.Minute, AbsoluteTimeout: cycAbs, ClockSkew: cycSkew}}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type instance struct {
	name  string
	h     *Holder
	r     *Reloader
	codec *cookie.Codec
	usage *Usage
	// mustReject: keys whose removal this instance has finished loading
	// (published after the swap). mayReject: keys being removed in an
	// emergency (published before the swap).
	mustReject, mayReject atomic.Pointer[map[uint32]bool]
}

type header struct {
	keyID             uint32
	issued, refreshed time.Time
}

func parseHeader(t testing.TB, v string) header {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < 25 {
		t.Errorf("unparseable value")
		return header{}
	}
	return header{
		keyID:     binary.BigEndian.Uint32(raw[1:]),
		issued:    time.UnixMilli(int64(binary.BigEndian.Uint64(raw[9:]))),
		refreshed: time.UnixMilli(int64(binary.BigEndian.Uint64(raw[17:]))),
	}
}

func (h header) deadline() time.Time {
	d := h.issued.Add(cycAbs)
	if idle := h.refreshed.Add(cycIdle); idle.Before(d) {
		d = idle
	}
	return d.Add(cycSkew)
}

type violations struct {
	n    atomic.Int64
	mu   sync.Mutex
	msgs []string
}

func (v *violations) add(format string, args ...any) {
	v.n.Add(1)
	v.mu.Lock()
	if len(v.msgs) < 10 {
		v.msgs = append(v.msgs, fmt.Sprintf(format, args...))
	}
	v.mu.Unlock()
}

type tally struct {
	opens, seals, reseals, expired, expiredIdle, emergencyLogouts atomic.Int64
}

func TestRotationCycleUnderLoad(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixNano())
	path := filepath.Join(t.TempDir(), "keys.json")
	first, err := keyring.GenerateKey(keyring.StatusPrimary, clk.now().Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, path, keyring.Set{Keys: []keyring.Key{first}, EpochPeriod: cycPeriod})

	var insts [2]*instance
	var reloadErrs atomic.Int64
	ticksA := make(chan time.Time)
	for i, name := range []string{"A", "B"} {
		src := NewFileSource(path)
		h, err := LoadHolder(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		opts := ReloaderOptions{Now: clk.now, Policy: cycPolicy, OnError: func(error) { reloadErrs.Add(1) }}
		if i == 0 {
			opts.Ticks = ticksA
		}
		r, err := NewReloader(h, src, opts)
		if err != nil {
			t.Fatal(err)
		}
		u, err := NewUsage(UsageOptions{Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		c, err := cookie.New(h, "session", cookie.Options{IdleTimeout: cycIdle, AbsoluteTimeout: cycAbs, ClockSkew: cycSkew, Now: clk.now, Usage: u})
		if err != nil {
			t.Fatal(err)
		}
		in := &instance{name: name, h: h, r: r, codec: c, usage: u}
		empty := map[uint32]bool{}
		in.mustReject.Store(&empty)
		in.mayReject.Store(&empty)
		insts[i] = in
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- insts[0].r.Run(runCtx) }()

	var bad violations
	var tl tally
	const workers = 6
	var progress [workers]atomic.Int64
	stop := make(chan struct{})
	// Workers run up to perStep iterations per clock step, then wait for
	// the next step, so that the run's length is set by the steps.
	const perStep = 6
	gen0 := make(chan struct{})
	var gen atomic.Pointer[chan struct{}]
	gen.Store(&gen0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			// cur is a busy client's session, stale an older copy of it
			// (a second tab), and sleepers are clients that come back
			// only every sleepEvery steps, within the idle timeout, at
			// staggered steps: they hold values under an old key longest.
			var cur, stale string
			var sleepers [20]string
			var due [len(sleepers)]time.Time
			// A sleeper comes back at the first step at or after its due
			// time, so at most one step late, and its value may have been
			// refreshed up to cycRefresh before: within cycIdle.
			const sleepEvery = cycIdle - cycRefresh - 2*cycStep
			for j := range due {
				due[j] = clk.now().Add(time.Duration((w*len(sleepers)+j)%29) * cycStep)
			}
			done := 0
			next := gen.Load()
			for iter := 0; ; iter++ {
				if done == perStep {
					select {
					case <-stop:
						return
					case <-*next:
					}
					done, next = 0, gen.Load()
				}
				select {
				case <-stop:
					return
				default:
				}
				in := insts[rng.IntN(2)]
				if cur == "" {
					cur = sealNew(in, w, &bad, &tl)
					stale = cur
				}
				for j, v := range sleepers {
					if v == "" {
						sleepers[j] = sealNew(in, w, &bad, &tl)
					}
				}
				cur = openAndCheck(t, in, cur, &bad, &tl, true)
				if stale != "" && iter%3 == 0 {
					stale = openAndCheck(t, insts[rng.IntN(2)], stale, &bad, &tl, false)
				}
				if iter%25 == 0 {
					stale = cur
				}
				for j := range sleepers {
					if now := clk.now(); !now.Before(due[j]) {
						sleepers[j] = openAndCheck(t, insts[rng.IntN(2)], sleepers[j], &bad, &tl, true)
						due[j] = now.Add(sleepEvery)
					}
				}
				progress[w].Add(1)
				done++
			}
		}()
	}

	reload := func(in *instance) {
		t.Helper()
		if err := in.r.Reload(ctx); err != nil {
			t.Fatalf("reload of %s: %v", in.name, err)
		}
	}
	publish := func(p *atomic.Pointer[map[uint32]bool], id uint32) {
		m := map[uint32]bool{}
		for k := range *p.Load() {
			m[k] = true
		}
		m[id] = true
		p.Store(&m)
	}
	// B reloads cycLag after A: dueB is when, and removedB the keys whose
	// removal B finishes loading then.
	var dueB time.Time
	var removedB []uint32
	reloadBLater := func(removed ...uint32) {
		if dueB.IsZero() {
			dueB = clk.now().Add(cycLag)
		}
		removedB = append(removedB, removed...)
	}
	settleB := func() {
		if dueB.IsZero() {
			return
		}
		reload(insts[1])
		for _, id := range removedB {
			publish(&insts[1].mustReject, id)
		}
		dueB, removedB = time.Time{}, nil
	}

	// step moves the clock, reloads B if due, and waits until every
	// worker has begun its quota at the new time.
	step := func(d time.Duration) {
		t.Helper()
		var base [workers]int64
		for i := range progress {
			base[i] = progress[i].Load()
		}
		clk.advance(d)
		if !dueB.IsZero() && !clk.now().Before(dueB) {
			settleB()
		}
		nextGen := make(chan struct{})
		close(*gen.Swap(&nextGen))
		select {
		case ticksA <- clk.now():
		default: // Run is busy: it reloads on a later tick
		}
		// Go on (to reload, say) while the workers are mid-quota.
		for i := range progress {
			for progress[i].Load() < base[i]+2 && bad.n.Load() == 0 {
				runtime.Gosched()
			}
		}
	}
	stepUntil := func(at time.Time) {
		for clk.now().Before(at) {
			step(cycStep)
		}
	}
	edit := func(f func(keyring.Set) (keyring.Set, error)) {
		t.Helper()
		if err := UpdateKeyFile(path, f); err != nil {
			t.Fatal(err)
		}
	}
	primary := func() uint32 { return insts[0].h.Keyring().Primary().ID }

	const cycles = 3
	var removed []uint32
	for range cycles {
		old := primary()
		// Add: A loads the new key at once, B after a lag.
		var added keyring.Key
		edit(func(s keyring.Set) (keyring.Set, error) {
			s, k, err := Add(s, clk.now())
			added = k
			return s, err
		})
		reload(insts[0])
		reloadBLater()

		// Promote: refused before the roll-out delay, done as soon as it
		// has passed.
		edit(func(s keyring.Set) (keyring.Set, error) {
			if _, err := Promote(s, added.ID, clk.now(), cycPolicy); !errors.Is(err, ErrTooSoon) {
				t.Errorf("early promote: %v, want ErrTooSoon", err)
			}
			return s, nil
		})
		at, _ := cycPolicy.PromotableAt(added)
		stepUntil(at)
		edit(func(s keyring.Set) (keyring.Set, error) { return Promote(s, added.ID, clk.now(), cycPolicy) })
		reload(insts[0])
		if primary() != added.ID {
			t.Fatalf("A's primary = %d, want %d", primary(), added.ID)
		}
		reloadBLater() // B still seals under the old primary meanwhile

		// A bad rewrite under load: reported, and the keyring stays.
		good, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		before := insts[0].h.Keyring()
		if err := os.WriteFile(path, good[:len(good)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := insts[0].r.Reload(ctx); !errors.Is(err, keyring.ErrInvalidKeySet) {
			t.Fatalf("reload of a truncated file: %v", err)
		}
		if insts[0].h.Keyring() != before {
			t.Fatal("a truncated file replaced A's keyring")
		}
		if err := os.WriteFile(path, good, 0o600); err != nil {
			t.Fatal(err)
		}
		reload(insts[0])

		// Remove the demoted key: refused while it drains, done as soon
		// as it has drained.
		var demoted keyring.Key
		edit(func(s keyring.Set) (keyring.Set, error) {
			if _, err := Remove(s, old, clk.now(), cycPolicy); !errors.Is(err, ErrInUse) {
				t.Errorf("early remove: %v, want ErrInUse", err)
			}
			demoted = keyByID(t, s, old)
			return s, nil
		})
		at, ok := cycPolicy.RemovableAt(demoted)
		if !ok {
			t.Fatalf("key %d not removable", old)
		}
		stepUntil(at)
		edit(func(s keyring.Set) (keyring.Set, error) { return Remove(s, old, clk.now(), cycPolicy) })
		reload(insts[0])
		publish(&insts[0].mustReject, old)
		reloadBLater(old)
		removed = append(removed, old)
	}
	stepUntil(dueB)

	// A leak: the primary's key is out. Keep a value sealed under it,
	// replace it at once and remove it with the emergency overrides.
	leaked := primary()
	leakedValue, err := insts[0].codec.Seal([]byte(`{"leaked":true}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	emergency := cycPolicy
	emergency.EmergencySkipRolloutDelay, emergency.EmergencyRemove = true, true
	var fresh keyring.Key
	edit(func(s keyring.Set) (keyring.Set, error) {
		s, k, err := Add(s, clk.now())
		fresh = k
		return s, err
	})
	for _, in := range insts { // an emergency: every instance reloads now
		reload(in)
	}
	edit(func(s keyring.Set) (keyring.Set, error) {
		if _, err := Promote(s, fresh.ID, clk.now(), cycPolicy); !errors.Is(err, ErrTooSoon) {
			t.Errorf("promote without override: %v", err)
		}
		return Promote(s, fresh.ID, clk.now(), emergency)
	})
	for _, in := range insts {
		reload(in)
	}
	step(cycStep)
	edit(func(s keyring.Set) (keyring.Set, error) {
		if _, err := Remove(s, leaked, clk.now(), cycPolicy); !errors.Is(err, ErrInUse) {
			t.Errorf("remove without override: %v", err)
		}
		return Remove(s, leaked, clk.now(), emergency)
	})
	for _, in := range insts {
		publish(&in.mayReject, leaked)
		reload(in)
		publish(&in.mustReject, leaked)
	}
	stepUntil(clk.now().Add(10 * time.Minute)) // every sleeper comes back once
	for _, in := range insts {
		if _, _, err := in.codec.Open(leakedValue); !errors.Is(err, cookie.ErrInvalid) {
			t.Errorf("%s: value under the removed leaked key: %v, want ErrInvalid", in.name, err)
		}
	}
	removed = append(removed, leaked)

	close(stop)
	wg.Wait()
	stopRun()
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}

	if n := bad.n.Load(); n != 0 {
		t.Fatalf("%d violations, first ones:\n%v", n, bad.msgs)
	}
	for _, in := range insts {
		for _, id := range removed {
			if _, ok := in.h.Keyring().Lookup(id); ok {
				t.Errorf("%s still holds removed key %d", in.name, id)
			}
		}
	}
	// The usage counters saw every key that sealed.
	sealedBy := map[uint32]bool{}
	for _, in := range insts {
		for _, c := range in.usage.ByKey() {
			if c.Seals > 0 {
				sealedBy[c.KeyID] = true
			}
		}
	}
	for _, id := range append(removed, fresh.ID) {
		if !sealedBy[id] {
			t.Errorf("no seals counted under key %d", id)
		}
	}
	if n := tl.expiredIdle.Load(); n != 0 {
		t.Errorf("%d sessions expired idle: the test's clients came back too late to test the drain", n)
	}
	if tl.opens.Load() < 10000 || tl.reseals.Load() == 0 || tl.expired.Load() == 0 || tl.emergencyLogouts.Load() == 0 {
		t.Fatalf("too little load to mean anything: opens %d reseals %d expired %d emergency logouts %d",
			tl.opens.Load(), tl.reseals.Load(), tl.expired.Load(), tl.emergencyLogouts.Load())
	}
	t.Logf("opens %d, seals %d, re-seals %d, expired %d (idle %d), emergency logouts %d, reload errors %d",
		tl.opens.Load(), tl.seals.Load(), tl.reseals.Load(), tl.expired.Load(), tl.expiredIdle.Load(), tl.emergencyLogouts.Load(), reloadErrs.Load())
}

func sealNew(in *instance, w int, bad *violations, tl *tally) string {
	v, err := in.codec.Seal([]byte(fmt.Sprintf(`{"worker":%d}`, w)), time.Time{})
	if err != nil {
		bad.add("seal on %s: %v", in.name, err)
		return ""
	}
	tl.seals.Add(1)
	return v
}

// openAndCheck opens v on in and checks the invariants. For a live
// session (refresh true) it returns the value the client holds next: v,
// a re-sealed value, or "" when the session ended.
func openAndCheck(t testing.TB, in *instance, v string, bad *violations, tl *tally, refresh bool) string {
	must := *in.mustReject.Load()
	h := parseHeader(t, v)
	payload, m, err := in.codec.Open(v)
	may := *in.mayReject.Load()
	now := in.codecNow()
	if err == nil {
		tl.opens.Add(1)
		if must[m.KeyID] {
			bad.add("%s accepted a value under removed key %d", in.name, m.KeyID)
		}
		if !refresh {
			return v
		}
		kr := in.h.Keyring()
		if m.KeyID == kr.Primary().ID && m.Epoch == kr.Epoch(now) && now.Sub(m.RefreshedAt) < cycRefresh {
			return v
		}
		nv, err := in.codec.Seal(payload, m.IssuedAt)
		if err != nil {
			bad.add("%s re-seal: %v", in.name, err)
			return ""
		}
		tl.reseals.Add(1)
		return nv
	}
	switch {
	case now.After(h.deadline()):
		tl.expired.Add(1)
		if h.refreshed.Add(cycIdle).Before(h.issued.Add(cycAbs)) {
			tl.expiredIdle.Add(1)
		}
	case errors.Is(err, cookie.ErrInvalid) && may[h.keyID]:
		tl.emergencyLogouts.Add(1)
	default:
		bad.add("%s rejected a valid value (key %d, issued %v, refreshed %v, now %v): %v",
			in.name, h.keyID, h.issued, h.refreshed, now, err)
	}
	if refresh {
		return ""
	}
	return v
}

// codecNow reads the clock the codec uses, after an Open.
func (in *instance) codecNow() time.Time { return in.r.opts.Now() }
