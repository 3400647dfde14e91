package redis

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
)

// sweepCount is the COUNT of the HSCAN with which each write looks for
// expired entries in its bucket.
const sweepCount = 16

// writeScript writes one entry of layout v2 into its bucket, in one round
// trip and atomically (doc.go, "Key layout (v2)"): merge with the existing
// value keeping the later times, HSET, lengthen the bucket's TTL, sweep
// expired entries from a random HSCAN cursor, PUBLISH.
//
// KEYS[1] = bucket; ARGV = kind ("u" or "s"), field, beforeMS (subject
// only), untilMS, ttlMS, nowMS, cursor, channel. Returns the value written.
var writeScript = goredis.NewScript(`
local kind, field = ARGV[1], ARGV[2]
local b, u = tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, now = tonumber(ARGV[5]), tonumber(ARGV[6])
local function untilOf(f, v)
  local k = string.sub(f, 1, 2)
  if k == 'u:' then
    local cb, cu = string.match(v, '^(%-?%d+):(%-?%d+)$')
    return tonumber(cu), tonumber(cb)
  elseif k == 's:' then
    local cu = string.match(v, '^(%-?%d+)$')
    return tonumber(cu), nil
  end
  return nil, nil
end
local cur = redis.call('HGET', KEYS[1], field)
if cur then
  local cu, cb = untilOf(field, cur)
  if cu and cu > u then u = cu end
  if cb and cb > b then b = cb end
end
local v
if kind == 'u' then v = string.format('%.0f:%.0f', b, u) else v = string.format('%.0f', u) end
redis.call('HSET', KEYS[1], field, v)
local pttl = redis.call('PTTL', KEYS[1])
if pttl < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local page = redis.call('HSCAN', KEYS[1], ARGV[7], 'COUNT', ` + fmt.Sprint(sweepCount) + `)
local kv = page[2]
for i = 1, #kv, 2 do
  local f = kv[i]
  local fu = untilOf(f, kv[i + 1])
  if f ~= field and fu and fu <= now then redis.call('HDEL', KEYS[1], f) end
end
redis.call('PUBLISH', ARGV[8], v .. '\n' .. field)
return v
`)

// sweepCursor returns a random HSCAN cursor, from crypto/rand like every
// random number in this module; 0 if the reader fails.
func sweepCursor() uint64 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0
	}
	return uint64(binary.LittleEndian.Uint32(b[:]))
}

// write writes one entry (a subject entry when id is empty) and returns
// its field and the value Redis holds afterwards; with V1Compat it writes
// the v1 entry too.
func (s *store) write(ctx context.Context, subject, id string, beforeMS, untilMS, ttlMS int64) (field, value string, err error) {
	field, value, err = s.writeV2(ctx, subject, id, beforeMS, untilMS, ttlMS)
	if err == nil && s.opts.V1Compat {
		err = s.writeV1(ctx, subject, id, beforeMS, untilMS, ttlMS)
	}
	return field, value, err
}

// writeV2 runs writeScript for one entry and returns the field and the
// value Redis holds afterwards.
func (s *store) writeV2(ctx context.Context, subject, id string, beforeMS, untilMS, ttlMS int64) (field, value string, err error) {
	kind := "s"
	field = sessionField(subject, id)
	if id == "" {
		kind, field = "u", subjectField(subject)
	}
	// s.eval applies Options.WaitReplicas: with it, the write returns only
	// once that many replicas hold it (ErrNotReplicated otherwise).
	value, err = s.eval(ctx, writeScript, s.keys.bucketKey(subject, id),
		kind, field, beforeMS, untilMS, ttlMS, s.opts.Now().UnixMilli(), sweepCursor(), s.keys.channel)
	if err != nil {
		return "", "", err
	}
	return field, value, nil
}

// errMalformedRevoked is returned (wrapped) by Direct.Check for an entry
// whose value does not parse: it matches revoke.ErrRevoked, so that one bad
// entry fails closed for the sessions it names and for nothing else.
var errMalformedRevoked = fmt.Errorf("%w (malformed entry, treated as revoked)", revoke.ErrRevoked)

// check answers Direct.Check from layout v2 in one command on one key;
// with V1Compat, from both layouts (two commands in one pipeline).
func (s *store) check(ctx context.Context, sess revoke.SessionRef) error {
	if !s.opts.V1Compat {
		return s.checkV2(ctx, s.client, sess)()
	}
	pipe := s.client.Pipeline()
	verdict := s.queueCheck(ctx, pipe, sess)
	_, _ = pipe.Exec(ctx) // each command's own error is read below
	return verdict()
}

// checkReadingPolicy is check with the server's maxmemory-policy read in
// the same round trip: CONFIG GET and the check's commands go in one
// pipeline, on one connection, so the policy is that of the server that
// answers the check, and one deadline bounds both. The verdict on the
// policy is remembered (evictionGuard.remember); a bad one is returned
// instead of the check's answer.
func (s *store) checkReadingPolicy(ctx context.Context, c *goredis.Client, sess revoke.SessionRef) error {
	pipe := c.Pipeline()
	policy := pipe.ConfigGet(ctx, "maxmemory-policy")
	verdict := s.queueCheck(ctx, pipe, sess)
	_, _ = pipe.Exec(ctx) // each command's own error is read below
	m, err := policy.Result()
	perr := s.evict.remember(s.evict.judge(m, err, serverName(c)))
	switch {
	case perr == nil:
		return verdict()
	case errors.Is(perr, ErrEvictionPolicy):
		return perr
	}
	// The reading faulted; on the same connection the check most likely
	// did too, and its error is the one a caller expects.
	if err := verdict(); err != nil && !errors.Is(err, revoke.ErrRevoked) {
		return err
	}
	return perr
}

// queueCheck queues the commands of a check on pipe (layout v2, and v1
// with V1Compat) and returns the function that reads the verdict once
// pipe has run them.
func (s *store) queueCheck(ctx context.Context, pipe goredis.Pipeliner, sess revoke.SessionRef) func() error {
	v2 := s.checkV2(ctx, pipe, sess)
	if !s.opts.V1Compat {
		return v2
	}
	v1 := s.checkV1(ctx, pipe, sess)
	return func() error { return eitherRevoked(v2(), v1()) }
}

// eitherRevoked combines the verdicts of the v2 and v1 entries: revoked
// if either says so, else the v2 fault, else the v1 one.
func eitherRevoked(err2, err1 error) error {
	switch {
	case errors.Is(err2, revoke.ErrRevoked):
		return err2
	case errors.Is(err1, revoke.ErrRevoked):
		return err1
	case err2 != nil:
		return err2
	}
	return err1
}

// checkV2 queues the one command on one key that a check of layout v2
// needs on cl, and returns the function that reads its verdict once cl has
// run it (at once for a client, after Exec for a pipeline).
func (s *store) checkV2(ctx context.Context, cl goredis.Cmdable, sess revoke.SessionRef) func() error {
	nowMS := s.opts.Now().UnixMilli()
	key := s.keys.bucketKey(sess.Subject, sess.ID)
	if sess.Subject == "" {
		cmd := cl.HGet(ctx, key, sessionField("", sess.ID))
		return func() error {
			v, err := cmd.Result()
			switch {
			case errors.Is(err, goredis.Nil):
				return nil
			case err != nil:
				return unavailable(err)
			}
			return sessionVerdict(key, v, nowMS)
		}
	}
	cmd := cl.HMGet(ctx, key, subjectField(sess.Subject), sessionField(sess.Subject, sess.ID))
	return func() error {
		vals, err := cmd.Result()
		if err != nil {
			return unavailable(err)
		}
		if len(vals) != 2 {
			return unavailable(fmt.Errorf("HMGET returned %d values for 2 fields", len(vals)))
		}
		if v, ok := vals[1].(string); ok {
			if err := sessionVerdict(key, v, nowMS); err != nil {
				return err
			}
		}
		if v, ok := vals[0].(string); ok {
			beforeMS, untilMS, ok := parseSubject(v)
			if !ok {
				return fmt.Errorf("%w: subject entry in %s", errMalformedRevoked, key)
			}
			if untilMS > nowMS && sess.IssuedAt.UnixMilli() < beforeMS {
				return revoke.ErrRevoked
			}
		}
		return nil
	}
}

func sessionVerdict(key, v string, nowMS int64) error {
	untilMS, ok := parseSession(v)
	switch {
	case !ok:
		return fmt.Errorf("%w: session entry in %s", errMalformedRevoked, key)
	case untilMS > nowMS:
		return revoke.ErrRevoked
	}
	return nil
}
