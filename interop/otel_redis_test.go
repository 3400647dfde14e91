package interop_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	cookiesealotel "github.com/cookieseal/cookieseal/otel"
	"github.com/cookieseal/cookieseal/revoke/redis"
	redisactive "github.com/cookieseal/cookieseal/revoke/redis/active"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// gauges collects reader and returns each gauge's (last) value by name.
func gauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[m.Name] = p.Value
				}
			}
		}
	}
	return out
}

// TestRedisCacheGauges (the otel module with revoke/redis, which otel does
// not import): on a real redis-server, the cache's gauges say
// "never confirmed" (-1) before Run's first load, then the list size and a
// staleness within the bound once it loaded.
func TestRedisCacheGauges(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	client := goredis.NewClient(srv.Options())
	defer client.Close()
	// Seconds, not the 100ms defaults: gauges, not latency, are under test.
	slow := redis.Options{CheckTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	direct, err := redis.NewDirect(client, slow)
	if err != nil {
		t.Fatal(err)
	}
	if err := direct.RevokeSubject(ctx, "alice", time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cached, err := redis.NewCached(client, redis.CachedOptions{Options: slow})
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mt, err := cookiesealotel.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mt.ObserveRevokeCache(cached.Stats); err != nil {
		t.Fatal(err)
	}
	if g := gauges(t, reader); g[cookiesealotel.NameRevokeStaleness] != -1 || g[cookiesealotel.NameRevokeEntries] != 0 {
		t.Fatalf("before the first load: %v", g)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cached.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	// Wait for the first load on loopback: bounded.
	deadline := time.Now().Add(20 * time.Second)
	for cached.Stats().Loads == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no load in 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	g := gauges(t, reader)
	st := g[cookiesealotel.NameRevokeStaleness]
	if st < 0 || st > redis.DefaultStalenessBound.Seconds() {
		t.Fatalf("staleness %v s after a load", st)
	}
	if g[cookiesealotel.NameRevokeEntries] != 1 {
		t.Fatalf("entries %v, want 1: %v", g[cookiesealotel.NameRevokeEntries], g)
	}
}

// TestActiveGaugesFromTracker: a fleet Tracker's Count is an ActiveSource
// as it is; its counts reach the gauges of every window.
func TestActiveGaugesFromTracker(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	client := goredis.NewClient(srv.Options())
	defer client.Close()
	tr, err := redisactive.New(client, redisactive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ id, subject string }{{"s1", "alice"}, {"s2", "alice"}, {"s3", "bob"}} {
		tr.Add(s.id, s.subject)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mt, err := cookiesealotel.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mt.ObserveActive(tr.Count); err != nil {
		t.Fatal(err)
	}
	g := gauges(t, reader)
	if g[cookiesealotel.NameActiveSessions] != 3 || g[cookiesealotel.NameActiveSubjects] != 2 {
		t.Fatalf("gauges %v; want 3 sessions, 2 subjects", g)
	}
}
