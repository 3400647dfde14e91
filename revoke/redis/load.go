package redis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// progress is one full load, possibly over several attempts: which buckets
// are done and where each unfinished bucket's HSCAN stands. An attempt that
// fails leaves it as it is, and the next attempt of the same subscription
// generation resumes from there: every page already read stays valid,
// because the subscription has delivered every write since.
type progress struct {
	gen       int       // subscription generation it belongs to
	start     time.Time // Options.Now at creation: the load vouches for writes before it
	wallStart time.Time // for LastLoadDuration
	v1Done    bool      // V1Compat: the v1 entries have been copied into v2

	cursor [Buckets]uint64
	done   [Buckets]bool
	fields atomic.Int64 // fields read
}

func (c *Cached) newProgress(gen int) *progress {
	return &progress{gen: gen, start: c.s.opts.Now(), wallStart: time.Now()}
}

// loadRun is a load attempt running beside Run's receive loop.
type loadRun struct {
	cancel context.CancelFunc
	done   chan loadResult // receives exactly one result
}

type loadResult struct {
	prog *progress
	err  error
}

func (c *Cached) startLoad(ctx context.Context, p *progress) *loadRun {
	ctx, cancel := context.WithCancel(ctx)
	r := &loadRun{cancel: cancel, done: make(chan loadResult, 1)}
	go func() {
		err := c.loadAttempt(ctx, p)
		cancel()
		r.done <- loadResult{p, err}
	}()
	return r
}

// loadAttempt reads every bucket that p has not finished, loadWorkers at a
// time, merging each page into memory as it arrives.
func (c *Cached) loadAttempt(ctx context.Context, p *progress) error {
	// A list on a server that may evict is not worth loading: read the
	// policy first, at every load (evict.go).
	if err := c.s.evict.refresh(ctx, c.opts.SyncTimeout); err != nil {
		return err
	}
	if c.s.opts.V1Compat && !p.v1Done {
		if _, err := c.s.migrateV1(ctx, c.opts.SyncTimeout); err != nil {
			return err
		}
		p.v1Done = true
	}
	lens := c.bucketLens(ctx)
	c.presize(lens)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range loadWorkers {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= Buckets {
					return
				}
				if p.done[b] {
					continue
				}
				if err := c.loadBucket(ctx, p, b, lens[b]); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// loadBucket reads bucket b from where p stands to its end: in one HGETALL
// if it holds at most wholeBucketMax fields (hlen, from bucketLens), page
// by page with HSCAN otherwise. A page that fails is retried on its own
// (pageRetries times, with backoff); a bucket that is not a hash is
// skipped and counted.
func (c *Cached) loadBucket(ctx context.Context, p *progress, b int, hlen int64) error {
	key := c.s.keys.buckets[b]
	whole := hlen <= wholeBucketMax && p.cursor[b] == 0
	for !p.done[b] {
		var (
			kv   []string
			next uint64
			err  error
		)
		backoff := minBackoff
		for try := 0; ; try++ {
			pctx, cancel := context.WithTimeout(ctx, c.opts.SyncTimeout)
			if whole {
				var m map[string]string
				m, err = c.s.client.HGetAll(pctx, key).Result()
				kv = kv[:0]
				for f, v := range m {
					kv = append(kv, f, v)
				}
			} else {
				kv, next, err = c.s.client.HScan(pctx, key, p.cursor[b], "", loadPageCount).Result()
			}
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if goredis.HasErrorPrefix(err, "WRONGTYPE") {
				c.stats.Lock()
				c.stats.skippedBuckets++
				c.stats.Unlock()
				c.report(fmt.Errorf("revoke/redis: skipped bucket %s: not a hash", key))
				p.done[b] = true
				return nil
			}
			if try >= pageRetries {
				return unavailable(fmt.Errorf("load: bucket %s: %w", key, err))
			}
			t := time.NewTimer(backoff/2 + jitter(backoff/2+1))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			backoff = min(2*backoff, maxBackoff)
		}
		c.mergePage(p, kv)
		p.cursor[b] = next
		if next == 0 {
			p.done[b] = true
		}
	}
	return nil
}

// mergePage merges one HSCAN page (field, value, field, value, …): parsed
// and hashed outside any lock, then merged shard by shard.
func (c *Cached) mergePage(p *progress, kv []string) {
	if len(kv) == 0 {
		return
	}
	var byShard [shardCount][]item
	unknown := 0
	for i := 0; i+1 < len(kv); i += 2 {
		it, ok := c.parseEntry(kv[i], kv[i+1])
		if !ok {
			unknown++
			continue
		}
		n := it.k.a % shardCount
		byShard[n] = append(byShard[n], it)
	}
	nowMS := c.s.opts.Now().UnixMilli()
	seen := p.start.UnixNano()
	for n, items := range byShard {
		if len(items) == 0 {
			continue
		}
		sh := &c.shards[n]
		sh.mu.Lock()
		for _, it := range items {
			sh.mergeLocked(it, seen)
		}
		sh.pruneLocked(nowMS, pruneOnApply)
		sh.mu.Unlock()
	}
	p.fields.Add(int64(len(kv) / 2))
	if unknown > 0 {
		c.countUnknown(unknown)
		c.report(fmt.Errorf("revoke/redis: load skipped %d fields of unknown kind (a newer version's?)", unknown))
	}
}

// bucketLens returns the number of fields of every bucket (HLEN, one
// pipeline). A bucket whose HLEN failed reads as 0.
func (c *Cached) bucketLens(ctx context.Context) *[Buckets]int64 {
	var lens [Buckets]int64
	ctx, cancel := context.WithTimeout(ctx, c.opts.SyncTimeout)
	defer cancel()
	pipe := c.s.client.Pipeline()
	cmds := make([]*goredis.IntCmd, Buckets)
	for b := range Buckets {
		cmds[b] = pipe.HLen(ctx, c.s.keys.buckets[b])
	}
	_, _ = pipe.Exec(ctx)
	for b, cmd := range cmds {
		lens[b] = cmd.Val() // 0 for a failed command
	}
	return &lens
}

// presize sizes empty memory for the list about to be loaded, so that a
// first load of millions of entries does not grow its maps step by step.
func (c *Cached) presize(lens *[Buckets]int64) {
	if c.entries() > 0 {
		return
	}
	var total int64
	for _, n := range lens {
		total += n
	}
	per := int(total/shardCount + total/(4*shardCount))
	if per < 1024 {
		return
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		if len(sh.entries) == 0 {
			sh.entries = make(map[hkey]entry, per)
		}
		sh.mu.Unlock()
	}
}

// finishLoad records a completed load: malformed entries it did not see
// again are forgotten, and the cache is confirmed as of the load's start.
// It returns the load's duration.
func (c *Cached) finishLoad(p *progress) time.Duration {
	start := p.start.UnixNano()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, seen := range sh.bad {
			if seen < start {
				delete(sh.bad, k)
			}
		}
		sh.mu.Unlock()
	}
	took := time.Since(p.wallStart)
	c.stats.Lock()
	c.stats.loads++
	c.stats.lastLoadDuration = took
	c.stats.lastLoadEntries = int(p.fields.Load())
	c.stats.Unlock()
	c.confirm(p.start)
	return took
}
