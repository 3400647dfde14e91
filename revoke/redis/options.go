package redis

import (
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Defaults for the zero values of [Options] and [CachedOptions].
const (
	DefaultPrefix         = "cookieseal:revoke:"
	DefaultCheckTimeout   = 100 * time.Millisecond
	DefaultWriteTimeout   = time.Second
	DefaultStalenessBound = time.Minute
	DefaultResyncInterval = time.Minute
	DefaultSyncTimeout    = 5 * time.Second
)

// Options configures a [Direct], and the Redis side of a [Cached]. The zero
// value is the documented default for every field.
type Options struct {
	// Prefix is put in front of every key and of the pub/sub channel name.
	// Default DefaultPrefix. It must not contain '{' or '}', which would
	// break the Cluster hash tags. Instances that share a revocation list
	// must use the same Prefix.
	Prefix string

	// CheckTimeout bounds the one Redis call of a Direct's Check, whatever
	// the deadline of the caller's context. Default DefaultCheckTimeout
	// (100ms).
	CheckTimeout time.Duration

	// WriteTimeout bounds the one Redis call of RevokeSession and
	// RevokeSubject. Default DefaultWriteTimeout (1s).
	WriteTimeout time.Duration

	// WaitReplicas is the durability option: how many replicas must have
	// received a revocation (Redis WAIT, on the write's connection) before
	// RevokeSession and RevokeSubject return nil; if fewer acknowledge
	// within WaitTimeout, they return an error matching ErrNotReplicated.
	// WaitReplicasAuto (0, the default) means 1 on a Sentinel client and
	// NoWait otherwise; see WaitReplicasAuto for why, and for the server
	// settings that go with it.
	WaitReplicas int

	// WaitTimeout bounds the WAIT of a revocation, and is cut to 3/4 of
	// the time left before the context's deadline. Default WriteTimeout/2
	// (500ms). It must be below WriteTimeout.
	WaitTimeout time.Duration

	// Now returns the current time, used for the TTLs of new entries and,
	// in a Cached, for expiry and staleness. Nil means time.Now.
	Now func() time.Time

	// MaxmemoryPolicy vouches for the maxmemory-policy of servers that
	// refuse CONFIG GET (managed services rename or disable CONFIG): set
	// it to "noeviction", the only value accepted, once the provider's
	// configuration guarantees that policy on every server that holds the
	// list. Default "": a server that refuses CONFIG GET fails every check
	// and write with ErrEvictionPolicy, as one with an evicting policy
	// does. A server that answers CONFIG GET is believed over this field.
	// See ErrEvictionPolicy.
	MaxmemoryPolicy string

	// V1Compat is for the rolling upgrade from key layout v1 (doc.go,
	// "Versions and upgrade from v1"): revocations are written in both
	// layouts, Direct checks read both, and a Cached copies the v1 entries
	// into v2 before each full load and listens on both channels. Default
	// false: layout v2 only.
	V1Compat bool
}

// CachedOptions configures a [Cached]. The zero value is the documented
// default for every field.
type CachedOptions struct {
	Options

	// StalenessBound is the longest a Cached answers checks from memory
	// without having confirmed that the memory is complete. When the last
	// confirmation (a heartbeat answered on a healthy subscription, or a
	// successful load) is older, Check returns an error matching ErrStale.
	// Default DefaultStalenessBound (1m): a cache confirmed at most
	// HeartbeatInterval (20s) before a Sentinel failover with the default
	// down-after-milliseconds (30s; promotion measured at 30.6–31.4s) stays
	// fresh through it.
	StalenessBound time.Duration

	// HeartbeatInterval is how often Run pings the subscription to confirm
	// it is healthy. Default StalenessBound/3. HeartbeatInterval +
	// SyncTimeout must be below StalenessBound, or a healthy cache would go
	// stale between heartbeats.
	HeartbeatInterval time.Duration

	// ResyncInterval is how often Run reloads the whole list, as a safety
	// net behind the subscription. Default DefaultResyncInterval (1m). A
	// reload starts no sooner than 60 times the last load's duration, so a
	// large list is reloaded less often.
	ResyncInterval time.Duration

	// SyncTimeout bounds each Redis call Run makes: one bucket or page of a
	// load (each retried on its own), one subscribe, and the wait for a
	// heartbeat's reply. Default the smaller of
	// DefaultSyncTimeout (5s) and StalenessBound/3.
	SyncTimeout time.Duration

	// OnError, if set, is called by Run with every fault it meets and
	// recovers from (logging, metrics). It must not block.
	OnError func(error)
}

// ErrInvalidConfig is wrapped by the errors [NewDirect] and [NewCached] return for an
// invalid client or options.
var ErrInvalidConfig = errors.New("revoke/redis: invalid configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

func (o Options) normalize() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return o, configError("Prefix %q contains '{' or '}'", o.Prefix)
	}
	switch {
	case o.CheckTimeout < 0:
		return o, configError("negative CheckTimeout %v", o.CheckTimeout)
	case o.CheckTimeout == 0:
		o.CheckTimeout = DefaultCheckTimeout
	}
	switch {
	case o.WriteTimeout < 0:
		return o, configError("negative WriteTimeout %v", o.WriteTimeout)
	case o.WriteTimeout == 0:
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxmemoryPolicy != "" && o.MaxmemoryPolicy != policyNoEviction {
		return o, configError("MaxmemoryPolicy %q: only %q keeps every revocation", o.MaxmemoryPolicy, policyNoEviction)
	}
	return o.normalizeWait()
}

func (o CachedOptions) normalize() (CachedOptions, error) {
	var err error
	if o.Options, err = o.Options.normalize(); err != nil {
		return o, err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"StalenessBound", o.StalenessBound},
		{"HeartbeatInterval", o.HeartbeatInterval},
		{"ResyncInterval", o.ResyncInterval},
		{"SyncTimeout", o.SyncTimeout},
	} {
		if d.v < 0 {
			return o, configError("negative %s %v", d.name, d.v)
		}
	}
	if o.StalenessBound == 0 {
		o.StalenessBound = DefaultStalenessBound
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = o.StalenessBound / 3
	}
	if o.ResyncInterval == 0 {
		o.ResyncInterval = DefaultResyncInterval
	}
	if o.SyncTimeout == 0 {
		o.SyncTimeout = min(DefaultSyncTimeout, o.StalenessBound/3)
	}
	if o.HeartbeatInterval+o.SyncTimeout >= o.StalenessBound {
		return o, configError("HeartbeatInterval %v + SyncTimeout %v must be below StalenessBound %v",
			o.HeartbeatInterval, o.SyncTimeout, o.StalenessBound)
	}
	return o, nil
}

// checkClient refuses a client that cannot bound a call by its context's
// deadline: without ContextTimeoutEnabled, go-redis ignores the deadline on
// the socket and a hung server would hold a check for ReadTimeout (3s by
// default) times the retries.
func checkClient(client goredis.UniversalClient) error {
	if client == nil {
		return configError("nil client")
	}
	var enabled bool
	switch c := client.(type) {
	case *goredis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *goredis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	case *goredis.Ring:
		enabled = c.Options().ContextTimeoutEnabled
	default:
		return nil // cannot inspect; documented
	}
	if !enabled {
		return configError("client options must set ContextTimeoutEnabled: true, so that the timeouts bound every call")
	}
	return nil
}
