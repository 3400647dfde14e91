package redis

import (
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// TestKeysV2 pins layout v2 (doc.go): bucket keys, fields, and the bucket
// function. The expected buckets were computed with Python's zlib.crc32,
// as a reader in another language would.
func TestKeysV2(t *testing.T) {
	k := newKeys(DefaultPrefix)
	tests := []struct {
		name, subject, id string
		wantBucket        string
		wantSubjectField  string
		wantSessionField  string
	}{
		{"plain", "alice", "AAAAAAAAAAAAAAAAAAAAAA",
			"cookieseal:revoke:v2:{047}", "u:alice", "s:alice:AAAAAAAAAAAAAAAAAAAAAA"},
		{"no subject: bucket by id", "", "id-1", "cookieseal:revoke:v2:{2bc}", "", "s::id-1"},
		{"braces need no escape", "a}b{c", "id", "cookieseal:revoke:v2:{230}", "u:a}b{c", "s:a}b{c:id"},
		{"percent escaped", "100%", "id", "cookieseal:revoke:v2:{3fc}", "u:100%25", "s:100%25:id"},
		{"colons escaped, id as is", "u:1 :s:x", "i:d", "cookieseal:revoke:v2:{036}", "u:u%3A1 %3As%3Ax", "s:u%3A1 %3As%3Ax:i:d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.bucketKey(tt.subject, tt.id); got != tt.wantBucket {
				t.Errorf("bucket = %q; want %q", got, tt.wantBucket)
			}
			if tt.subject != "" {
				f := subjectField(tt.subject)
				if f != tt.wantSubjectField {
					t.Errorf("subject field = %q; want %q", f, tt.wantSubjectField)
				}
				if kind, subj, id := parseField(f); kind != kindSubject || subj != tt.subject || id != "" {
					t.Errorf("parseField(%q) = %v, %q, %q", f, kind, subj, id)
				}
			}
			f := sessionField(tt.subject, tt.id)
			if f != tt.wantSessionField {
				t.Errorf("session field = %q; want %q", f, tt.wantSessionField)
			}
			if kind, subj, id := parseField(f); kind != kindSession || subj != tt.subject || id != tt.id {
				t.Errorf("parseField(%q) = %v, %q, %q", f, kind, subj, id)
			}
		})
	}
	if k.buckets[0] != "cookieseal:revoke:v2:{000}" || k.buckets[Buckets-1] != "cookieseal:revoke:v2:{3ff}" {
		t.Fatalf("bucket keys run %q … %q", k.buckets[0], k.buckets[Buckets-1])
	}
	if k.channel != "cookieseal:revoke:v2:events" {
		t.Fatalf("channel = %q", k.channel)
	}
}

// TestParseFieldUnknown: fields this version cannot read are of unknown
// kind (skipped by a load), never mistaken for an entry.
func TestParseFieldUnknown(t *testing.T) {
	for _, f := range []string{
		"", "g", "g:alice", "x:7", "u:", "s:", "s:alice", "s:alice:", "s::",
		"u:a%", "u:a%41", "s:a%3:id", "U:alice", "S::id",
	} {
		t.Run(f, func(t *testing.T) {
			if kind, _, _ := parseField(f); kind != kindUnknown {
				t.Fatalf("parseField(%q) = %v; want unknown", f, kind)
			}
		})
	}
}

func TestKeysV1RoundTrip(t *testing.T) {
	k := newV1Keys(DefaultPrefix)
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
		{"colons and spaces", "u:1 :s:x", "i:d", "cookieseal:revoke:{u:1 :s:x}:u", "cookieseal:revoke:{u:1 :s:x}:s:i:d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.subject != "" {
				sk := k.subject(tt.subject)
				if sk != tt.wantSubjectKey {
					t.Errorf("subject key = %q; want %q", sk, tt.wantSubjectKey)
				}
				if f, ok := k.field(sk); !ok || f != subjectField(tt.subject) {
					t.Errorf("field(%q) = %q, %v", sk, f, ok)
				}
			}
			key := k.session(tt.subject, tt.id)
			if key != tt.wantSessionKey {
				t.Errorf("session key = %q; want %q", key, tt.wantSessionKey)
			}
			if f, ok := k.field(key); !ok || f != sessionField(tt.subject, tt.id) {
				t.Errorf("field(%q) = %q, %v", key, f, ok)
			}
		})
	}
	for _, key := range []string{
		"other:revoke:{a}:u", "cookieseal:revoke:", "cookieseal:revoke:s:", "cookieseal:revoke:{a}",
		"cookieseal:revoke:{a}:x", "cookieseal:revoke:{a}:s:", "cookieseal:revoke:{}:u",
		"cookieseal:revoke:{a%}:u", "cookieseal:revoke:{a%41}:u", "cookieseal:revoke:events",
		"cookieseal:revoke:v2:{047}", "cookieseal:revoke:v2:events",
	} {
		t.Run("rejects "+key, func(t *testing.T) {
			if _, ok := k.field(key); ok {
				t.Fatalf("field(%q) accepted; want rejected", key)
			}
		})
	}
	if got, want := newV1Keys(`a*b?[c]\`).match, `a\*b\?\[c\]\\*`; got != want {
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
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewCached err = %v; want ErrInvalidConfig", err)
			}
			if tt.opts.StalenessBound == 0 && tt.opts.HeartbeatInterval == 0 && tt.opts.SyncTimeout == 0 {
				if _, err := NewDirect(tt.client, tt.opts.Options); !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("NewDirect err = %v; want ErrInvalidConfig", err)
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

func TestParseValues(t *testing.T) {
	tests := []struct {
		name, v string
		session bool // parses as a session value
		subject bool // parses as a subject value
	}{
		{"ms", "1749000000000", true, false},
		{"negative", "-5", true, false},
		{"pair", "1:2", false, true},
		{"negative pair", "-1:-2", false, true},
		{"empty", "", false, false},
		{"plus", "+5", false, false},
		{"plus in pair", "1:+2", false, false},
		{"space", " 5", false, false},
		{"words", "soon", false, false},
		{"overflow", "99999999999999999999", false, false},
		{"three parts", "1:2:3", false, false},
		{"empty half", "1:", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := parseSession(tt.v); ok != tt.session {
				t.Errorf("parseSession(%q) ok = %v; want %v", tt.v, ok, tt.session)
			}
			if _, _, ok := parseSubject(tt.v); ok != tt.subject {
				t.Errorf("parseSubject(%q) ok = %v; want %v", tt.v, ok, tt.subject)
			}
		})
	}
}
