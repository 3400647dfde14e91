package redis

// Durability and failover.
//
// When a Sentinel master fails, no server takes writes or answers reads
// for its keys until Sentinel promotes a replica: down-after-milliseconds
// to detect the failure, then about 1.5s to agree and promote. Measured
// with one master, two replicas and three Sentinels on loopback, the
// master killed with SIGKILL (TestFailoverWhatUsersSee): promotion at
// 2.2–2.5s with down-after-milliseconds 1000, at 30.6–31.4s with
// Sentinel's default 30000. What requests see meanwhile:
//
//   - [Cached]: nothing. It answers from memory while its last confirmation
//     is younger than StalenessBound, then reloads from the new master. The
//     default bound (1m, heartbeats every 20s) covers a promotion that
//     takes up to 40s minus the list's load time; no valid session was
//     refused at either detection setting, even with the last heartbeat
//     20s before the kill. The former default, 30s, refused every valid
//     session at the 30000 setting: for 1.1–1.8s when confirmed at the
//     kill, for 11.5s when confirmed 10s before it.
//   - [Direct]: a fault on every check from the kill until the client reaches
//     the new master: measured 2.1–4.0s after the kill at
//     down-after-milliseconds 1000, 31.5–32.7s at 30000. Under fail
//     closed every request in that window has no session (its cookie is
//     kept: the user is back after it); under fail open every revoked
//     session is accepted. Only shorter detection shortens it. With
//     go-redis's defaults it ends up to about 1s after +switch-master:
//     once PoolSize dials have failed, the pool dials again only when a
//     probe, once a second, succeeds (internal/pool dialConn and tryDial;
//     the failover client's +switch-master handler closes the old
//     master's connections but does not end that pause). With
//     FailoverOptions.DialerRetries spanning the failover, every retry
//     asks Sentinel for the master again and no dial is counted failed,
//     so it ends at +switch-master (TestFailoverDirectRecovers: 0–0.67s
//     after it with the defaults, 0s with DialerRetries, 10 runs each).
//     Faults later than that, seen on a loaded machine (issue 24 item 3:
//     at 27.9s and until 47.5s), are not the failover's: a check faults
//     whenever the process or Redis is off the CPU for longer than
//     CheckTimeout, and a control Direct on a server that never failed
//     over faulted as often. A check that had to read maxmemory-policy
//     used to wait for every other caller's reading (checks of up to 2s
//     with CheckTimeout 500ms and four callers); it now reads it in its
//     own round trip.
//   - RevokeSession and RevokeSubject: [ErrUnavailable] for about as long as
//     the promotion; a logout in that window must be retried. With
//     WaitReplicas and a single replica, then [ErrNotReplicated] until the
//     old master is back as a replica (measured: 12.3s after the kill when
//     restarted at the promotion, Sentinel noticing it on its 10s INFO
//     round); with two replicas, writes were acknowledged again at the
//     promotion (2.2–2.4s).
//
// Operator guidance: use Cached, and keep StalenessBound above
// 1.5 × (down-after-milliseconds + 3s + the list's load time) if you raise
// down-after-milliseconds or the list grows; run two replicas; lower
// down-after-milliseconds (5000 is common) where Direct is used or fail
// closed must not last 30s, at the price of failovers on shorter network
// blips; give the failover client DialerRetries ≥ (down-after + 5s) /
// 100ms; set min-replicas-to-write (below).
//
// Values of Options.WaitReplicas:
const (
	// WaitReplicasAuto, the zero value of Options.WaitReplicas, waits for
	// one replica on a Sentinel client (go-redis NewFailoverClient, or
	// NewUniversalClient with MasterName) and for none on any other
	// client.
	//
	// Why: Redis replicates asynchronously, and a Sentinel failover
	// promotes a replica, so a revocation that the master acknowledged but
	// had not yet sent is lost with the master, and every session it
	// revoked is accepted again (TestFailoverKeepsAcknowledgedRevocations,
	// replica lagging: with NoWait, every revocation acknowledged while it
	// lagged was lost, 10–48 per run; with WAIT, none of 72–130). A
	// Sentinel deployment has
	// replicas by definition, so waiting for one is always possible and
	// costs one replica round trip per revocation (revocations are rare:
	// logouts, password changes). A standalone server has no replica:
	// waiting would fail every revocation, and its durability is its
	// append-only file. A Cluster or a managed endpoint may or may not
	// have replicas, which the client cannot tell: set WaitReplicas to 1
	// where they do (on a Cluster, WAIT runs on the master of the entry's
	// slot).
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
