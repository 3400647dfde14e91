package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
)

// Layout v1, the layout of cookieseal before layout v2 (doc.go, "Versions
// and upgrade from v1"): one string key per entry, with a TTL.
//
//	P{<subject>}:u       "<beforeMS>:<untilMS>"   ('%', '{', '}' percent-encoded in <subject>)
//	P{<subject>}:s:<id>  "<untilMS>"
//	Ps:<id>              "<untilMS>"
//	Pevents              pub/sub channel, message "<value>\n<key>"
//
// This version reads it only to migrate (MigrateV1) and, with
// Options.V1Compat, during a rolling upgrade.
type v1Keys struct {
	prefix  string
	channel string
	match   string // SCAN MATCH pattern for every key under prefix
}

func newV1Keys(prefix string) *v1Keys {
	return &v1Keys{prefix: prefix, channel: prefix + "events", match: globEscape(prefix) + "*"}
}

func (k *v1Keys) subject(subject string) string {
	return k.prefix + "{" + escapeV1Subject(subject) + "}:u"
}

func (k *v1Keys) session(subject, id string) string {
	if subject == "" {
		return k.prefix + "s:" + id
	}
	return k.prefix + "{" + escapeV1Subject(subject) + "}:s:" + id
}

// parse splits a v1 key into its parts; ok is false for any other key
// (layout v2's among them).
func (k *v1Keys) parse(key string) (kind entryKind, subject, id string) {
	rest, ok := strings.CutPrefix(key, k.prefix)
	if !ok {
		return kindUnknown, "", ""
	}
	if id, ok := strings.CutPrefix(rest, "s:"); ok {
		if id == "" {
			return kindUnknown, "", ""
		}
		return kindSession, "", id
	}
	rest, ok = strings.CutPrefix(rest, "{")
	if !ok {
		return kindUnknown, "", ""
	}
	esc, rest, ok := strings.Cut(rest, "}")
	if !ok {
		return kindUnknown, "", ""
	}
	subject, ok = unescapeV1Subject(esc)
	if !ok || subject == "" {
		return kindUnknown, "", ""
	}
	if rest == ":u" {
		return kindSubject, subject, ""
	}
	if id, ok := strings.CutPrefix(rest, ":s:"); ok && id != "" {
		return kindSession, subject, id
	}
	return kindUnknown, "", ""
}

// field returns the layout v2 field of a v1 key.
func (k *v1Keys) field(key string) (string, bool) {
	switch kind, subject, id := k.parse(key); kind {
	case kindSubject:
		return subjectField(subject), true
	case kindSession:
		return sessionField(subject, id), true
	}
	return "", false
}

func escapeV1Subject(s string) string {
	if !strings.ContainsAny(s, "%{}") {
		return s
	}
	r := strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")
	return r.Replace(s)
}

func unescapeV1Subject(s string) (string, bool) {
	return unescapePercent(s, pctEscape{"7B", '{'}, pctEscape{"7D", '}'})
}

// globEscape escapes the characters that SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// v1WriteScript is the v1 writer (the script cookieseal used before layout
// v2), for Options.V1Compat: instances still on v1 see the revocation.
// KEYS[1] = v1 key; ARGV = kind ("u" or "s"), beforeMS, untilMS, ttlMS,
// channel.
var v1WriteScript = goredis.NewScript(`
local b, u = tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local cur = redis.call('GET', KEYS[1])
if cur then
  local cb, cu
  if ARGV[1] == 'u' then
    cb, cu = string.match(cur, '^(%-?%d+):(%-?%d+)$')
  else
    cu = string.match(cur, '^(%-?%d+)$')
  end
  cb, cu = tonumber(cb), tonumber(cu)
  if cb and cb > b then b = cb end
  if cu and cu > u then u = cu end
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > ttl then ttl = pttl end
end
local v
if ARGV[1] == 'u' then v = string.format('%.0f:%.0f', b, u) else v = string.format('%.0f', u) end
redis.call('SET', KEYS[1], v, 'PX', ttl)
redis.call('PUBLISH', ARGV[5], v .. '\n' .. KEYS[1])
return v
`)

// writeV1 writes one entry in layout v1 (V1Compat).
func (s *store) writeV1(ctx context.Context, subject, id string, beforeMS, untilMS, ttlMS int64) error {
	kind, key := "s", s.v1.session(subject, id)
	if id == "" {
		kind, key = "u", s.v1.subject(subject)
	}
	if err := v1WriteScript.Run(ctx, s.client, []string{key}, kind, beforeMS, untilMS, ttlMS, s.v1.channel).Err(); err != nil {
		return unavailable(fmt.Errorf("v1 write: %w", err))
	}
	return nil
}

// checkV1 queues the one command a check of layout v1 needs on cl
// (V1Compat), like checkV2.
//
// An entry's until is judged by this store's clock, as layout v2's is,
// not left to the key's TTL: the TTL was counted on the writer's clock,
// and an entry must stop counting at its until on every checker.
func (s *store) checkV1(ctx context.Context, cl goredis.Cmdable, sess revoke.SessionRef) func() error {
	nowMS := s.opts.Now().UnixMilli()
	sk := s.v1.session(sess.Subject, sess.ID)
	if sess.Subject == "" {
		cmd := cl.Get(ctx, sk)
		return func() error {
			v, err := cmd.Result()
			switch {
			case errors.Is(err, goredis.Nil):
				return nil
			case err != nil:
				return unavailable(err)
			}
			return sessionVerdict("a v1 key", v, nowMS)
		}
	}
	cmd := cl.MGet(ctx, s.v1.subject(sess.Subject), sk)
	return func() error {
		vals, err := cmd.Result()
		if err != nil {
			return unavailable(err)
		}
		if len(vals) != 2 {
			return unavailable(fmt.Errorf("MGET returned %d values for 2 keys", len(vals)))
		}
		if v, ok := vals[1].(string); ok {
			if err := sessionVerdict("a v1 key", v, nowMS); err != nil {
				return err
			}
		}
		if v, ok := vals[0].(string); ok {
			beforeMS, untilMS, ok := parseSubject(v)
			if !ok {
				return fmt.Errorf("%w: v1 subject entry", errMalformedRevoked)
			}
			if untilMS > nowMS && sess.IssuedAt.UnixMilli() < beforeMS {
				return revoke.ErrRevoked
			}
		}
		return nil
	}
}

// migrateScanCount is the COUNT hint of one SCAN call of MigrateV1.
const migrateScanCount = 1000

// MigrateResult counts what [MigrateV1] did.
type MigrateResult struct {
	Copied    int // v1 entries written into layout v2 (merged, keeping the later times)
	Malformed int // v1 entries whose value did not parse, copied as revoked until their TTL
	Skipped   int // keys under the prefix that are not v1 entries (v2 buckets, other data)
}

// MigrateV1 copies every entry of layout v1 under opts.Prefix into layout
// v2, keeping the later times of an entry that both hold, so that no
// revocation written by an older cookieseal is lost (doc.go, "Versions and
// upgrade from v1"). A v1 value that does not parse is copied as revoked
// until the key's TTL (fail closed for that entry). It SCANs the whole
// keyspace (on a Cluster, every master), which costs time in proportion to
// the database; each call is bounded by opts.WriteTimeout. It is safe to
// run again and concurrently with live traffic; the v1 keys are left to
// expire. Errors match [ErrUnavailable] or [ErrInvalidConfig].
func MigrateV1(ctx context.Context, client goredis.UniversalClient, opts Options) (MigrateResult, error) {
	s, err := newStore(client, opts)
	if err != nil {
		return MigrateResult{}, err
	}
	return s.migrateV1(ctx, s.opts.WriteTimeout)
}

func (s *store) migrateV1(ctx context.Context, callTimeout time.Duration) (MigrateResult, error) {
	var (
		mu  sync.Mutex // a Cluster's masters are scanned concurrently
		res MigrateResult
	)
	scan := func(ctx context.Context, cl goredis.Cmdable) error {
		var cursor uint64
		for {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			keys, next, err := cl.Scan(cctx, cursor, s.v1.match, migrateScanCount).Result()
			cancel()
			if err != nil {
				return unavailable(fmt.Errorf("migrate v1: %w", err))
			}
			var page MigrateResult
			err = s.migrateKeys(ctx, cl, keys, callTimeout, &page)
			mu.Lock()
			res.Copied += page.Copied
			res.Malformed += page.Malformed
			res.Skipped += page.Skipped
			mu.Unlock()
			if err != nil {
				return err
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	var err error
	switch cl := s.client.(type) {
	case *goredis.ClusterClient:
		err = cl.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error { return scan(ctx, node) })
	case *goredis.Ring:
		err = cl.ForEachShard(ctx, func(ctx context.Context, shard *goredis.Client) error { return scan(ctx, shard) })
	default:
		err = scan(ctx, cl)
	}
	return res, err
}

// migrateKeys copies one SCAN page of v1 keys.
func (s *store) migrateKeys(ctx context.Context, cl goredis.Cmdable, keys []string, callTimeout time.Duration, res *MigrateResult) error {
	var entries []string
	for _, k := range keys {
		if kind, _, _ := s.v1.parse(k); kind == kindUnknown {
			res.Skipped++
			continue
		}
		entries = append(entries, k)
	}
	if len(entries) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	pipe := cl.Pipeline()
	gets := make([]*goredis.StringCmd, len(entries))
	ttls := make([]*goredis.DurationCmd, len(entries))
	for i, k := range entries {
		gets[i] = pipe.Get(cctx, k)
		ttls[i] = pipe.PTTL(cctx, k)
	}
	if _, err := pipe.Exec(cctx); err != nil && !errors.Is(err, goredis.Nil) {
		return unavailable(fmt.Errorf("migrate v1: %w", err))
	}
	now := s.opts.Now()
	for i, k := range entries {
		v, err := gets[i].Result()
		if err != nil {
			continue // expired since SCAN, or not a string: nothing to carry over
		}
		ttl := ttls[i].Val()
		if ttl <= 0 { // no TTL (-1) cannot come from cookieseal; expired (-2)
			if ttl != -1 {
				continue
			}
			ttl = 7 * 24 * time.Hour
		}
		ttlMS := int64((ttl + time.Millisecond - 1) / time.Millisecond)
		kind, subject, id := s.v1.parse(k)
		var beforeMS, untilMS int64
		ok := true
		if kind == kindSubject {
			beforeMS, untilMS, ok = parseSubject(v)
		} else {
			untilMS, ok = parseSession(v)
		}
		if !ok { // fail closed for this entry: revoked until its TTL
			res.Malformed++
			untilMS = now.UnixMilli() + ttlMS
			beforeMS = untilMS
		} else {
			res.Copied++
		}
		wctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, _, err = s.writeV2(wctx, subject, id, beforeMS, untilMS, ttlMS)
		cancel()
		if err != nil {
			return fmt.Errorf("migrate v1: %w", err)
		}
	}
	return nil
}
