package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
)

// revokeSessionScript writes a session entry keeping the later until and
// the longer TTL, and publishes the resulting entry, in one round trip.
// KEYS[1] = entry key; ARGV = untilMS, ttlMS, channel.
var revokeSessionScript = goredis.NewScript(`
local u = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
if cur then
  local cu = tonumber(cur)
  if cu and cu > u then u = cu end
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > ttl then ttl = pttl end
end
local v = string.format('%.0f', u)
redis.call('SET', KEYS[1], v, 'PX', ttl)
redis.call('PUBLISH', ARGV[3], v .. '\n' .. KEYS[1])
return v
`)

// revokeSubjectScript writes a subject entry keeping the later before, the
// later until and the longer TTL, and publishes the resulting entry, in one
// round trip. KEYS[1] = entry key; ARGV = beforeMS, untilMS, ttlMS, channel.
var revokeSubjectScript = goredis.NewScript(`
local b = tonumber(ARGV[1])
local u = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local cur = redis.call('GET', KEYS[1])
if cur then
  local cb, cu = string.match(cur, '^(%-?%d+):(%-?%d+)$')
  cb = tonumber(cb)
  cu = tonumber(cu)
  if cb and cb > b then b = cb end
  if cu and cu > u then u = cu end
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > ttl then ttl = pttl end
end
local v = string.format('%.0f:%.0f', b, u)
redis.call('SET', KEYS[1], v, 'PX', ttl)
redis.call('PUBLISH', ARGV[4], v .. '\n' .. KEYS[1])
return v
`)

// store is the Redis side shared by Direct and Cached: keys, writes, options.
type store struct {
	client goredis.UniversalClient
	opts   Options
	keys   keys
}

func newStore(client goredis.UniversalClient, opts Options) (store, error) {
	if err := checkClient(client); err != nil {
		return store{}, err
	}
	opts, err := opts.normalize()
	if err != nil {
		return store{}, err
	}
	if opts.WaitReplicas, err = waitReplicas(client, opts.WaitReplicas); err != nil {
		return store{}, err
	}
	return store{client: client, opts: opts, keys: newKeys(opts.Prefix)}, nil
}

// ttl returns until-now rounded up to the millisecond, or 0 if until has passed.
func ttl(until, now time.Time) int64 {
	d := until.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// revokeSession writes a session entry and returns its key and resulting
// value; done is false if until had passed and nothing was written.
func (s *store) revokeSession(ctx context.Context, id, subject string, until time.Time) (key, value string, done bool, err error) {
	switch {
	case id == "":
		return "", "", false, argError("empty session id")
	case until.IsZero():
		return "", "", false, argError("zero until for session")
	}
	t := ttl(until, s.opts.Now())
	if t == 0 {
		return "", "", false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	key = s.keys.session(subject, id)
	value, err = s.eval(ctx, revokeSessionScript, key, until.UnixMilli(), t, s.keys.channel)
	if err != nil {
		return "", "", false, err
	}
	return key, value, true, nil
}

// revokeSubject writes a subject entry and returns its key and resulting
// value; done is false if until had passed and nothing was written.
func (s *store) revokeSubject(ctx context.Context, subject string, before, until time.Time) (key, value string, done bool, err error) {
	switch {
	case subject == "":
		return "", "", false, argError("empty subject")
	case before.IsZero():
		return "", "", false, argError("zero before for subject")
	case until.IsZero():
		return "", "", false, argError("zero until for subject")
	}
	t := ttl(until, s.opts.Now())
	if t == 0 {
		return "", "", false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	key = s.keys.subject(subject)
	value, err = s.eval(ctx, revokeSubjectScript, key, before.UnixMilli(), until.UnixMilli(), t, s.keys.channel)
	if err != nil {
		return "", "", false, err
	}
	return key, value, true, nil
}

func argError(reason string) error {
	return fmt.Errorf("revoke/redis: %s: %w", reason, revoke.ErrInvalidArgument)
}

func checkSession(s revoke.Session) error {
	if s.ID == "" {
		return argError("empty session id")
	}
	return nil
}

// Direct is a Revoker that asks Redis on every Check: one GET, or one MGET of
// two keys in one hash slot when the session has a subject. It holds no state
// of its own and starts no goroutine. Create it with NewDirect.
//
// Direct is safe for concurrent use.
type Direct struct {
	s store
}

var _ revoke.Revoker = (*Direct)(nil)

// NewDirect returns a Direct on client, which may be any go-redis v9
// UniversalClient: standalone, Sentinel (failover) or Cluster. A *Client,
// *ClusterClient or *Ring must have ContextTimeoutEnabled set, so that
// Options.CheckTimeout and WriteTimeout bound every call; other
// implementations cannot be inspected and are trusted to honor context
// deadlines. NewDirect makes no Redis call. Invalid options or client return
// an error matching ErrConfig.
func NewDirect(client goredis.UniversalClient, opts Options) (*Direct, error) {
	s, err := newStore(client, opts)
	if err != nil {
		return nil, err
	}
	return &Direct{s: s}, nil
}

// Check reports whether s is revoked, in one round trip bounded by
// Options.CheckTimeout. It returns nil, revoke.ErrRevoked, or an error
// matching ErrUnavailable for a store fault.
func (d *Direct) Check(ctx context.Context, s revoke.Session) error {
	if err := checkSession(s); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.s.opts.CheckTimeout)
	defer cancel()
	sessKey := d.s.keys.session(s.Subject, s.ID)
	if s.Subject == "" {
		err := d.s.client.Get(ctx, sessKey).Err()
		switch {
		case err == nil:
			return revoke.ErrRevoked
		case errors.Is(err, goredis.Nil):
			return nil
		default:
			return unavailable(err)
		}
	}
	subjKey := d.s.keys.subject(s.Subject)
	vals, err := d.s.client.MGet(ctx, subjKey, sessKey).Result()
	if err != nil {
		return unavailable(err)
	}
	if len(vals) != 2 {
		return unavailable(fmt.Errorf("MGET returned %d values for 2 keys", len(vals)))
	}
	if vals[1] != nil {
		return revoke.ErrRevoked
	}
	if vals[0] == nil {
		return nil
	}
	v, _ := vals[0].(string)
	beforeMS, _, ok := parseSubject(v)
	if !ok {
		return malformed(subjKey, v)
	}
	if s.IssuedAt.UnixMilli() < beforeMS {
		return revoke.ErrRevoked
	}
	return nil
}

// RevokeSession revokes the session (subject, id) until until, in one round
// trip bounded by Options.WriteTimeout that also publishes the entry to
// every Cached on the same prefix. An until that has passed is a no-op.
// Pass the subject the session carries: the entry is stored next to the
// subject's (same hash slot) and found only by checks with that subject.
// With Options.WaitReplicas (on by default on a Sentinel client), it
// returns nil only once that many replicas hold the entry, else an error
// matching ErrNotReplicated.
func (d *Direct) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	_, _, _, err := d.s.revokeSession(ctx, id, subject, until)
	return err
}

// RevokeSubject revokes every session of subject issued strictly before
// before (at millisecond precision, see revoke.IssuedBefore) until until, in
// one round trip bounded by Options.WriteTimeout that keeps the later before
// and until of an existing entry atomically and publishes the result to
// every Cached on the same prefix. An until that has passed is a no-op.
// With Options.WaitReplicas, it returns nil only once that many replicas
// hold the entry, else an error matching ErrNotReplicated.
func (d *Direct) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	_, _, _, err := d.s.revokeSubject(ctx, subject, before, until)
	return err
}
