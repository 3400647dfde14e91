package active_test

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	localactive "github.com/cookieseal/cookieseal/active"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke/redis/active"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// trips counts the calls a client makes to Redis: single commands and
// pipelines (one round trip each).
type trips struct{ single, pipelines atomic.Int64 }

func (h *trips) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *trips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.single.Add(1)
		return next(ctx, cmd)
	}
}
func (h *trips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.pipelines.Add(1)
		return next(ctx, cmds)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fleet starts one redis-server and n trackers, each on its own client.
func fleet(t *testing.T, n int, clk *clock) ([]*active.Tracker, []*trips) {
	srv := redistest.Start(t)
	var trackers []*active.Tracker
	var hooks []*trips
	for range n {
		c := srv.Client(t)
		h := &trips{}
		c.AddHook(h)
		// Connect first: the handshake (HELLO, CLIENT SETINFO) is not
		// the tracker's.
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		h.single.Store(0)
		h.pipelines.Store(0)
		tr, err := active.New(c, active.Options{Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		trackers = append(trackers, tr)
		hooks = append(hooks, h)
	}
	return trackers, hooks
}

// TestFleetCountAgainstTruth: three instances see overlapping sessions
// (each id on one or two instances); the fleet-wide count is within 2% of
// the true number of distinct sessions and subjects, and each instance
// made no Redis call while adding and exactly one round trip per flush.
// 1M sessions run with COOKIESEAL_ACTIVE_REDIS_1M=1.
func TestFleetCountAgainstTruth(t *testing.T) {
	sizes := []int{10_000}
	if os.Getenv("COOKIESEAL_ACTIVE_REDIS_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
			trackers, hooks := fleet(t, 3, clk)
			ctx := context.Background()
			subjects := n / 10
			flushes := 0
			flush := func() {
				for _, tr := range trackers {
					if err := tr.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
				flushes++
				for i, h := range hooks {
					if s, p := h.single.Load(), h.pipelines.Load(); s != 0 || p > int64(flushes) || p == 0 {
						t.Fatalf("instance %d: %d flushes took %d commands and %d pipelines, want at most one pipeline each (none when empty)", i, flushes, s, p)
					}
				}
			}
			for i := range n {
				id, sub := "session-"+strconv.Itoa(i), "user-"+strconv.Itoa(i%subjects)
				trackers[i%3].Add(id, sub)
				if i%4 == 0 { // the same session on another instance too
					trackers[(i+1)%3].Add(id, sub)
				}
				if i == 0 {
					for j, h := range hooks {
						if s, p := h.single.Load(), h.pipelines.Load(); s+p != 0 {
							t.Fatalf("instance %d: %d commands, %d pipelines while adding", j, s, p)
						}
					}
				}
				if i%100_000 == 99_999 { // a second's worth at 100k requests/s
					flush()
				}
			}
			flush()
			for _, tr := range trackers {
				if tr.Dropped() != 0 {
					t.Fatalf("dropped %d ids: the buffer filled between flushes", tr.Dropped())
				}
			}
			for _, w := range []time.Duration{5 * time.Minute, time.Hour, 24 * time.Hour} {
				got, err := trackers[0].Count(ctx, w)
				if err != nil {
					t.Fatal(err)
				}
				es := (float64(got.Sessions) - float64(n)) / float64(n)
				eu := (float64(got.Subjects) - float64(subjects)) / float64(subjects)
				t.Logf("n=%d window %v: sessions %.0f (error %+.3f%%), subjects %.0f of %d (error %+.3f%%)", n, w, got.Sessions, 100*es, got.Subjects, subjects, 100*eu)
				if math.Abs(es) > 0.02 || math.Abs(eu) > 0.02 {
					t.Fatalf("relative error over 2%%")
				}
			}
		})
	}
}

// TestFleetWindows: ids flushed ten minutes ago leave the 5-minute window
// but stay in the hour's and the day's; two hours later only the day's.
func TestFleetWindows(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 30, 10, 0, 30, 0, time.UTC)}
	trackers, _ := fleet(t, 2, clk)
	ctx := context.Background()
	add := func(tr *active.Tracker, prefix string, n int) {
		for i := range n {
			tr.Add(prefix+strconv.Itoa(i), "")
		}
		if err := tr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	add(trackers[0], "early-", 300)
	clk.add(10 * time.Minute)
	add(trackers[1], "late-", 100)
	want := map[time.Duration]float64{5 * time.Minute: 100, time.Hour: 400, 24 * time.Hour: 400}
	check := func(step string) {
		for w, n := range want {
			got, err := trackers[0].Count(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.Sessions-n) > 0.02*n+1 {
				t.Fatalf("%s: window %v: %.0f sessions, want about %.0f", step, w, got.Sessions, n)
			}
		}
	}
	check("after 10 minutes")
	clk.add(2 * time.Hour)
	want = map[time.Duration]float64{5 * time.Minute: 0, time.Hour: 0, 3 * time.Hour: 400, 24 * time.Hour: 400}
	check("after two hours")
	for _, w := range []time.Duration{0, 25 * time.Hour} {
		if _, err := trackers[0].Count(ctx, w); !errors.Is(err, localactive.ErrWindow) {
			t.Fatalf("window %v: %v", w, err)
		}
	}
}

// TestRunFlushesOnStop: Run sends what Observe buffered when its context
// ends; the manager's events feed it.
func TestRunFlushesOnStop(t *testing.T) {
	clk := &clock{t: time.Now()}
	trackers, _ := fleet(t, 1, clk)
	tr := trackers[0]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	for i := range 50 {
		tr.Observe(middleware.Event{Kind: middleware.EventOpened, SessionID: "s" + strconv.Itoa(i), Subject: "u"})
	}
	tr.Observe(middleware.Event{Kind: middleware.EventRejected, SessionID: "x"})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	got, err := tr.Count(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sessions != 50 || got.Subjects != 1 {
		t.Fatalf("%+v", got)
	}
}

// TestBufferBoundAndOptions: a full buffer drops (and counts) new ids;
// a FlushInterval under a second is refused.
func TestBufferBoundAndOptions(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", Dialer: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no dial in this test")
	}})
	defer c.Close()
	if _, err := active.New(c, active.Options{FlushInterval: 500 * time.Millisecond}); err == nil {
		t.Fatal("sub-second interval accepted")
	}
	tr, err := active.New(c, active.Options{MaxBuffer: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		tr.Add("s"+strconv.Itoa(i), "")
	}
	tr.Add("s0", "") // already buffered: not a drop
	if d := tr.Dropped(); d != 10 {
		t.Fatalf("dropped %d, want 10", d)
	}
	if err := tr.Flush(context.Background()); err == nil {
		t.Fatal("flush to an unreachable server succeeded")
	}
}

// TestClusterOneSlot: on a Redis Cluster, every key of a Tracker shares
// one hash slot, so the multi-key PFCOUNT of a window works.
func TestClusterOneSlot(t *testing.T) {
	cl := redistest.StartCluster(t)
	clk := &clock{t: time.Date(2026, 11, 30, 10, 0, 30, 0, time.UTC)}
	ctx := context.Background()
	var trackers []*active.Tracker
	for range 2 {
		tr, err := active.New(cl.Client(t), active.Options{Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		trackers = append(trackers, tr)
	}
	for i := range 2000 {
		trackers[i%2].Add("s"+strconv.Itoa(i), "u"+strconv.Itoa(i%50))
	}
	clk.add(3 * time.Minute)
	for i := range 1000 {
		trackers[i%2].Add("t"+strconv.Itoa(i), "")
	}
	for _, tr := range trackers {
		if err := tr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []time.Duration{5 * time.Minute, time.Hour, 24 * time.Hour} {
		got, err := trackers[1].Count(ctx, w)
		if err != nil {
			t.Fatalf("window %v: %v", w, err)
		}
		// Everything was flushed in the same minute (the clock moved
		// before the flush), so the windows agree.
		if math.Abs(got.Sessions-3000) > 60 || math.Abs(got.Subjects-50) > 2 {
			t.Fatalf("window %v: %+v, want about 3000 sessions, 50 subjects", w, got)
		}
	}
}
