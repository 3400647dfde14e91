package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
	"github.com/cookieseal/cookieseal/rotate"
)

// clearRevokeEnv unsets the environment the revoke commands read (and
// the variables they refuse), so that an operator's shell cannot change a
// test's outcome.
func clearRevokeEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{envRedisPassword, envRedisUsername, "COOKIESEAL_MAX_SESSION_AGE", "COOKIESEAL_CLOCK_SKEW", "COOKIESEAL_ROLLOUT_DELAY"} {
		t.Setenv(v, "")
	}
}

// keyFile makes a key set file with keygen and these lifetime flags, and
// returns its path.
func keyFile(t *testing.T, lifetime ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keys.json")
	if r := runAt(t, t0, "", append([]string{"keygen", "-out", file}, lifetime...)...); r.code != exitOK {
		t.Fatalf("keygen: %+v", r)
	}
	return file
}

// checker returns a Direct on addr that sees the list at t0, to check what
// the command wrote.
func checker(t *testing.T, addr, prefix string) (*redis.Direct, goredis.UniversalClient) {
	t.Helper()
	client := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: []string{addr}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	d, err := redis.NewDirect(client, redis.Options{Prefix: prefix, CheckTimeout: 5 * time.Second, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return d, client
}

func wantRevoked(t *testing.T, d *redis.Direct, s revoke.SessionRef, want bool) {
	t.Helper()
	err := d.Check(context.Background(), s)
	if got := errors.Is(err, revoke.ErrRevoked); got != want || (err != nil && !got) {
		t.Fatalf("Check(%+v) = %v, want revoked %v", s, err, want)
	}
}

func TestRevokeUsageErrors(t *testing.T) {
	clearRevokeEnv(t)
	file := keyFile(t)
	// No case reaches the network: the address is a port nothing listens
	// on, and every case fails before connecting.
	const addr = "127.0.0.1:1"
	future := t0.Add(time.Minute).Format(time.RFC3339)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no kind", []string{"revoke"}, exitUsage, "kinds"},
		{"unknown kind", []string{"revoke", "user", "-redis", addr}, exitUsage, "unknown kind"},
		{"no -redis", []string{"revoke", "subject", "-subject", "alice"}, exitUsage, "-redis is required"},
		{"empty address", []string{"revoke", "subject", "-redis", addr + ",,", "-subject", "alice"}, exitUsage, "empty address"},
		{"no -subject", []string{"revoke", "subject", "-redis", addr, "-file", file}, exitUsage, "-subject is required"},
		{"bad -at", []string{"revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice", "-at", "yesterday"}, exitUsage, "RFC 3339"},
		{"future -at", []string{"revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice", "-at", future}, exitUsage, "in the future"},
		{"no key set", []string{"revoke", "subject", "-redis", addr, "-subject", "alice"}, exitUsage, "give -file or -env"},
		{"-max-session-age is gone", []string{"revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice", "-max-session-age", "720h"}, exitUsage, "not defined"},
		{"-skew is gone", []string{"revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice", "-skew", "1s"}, exitUsage, "not defined"},
		{"zero timeout", []string{"revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice", "-timeout", "0s"}, exitUsage, "-timeout must be positive"},
		{"prefix with a brace", []string{"revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice", "-prefix", "a{b}:"}, exitUsage, "invalid configuration"},
		{"password as a flag", []string{"revoke", "subject", "-redis", addr, "-subject", "alice", "-password", "x"}, exitUsage, "not defined"},
		{"stray argument", []string{"revoke", "subject", "-redis", addr, "-subject", "alice", "bob"}, exitUsage, "unexpected argument"},
		{"no -id", []string{"revoke", "session", "-redis", addr, "-subject", "alice"}, exitUsage, "-id is required"},
		{"bad -until", []string{"revoke", "session", "-redis", addr, "-id", "s1", "-until", "2026-11-23"}, exitUsage, "RFC 3339"},
		{"-until and -file", []string{"revoke", "session", "-redis", addr, "-id", "s1", "-until", future, "-file", file}, exitUsage, "not both"},
		{"neither -until nor a key set", []string{"revoke", "session", "-redis", addr, "-id", "s1"}, exitUsage, "give -until, or -file or -env"},
		{"help", []string{"revoke", "help"}, exitOK, ""},
		{"kind help", []string{"revoke", "session", "-h"}, exitOK, "the subject the session carries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runAt(t, t0, "", c.args...)
			out := r.stderr // help asked for goes to stdout, errors to stderr
			if c.code == exitOK {
				out = r.stdout
			}
			if r.code != c.code || !strings.Contains(out, c.msg) || strings.Contains(r.stderr, "unavailable") {
				t.Fatalf("exit %d, want %d with %q: %+v", r.code, c.code, c.msg, r)
			}
		})
	}
	t.Run("a removed environment variable", func(t *testing.T) {
		t.Setenv("COOKIESEAL_MAX_SESSION_AGE", "720h")
		r := runAt(t, t0, "", "revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice")
		if r.code != exitUsage || !strings.Contains(r.stderr, "COOKIESEAL_MAX_SESSION_AGE is no longer read") || !strings.Contains(r.stderr, "keys policy set -file FILE -absolute-timeout 720h") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("nothing left to revoke", func(t *testing.T) {
		// Sessions issued before -at have all expired: no Redis call, so
		// the unreachable address does not matter.
		at := t0.Add(-8 * 24 * time.Hour).Format(time.RFC3339)
		r := runAt(t, t0, "", "revoke", "subject", "-redis", addr, "-file", file, "-subject", "alice", "-at", at)
		if r.code != exitOK || !strings.Contains(r.stdout, "nothing to revoke") {
			t.Fatalf("%+v", r)
		}
		r = runAt(t, t0, "", "revoke", "session", "-redis", addr, "-id", "s1", "-until", t0.Format(time.RFC3339))
		if r.code != exitOK || !strings.Contains(r.stdout, "nothing to revoke") {
			t.Fatalf("%+v", r)
		}
	})
}

func TestRevokeSubjectRedis(t *testing.T) {
	clearRevokeEnv(t)
	srv := redistest.Start(t)
	d, client := checker(t, srv.Addr, redis.DefaultPrefix)
	ctx := context.Background()

	r := runAt(t, t0, "", "revoke", "subject", "-redis", srv.Addr, "-file", keyFile(t), "-subject", "alice")
	until := t0.Add(7*24*time.Hour + 2*30*time.Second + time.Second) // absolute timeout + 2×skew + 1s
	want := fmt.Sprintf("revoked subject %q: sessions issued before %s are rejected until %s\n", "alice", "2026-11-23T10:00:00Z", "2026-11-30T10:01:01Z")
	if r.code != exitOK || r.stdout != want || r.stderr != "" {
		t.Fatalf("got %+v\nwant stdout %q", r, want)
	}
	wantRevoked(t, d, revoke.SessionRef{ID: "old", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}, true)
	wantRevoked(t, d, revoke.SessionRef{ID: "new", Subject: "alice", IssuedAt: t0.Add(time.Millisecond)}, false)
	wantRevoked(t, d, revoke.SessionRef{ID: "old", Subject: "bob", IssuedAt: t0.Add(-time.Hour)}, false)
	// The entry is the documented layout (v2: field "u:alice" of alice's
	// bucket), with until = before + absolute timeout + 2×skew + 1s and a
	// TTL to match.
	key := redis.DefaultPrefix + "v2:{047}"
	if v, err := client.HGet(ctx, key, "u:alice").Result(); err != nil || v != fmt.Sprintf("%d:%d", t0.UnixMilli(), until.UnixMilli()) {
		t.Fatalf("entry %s = %q, %v", key, v, err)
	}
	if ttl, err := client.PTTL(ctx, key).Result(); err != nil || ttl <= 7*24*time.Hour || ttl > 7*24*time.Hour+61*time.Second {
		t.Fatalf("TTL %v, %v", ttl, err)
	}

	// -at, the absolute timeout a key set file records, and a prefix.
	at := t0.Add(-2 * time.Hour)
	day := keyFile(t, "-absolute-timeout", "24h")
	r = runAt(t, t0, "", "revoke", "subject", "-redis", srv.Addr, "-file", day, "-prefix", "app1:", "-subject", "carol", "-at", at.Format(time.RFC3339))
	if r.code != exitOK || !strings.Contains(r.stdout, "before 2026-11-23T08:00:00Z are rejected until 2026-11-24T08:01:01Z") {
		t.Fatalf("%+v", r)
	}
	d1, _ := checker(t, srv.Addr, "app1:")
	wantRevoked(t, d1, revoke.SessionRef{ID: "a", Subject: "carol", IssuedAt: at.Add(-time.Millisecond)}, true)
	wantRevoked(t, d1, revoke.SessionRef{ID: "b", Subject: "carol", IssuedAt: at.Add(time.Hour)}, false)
	wantRevoked(t, d, revoke.SessionRef{ID: "a", Subject: "carol", IssuedAt: at.Add(-time.Millisecond)}, false) // other prefix

	// The lifetime a compact key set in the environment records.
	set, err := rotate.ReadKeyFile(day)
	if err != nil {
		t.Fatal(err)
	}
	set.Lifetime = keyring.Lifetime{IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour, ClockSkew: time.Second}
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_COOKIESEAL_KEYS", compact)
	r = runAt(t, t0, "", "revoke", "subject", "-redis", srv.Addr, "-env", "TEST_COOKIESEAL_KEYS", "-subject", "dave")
	if r.code != exitOK || !strings.Contains(r.stdout, "until 2026-11-23T11:00:03Z") {
		t.Fatalf("%+v", r)
	}
}

func TestRevokeSessionRedis(t *testing.T) {
	clearRevokeEnv(t)
	srv := redistest.Start(t)
	d, client := checker(t, srv.Addr, redis.DefaultPrefix)
	ctx := context.Background()

	until := t0.Add(3 * time.Hour)
	r := runAt(t, t0, "", "revoke", "session", "-redis", srv.Addr, "-id", "s1", "-subject", "alice", "-until", until.Format(time.RFC3339))
	if r.code != exitOK || r.stdout != `revoked session "s1" of subject "alice": rejected until 2026-11-23T13:00:00Z`+"\n" || r.stderr != "" {
		t.Fatalf("%+v", r)
	}
	wantRevoked(t, d, revoke.SessionRef{ID: "s1", Subject: "alice", IssuedAt: t0}, true)
	wantRevoked(t, d, revoke.SessionRef{ID: "s2", Subject: "alice", IssuedAt: t0.Add(-time.Hour)}, false)
	// The entry is found by (subject, id): a check with another subject
	// does not see it, which is why -subject must match the session.
	wantRevoked(t, d, revoke.SessionRef{ID: "s1", IssuedAt: t0}, false)
	wantRevoked(t, d, revoke.SessionRef{ID: "s1", Subject: "bob", IssuedAt: t0}, false)

	// Without -until: now + the recorded absolute timeout + 2×skew + 1s.
	// Without -subject: a session that carries none.
	r = runAt(t, t0, "", "revoke", "session", "-redis", srv.Addr, "-file", keyFile(t), "-id", "anon")
	if r.code != exitOK || !strings.Contains(r.stdout, `session "anon" without a subject: rejected until 2026-11-30T10:01:01Z`) {
		t.Fatalf("%+v", r)
	}
	wantRevoked(t, d, revoke.SessionRef{ID: "anon", IssuedAt: t0}, true)
	if v, err := client.HGet(ctx, redis.DefaultPrefix+"v2:{267}", "s::anon").Result(); err != nil || v != fmt.Sprint(t0.Add(7*24*time.Hour+61*time.Second).UnixMilli()) {
		t.Fatalf("entry = %q, %v", v, err)
	}
}

func TestRevokeRedisPassword(t *testing.T) {
	clearRevokeEnv(t)
	srv := redistest.Start(t)
	d, client := checker(t, srv.Addr, redis.DefaultPrefix)
	ctx := context.Background()
	if err := client.ConfigSet(ctx, "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	file := keyFile(t)
	r := runAt(t, t0, "", "revoke", "subject", "-redis", srv.Addr, "-file", file, "-subject", "alice")
	if r.code != exitFail || !strings.Contains(r.stderr, "NOAUTH") && !strings.Contains(r.stderr, "auth") {
		t.Fatalf("without the password: %+v", r)
	}
	t.Setenv(envRedisPassword, "s3cret")
	r = runAt(t, t0, "", "revoke", "subject", "-redis", srv.Addr, "-file", file, "-subject", "alice")
	if r.code != exitOK || strings.Contains(r.stdout+r.stderr, "s3cret") {
		t.Fatalf("with the password: %+v", r)
	}
	// The checker's connection predates requirepass and stays authenticated.
	wantRevoked(t, d, revoke.SessionRef{ID: "x", Subject: "alice", IssuedAt: t0.Add(-time.Second)}, true)
}

func TestRevokeUnreachable(t *testing.T) {
	clearRevokeEnv(t)
	file := keyFile(t)
	// A port nothing listens on: refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	// A server that accepts and never answers: only -timeout ends the call.
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()

	for _, c := range []struct {
		name string
		args []string
	}{
		{"refused", []string{"revoke", "subject", "-redis", closed, "-file", file, "-subject", "alice"}},
		{"refused session", []string{"revoke", "session", "-redis", closed, "-file", file, "-id", "s1", "-subject", "alice"}},
		{"hung", []string{"revoke", "subject", "-redis", hung.Addr().String(), "-file", file, "-subject", "alice", "-timeout", "300ms"}},
		{"hung sentinel", []string{"revoke", "subject", "-redis", hung.Addr().String(), "-file", file, "-sentinel-master", "mymaster", "-subject", "alice", "-timeout", "300ms"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			r := runAt(t, t0, "", c.args...)
			elapsed := time.Since(start)
			if r.code != exitFail || r.stdout != "" || !strings.Contains(r.stderr, "unavailable") || !strings.Contains(r.stderr, "running the command again is safe") || strings.Contains(r.stderr, "goroutine") {
				t.Fatalf("%+v", r)
			}
			if elapsed > 3*time.Second {
				t.Fatalf("took %v", elapsed)
			}
		})
	}
}

// The built command reports a Redis failure once, in its own words: no
// go-redis log lines, no stack trace.
func TestRevokeBinaryUnreachable(t *testing.T) {
	clearRevokeEnv(t)
	bin := buildBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := execBin(t, bin, "", "revoke", "subject", "-redis", addr, "-file", keyFile(t), "-subject", "alice")
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != exitFail || r.stdout != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], "cookieseal revoke subject: redis "+addr+": ") {
		t.Fatalf("%+v", r)
	}
	if r := execBin(t, bin, "", "revoke"); r.code != exitUsage || !strings.Contains(r.stderr, "kinds") {
		t.Fatalf("%+v", r)
	}
}
