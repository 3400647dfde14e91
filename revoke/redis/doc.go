// Package redis is a revoke.Revoker on Redis, for a fleet of instances that
// share one revocation list. It works on any go-redis v9 UniversalClient:
// a standalone server, Sentinel (failover) or Cluster.
//
// For most uses, create one client, then NewCached, and start its Run in a
// goroutine of your own; hand the Cached to the middleware. Use NewDirect
// where a background loop does not fit (a CLI, a short-lived function), or
// where every check must see Redis as it is this instant.
//
// # What a check costs
//
//   - Direct: one round trip per check, bounded by Options.CheckTimeout
//     (100ms by default). A session with a subject costs one MGET of two keys
//     in one hash slot (the session's entry and the subject's entry); a
//     session without a subject costs one GET.
//   - Cached: no round trip. Checks are answered from memory that Run keeps
//     in step with Redis; a check costs about what revoke.Memory's does.
//
// A revocation (RevokeSession, RevokeSubject) is one round trip on either,
// bounded by Options.WriteTimeout (1s): a Lua script that writes the entry,
// keeps the later before and until of an existing one, sets the TTL and
// publishes the entry on the prefix's channel, atomically.
//
// # Key layout
//
// With the default prefix "cookieseal:revoke:":
//
//	cookieseal:revoke:{<subject>}:u       "<beforeMS>:<untilMS>"  subject entry
//	cookieseal:revoke:{<subject>}:s:<id>  "<untilMS>"             session with a subject
//	cookieseal:revoke:s:<id>              "<untilMS>"             session without a subject
//	cookieseal:revoke:events              pub/sub channel (PUBLISH "<value>\n<key>")
//
// Times are Unix milliseconds. In <subject>, the characters '%', '{' and '}'
// are percent-encoded, so the braces are always the key's Cluster hash tag:
// a subject's entry and its sessions' entries share one slot, and the check
// for a request is one command on one node. Every key has a TTL of until −
// now, rounded up to the millisecond, so the list cleans itself: nothing
// needs to delete entries.
//
// A session entry is found by the pair (subject, id): RevokeSession must be
// given the subject the session carries, as the middleware does.
//
// # Staleness bound (Cached)
//
// Run confirms the cache in two ways: a full load (SCAN over the prefix,
// on a Cluster over every master), and a heartbeat PING on the subscription
// every HeartbeatInterval, whose reply proves that every entry published
// before it has been applied. If neither has happened within
// CachedOptions.StalenessBound (30s by default), Check returns an error
// matching ErrStale (and ErrUnavailable) instead of answering from memory
// that may miss revocations; so does a Cached whose Run has not completed
// its first load. Put plainly: a Check that returns nil at time T reflects
// every revocation that Redis acknowledged before T − StalenessBound. In
// normal operation a revocation reaches every Cached in one pub/sub hop,
// about a millisecond. On a Cluster, PUBLISH is relayed between nodes over
// the cluster bus, which adds that bus's delay.
//
// # Failure policy
//
// Check returns nil, revoke.ErrRevoked, or a fault: an error matching
// ErrUnavailable (Redis unreachable or slow, malformed data), ErrStale
// (Cached only), or revoke.ErrInvalidArgument. This package never decides
// what a fault means: the middleware applies its policy, fail closed
// (reject the request; the default, and what a revocation list is for) or
// fail open (accept it; availability over forced logout). With Cached, a
// Redis outage shorter than the staleness bound is invisible to requests.
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
// All instances that share a list must use the same Options.Prefix. The
// package keeps no global state and starts no goroutine except inside Run.
package redis
