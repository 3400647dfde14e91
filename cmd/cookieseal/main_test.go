package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/rotate"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

func runAt(t *testing.T, now time.Time, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb, func() time.Time { return now })
	return result{code, out.String(), errb.String()}
}

// secrets returns the base64url secrets in a key set file, to check that
// no output shows them.
func secrets(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Keys []struct {
			Secret string `json:"secret"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range f.Keys {
		out = append(out, k.Secret)
	}
	return out
}

func noSecrets(t *testing.T, r result, secs []string) {
	t.Helper()
	for _, s := range secs {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Fatalf("output shows a secret:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	}
}

var idRE = regexp.MustCompile(`key (\d+)`)

func firstID(t *testing.T, s string) string {
	t.Helper()
	m := idRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no key id in %q", s)
	}
	return m[1]
}

func TestLifecycleThroughTheCLI(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	day := 24 * time.Hour

	r := runAt(t, t0, "", "keygen", "-out", file, "-epoch", "24h")
	if r.code != exitOK || !strings.Contains(r.stdout, "primary key") {
		t.Fatalf("keygen: %+v", r)
	}
	first := firstID(t, r.stdout)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}

	r = runAt(t, t0.Add(day), "", "keys", "add", "-file", file)
	if r.code != exitOK {
		t.Fatalf("add: %+v", r)
	}
	second := firstID(t, r.stdout)

	steps := []struct {
		name   string
		at     time.Duration
		args   []string
		code   int
		stdout string // a substring of stdout, or of stderr on failure
	}{
		{"promote before the roll-out delay", day + time.Minute, []string{"keys", "promote", "-file", file, "-id", second}, exitFail, "too soon"},
		{"demote before the roll-out delay", day + time.Minute, []string{"keys", "demote", "-file", file, "-id", first}, exitFail, "too soon to demote key " + first + ": its successor, key " + second},
		{"promote a key that does not exist", day + 2*time.Hour, []string{"keys", "promote", "-file", file, "-id", "12345"}, exitFail, "no such key"},
		{"demote to the rolled-out successor", day + 2*time.Hour, []string{"keys", "demote", "-file", file, "-id", first}, exitOK, "key " + second + " is the primary"},
		{"remove the primary", day + 2*time.Hour, []string{"keys", "remove", "-file", file, "-id", second}, exitFail, "wrong state"},
		{"remove while draining", 3 * day, []string{"keys", "remove", "-file", file, "-id", first}, exitFail, "may still be in use"},
		{"disable while draining", 3 * day, []string{"keys", "disable", "-file", file, "-id", first}, exitFail, "may still be in use"},
		{"record shorter sessions, refused", 3 * day, []string{"keys", "policy", "set", "-file", file, "-absolute-timeout", "24h"}, exitFail, "-allow-shorter"},
		{"record shorter sessions", 3 * day, []string{"keys", "policy", "set", "-file", file, "-absolute-timeout", "24h", "-allow-shorter"}, exitOK, "absolute-timeout 24h0m0s"},
		{"remove once drained under the recorded policy", 3 * day, []string{"keys", "remove", "-file", file, "-id", first}, exitOK, "removed key " + first},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			secs := secrets(t, file)
			before, _ := os.ReadFile(file)
			r := runAt(t, t0.Add(s.at), "", s.args...)
			if r.code != s.code {
				t.Fatalf("exit %d, want %d: %+v", r.code, s.code, r)
			}
			where := r.stdout
			if s.code != exitOK {
				where = r.stderr
				if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
					t.Fatal("a refused step changed the file")
				}
			}
			if !strings.Contains(where, s.stdout) {
				t.Fatalf("output lacks %q: %+v", s.stdout, r)
			}
			noSecrets(t, r, secs)
		})
	}

	r = runAt(t, t0.Add(3*day), "", "keys", "list", "-file", file, "-json")
	var listed struct {
		EpochPeriod string `json:"epoch_period"`
		Keys        []struct {
			ID     uint32 `json:"id"`
			Status string `json:"status"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || r.code != exitOK {
		t.Fatalf("list -json: %v %+v", err, r)
	}
	if len(listed.Keys) != 1 || strconv.Itoa(int(listed.Keys[0].ID)) != second || listed.Keys[0].Status != "primary" || listed.EpochPeriod != "24h0m0s" {
		t.Fatalf("list -json = %+v", listed)
	}
}

func TestEmergencyOverrides(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	r := runAt(t, t0, "", "keygen", "-out", file)
	leaked := firstID(t, r.stdout)
	r = runAt(t, t0, "", "keys", "add", "-file", file)
	fresh := firstID(t, r.stdout)
	r = runAt(t, t0, "", "keys", "promote", "-file", file, "-id", fresh, "-emergency")
	if r.code != exitOK || !strings.Contains(r.stderr, "EMERGENCY") {
		t.Fatalf("emergency promote: %+v", r)
	}
	r = runAt(t, t0, "", "keys", "remove", "-file", file, "-id", leaked)
	if r.code != exitFail {
		t.Fatalf("remove without -emergency: %+v", r)
	}
	r = runAt(t, t0, "", "keys", "remove", "-file", file, "-id", leaked, "-emergency")
	if r.code != exitOK || !strings.Contains(r.stderr, "EMERGENCY") {
		t.Fatalf("emergency remove: %+v", r)
	}
	set, err := rotate.ReadKeyFile(file)
	if err != nil || len(set.Keys) != 1 || strconv.Itoa(int(set.Keys[0].ID)) != fresh {
		t.Fatalf("after the emergency: %v %v", set.Keys, err)
	}
}

// A primary demoted by keys promote -emergency within the rollout delay of
// its addition is listed as what it is: decrypt-only, draining until its
// cookies expire, not "enabled, rolling out" and promotable.
func TestListEmergencyDemotedPrimary(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	old := firstID(t, runAt(t, t0, "", "keygen", "-out", file).stdout)
	fresh := firstID(t, runAt(t, t0.Add(time.Minute), "", "keys", "add", "-file", file).stdout)
	if r := runAt(t, t0.Add(2*time.Minute), "", "keys", "promote", "-file", file, "-id", fresh, "-emergency"); r.code != exitOK {
		t.Fatalf("emergency promote: %+v", r)
	}
	now := t0.Add(3 * time.Minute)
	// Demoted at t0+2m: removable rollout delay + absolute timeout + skew
	// + 1s later, under keygen's defaults (1h, 168h, 30s).
	removable := fmtTime(t0.Add(2*time.Minute + time.Hour + 168*time.Hour + 30*time.Second + time.Second))

	r := runAt(t, now, "", "keys", "list", "-file", file)
	if r.code != exitOK {
		t.Fatalf("list: %+v", r)
	}
	var line string
	for l := range strings.SplitSeq(r.stdout, "\n") {
		if strings.HasPrefix(l, old+" ") {
			line = l
		}
	}
	if !strings.Contains(line, "decrypt-only") || !strings.HasSuffix(line, "draining; removable at "+removable) {
		t.Fatalf("the demoted primary is listed as %q, want decrypt-only, draining; removable at %s", line, removable)
	}

	r = runAt(t, now, "", "keys", "list", "-file", file, "-json")
	var listed struct {
		Keys []struct {
			ID           uint32     `json:"id"`
			Status       string     `json:"status"`
			PromotableAt *time.Time `json:"promotable_at"`
			Note         string     `json:"note"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || r.code != exitOK {
		t.Fatalf("list -json: %v %+v", err, r)
	}
	for _, k := range listed.Keys {
		if strconv.Itoa(int(k.ID)) != old {
			continue
		}
		if k.Status != "decrypt-only" || k.PromotableAt != nil || !strings.HasPrefix(k.Note, "draining;") {
			t.Fatalf("list -json shows the demoted primary as %+v", k)
		}
		return
	}
	t.Fatalf("key %s not listed: %s", old, r.stdout)
}

func TestEmergencyReplace(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	leaked := firstID(t, runAt(t, t0, "", "keygen", "-out", file).stdout)
	r := runAt(t, t0, "", "keys", "emergency-replace", "-file", file, "-id", leaked)
	if r.code != exitOK || !strings.Contains(r.stderr, "EMERGENCY") || !strings.Contains(r.stdout, "new primary") {
		t.Fatalf("%+v", r)
	}
	fresh := firstID(t, strings.SplitN(r.stdout, "\n", 2)[1])
	set, err := rotate.ReadKeyFile(file)
	if err != nil || len(set.Keys) != 1 || strconv.Itoa(int(set.Keys[0].ID)) != fresh || fresh == leaked {
		t.Fatalf("after replace: %v %v", set.Keys, err)
	}
	if r := runAt(t, t0, "", "keys", "emergency-replace", "-file", file, "-id", leaked); r.code != exitFail {
		t.Fatalf("replacing a key that is gone: %+v", r)
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.json")
	if r := runAt(t, t0, "", "keygen", "-out", file); r.code != exitOK {
		t.Fatalf("%+v", r)
	}
	before, _ := os.ReadFile(file)
	r := runAt(t, t0, "", "keygen", "-out", file)
	if after, _ := os.ReadFile(file); r.code != exitFail || !bytes.Equal(before, after) || !strings.Contains(r.stderr, "-force") {
		t.Fatalf("keygen over an existing file: %+v", r)
	}
	if r := runAt(t, t0, "", "keygen", "-out", file, "-force"); r.code != exitOK {
		t.Fatalf("keygen -force: %+v", r)
	}
	if after, _ := os.ReadFile(file); bytes.Equal(before, after) {
		t.Fatal("keygen -force did not replace the file")
	}
	r = runAt(t, t0, "", "keygen", "-out", "-")
	set, err := keyring.ParseKeyFile([]byte(r.stdout))
	if r.code != exitOK || err != nil || len(set.Keys) != 1 || !strings.Contains(r.stderr, "secret") {
		t.Fatalf("keygen -out -: %v %+v", err, r)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 || ents[1].Name() != "keys.json.lock" {
		t.Fatalf("files left behind: %v; want the key file and its lock", ents)
	}
}

func TestUsageErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	if r := runAt(t, t0, "", "keygen", "-out", file); r.code != exitOK {
		t.Fatal(r)
	}
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no command", nil, exitUsage, "usage"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"keys without a step", []string{"keys"}, exitUsage, "steps"},
		{"unknown step", []string{"keys", "rotate", "-file", file}, exitUsage, "unknown step"},
		{"unknown flag", []string{"keys", "list", "-file", file, "-frob"}, exitUsage, "not defined"},
		{"stray argument", []string{"keys", "list", "-file", file, "extra"}, exitUsage, "unexpected argument"},
		{"no file", []string{"keys", "list"}, exitUsage, "give -file or -env"},
		{"file and env", []string{"keys", "list", "-file", file, "-env", "COOKIESEAL_KEYS"}, exitUsage, "give -file or -env"},
		{"no file for an edit", []string{"keys", "add"}, exitUsage, "-file is required"},
		{"no id", []string{"keys", "remove", "-file", file}, exitUsage, "-id is required"},
		{"id too large", []string{"keys", "remove", "-file", file, "-id", "4294967296"}, exitUsage, "-id is required"},
		{"id not a number", []string{"keys", "remove", "-file", file, "-id", "abc"}, exitUsage, "invalid value"},
		{"-rollout-delay on a step", []string{"keys", "promote", "-file", file, "-id", "1", "-rollout-delay", "1m"}, exitUsage, "not defined"},
		{"-max-session-age on a step", []string{"keys", "remove", "-file", file, "-id", "1", "-max-session-age", "720h"}, exitUsage, "not defined"},
		{"-skew on list", []string{"keys", "list", "-file", file, "-skew", "1s"}, exitUsage, "not defined"},
		{"keygen with a negative delay", []string{"keygen", "-out", file + ".2", "-rollout-delay", "-1h"}, exitUsage, "-rollout-delay must be positive"},
		{"keygen with a skew over a minute", []string{"keygen", "-out", file + ".2", "-clock-skew", "2m"}, exitUsage, "clock_skew"},
		{"keygen with absolute shorter than idle", []string{"keygen", "-out", file + ".2", "-absolute-timeout", "1h"}, exitUsage, "shorter than idle_timeout"},
		{"policy set with nothing to set", []string{"keys", "policy", "set", "-file", file}, exitUsage, "at least one"},
		{"policy set with a zero", []string{"keys", "policy", "set", "-file", file, "-clock-skew", "0s"}, exitUsage, "-clock-skew must be positive"},
		{"inspect -absolute is gone", []string{"inspect", "-file", file, "-name", "s", "-absolute", "1h"}, exitUsage, "not defined"},
		{"keygen without -out", []string{"keygen"}, exitUsage, "-out is required"},
		{"keygen with a bad epoch", []string{"keygen", "-out", file + ".2", "-epoch", "30s"}, exitUsage, "-epoch"},
		{"export-env without consent", []string{"keys", "export-env", "-file", file}, exitUsage, "-i-know-this-prints-secrets"},
		{"inspect without -name", []string{"inspect", "-file", file}, exitUsage, "-name"},
		{"inspect -value without consent", []string{"inspect", "-file", file, "-name", "s", "-value", "x"}, exitUsage, "-insecure-value-in-argv"},
		{"missing key file", []string{"keys", "list", "-file", file + ".missing"}, exitFail, "unavailable"},
		{"help", []string{"help"}, exitOK, ""},
		{"step help", []string{"keys", "add", "-h"}, exitOK, "-file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runAt(t, t0, "", c.args...)
			out := r.stderr // help asked for goes to stdout, errors to stderr
			if c.code == exitOK {
				out = r.stdout
			}
			if r.code != c.code || !strings.Contains(out, c.msg) {
				t.Fatalf("exit %d, want %d with %q: %+v", r.code, c.code, c.msg, r)
			}
		})
	}
	if _, err := os.Stat(file + ".2"); err == nil {
		t.Fatal("keygen with a bad epoch wrote a file")
	}
}

func TestExportEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	runAt(t, t0, "", "keygen", "-out", file, "-epoch", "1h")
	runAt(t, t0, "", "keys", "add", "-file", file)
	r := runAt(t, t0, "", "keys", "export-env", "-file", file, "-i-know-this-prints-secrets")
	if r.code != exitOK || !strings.Contains(r.stderr, "secret") {
		t.Fatalf("%+v", r)
	}
	got, err := keyring.ParseString(r.stdout)
	want, _ := rotate.ReadKeyFile(file)
	if err != nil || len(got.Keys) != 2 || got.EpochPeriod != time.Hour {
		t.Fatalf("ParseString(export) = %v, %v", got, err)
	}
	for i := range got.Keys {
		if got.Keys[i].ID != want.Keys[i].ID || !got.Keys[i].SameSecret(want.Keys[i]) {
			t.Fatalf("key %d differs", i)
		}
	}
}

func TestInspect(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	runAt(t, t0, "", "keygen", "-out", file)
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	sealAt := func(now time.Time, name string, payload string) string {
		c, err := cookie.New(kr, name, cookie.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Seal([]byte(payload), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := sealAt(t0, "session", `{"user_id":123456789012345678}`)
	// The same keys, recording an idle timeout as long as the absolute one.
	longIdle := filepath.Join(t.TempDir(), "keys.json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(longIdle, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runAt(t, t0, "", "keys", "policy", "set", "-file", longIdle, "-idle-timeout", "168h"); r.code != exitOK {
		t.Fatalf("policy set: %+v", r)
	}
	bin := sealAt(t0, "session", "\x00\x01binary")
	// Tampered: one character changed to another of the base64url
	// alphabet, so the value still reads as a cookie value (a flipped bit
	// could turn '_' into '\\', which inspect rejects as unreadable input,
	// exit 2, whatever the key).
	tampered := []byte(v)
	if tampered[len(v)/2] == 'A' {
		tampered[len(v)/2] = 'B'
	} else {
		tampered[len(v)/2] = 'A'
	}
	id := strconv.Itoa(int(kr.Primary().ID))

	cases := []struct {
		name   string
		at     time.Time
		args   []string
		stdin  string
		code   int
		status string
		want   []string // substrings of stdout
		absent []string
	}{
		{"valid", t0.Add(time.Hour), nil, v, exitOK, "valid",
			[]string{`"user_id": 123456789012345678`, `"format": "native"`, `"key_id": ` + id, `"key_status": "primary"`, `"issued_at": "2026-11-23T10:00:00Z"`}, nil},
		{"with a newline", t0.Add(time.Hour), nil, v + "\n", exitOK, "valid", []string{`"user_id"`}, nil},
		{"from -value, risk accepted", t0.Add(time.Hour), []string{"-value", v, "-insecure-value-in-argv"}, "", exitOK, "valid", []string{`"user_id"`}, nil},
		{"from a Cookie header", t0.Add(time.Hour), nil, "Cookie: theme=dark; session=" + v + "; x=1", exitOK, "valid", []string{`"user_id"`}, nil},
		{"binary payload", t0, nil, bin, exitOK, "valid", []string{`"payload_base64": "AAFiaW5hcnk="`}, nil},
		{"expired idle", t0.Add(25 * time.Hour), nil, v, exitExpired, "expired", []string{`"reason": "idle timeout"`, `"user_id"`}, nil},
		{"expired absolute", t0.Add(8 * 24 * time.Hour), []string{"-file", longIdle}, v, exitExpired, "expired", []string{`"reason": "absolute timeout"`}, nil},
		{"valid under a longer recorded idle timeout", t0.Add(25 * time.Hour), []string{"-file", longIdle}, v, exitOK, "valid", []string{`"expires_at": "2026-11-30T10:00:00Z"`}, nil},
		{"tampered", t0, nil, string(tampered), exitFail, "invalid", nil, []string{"key_id", "user_id"}},
		{"another cookie's value", t0, []string{"-name", "other"}, v, exitFail, "invalid", nil, []string{"key_id", "user_id"}},
		{"garbage", t0, nil, "not-a-cookie", exitFail, "invalid", nil, []string{"key_id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"inspect", "-file", file}, c.args...)
			if !strings.Contains(strings.Join(c.args, " "), "-name") {
				args = append(args, "-name", "session")
			}
			r := runAt(t, c.at, c.stdin, args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d: %+v", r.code, c.code, r)
			}
			if !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, "secret") {
				t.Fatalf("no warning about secrets on stderr: %q", r.stderr)
			}
			var out struct {
				Status string `json:"status"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Status != c.status {
				t.Fatalf("status %q (%v), want %q: %s", out.Status, err, c.status, r.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stdout, w) {
					t.Fatalf("stdout lacks %s:\n%s", w, r.stdout)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(r.stdout, a) {
					t.Fatalf("stdout shows %s for an unauthentic value:\n%s", a, r.stdout)
				}
			}
			noSecrets(t, r, secrets(t, file))
		})
	}

	t.Run("chunk cookies", func(t *testing.T) {
		big := sealAtSize(t, kr, t0, "session", 6000)
		parts, err := cookie.Split(big, 3000, cookie.ChunkLimit)
		if err != nil || len(parts) < 2 {
			t.Fatalf("Split: %d parts, %v", len(parts), err)
		}
		var hdr []string
		for i, p := range parts {
			hdr = append(hdr, cookie.ChunkName("session", i)+"="+p)
		}
		r := runAt(t, t0, "Cookie: "+strings.Join(hdr, "; "), "inspect", "-file", file, "-name", "session")
		if r.code != exitOK || !strings.Contains(r.stdout, `"status": "valid"`) {
			t.Fatalf("%+v", r)
		}
		gap := "Cookie: " + hdr[0] + "; " + cookie.ChunkName("session", 2) + "=x"
		if r := runAt(t, t0, gap, "inspect", "-file", file, "-name", "session"); r.code != exitFail || !strings.Contains(r.stderr, "do not join") {
			t.Fatalf("chunks with a gap: %+v", r)
		}
	})

	t.Run("jwe", func(t *testing.T) {
		j, err := cookie.New(kr, "session", cookie.Options{Now: func() time.Time { return t0 }, Format: cookie.JWE})
		if err != nil {
			t.Fatal(err)
		}
		jv, err := j.Seal([]byte(`{"sub":"ada"}`), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		// No flag says the format: the value's first bytes do.
		r := runAt(t, t0, jv, "inspect", "-file", file, "-name", "session")
		if r.code != exitOK || !strings.Contains(r.stdout, `"format": "jwe"`) || !strings.Contains(r.stdout, `"sub": "ada"`) {
			t.Fatalf("%+v", r)
		}
	})

	stdinErrors := []struct{ name, stdin, msg string }{
		{"empty stdin", "", "no cookie value"},
		{"no such cookie in the header", "Cookie: a=1; b=2", "no cookie named"},
		{"two cookies of that name", "session=" + v + "; session=" + v, "2 cookies named"},
	}
	for _, c := range stdinErrors {
		t.Run(c.name, func(t *testing.T) {
			r := runAt(t, t0, c.stdin, "inspect", "-file", file, "-name", "session")
			if r.code != exitUsage || !strings.Contains(r.stderr, c.msg) {
				t.Fatalf("%+v", r)
			}
		})
	}
}

// sealAtSize seals a JSON payload that makes a value of about n bytes.
func sealAtSize(t *testing.T, kr *keyring.Keyring, now time.Time, name string, n int) string {
	t.Helper()
	c, err := cookie.New(kr, name, cookie.Options{Now: func() time.Time { return now }, MaxValueSize: 2 * n})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Seal([]byte(`{"pad":"`+strings.Repeat("x", n*3/4-100)+`"}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A value from an epoch older than any valid value's fails the epoch
// window before authentication; inspect still finds it authentic and
// reports it expired.
func TestInspectExpiredEpoch(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	runAt(t, t0, "", "keygen", "-out", file, "-epoch", "1h", "-absolute-timeout", "24h")
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cookie.New(kr, "session", cookie.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Seal([]byte(`{"a":1}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r := runAt(t, t0.Add(72*time.Hour), v, "inspect", "-file", file, "-name", "session")
	if r.code != exitExpired || !strings.Contains(r.stdout, `"status": "expired"`) || !strings.Contains(r.stdout, `"reason": "epoch out of range"`) {
		t.Fatalf("%+v", r)
	}
	r = runAt(t, t0.Add(time.Hour), v, "inspect", "-file", file, "-name", "session")
	if r.code != exitOK || !strings.Contains(r.stdout, `"epoch": `+strconv.Itoa(int(kr.Epoch(t0)))) || kr.Epoch(t0) == 0 {
		t.Fatalf("%+v", r)
	}
}
