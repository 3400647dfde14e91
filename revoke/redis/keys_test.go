package redis

import (
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestKeysRoundTrip(t *testing.T) {
	k := newKeys(DefaultPrefix)
	tests := []struct {
		name, subject, id string
		wantSubjectKey    string
		wantSessionKey    string
	}{
		{"plain", "alice", "AAAAAAAAAAAAAAAAAAAAAA",
			"cookieseal:revoke:{alice}:u", "cookieseal:revoke:{alice}:s:AAAAAAAAAAAAAAAAAAAAAA"},
		{"no subject", "", "id-1", "", "cookieseal:revoke:s:id-1"},
		{"braces escaped", "a}b{c", "id",
			"cookieseal:revoke:{a%7Db%7Bc}:u", "cookieseal:revoke:{a%7Db%7Bc}:s:id"},
		{"percent escaped", "100%", "id", "cookieseal:revoke:{100%25}:u", "cookieseal:revoke:{100%25}:s:id"},
		{"leading brace", "}x", "id", "cookieseal:revoke:{%7Dx}:u", "cookieseal:revoke:{%7Dx}:s:id"},
		{"colons and spaces", "u:1 :s:x", "i:d", "cookieseal:revoke:{u:1 :s:x}:u", "cookieseal:revoke:{u:1 :s:x}:s:i:d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.subject != "" {
				sk := k.subject(tt.subject)
				if sk != tt.wantSubjectKey {
					t.Errorf("subject key = %q; want %q", sk, tt.wantSubjectKey)
				}
				if kind, subj, id := k.parse(sk); kind != kindSubject || subj != tt.subject || id != "" {
					t.Errorf("parse(%q) = %v, %q, %q", sk, kind, subj, id)
				}
			}
			key := k.session(tt.subject, tt.id)
			if key != tt.wantSessionKey {
				t.Errorf("session key = %q; want %q", key, tt.wantSessionKey)
			}
			if kind, subj, id := k.parse(key); kind != kindSession || subj != tt.subject || id != tt.id {
				t.Errorf("parse(%q) = %v, %q, %q", key, kind, subj, id)
			}
		})
	}
}

func TestKeysParseRejects(t *testing.T) {
	k := newKeys(DefaultPrefix)
	for _, key := range []string{
		"other:revoke:{a}:u",
		"cookieseal:revoke:",
		"cookieseal:revoke:s:",
		"cookieseal:revoke:{a}",
		"cookieseal:revoke:{a}:x",
		"cookieseal:revoke:{a}:s:",
		"cookieseal:revoke:{}:u",
		"cookieseal:revoke:{a%}:u",
		"cookieseal:revoke:{a%41}:u",
		"cookieseal:revoke:events",
	} {
		t.Run(key, func(t *testing.T) {
			if kind, _, _ := k.parse(key); kind != kindInvalid {
				t.Fatalf("parse(%q) = %v; want invalid", key, kind)
			}
		})
	}
}

func TestGlobEscape(t *testing.T) {
	if got, want := newKeys(`a*b?[c]\`).match, `a\*b\?\[c\]\\*`; got != want {
		t.Fatalf("match = %q; want %q", got, want)
	}
}

func TestTTLRoundsUp(t *testing.T) {
	now := time.Unix(100, 0)
	tests := []struct {
		name  string
		until time.Time
		want  int64
	}{
		{"past", now.Add(-time.Second), 0},
		{"now", now, 0},
		{"1ns", now.Add(time.Nanosecond), 1},
		{"1ms", now.Add(time.Millisecond), 1},
		{"1.000001ms", now.Add(time.Millisecond + time.Nanosecond), 2},
		{"1h", now.Add(time.Hour), 3_600_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ttl(tt.until, now); got != tt.want {
				t.Fatalf("ttl = %d; want %d", got, tt.want)
			}
		})
	}
}

func TestConfigRefused(t *testing.T) {
	good := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer good.Close()
	noCtx := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer noCtx.Close()
	noCtxCluster := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer noCtxCluster.Close()
	tests := []struct {
		name   string
		client goredis.UniversalClient
		opts   CachedOptions
	}{
		{"nil client", nil, CachedOptions{}},
		{"client without ContextTimeoutEnabled", noCtx, CachedOptions{}},
		{"cluster client without ContextTimeoutEnabled", noCtxCluster, CachedOptions{}},
		{"brace in prefix", good, CachedOptions{Options: Options{Prefix: "a{b}:"}}},
		{"negative check timeout", good, CachedOptions{Options: Options{CheckTimeout: -1}}},
		{"negative write timeout", good, CachedOptions{Options: Options{WriteTimeout: -1}}},
		{"negative staleness bound", good, CachedOptions{StalenessBound: -1}},
		{"heartbeat not below bound", good, CachedOptions{StalenessBound: time.Second, HeartbeatInterval: time.Second}},
		{"heartbeat plus sync timeout not below bound", good, CachedOptions{StalenessBound: time.Second, HeartbeatInterval: 600 * time.Millisecond, SyncTimeout: 400 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCached(tt.client, tt.opts)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("NewCached err = %v; want ErrConfig", err)
			}
			if tt.opts.StalenessBound == 0 && tt.opts.HeartbeatInterval == 0 && tt.opts.SyncTimeout == 0 {
				if _, err := NewDirect(tt.client, tt.opts.Options); !errors.Is(err, ErrConfig) {
					t.Fatalf("NewDirect err = %v; want ErrConfig", err)
				}
			}
		})
	}
	// The zero options are valid, and the defaults are the documented ones.
	c, err := NewCached(good, CachedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.Prefix != DefaultPrefix || o.CheckTimeout != DefaultCheckTimeout || o.WriteTimeout != DefaultWriteTimeout ||
		o.StalenessBound != DefaultStalenessBound || o.HeartbeatInterval != DefaultStalenessBound/3 ||
		o.ResyncInterval != DefaultResyncInterval || o.SyncTimeout != DefaultSyncTimeout {
		t.Fatalf("defaults = %+v", o)
	}
	// A small bound scales the derived defaults down instead of refusing.
	if _, err := NewCached(good, CachedOptions{StalenessBound: time.Second}); err != nil {
		t.Fatalf("StalenessBound 1s alone: %v", err)
	}
}

func TestJitterInRange(t *testing.T) {
	const n = 10 * time.Millisecond
	seen := map[time.Duration]bool{}
	for range 200 {
		j := jitter(n)
		if j < 0 || j >= n {
			t.Fatalf("jitter(%v) = %v, outside [0, %v)", n, j, n)
		}
		seen[j] = true
	}
	if len(seen) < 100 {
		t.Fatalf("%d distinct values in 200 draws: not random", len(seen))
	}
	if jitter(0) != 0 || jitter(-1) != 0 {
		t.Fatal("jitter of a non-positive bound must be 0")
	}
}
