package redis

// Values of Options.WaitReplicas.
const (
	// WaitReplicasAuto, the zero value of Options.WaitReplicas, waits for
	// one replica on a Sentinel client (go-redis NewFailoverClient, or
	// NewUniversalClient with MasterName) and for none on any other
	// client.
	//
	// Why: Redis replicates asynchronously, and a Sentinel failover
	// promotes a replica, so a revocation that the master acknowledged but
	// had not yet sent is lost with the master, and every session it
	// revoked is accepted again. A Sentinel deployment has replicas by
	// definition, so waiting for one is always possible and costs one
	// replica round trip per revocation (revocations are rare: logouts,
	// password changes). A standalone server has no replica: waiting would
	// fail every revocation, and its durability is its append-only file.
	// A Cluster or a managed endpoint may or may not have replicas, which
	// the client cannot tell: set WaitReplicas to 1 where they do.
	//
	// One replica's acknowledgement suffices because Sentinel promotes the
	// replica with the largest replication offset among those it can
	// reach. With a single replica, the new master has no replica after a
	// failover, so every revocation fails with ErrNotReplicated until the
	// old master is back as a replica (a supervisor restarts it; Sentinel
	// reconfigures it): run two replicas to keep revoking through a
	// failover.
	//
	// The server-side companion is min-replicas-to-write 1 with
	// min-replicas-max-lag 10 (seconds), set on the master and on every
	// replica, since each may become master: a master that has lost its
	// replicas for that long refuses every write (NOREPLICAS, reported as
	// ErrUnavailable) instead of accepting writes a failover will discard.
	// It bounds the loss for every client of that Redis, not only this
	// package, but only to the lag, in whole seconds; WAIT makes each
	// revocation's acknowledgement mean that a replica has it.
	WaitReplicasAuto = 0

	// NoWait turns the durability option off: a revocation returns as
	// soon as the master has it.
	NoWait = -1
)
