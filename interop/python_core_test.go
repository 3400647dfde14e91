package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
	rredis "github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// The Python package (python/cookieseal) against this Go build, live: Go
// opens what Python seals, in both formats and in chunks, and the other
// way round; revocations Python writes to a real redis-server stop Go's
// sessions and the other way round. interop/python/core_driver.py runs
// the package's public API. The pytest suite (python/tests) checks the
// package without Go, against vectors this module generates
// (pyvectors_test.go).

type coreResult struct {
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Lines   []string `json:"lines"`
	Read    coreRead `json:"read"`
	Revoked bool     `json:"revoked"`
	coreRead
}

// coreRead is a pyRead whose data members and flashes come as their JSON
// texts (Python keeps them as they were sealed).
type coreRead struct {
	pyRead
	DataRaw    map[string]string `json:"data_raw"`
	FlashesRaw []string          `json:"flashes_raw"`
}

func (r *coreRead) fix() {
	r.Data = map[string]json.RawMessage{}
	for k, v := range r.DataRaw {
		r.Data[k] = json.RawMessage(v)
	}
	r.Flashes = []json.RawMessage{}
	for _, v := range r.FlashesRaw {
		r.Flashes = append(r.Flashes, json.RawMessage(v))
	}
	r.DataRaw, r.FlashesRaw = nil, nil
}

func runPythonCore(t *testing.T, ops ...map[string]any) []coreResult {
	t.Helper()
	py := pythonCore.interpreter(t)
	in, err := json.Marshal(map[string]any{"ops": ops})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "core_driver.py")
	cmd.Dir = "python"
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python core_driver.py: %v\n%s", err, stderr.Bytes())
	}
	var out struct{ Results []coreResult }
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("python core_driver.py printed %q: %v", stdout.Bytes(), err)
	}
	if len(out.Results) != len(ops) {
		t.Fatalf("python core_driver.py: %d results for %d ops", len(out.Results), len(ops))
	}
	for i := range out.Results {
		out.Results[i].Read.fix()
		out.Results[i].coreRead.fix()
	}
	return out.Results
}

func coreKeyset(t *testing.T, lifetime keyring.Lifetime) (string, *keyring.Keyring) {
	t.Helper()
	set := keyring.Set{Keys: []keyring.Key{newPyKey(t, keyring.StatusPrimary)}, Lifetime: lifetime}
	s, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	return s, parsePyKeyset(t, s)
}

// TestPythonCoreSealsForGo: sessions Python writes open in Go with every
// member as Python wrote it, and Go's open in Python; a Go session changed
// in Python keeps Go's other values byte for byte.
func TestPythonCoreSealsForGo(t *testing.T) {
	ks, kr := coreKeyset(t, keyring.Lifetime{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 48 * time.Hour})
	now := time.Now().Truncate(time.Millisecond)
	no := false
	big := strings.Repeat("y", 6000)
	w := pyWrite{
		Subject: "user-ü:42",
		Data: map[string]json.RawMessage{
			"big": raw("9007199254740993"), "min": raw("-9223372036854775808"), "u64": raw("18446744073709551615"),
			"dec": raw("0.1"), "html": raw(`"<&>"`), "nested": raw(`{"a":[1,{"b":null}]}`),
		},
		Flashes: []json.RawMessage{raw(`"Saved."`), raw(`{"n":1}`)},
	}
	for _, tc := range []struct {
		name string
		o    pyOptions
		w    pyWrite
	}{
		{"native", pyOptions{}, w},
		{"jwe", pyOptions{Format: "jwe"}, w},
		{"native chunked", pyOptions{MaxChunks: 3}, pyWrite{Subject: "u", Data: map[string]json.RawMessage{"big": raw(`"` + big + `"`)}}},
		{"jwe chunked", pyOptions{MaxChunks: 3, Format: "jwe"}, pyWrite{Subject: "u", Data: map[string]json.RawMessage{"big": raw(`"` + big + `"`)}}},
		{"remember me off, own deadline", pyOptions{}, pyWrite{Subject: "u", RememberMe: &no, DeadlineMS: now.Add(time.Hour).UnixMilli()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := map[string]any{"op": "write", "keyset": ks, "options": tc.o, "now_ms": now.UnixMilli(), "write": tc.w}
			r := runPythonCore(t, op)[0]
			if r.Error != "" || len(r.Lines) == 0 {
				t.Fatalf("python wrote nothing: %s %s", r.Error, r.Message)
			}
			// Python's lines are Go's, values aside.
			goLines := goWrite(t, kr, "__Host-session", tc.o, now, "", tc.w)
			if a, b := strings.Join(maskLines(r.Lines), "\n"), strings.Join(maskLines(goLines), "\n"); a != b {
				t.Errorf("python writes\n%s\nGo writes\n%s", a, b)
			}
			got := goRead(t, kr, "__Host-session", tc.o, now.Add(time.Second), cookieHeaderOf(r.Lines))
			want := r.Read.pyRead
			want.Status = "unmodified"
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if got.Reason != "" || got.ID == "" || !bytes.Equal(gj, wj) {
				t.Errorf("Go reads Python's session as\n%s\nPython wrote\n%s", gj, wj)
			}
			// And back: Go's cookie in Python.
			gl := cookieHeaderOf(goWrite(t, kr, "__Host-session", tc.o, now, "", tc.w))
			back := runPythonCore(t, map[string]any{"op": "read", "keyset": ks, "options": tc.o, "now_ms": now.Add(time.Second).UnixMilli(), "cookie": gl})[0]
			want = goRead(t, kr, "__Host-session", tc.o, now.Add(time.Second), gl)
			bj, _ := json.Marshal(back.pyRead)
			wj, _ = json.Marshal(want)
			if !bytes.Equal(bj, wj) {
				t.Errorf("Python reads Go's session as\n%s\nGo reads\n%s", bj, wj)
			}
		})
	}
	t.Run("a Go session changed in Python", func(t *testing.T) {
		gl := cookieHeaderOf(goWrite(t, kr, "__Host-session", pyOptions{}, now, "", w))
		r := runPythonCore(t, map[string]any{"op": "write", "keyset": ks, "now_ms": now.Add(time.Minute).UnixMilli(), "cookie": gl,
			"write": pyWrite{Data: map[string]json.RawMessage{"added": raw(`"by python"`)}}})[0]
		before := goRead(t, kr, "__Host-session", pyOptions{}, now.Add(time.Minute), gl)
		got := goRead(t, kr, "__Host-session", pyOptions{}, now.Add(2*time.Minute), cookieHeaderOf(r.Lines))
		for k := range w.Data {
			if string(got.Data[k]) != string(before.Data[k]) {
				t.Errorf("%s: Go stored %s, reads %s after Python's change", k, before.Data[k], got.Data[k])
			}
		}
		if string(got.Data["added"]) != `"by python"` || got.Subject != w.Subject || len(got.Flashes) != 2 {
			t.Errorf("after Python's change Go reads %+v", got)
		}
	})
	t.Run("recorded lifetime: Python expires what Go expires", func(t *testing.T) {
		gl := cookieHeaderOf(goWrite(t, kr, "__Host-session", pyOptions{}, now, "", w))
		later := now.Add(2*time.Hour + 31*time.Second)
		r := runPythonCore(t, map[string]any{"op": "read", "keyset": ks, "now_ms": later.UnixMilli(), "cookie": gl})[0]
		if g := goRead(t, kr, "__Host-session", pyOptions{}, later, gl); r.Reason != "idle_expired" || g.Reason != "idle_expired" {
			t.Errorf("after the recorded 2h idle: Python %q, Go %q; want idle_expired", r.Reason, g.Reason)
		}
	})
}

// TestPythonCoreRevocationAgreesWithGo: against one redis-server, what
// Python revokes Go refuses and what Go revokes Python refuses, entry by
// entry and through the managers (logout, log out everywhere, renew).
func TestPythonCoreRevocationAgreesWithGo(t *testing.T) {
	pythonCore.interpreter(t)
	srv := redistest.Start(t)
	client := srv.Client(t)
	port := srv.Options().Addr[strings.LastIndexByte(srv.Options().Addr, ':')+1:]
	var portN int
	fmt.Sscan(port, &portN)
	ctx := context.Background()
	d, err := rredis.NewDirect(client, rredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Millisecond)
	nowMS := now.UnixMilli()
	until := nowMS + time.Hour.Milliseconds()
	base := map[string]any{"redis_port": portN, "now_ms": nowMS}
	op := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	ref := func(id, sub string, iat int64) rredisRef { return rredisRef{id, sub, iat} }

	t.Run("python writes, Go checks", func(t *testing.T) {
		res := runPythonCore(t,
			op("op", "revoke", "id", "py-s1", "subject", "alice", "until_ms", until),
			op("op", "revoke", "id", "py-anon", "subject", "", "until_ms", until),
			op("op", "revoke", "subject", "bob:x%3A", "before_ms", nowMS-1000, "until_ms", until),
			op("op", "revoke", "subject", "Zoë {x}", "before_ms", nowMS-1000, "until_ms", until),
		)
		for _, r := range res {
			if r.Error != "" {
				t.Fatal(r.Error, r.Message)
			}
		}
		for _, c := range []struct {
			r    rredisRef
			want bool
		}{
			{ref("py-s1", "alice", nowMS), true}, {ref("py-s2", "alice", nowMS), false}, {ref("py-anon", "", nowMS), true},
			{ref("x", "bob:x%3A", nowMS-1001), true}, {ref("x", "bob:x%3A", nowMS-1000), false},
			{ref("x", "Zoë {x}", nowMS-2000), true}, {ref("x", "Zoë", nowMS-2000), false},
		} {
			err := d.Check(ctx, c.r.session())
			if got := err != nil; got != c.want {
				t.Errorf("Go checks %+v after Python's writes: %v, want revoked=%v", c.r, err, c.want)
			}
		}
	})
	t.Run("Go writes, python checks", func(t *testing.T) {
		for _, err := range []error{
			d.RevokeSession(ctx, "go-s1", "carol", time.UnixMilli(until)),
			d.RevokeSession(ctx, "go-anon", "", time.UnixMilli(until)),
			d.RevokeSubject(ctx, "dave:%", time.UnixMilli(nowMS-1000), time.UnixMilli(until)),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			r    rredisRef
			want bool
		}{
			{ref("go-s1", "carol", nowMS), true}, {ref("go-s2", "carol", nowMS), false}, {ref("go-anon", "", nowMS), true},
			{ref("y", "dave:%", nowMS-1001), true}, {ref("y", "dave:%", nowMS-1000), false},
		}
		var ops []map[string]any
		for _, c := range cases {
			ops = append(ops, op("op", "check", "id", c.r.id, "subject", c.r.sub, "issued_at_ms", c.r.iat))
		}
		for i, r := range runPythonCore(t, ops...) {
			if r.Error != "" || r.Revoked != cases[i].want {
				t.Errorf("Python checks %+v after Go's writes: %v %s, want %v", cases[i].r, r.Revoked, r.Error, cases[i].want)
			}
		}
	})
	t.Run("logout in Python sticks in Go, and the other way round", func(t *testing.T) {
		ks, kr := coreKeyset(t, keyring.Lifetime{})
		goM := func(at time.Time) *middleware.Manager {
			m, err := middleware.New(kr, "__Host-session", middleware.Options{Revoker: d, Codec: cookie.Options{Now: func() time.Time { return at }}, RevokeCheckTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		goLoad := func(at time.Time, h string) (string, string) {
			var reason string
			m, err := middleware.New(kr, "__Host-session", middleware.Options{Revoker: d, Codec: cookie.Options{Now: func() time.Time { return at }}, RevokeCheckTimeout: 5 * time.Second,
				Observer: middleware.ObserverFunc(func(e middleware.Event) {
					if e.Kind == middleware.EventRejected {
						reason = e.Reason.String()
					}
				})})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := m.LoadHeader(ctx, "", h)
			return s.Subject(), reason
		}
		// Login in Go; logout (Destroy) in Python; the copy is refused by Go.
		s, _ := goM(now).LoadHeader(ctx, "")
		s.SetSubject("erin")
		h, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		login := cookieHeaderOf(h["Set-Cookie"])
		w := op("op", "write", "keyset", ks, "now_ms", nowMS+1000, "cookie", login, "write", pyWrite{Destroy: true})
		r := runPythonCore(t, w)[0]
		if r.Error != "" || len(r.Lines) != 1 || !strings.Contains(r.Lines[0], "Max-Age=0") {
			t.Fatalf("python logout: %+v", r)
		}
		if sub, reason := goLoad(now.Add(2*time.Second), login); sub != "" || reason != "revoked" {
			t.Errorf("Go opens the cookie Python logged out: subject %q, reason %q", sub, reason)
		}
		// Login in Python; Go logs the subject out everywhere; Python refuses.
		r = runPythonCore(t, op("op", "write", "keyset", ks, "now_ms", nowMS, "write", map[string]any{"subject": "frank"}))[0]
		pyLogin := cookieHeaderOf(r.Lines)
		if sub, _ := goLoad(now.Add(time.Second), pyLogin); sub != "frank" {
			t.Fatalf("Go does not open Python's login: %q", sub)
		}
		if err := goM(now.Add(time.Second)).RevokeSubject(ctx, "frank"); err != nil {
			t.Fatal(err)
		}
		r = runPythonCore(t, op("op", "read", "keyset", ks, "now_ms", nowMS+2000, "cookie", pyLogin))[0]
		if r.Reason != "revoked" || r.Subject != "" {
			t.Errorf("Python opens a session Go revoked everywhere: %+v", r.pyRead)
		}
		// Python logs a subject out everywhere; Go refuses its session.
		s, _ = goM(now).LoadHeader(ctx, "")
		s.SetSubject("gina")
		h, _ = s.Commit()
		gina := cookieHeaderOf(h["Set-Cookie"])
		if r := runPythonCore(t, op("op", "revoke_subject", "keyset", ks, "now_ms", nowMS+1000, "subject", "gina"))[0]; r.Error != "" {
			t.Fatal(r.Error, r.Message)
		}
		if sub, reason := goLoad(now.Add(2*time.Second), gina); sub != "" || reason != "revoked" {
			t.Errorf("Go opens a session Python revoked everywhere: subject %q, reason %q", sub, reason)
		}
		// Renew in Python (a login on an anonymous session) revokes the old id for Go.
		s, _ = goM(now).LoadHeader(ctx, "")
		s.Set("cart", 1)
		h, _ = s.Commit()
		anon := cookieHeaderOf(h["Set-Cookie"])
		r = runPythonCore(t, op("op", "write", "keyset", ks, "now_ms", nowMS+1000, "cookie", anon, "write", map[string]any{"subject": "hank", "renew": true}))[0]
		if r.Error != "" {
			t.Fatal(r.Error, r.Message)
		}
		if _, reason := goLoad(now.Add(2*time.Second), anon); reason != "revoked" {
			t.Errorf("Go opens the anonymous session Python renewed: reason %q", reason)
		}
		if sub, _ := goLoad(now.Add(2*time.Second), cookieHeaderOf(r.Lines)); sub != "hank" {
			t.Errorf("Go does not open Python's renewed session: %q", sub)
		}
	})
}

type rredisRef struct {
	id, sub string
	iat     int64
}

func (r rredisRef) session() revoke.SessionRef {
	return revoke.SessionRef{ID: r.id, Subject: r.sub, IssuedAt: time.UnixMilli(r.iat)}
}
