package redistest_test

import (
	"context"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

func TestServerKillRestartKeepsData(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("GET succeeded on a killed server")
	}
	s.Restart()
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after restart GET k = %q, %v; want v", got, err)
	}
}

func TestCommandCalls(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	c.Ping(ctx) // connection setup happens before the first count
	before, err := redistest.CommandCalls(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		c.Get(ctx, "x")
	}
	after, err := redistest.CommandCalls(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d != 5 {
		t.Fatalf("5 GETs counted as %d commands", d)
	}
}

func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	c := cl.Client(t)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if err := c.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	var mu sync.Mutex
	masters, keys := 0, int64(0)
	err := c.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
		size, err := n.DBSize(ctx).Result()
		mu.Lock()
		defer mu.Unlock()
		masters++
		keys += size
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if masters != 3 || keys != 5 {
		t.Fatalf("cluster has %d masters holding %d keys; want 3 and 5", masters, keys)
	}
}
