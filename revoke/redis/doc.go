// Package redis is a revoke.Revoker on Redis, for a fleet of instances that
// share one revocation list. It works on any go-redis v9 UniversalClient:
// a standalone server, Sentinel (failover) or Cluster.
//
// For most uses, create one client, then [NewCached], and start its Run in a
// goroutine of your own; hand the [Cached] to the middleware. Use [NewDirect]
// where a background loop does not fit (a CLI, a short-lived function), or
// where every check must see Redis as it is this instant.
//
// # What a check costs
//
//   - [Direct]: one round trip per check, bounded by Options.CheckTimeout
//     (100ms by default): one HMGET of two fields of one key (a session with
//     a subject: the session's entry and the subject's entry) or one HGET (a
//     session without subject). See the key layout below.
//   - Cached: no round trip. Checks are answered from memory that Run keeps
//     in step with Redis; a check costs a few hundred nanoseconds, about
//     twice what revoke.Memory's does.
//
// A revocation (RevokeSession, RevokeSubject) is one round trip on either,
// bounded by Options.WriteTimeout (1s): a Lua script that writes the entry,
// keeps the later before and until of an existing one, lengthens the
// bucket's TTL, sweeps a few expired entries and publishes the entry on the
// prefix's channel, atomically.
//
// # Key layout (v2)
//
// The list lives in 1024 Redis hashes, the buckets. With the default
// prefix "cookieseal:revoke:" (P below), bucket b (0 to 1023) is the key
//
//	P + "v2:{" + b as 3 lowercase hex digits + "}"     cookieseal:revoke:v2:{000} … cookieseal:revoke:v2:{3ff}
//
// An entry is one field of one bucket:
//
//	field "u:" + esub               value "<beforeMS>:<untilMS>"   subject entry
//	field "s:" + esub + ":" + id    value "<untilMS>"              session entry (esub is "" without subject)
//
// and every write is published on the channel P + "v2:events" as the
// message value + "\n" + field.
//
//   - Times are Unix milliseconds, decimal integers that fit in 64 bits
//     (an optional '-', then ASCII digits; nothing else, no '+', no spaces).
//     A subject entry revokes every session of the subject issued strictly
//     before beforeMS; both kinds stop mattering at untilMS.
//   - esub is the subject with '%' written "%25" and ':' written "%3A" (upper
//     case hex), so that in a session field the first ':' after "s:" ends
//     the subject; the id follows as is and may contain anything. Subjects and
//     ids are bytes: Redis fields are binary-safe.
//   - The bucket of an entry is crc32(subject) & 1023, or crc32(id) & 1023 for
//     a session without subject, where crc32 is the IEEE CRC-32 of the raw
//     bytes (Go's hash/crc32.ChecksumIEEE, Python's zlib.crc32). A subject's
//     entry and all its sessions' entries are therefore in one hash, one key,
//     one Cluster slot. The hash tag "{bbb}" spreads the 1024 buckets over the
//     slots, so a Cluster's masters share the list.
//
// A check is one command on one key, so one round trip and one slot:
//
//	HMGET <bucket(subject)> "u:"+esub "s:"+esub+":"+id   session with a subject
//	HGET  <bucket(id)> "s::"+id                          session without subject
//
// The session is revoked if the session field holds an untilMS later than
// now (the checker's clock, in Unix ms), or the subject field holds an
// untilMS later than now and a beforeMS later than the session's issued-at
// in Unix ms. A field whose value does not parse revokes what it names (an
// unparsable session field: that session; an unparsable subject field:
// every session of the subject) for as long as Redis holds it: fail closed
// for that one entry. A missing field, or a missing bucket, revokes nothing.
//
// A revocation is one script call (EVALSHA) on the entry's bucket that,
// atomically: merges the new entry with the existing field (keeping the
// later beforeMS and the later untilMS; a malformed existing value is
// replaced), writes it with HSET, sets the bucket's TTL to at least
// untilMS − now (PEXPIRE, only ever lengthened, so that a bucket nobody
// writes to any more vanishes once its last entry has expired), deletes
// expired entries among up to 16 fields read from a random HSCAN cursor
// (HDEL of fields whose untilMS ≤ now; fields it cannot parse are left
// alone), and publishes the entry. now is the writer's clock. Fields carry
// no TTL of their own (Redis 7.0 has no HEXPIRE): a field past its untilMS
// has no effect on any check, and the sampled sweep on every write keeps the
// expired share of a bucket small, while the bucket TTL bounds an idle
// bucket's life.
//
// A full load (Cached) reads the 1024 buckets, eight at a time: HLEN of
// every bucket (one pipeline), then each bucket in one HGETALL, or, if it
// holds more than 50,000 fields, page by page with HSCAN (COUNT 1000). Its
// cost is proportional to the list, not to the database: no SCAN of the
// keyspace. Each bucket or page is one call with its own timeout
// (SyncTimeout), retried on its own; an attempt that still fails leaves its
// progress, and the next attempt resumes there. A bucket that is not a
// hash and a field of a kind this version does not know (a newer
// version's) are skipped and counted in [Cached.Stats] (revoke.CacheStats), never a failed load.
//
// Why hashes in fixed buckets: one key per check keeps Direct at one round
// trip on every deployment; a load walks a known set of keys, so unrelated
// data in the same database costs nothing; a bucket with up to 128 entries
// (hash-max-listpack-entries) is stored as a compact listpack, which covers
// lists up to about 100k entries at the Redis defaults; and the layout needs
// nothing newer than Redis 6.2. A sorted set scored by expiry was the other
// candidate: exact cleanup, but it stores each entry twice (member and
// score index) for no gain in check or load cost.
//
// # Versions and upgrade from v1
//
// The "v2:" segment names the layout version; a later layout takes another
// segment and this version ignores it. The v1 layout (cookieseal before
// this version) kept one string key per entry:
//
//	P + "{" + subject + "}:u"        "<beforeMS>:<untilMS>"   (subject with %, {, } percent-encoded)
//	P + "{" + subject + "}:s:" + id  "<untilMS>"
//	P + "s:" + id                    "<untilMS>"
//	P + "events"                     channel, message value + "\n" + key
//
// with a TTL of untilMS − now. Upgrading loses no revocation if you:
//
//  1. deploy this version with Options.V1Compat set: it writes every
//     revocation in both layouts (so instances still on v1 see it), Direct
//     checks read both (pipelined, still one round trip on one server), and
//     Cached subscribes to both channels and copies the v1 entries into v2
//     before each full load (a SCAN over the keyspace: the v1 cost, only
//     during the window);
//  2. once no v1 instance is left, run [MigrateV1] once (it copies every v1
//     entry into v2, keeping the later times; safe to repeat or run
//     concurrently), then turn V1Compat off. The v1 keys expire by their TTL.
//
// # Staleness bound (Cached)
//
// Run confirms the cache in two ways: a full load (of the 1024 buckets),
// and a heartbeat PING on the subscription every HeartbeatInterval, whose
// reply proves that every entry published before it has been applied. If
// neither has happened within CachedOptions.StalenessBound
// ([DefaultStalenessBound], 1m, by default), Check returns an error matching
// [ErrStale] (and [ErrUnavailable]) instead of answering from memory that may
// miss revocations; so does a Cached whose Run has not completed its
// first load. Put plainly: a Check that returns nil at time T reflects
// every revocation that Redis acknowledged before T − StalenessBound. In
// normal operation a revocation reaches every Cached in one pub/sub hop,
// about a millisecond. On a Cluster, PUBLISH is relayed between nodes over
// the cluster bus, which adds that bus's delay.
//
// A heartbeat vouches only for a stream with no gap. When the subscription
// is re-established (go-redis reconnects and re-subscribes on its own after
// a dropped connection, a failover or a maintenance handoff, and the
// subscription's new confirmation message arrives), messages may have been
// lost, so Run starts a full load and no heartbeat confirms anything until
// that load completes; revoke.CacheStats.Resubscriptions counts these. A periodic
// reload that fails does not end the subscription: it is reported, retried
// from the page that failed, and heartbeats keep the cache fresh meanwhile.
//
// # Foreign data
//
// Nothing a newer version or an operator leaves in Redis can stop a load.
// A load reads only the 1024 bucket keys; a field of a kind this version
// does not know is skipped, as is a bucket key that is not a hash, and both
// are counted (revoke.CacheStats.UnknownFields and SkippedBuckets) and reported to
// OnError. (A bucket key overwritten with another type holds no entry any
// more; Direct's checks and every write on it fail with ErrUnavailable
// until it is deleted, so the fault shows.) A field of a known kind whose value does not parse revokes what
// it names, on Direct and Cached alike, for as long as Redis holds it (fail
// closed for that one entry); the next write of that entry replaces it.
//
// # Size, load time and metrics
//
// Layout v2 costs Redis about 53 bytes an entry at 100k entries (compact
// listpack buckets) and 105 to 115 bytes from a million on; a Cached holds
// about 70 to 85 bytes of Go heap an entry. A full load costs Redis about
// 0.3 µs of CPU an entry and the loading process about 0.9 µs, whatever
// else the database holds: 10 million entries load in about 7 seconds on
// two cores. Measured figures and the commands that reproduce them are in
// docs/revocation.md and in package bench.
// Periodic reloads are stretched to 60 times the last load's duration when
// that exceeds ResyncInterval, so reloading a large list takes at most a
// sixtieth of the time of an instance and of Redis.
//
// Cached.Stats gives the list size, the last load's duration and the
// cache's staleness age, with the counters above; revoke.Memory.Stats gives
// the size of an in-process list.
//
// # Failure policy
//
// Check returns nil, revoke.ErrRevoked (or an error matching it, for a
// malformed entry), or a fault: an error matching ErrUnavailable (Redis
// unreachable or slow), ErrStale (Cached only), [ErrEvictionPolicy] (a server
// whose maxmemory-policy can drop entries, or that refuses CONFIG GET
// without Options.MaxmemoryPolicy; it matches ErrUnavailable too), or
// revoke.ErrInvalidArgument. This package never decides what a fault
// means: the middleware applies its policy, fail closed (reject the
// request; the default, and what a revocation list is for) or fail open
// (accept it; availability over forced logout). With Cached, a Redis outage
// shorter than the staleness bound is invisible to requests.
//
// Redis must not evict (maxmemory-policy noeviction on every server that
// holds the list): both revokers read the policy and refuse any other, see
// ErrEvictionPolicy.
//
// Redis should persist its data (appendonly yes): a server that restarts
// empty has forgotten every revocation. A Cached that was running keeps the
// entries it had until they expire.
//
// # Client setup
//
// The client must have ContextTimeoutEnabled: true, or go-redis ignores
// context deadlines on the socket and a hung server would hold a request for
// its ReadTimeout (3s) times its retries; NewDirect and NewCached refuse a
// *Client, *ClusterClient or *Ring without it.
//
//	// One server, or let the options decide:
//	client := goredis.NewUniversalClient(&goredis.UniversalOptions{
//		Addrs:                 []string{"redis:6379"},
//		ContextTimeoutEnabled: true,
//	})
//
//	// Sentinel:
//	client := goredis.NewFailoverClient(&goredis.FailoverOptions{
//		MasterName:            "mymaster",
//		SentinelAddrs:         []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
//		ContextTimeoutEnabled: true,
//	})
//
//	// Cluster:
//	client := goredis.NewClusterClient(&goredis.ClusterOptions{
//		Addrs:                 []string{"node-1:6379", "node-2:6379", "node-3:6379"},
//		ContextTimeoutEnabled: true,
//	})
//
// Then:
//
//	rv, err := redis.NewCached(client, redis.CachedOptions{})
//	if err != nil { ... }
//	go rv.Run(ctx) // returns when ctx is done
//
// The package is named redis after its directory, as go-redis's is: a
// program that imports both aliases go-redis as goredis, as this
// documentation does (the API names go-redis's types that way too).
//
// All instances that share a list must use the same Options.Prefix. The
// package keeps no global state and starts no goroutine except inside Run.
package redis
