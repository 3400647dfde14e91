package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
)

const revokeUsage = `usage: cookieseal revoke <kind> -redis ADDR[,ADDR...] (-file FILE | -env NAME) [flags]

kinds:
  subject     log a user out everywhere: every session of -subject issued
              before now (or -at) is rejected from now on
  session     revoke one session, named by its -id and the -subject it carries

Both write to the revocation list of a fleet that uses revoke/redis, and
every instance sees the entry on its next check. Revoking again is safe: an
entry is never weakened, so a command that failed or timed out may simply
be run again.

-redis is one server, the seed nodes of a Cluster, or with -sentinel-master
the Sentinels. The password is read from $COOKIESEAL_REDIS_PASSWORD (an ACL
user from $COOKIESEAL_REDIS_USERNAME), never from a flag, which every user
could read in the process list. -prefix must be the fleet's Options.Prefix.
-file or -env names the fleet's key set, whose recorded lifetime policy says
how long an entry must last (absolute timeout + 2 × clock skew + 1s).

Run "cookieseal revoke <kind> -h" for a kind's flags.
`

// Environment variables the revoke commands read.
const (
	envRedisPassword = "COOKIESEAL_REDIS_PASSWORD"
	envRedisUsername = "COOKIESEAL_REDIS_USERNAME"
)

const defaultRedisTimeout = 5 * time.Second

func (e *env) revoke(kind string, args []string) error {
	switch kind {
	case "subject":
		return e.revokeSubject(args)
	case "session":
		return e.revokeSession(args)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, revokeUsage)
		return nil
	}
	fmt.Fprint(e.stderr, revokeUsage)
	return usagef("unknown kind %q", kind)
}

// redisFlags are the flags every revoke command shares: where the list
// is, and the key set whose lifetime policy says how long its sessions
// live.
type redisFlags struct {
	addrs, master, prefix string
	tls                   bool
	timeout               time.Duration
	keys                  keySource
}

// entryLife is how long after a session's issued-at an entry must last:
// the session's lifetime, ClockSkew for the instance that reads it and
// ClockSkew for a store whose clock is behind, plus a second for
// truncation; the session manager's rule (middleware revokeTTL), with the
// lifetime policy the key set records.
func entryLife(l keyring.Lifetime) time.Duration {
	l = l.WithDefaults()
	return l.AbsoluteTimeout + 2*l.ClockSkew + time.Second
}

// lifetime reads the lifetime policy from the key set that -file or -env
// names.
func (e *env) lifetime(rf *redisFlags) (keyring.Lifetime, error) {
	set, err := e.readKeys(rf.keys)
	if err != nil {
		return keyring.Lifetime{}, err
	}
	return set.Lifetime, nil
}

func (e *env) newRedisFlags(fs *flag.FlagSet, keysDoc string) *redisFlags {
	rf := &redisFlags{}
	rf.keys.add(fs, keysDoc)
	fs.StringVar(&rf.addrs, "redis", "", "Redis address host:port, or a comma-separated list: Cluster seed nodes, or Sentinels with -sentinel-master (required)")
	fs.StringVar(&rf.master, "sentinel-master", "", "the Sentinel master name; -redis then lists the Sentinels")
	fs.StringVar(&rf.prefix, "prefix", redis.DefaultPrefix, "the key prefix of the fleet's revocation list (its Options.Prefix)")
	fs.BoolVar(&rf.tls, "tls", false, "connect with TLS, verifying the server against the system's CAs (SSL_CERT_FILE adds a private CA)")
	fs.DurationVar(&rf.timeout, "timeout", defaultRedisTimeout, "give up on Redis after this long")
	return rf
}

// check validates the shared flags and returns the addresses.
func (rf *redisFlags) check() ([]string, error) {
	if rf.addrs == "" {
		return nil, usagef("-redis is required")
	}
	var addrs []string
	for a := range strings.SplitSeq(rf.addrs, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, usagef("-redis %q: empty address in the list", rf.addrs)
		}
		addrs = append(addrs, a)
	}
	if rf.timeout <= 0 {
		return nil, usagef("-timeout must be positive")
	}
	return addrs, nil
}

// openRevoker connects a Direct revoker to the list. It makes no Redis call; the
// caller closes the client.
func (e *env) openRevoker(rf *redisFlags, addrs []string) (goredis.UniversalClient, *redis.Direct, error) {
	opts := &goredis.UniversalOptions{
		Addrs:       addrs,
		MasterName:  rf.master,
		Username:    e.getenv(envRedisUsername),
		Password:    e.getenv(envRedisPassword),
		DialTimeout: rf.timeout,
		// One command, one attempt at each step: -timeout bounds the
		// whole call, and a failed command may simply be run again.
		MaxRetries:            -1,
		DialerRetries:         1,
		ContextTimeoutEnabled: true,
	}
	if rf.tls {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	client := goredis.NewUniversalClient(opts)
	rv, err := redis.NewDirect(client, redis.Options{Prefix: rf.prefix, WriteTimeout: rf.timeout, Now: e.now})
	if err != nil {
		client.Close()
		if errors.Is(err, redis.ErrInvalidConfig) {
			return nil, nil, usageError{msg: err.Error()}
		}
		return nil, nil, err
	}
	return client, rv, nil
}

// write runs one revocation against the list with the -timeout bound and
// explains a failure.
func (e *env) write(rf *redisFlags, addrs []string, do func(context.Context, revoke.Revoker) error) error {
	client, rv, err := e.openRevoker(rf, addrs)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), rf.timeout)
	defer cancel()
	if err := do(ctx, rv); err != nil {
		if errors.Is(err, redis.ErrUnavailable) {
			return fmt.Errorf("redis %s: %w\nthe revocation may not have been applied; running the command again is safe", rf.addrs, err)
		}
		return err
	}
	return nil
}

// fmtMS formats a time at the millisecond precision that sessions carry
// and the list stores.
func fmtMS(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano) }

func parseTime(flagName, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usagef("%s %q: want an RFC 3339 time such as 2026-11-23T10:00:00Z", flagName, v)
	}
	return t, nil
}

func (e *env) revokeSubject(args []string) error {
	fs := e.newFlags("revoke subject", "revoke subject -redis ADDR[,ADDR...] (-file FILE | -env NAME) -subject S [-at T] [-sentinel-master NAME] [-prefix P] [-tls] [-timeout D]")
	rf := e.newRedisFlags(fs, "the fleet's keys, whose recorded lifetime policy says how long the entry lasts: until a session issued before -at has expired (required)")
	subject := fs.String("subject", "", "the subject (user) whose sessions to revoke, as the sessions carry it (required)")
	at := fs.String("at", "", "revoke the sessions issued before this RFC 3339 time instead of before now; it must not be in the future")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	addrs, err := rf.check()
	if err != nil {
		return err
	}
	if *subject == "" {
		return usagef("-subject is required")
	}
	if err := rf.keys.check(); err != nil {
		return err
	}
	life, err := e.lifetime(rf)
	if err != nil {
		return err
	}
	now := e.now()
	before := now
	if *at != "" {
		if before, err = parseTime("-at", *at); err != nil {
			return err
		}
		if before.After(now) {
			return usagef("-at %s is in the future; it would also revoke sessions the user has not started yet", fmtMS(before))
		}
	}
	until := before.Add(entryLife(life))
	if !until.After(now) {
		fmt.Fprintf(e.stdout, "nothing to revoke: every session of subject %q issued before %s expired by %s\n", *subject, fmtMS(before), fmtMS(until))
		return nil
	}
	err = e.write(rf, addrs, func(ctx context.Context, rv revoke.Revoker) error {
		return rv.RevokeSubject(ctx, *subject, before, until)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked subject %q: sessions issued before %s are rejected until %s\n", *subject, fmtMS(before), fmtMS(until))
	return nil
}

func (e *env) revokeSession(args []string) error {
	fs := e.newFlags("revoke session", "revoke session -redis ADDR[,ADDR...] -id ID [-subject S] (-until T | -file FILE | -env NAME) [-sentinel-master NAME] [-prefix P] [-tls] [-timeout D]")
	rf := e.newRedisFlags(fs, "without -until, the fleet's keys, whose recorded lifetime policy says how long the entry lasts: until now + absolute timeout + 2 × clock skew + 1s, past the last instant any instance opens a session issued by now")
	id := fs.String("id", "", "the session id (required)")
	subject := fs.String("subject", "", "the subject the session carries, exactly (see inspect's payload); empty for a session without one. An entry with another subject does not match the session")
	untilFlag := fs.String("until", "", "the session's absolute deadline, RFC 3339 (issued-at + AbsoluteTimeout + skew): keep the entry until then")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	addrs, err := rf.check()
	if err != nil {
		return err
	}
	if *id == "" {
		return usagef("-id is required")
	}
	now := e.now()
	var until time.Time
	if *untilFlag != "" {
		if rf.keys.file != "" || rf.keys.env != "" {
			return usagef("give -until, or -file or -env to compute it from the recorded lifetime, not both")
		}
		if until, err = parseTime("-until", *untilFlag); err != nil {
			return err
		}
	} else {
		if err := rf.keys.check(); err != nil {
			return usagef("give -until, or -file or -env to compute it from the key set's recorded lifetime")
		}
		life, err := e.lifetime(rf)
		if err != nil {
			return err
		}
		until = now.Add(entryLife(life))
	}
	if !until.After(now) {
		fmt.Fprintf(e.stdout, "nothing to revoke: session %q expired by %s\n", *id, fmtMS(until))
		return nil
	}
	err = e.write(rf, addrs, func(ctx context.Context, rv revoke.Revoker) error {
		return rv.RevokeSession(ctx, *id, *subject, until)
	})
	if err != nil {
		return err
	}
	who := "without a subject"
	if *subject != "" {
		who = fmt.Sprintf("of subject %q", *subject)
	}
	fmt.Fprintf(e.stdout, "revoked session %q %s: rejected until %s\n", *id, who, fmtMS(until))
	return nil
}

// quietRedisLog discards go-redis's internal log lines (a failed dial, a
// pool event): the command reports the error itself, once.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}
