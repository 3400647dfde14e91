package redistest_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

func TestSentinelPromotesReplica(t *testing.T) {
	sn := redistest.StartSentinel(t, redistest.SentinelOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if addr, err := sn.MasterAddr(ctx); err != nil || addr != sn.Master.Addr {
		t.Fatalf("MasterAddr = %q, %v; want %s", addr, err, sn.Master.Addr)
	}
	c := goredis.NewFailoverClient(sn.FailoverOptions())
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Wait(ctx, 1, time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want 1 replica", n, err)
	}
	sn.Master.Kill()
	if got := sn.WaitPromotion(ctx, sn.Master.Addr); got != sn.Replicas[0].Addr {
		t.Fatalf("promoted %s; want the replica %s", got, sn.Replicas[0].Addr)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k on the new master = %q, %v; want v", got, err)
	}
}

func TestLinkHoldAndRelease(t *testing.T) {
	s := redistest.Start(t)
	link := redistest.NewLink(t, s.Addr)
	c := goredis.NewClient(&goredis.Options{Addr: link.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING through the link: %v", err)
	}
	link.Hold()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := c.Ping(short).Err()
	cancel()
	if err == nil {
		t.Fatal("PING crossed a held link")
	}
	link.Release()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Release: %v", err)
	}
}
