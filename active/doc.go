// Package active estimates how many sessions (and users) are active, for
// one instance: a stateless session layer cannot list its sessions, but
// it sees every session id that opens, and a HyperLogLog sketch counts
// the distinct ones in 16 KiB with a standard error of 0.81%.
//
// Most people wire a Counter as the manager's Observer and read Count on
// a dashboard or a metrics callback:
//
//	c := active.NewCounter(active.CounterOptions{})
//	m, _ := middleware.New(keys, "__Host-session", middleware.Options{Observer: c})
//	n, _ := c.Count(5 * time.Minute)
//
// For a fleet, the Redis Tracker in revoke/redis/active counts across
// every instance with PFADD/PFCOUNT, at one batched round trip per
// instance per second.
package active
