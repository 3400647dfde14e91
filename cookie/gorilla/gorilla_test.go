package gorilla

import (
	"bytes"
	"encoding/gob"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/gorilla/securecookie"
)

var (
	gorillaHash  = bytes.Repeat([]byte{0x11}, 32)
	gorillaBlock = bytes.Repeat([]byte{0x22}, 32)
)

// legacyUser is a custom type an old app stored in its session.
type legacyUser struct{ Name string }

// gorillaEncode writes values the way gorilla/sessions' CookieStore does:
// securecookie with its default gob serializer over map[interface{}]interface{}.
func gorillaEncode(t *testing.T, name string, hashKey, blockKey []byte, values any) string {
	t.Helper()
	v, err := securecookie.New(hashKey, blockKey).Encode(name, values)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// gorillaEncodeRaw authenticates and encrypts arbitrary bytes as a
// securecookie value, to feed the decoder gob streams no app would write.
func gorillaEncodeRaw(t *testing.T, name string, raw []byte) string {
	t.Helper()
	sc := securecookie.New(gorillaHash, gorillaBlock)
	sc.SetSerializer(securecookie.NopEncoder{})
	v, err := sc.Encode(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newGorilla(t *testing.T, offset time.Duration) *Decoder {
	t.Helper()
	g, err := New(gorillaHash, gorillaBlock, Options{Anonymous: true, MaxAge: time.Hour, Now: func() time.Time { return time.Now().Add(offset) }})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGorillaConvertsBasicTypes(t *testing.T) {
	values := map[any]any{
		"s": "text", "b": true, "i": -7, "i8": int8(-8), "i16": int16(-16), "i32": int32(-32), "i64": int64(-1 << 62),
		"u": uint(7), "u8": uint8(8), "u16": uint16(16), "u32": uint32(32), "u64": uint64(1<<64 - 1),
		"f32": float32(1.5), "f64": 2.25, "bytes": []byte{0, 1, 2}, "strs": []string{"a", "b"},
		"ints": []int{1, 2}, "floats": []float64{0.5}, "bools": []bool{true}, "empty": "",
	}
	want := map[string]any{
		"s": "text", "b": true, "i": int64(-7), "i8": int64(-8), "i16": int64(-16), "i32": int64(-32), "i64": int64(-1 << 62),
		"u": uint64(7), "u8": uint64(8), "u16": uint64(16), "u32": uint64(32), "u64": uint64(1<<64 - 1),
		"f32": 1.5, "f64": 2.25, "bytes": []byte{0, 1, 2}, "strs": []string{"a", "b"},
		"ints": []any{int64(1), int64(2)}, "floats": []any{0.5}, "bools": []any{true}, "empty": "",
	}
	got, err := newGorilla(t, 0).DecodeLegacy("session", gorillaEncode(t, "session", gorillaHash, gorillaBlock, values))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestGorillaHashOnly(t *testing.T) {
	g, err := New(gorillaHash, nil, Options{Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.DecodeLegacy("s", gorillaEncode(t, "s", gorillaHash, nil, map[any]any{"user_id": 42}))
	if err != nil || got["user_id"] != int64(42) {
		t.Fatalf("DecodeLegacy = %v, %v", got, err)
	}
	// A value encrypted under a block key does not pass as hash-only.
	if _, err := g.DecodeLegacy("s", gorillaEncode(t, "s", gorillaHash, gorillaBlock, map[any]any{"a": 1})); !errors.Is(err, cookie.ErrInvalid) {
		t.Fatalf("encrypted value under a hash-only decoder: %v", err)
	}
}

func TestGorillaRefusals(t *testing.T) {
	// As the old app would have: gob decodes an interface value only when
	// its type is registered.
	gob.RegisterName("cookieseal.test.legacyUser", legacyUser{})
	gob.RegisterName("cookieseal.test.mapIntString", map[int]string{})
	good := gorillaEncode(t, "session", gorillaHash, gorillaBlock, map[any]any{"user_id": 42})
	var ghost bytes.Buffer
	if err := gob.NewEncoder(&ghost).Encode(map[any]any{"user": legacyUser{"ann"}}); err != nil {
		t.Fatal(err)
	}
	unregistered := bytes.Replace(ghost.Bytes(), []byte("cookieseal.test.legacyUser"), []byte("cookieseal.test.unknownTyp"), 1)
	if bytes.Equal(unregistered, ghost.Bytes()) {
		t.Fatal("type name not found in the gob stream")
	}
	otherHash := bytes.Repeat([]byte{0x33}, 32)
	for _, tc := range []struct {
		name   string
		cookie string
		value  string
		offset time.Duration
		want   error
	}{
		{"control", "session", good, 0, nil},
		{"other cookie name", "other", good, 0, cookie.ErrInvalid},
		{"other hash key", "session", gorillaEncode(t, "session", otherHash, gorillaBlock, map[any]any{"a": 1}), 0, cookie.ErrInvalid},
		{"tampered", "session", good[:10] + string(good[10]^1) + good[11:], 0, cookie.ErrInvalid},
		{"truncated", "session", good[:len(good)-8], 0, cookie.ErrInvalid},
		{"not base64", "session", "!!!", 0, cookie.ErrInvalid},
		{"line break inside", "session", good[:len(good)/2] + "\n" + good[len(good)/2:], 0, cookie.ErrInvalid},
		{"CR LF at the end", "session", good + "\r\n", 0, cookie.ErrInvalid},
		{"empty", "session", "", 0, cookie.ErrInvalid},
		{"oversized", "session", strings.Repeat("A", 4097), 0, cookie.ErrTooLarge},
		{"within MaxAge", "session", good, 59 * time.Minute, nil},
		{"past MaxAge", "session", good, 61 * time.Minute, cookie.ErrExpired},
		{"from the future", "session", good, -2 * time.Minute, cookie.ErrInvalid},
		{"custom struct", "session", gorillaEncode(t, "session", gorillaHash, gorillaBlock, map[any]any{"user": legacyUser{"ann"}}), 0, cookie.ErrLegacyType},
		{"struct beside a valid value", "session", gorillaEncode(t, "session", gorillaHash, gorillaBlock, map[any]any{"m": legacyUser{"ann"}, "n": 1}), 0, cookie.ErrLegacyType},
		{"map with int keys", "session", gorillaEncode(t, "session", gorillaHash, gorillaBlock, map[any]any{"m": map[int]string{1: "ann"}}), 0, cookie.ErrLegacyType},
		{"complex", "session", gorillaEncode(t, "session", gorillaHash, gorillaBlock, map[any]any{"c": 1i}), 0, cookie.ErrLegacyType},
		{"non-string key", "session", gorillaEncode(t, "session", gorillaHash, gorillaBlock, map[any]any{7: "x"}), 0, cookie.ErrLegacyType},
		{"unregistered type", "session", gorillaEncodeRaw(t, "session", unregistered), 0, cookie.ErrLegacyType},
		{"not gob", "session", gorillaEncodeRaw(t, "session", []byte("\xff\xff\xff\xffgarbage")), 0, cookie.ErrLegacyType},
		{"not a map", "session", gorillaEncode(t, "session", gorillaHash, gorillaBlock, "just a string"), 0, cookie.ErrLegacyType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newGorilla(t, tc.offset).DecodeLegacy(tc.cookie, tc.value)
			if tc.want == nil {
				if err != nil || got["user_id"] != int64(42) {
					t.Fatalf("DecodeLegacy = %v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("DecodeLegacy = %v, %v; want %v", got, err, tc.want)
			}
			if errors.Is(tc.want, cookie.ErrLegacyType) && !errors.Is(err, cookie.ErrInvalid) {
				t.Fatalf("cookie.ErrLegacyType does not match cookie.ErrInvalid: %v", err)
			}
			if strings.Contains(err.Error(), "ann") {
				t.Fatalf("error quotes a session value: %v", err)
			}
		})
	}
}

func TestNewGorillaRefusesBadConfig(t *testing.T) {
	anon := Options{Anonymous: true}
	for _, tc := range []struct {
		name           string
		hashKey, block []byte
		opts           Options
		want           error
	}{
		{"no hash key", nil, gorillaBlock, anon, nil},
		{"short hash key", gorillaHash[:31], gorillaBlock, anon, nil},
		{"empty block key", gorillaHash, []byte{}, anon, nil},
		{"odd block key", gorillaHash, gorillaBlock[:20], anon, nil},
		{"negative MaxAge", gorillaHash, gorillaBlock, Options{Anonymous: true, MaxAge: -time.Hour}, nil},
		{"sub-second MaxAge", gorillaHash, gorillaBlock, Options{Anonymous: true, MaxAge: time.Millisecond}, nil},
		{"huge skew", gorillaHash, gorillaBlock, Options{Anonymous: true, ClockSkew: time.Hour}, nil},
		// Migrated sessions without a subject cannot be revoked: the
		// choice is the caller's to make, not a silent default.
		{"neither SubjectKey nor Anonymous", gorillaHash, gorillaBlock, Options{}, ErrNoSubjectKey},
		{"both SubjectKey and Anonymous", gorillaHash, gorillaBlock, Options{SubjectKey: "user_id", Anonymous: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(tc.hashKey, tc.block, tc.opts)
			if err == nil || g != nil {
				t.Fatalf("New = %v, %v", g, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
			if tc.want == nil && errors.Is(err, ErrNoSubjectKey) {
				t.Fatalf("New: %v, refused for the subject, not for %s", err, tc.name)
			}
		})
	}
}

// TestGorillaCopiesKeys checks that the caller's key slices are not kept.
func TestGorillaCopiesKeys(t *testing.T) {
	hk, bk := bytes.Clone(gorillaHash), bytes.Clone(gorillaBlock)
	g, err := New(hk, bk, Options{Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	clear(hk)
	clear(bk)
	if _, err := g.DecodeLegacy("s", gorillaEncode(t, "s", gorillaHash, gorillaBlock, map[any]any{"a": 1})); err != nil {
		t.Fatal(err)
	}
}

// DecodeSession returns the cookie's authenticated timestamp as issued-at
// and, with SubjectKey, the user.
func TestGorillaDecodeSession(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		values  map[any]any
		wantSub string
		wantErr error
	}{
		{"anonymous", "", map[any]any{"user": "alice"}, "", nil},
		{"string subject", "user", map[any]any{"user": "alice"}, "alice", nil},
		{"int subject", "uid", map[any]any{"uid": 42}, "42", nil},
		{"uint64 subject", "uid", map[any]any{"uid": uint64(1<<64 - 1)}, "18446744073709551615", nil},
		{"absent subject", "user", map[any]any{"other": 1}, "", nil},
		{"subject of another type", "user", map[any]any{"user": 1.5}, "", cookie.ErrLegacyType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			v := gorillaEncode(t, "session", gorillaHash, gorillaBlock, tt.values)
			after := time.Now()
			g, err := New(gorillaHash, gorillaBlock, Options{SubjectKey: tt.key, Anonymous: tt.key == ""})
			if err != nil {
				t.Fatal(err)
			}
			s, err := g.DecodeSession("session", v)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, cookie.ErrInvalid) || s.Values != nil {
					t.Fatalf("failure returned %v, %v", s, err)
				}
				return
			}
			if s.Subject != tt.wantSub {
				t.Fatalf("subject %q, want %q", s.Subject, tt.wantSub)
			}
			if s.IssuedAt.Before(before) || s.IssuedAt.After(after) {
				t.Fatalf("issued-at %v outside [%v, %v]", s.IssuedAt, before, after)
			}
			if len(s.Values) != len(tt.values) {
				t.Fatalf("values %v", s.Values)
			}
		})
	}
}
