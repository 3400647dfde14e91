package redis_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
)

// NewDirect and NewCached make no Redis call, so construction runs without a
// server; a misconfigured client is refused at once.
func ExampleNewCached() {
	client := goredis.NewUniversalClient(&goredis.UniversalOptions{
		Addrs:                 []string{"127.0.0.1:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()

	rv, err := redis.NewCached(client, redis.CachedOptions{StalenessBound: 10 * time.Second})
	fmt.Println(rv != nil, err)

	// Until Run has loaded the list, Check reports a fault, not a verdict.
	err = rv.Check(context.Background(), revoke.SessionRef{ID: "mM2cW1n0b3XaQf7e1kR9Zg"})
	fmt.Println(errors.Is(err, redis.ErrStale), errors.Is(err, revoke.ErrRevoked))
	// The caller starts the cache with: go rv.Run(ctx)

	bare := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer bare.Close()
	_, err = redis.NewDirect(bare, redis.Options{})
	fmt.Println(errors.Is(err, redis.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// true <nil>
	// true false
	// true
	// revoke/redis: invalid configuration: client options must set ContextTimeoutEnabled: true, so that the timeouts bound every call
}

// Stats is for metrics and health checks; before Run's first load the
// cache holds nothing and has never been confirmed (Staleness -1).
func ExampleCached_Stats() {
	client := goredis.NewUniversalClient(&goredis.UniversalOptions{
		Addrs:                 []string{"127.0.0.1:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	rv, err := redis.NewCached(client, redis.CachedOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	st := rv.Stats()
	fmt.Println(st.Entries, st.Loads, st.Staleness)
	// Output:
	// 0 0 -1ns
}
