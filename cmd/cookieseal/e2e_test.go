package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/rotate"
)

// binDir holds the command built once for the end-to-end tests; see
// buildBinary.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cookieseal-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary builds the command once per test binary, on first use.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		bin := filepath.Join(binDir, "cookieseal")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binPath = bin
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

func execBin(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	return execBinEnv(t, bin, nil, stdin, args...)
}

// execBinEnv runs the binary with extra environment variables.
func execBinEnv(t *testing.T, bin string, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

func TestBinaryEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.json")

	r := execBin(t, bin, "", "keygen", "-out", file)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+file) {
		t.Fatalf("keygen: %+v", r)
	}
	first := firstID(t, r.stdout)
	if r := execBin(t, bin, "", "keygen", "-out", file); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("keygen over a file: %+v", r)
	}

	r = execBin(t, bin, "", "keys", "add", "-file", file)
	if r.code != 0 {
		t.Fatalf("keys add: %+v", r)
	}
	second := firstID(t, r.stdout)
	if r := execBin(t, bin, "", "keys", "promote", "-file", file, "-id", second); r.code != 1 || !strings.Contains(r.stderr, "too soon") {
		t.Fatalf("early promote: %+v", r)
	}
	// A key added for this rotation may be dropped at once: it never sealed.
	if r := execBin(t, bin, "", "keys", "remove", "-file", file, "-id", second); r.code != 0 {
		t.Fatalf("remove a never-promoted key: %+v", r)
	}

	// A key added two hours ago (as if by an earlier keys add) is ready
	// for promotion; the test writes it with the library, not a sleep.
	err := rotate.UpdateKeyFile(file, func(s keyring.Set) (keyring.Set, error) {
		s, _, err := rotate.Add(s, time.Now().Add(-2*time.Hour))
		return s, err
	})
	if err != nil {
		t.Fatal(err)
	}
	r = execBin(t, bin, "", "keys", "list", "-file", file)
	if r.code != 0 || !strings.Contains(r.stdout, "promotable now") || !strings.Contains(r.stdout, "seals new cookies") {
		t.Fatalf("keys list: %+v", r)
	}
	noSecrets(t, r, secrets(t, file))
	r = execBin(t, bin, "", "keys", "demote", "-file", file, "-id", first)
	if r.code != 0 || !strings.Contains(r.stdout, "key "+first+" is decrypt-only") {
		t.Fatalf("keys demote: %+v", r)
	}
	if r := execBin(t, bin, "", "keys", "remove", "-file", file, "-id", first); r.code != 1 || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("remove while draining: %+v", r)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode after edits: %v %v", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("files left behind: %v; want the key file and its lock", ents)
	}

	// Inspect a value sealed under the demoted key, which still opens.
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := strconv.ParseUint(first, 10, 32)
	old, _ := kr.Lookup(uint32(oldID))
	oldOnly, err := keyring.New(keyring.Set{Keys: []keyring.Key{primaryCopy(t, old)}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cookie.New(oldOnly, "sid", cookie.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Seal([]byte(`{"user":"ada"}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r = execBin(t, bin, v, "inspect", "-file", file, "-name", "sid")
	var out inspected
	err = json.Unmarshal([]byte(r.stdout), &out)
	var payload bytes.Buffer
	if err == nil {
		err = json.Compact(&payload, out.Payload)
	}
	if r.code != 0 || err != nil || out.Status != "valid" || out.KeyStatus != "decrypt-only" || payload.String() != `{"user":"ada"}` {
		t.Fatalf("inspect: %v %+v", err, r)
	}
	if !strings.Contains(r.stderr, "secret") {
		t.Fatalf("inspect gave no warning: %q", r.stderr)
	}
	if r := execBin(t, bin, v[:len(v)-2], "inspect", "-file", file, "-name", "sid"); r.code != 1 || !strings.Contains(r.stdout, `"status": "invalid"`) {
		t.Fatalf("inspect of a truncated value: %+v", r)
	}
	// Without -name, inspect opens what middleware.New("") seals: a
	// Cookie header with the default __Host-session name, and a bare value
	// sealed for that purpose; the value of another purpose is invalid.
	def, err := cookie.New(oldOnly, middleware.DefaultName, cookie.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := def.Seal([]byte(`{"user":"bea"}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{dv, "theme=dark; " + middleware.DefaultName + "=" + dv} {
		if r := execBin(t, bin, in, "inspect", "-file", file); r.code != 0 || !strings.Contains(r.stdout, `"status": "valid"`) || !strings.Contains(r.stdout, "bea") {
			t.Fatalf("inspect without -name of %.20q…: %+v", in, r)
		}
	}
	if r := execBin(t, bin, v, "inspect", "-file", file); r.code != 1 || !strings.Contains(r.stdout, `"status": "invalid"`) {
		t.Fatalf("inspect without -name of a value sealed for \"sid\": %+v", r)
	}
	if r := execBin(t, bin, dv, "inspect", "-file", file, "-name", ""); r.code != 2 || !strings.Contains(r.stderr, "-name is empty") {
		t.Fatalf("inspect -name \"\": %+v", r)
	}

	if r := execBin(t, bin, "", "keys", "export-env", "-file", file); r.code != 2 || r.stdout != "" {
		t.Fatalf("export-env without consent: %+v", r)
	}
	if r := execBin(t, bin, "", "nope"); r.code != 2 || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("unknown command: %+v", r)
	}
	if r := execBin(t, bin, ""); r.code != 2 || !strings.Contains(r.stderr, "usage") {
		t.Fatalf("no command: %+v", r)
	}
}

// primaryCopy returns k as a primary key, to seal as it did when it was
// the primary.
func primaryCopy(t *testing.T, k keyring.Key) keyring.Key {
	t.Helper()
	k.Status = keyring.StatusPrimary
	return k
}
