package redis_test

import (
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke/redis"
)

// On a Sentinel client a revocation waits for one replica by default. On a
// Cluster whose masters have replicas, ask for it; a Ring has no replicas
// to wait for. A revocation that no replica acknowledged in time returns
// an error matching redis.ErrNotReplicated: call again.
func ExampleOptions_waitReplicas() {
	cluster := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs:                 []string{"127.0.0.1:7000"},
		ContextTimeoutEnabled: true,
	})
	defer cluster.Close()
	_, err := redis.NewDirect(cluster, redis.Options{WaitReplicas: 1})
	fmt.Println(err)

	ring := goredis.NewRing(&goredis.RingOptions{
		Addrs:                 map[string]string{"a": "127.0.0.1:6379"},
		ContextTimeoutEnabled: true,
	})
	defer ring.Close()
	_, err = redis.NewDirect(ring, redis.Options{WaitReplicas: 1})
	fmt.Println(errors.Is(err, redis.ErrInvalidConfig))
	// Output:
	// <nil>
	// true
}
