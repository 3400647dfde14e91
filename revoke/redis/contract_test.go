package redis_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
	"github.com/cookieseal/cookieseal/revoke/revoketest"
)

// contract runs package revoke's Revoker contract (revoketest) against
// Direct and Cached on client, in layout v2 and with V1Compat (the
// upgrade window, when both layouts are written and read), each check on
// a prefix of its own.
func contract(t *testing.T, client goredis.UniversalClient) {
	var n atomic.Int64
	prefix := func() string { return fmt.Sprintf("revoketest:%d:", n.Add(1)) }
	for _, v1 := range []bool{false, true} {
		name := map[bool]string{false: "", true: "-v1compat"}[v1]
		t.Run("direct"+name, func(t *testing.T) {
			revoketest.Run(t, func(t *testing.T, now func() time.Time) revoke.Revoker {
				d, err := redis.NewDirect(client, redis.Options{Prefix: prefix(), Now: now, V1Compat: v1})
				if err != nil {
					t.Fatal(err)
				}
				return d
			})
		})
		t.Run("cached"+name, func(t *testing.T) {
			revoketest.Run(t, func(t *testing.T, now func() time.Time) revoke.Revoker {
				// The checks move now by a day: the staleness bound (by
				// now's clock) must outlast that, as the suite asks.
				return startCached(t, client, redis.CachedOptions{
					Options:        redis.Options{Prefix: prefix(), Now: now, V1Compat: v1},
					StalenessBound: 48 * time.Hour,
				})
			})
		})
	}
}

func TestContract(t *testing.T) {
	s := redistest.Start(t)
	contract(t, s.Client(t))
}

func TestClusterContract(t *testing.T) {
	c := redistest.StartCluster(t)
	contract(t, c.Client(t))
}
