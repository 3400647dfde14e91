package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// revokeListSize is how many entries the list holds while checks run: a
// thousand revoked sessions spread over a hundred subjects, plus a hundred
// subject entries.
const revokeListSize = 1000

// BenchmarkRevokeCheck measures one Check of a valid session (the common
// case: the answer is "not revoked") against a populated list, and, for the
// Redis implementations, the round trips it costs, counted by the server in
// INFO commandstats.
func BenchmarkRevokeCheck(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		benchCheck(b, nil, revoke.NewMemory(revoke.MemoryOptions{}))
	})
	b.Run("redis-direct", func(b *testing.B) {
		s := redistest.Start(b)
		client := s.Client(b)
		d, err := redis.NewDirect(client, redis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchCheck(b, client, d)
	})
	b.Run("redis-cached", func(b *testing.B) {
		s := redistest.Start(b)
		client := s.Client(b)
		c, err := redis.NewCached(client, redis.CachedOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		b.Cleanup(func() { cancel(); <-done })
		deadline := time.Now().Add(5 * time.Second)
		for errors.Is(c.Check(ctx, revoke.SessionRef{ID: "probe"}), redis.ErrStale) {
			if time.Now().After(deadline) {
				b.Fatal("cache did not load")
			}
			time.Sleep(time.Millisecond)
		}
		benchCheck(b, client, c)
	})
}

func benchCheck(b *testing.B, client *goredis.Client, r revoke.Revoker) {
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Hour)
	for i := range revokeListSize {
		subject := fmt.Sprintf("user-%d", i%100)
		if err := r.RevokeSession(ctx, fmt.Sprintf("revoked-%d", i), subject, until); err != nil {
			b.Fatal(err)
		}
		if i < 100 {
			if err := r.RevokeSubject(ctx, subject, now.Add(-time.Hour), until); err != nil {
				b.Fatal(err)
			}
		}
	}
	s := revoke.SessionRef{ID: "AAAAAAAAAAAAAAAAAAAAAA", Subject: "user-7", IssuedAt: now}
	if err := r.Check(ctx, s); err != nil { // also opens the connection
		b.Fatal(err)
	}

	var before int64
	if client != nil {
		var err error
		if before, err = redistest.CommandCalls(ctx, client); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Check(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	if client != nil {
		after, err := redistest.CommandCalls(ctx, client)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(after-before)/float64(b.N), "roundtrips/op")
	}
}
