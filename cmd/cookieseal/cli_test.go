package main

import (
	"encoding/json"
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
	"github.com/cookieseal/cookieseal/rotate"
)

// Help asked for goes to stdout with exit 0; a usage error goes to
// stderr with exit 2: for the top level, the groups and every leaf.
func TestHelpAndUsageStreams(t *testing.T) {
	bin := buildBinary(t)
	leaves := [][]string{
		{"keygen"}, {"inspect"}, {"version"},
		{"keys", "list"}, {"keys", "add"}, {"keys", "promote"}, {"keys", "demote"},
		{"keys", "disable"}, {"keys", "enable"}, {"keys", "remove"},
		{"keys", "emergency-replace"}, {"keys", "import"}, {"keys", "export-env"},
		{"revoke", "subject"}, {"revoke", "session"},
	}
	groups := [][]string{{}, {"keys"}, {"revoke"}}
	type call struct {
		name string
		args []string
	}
	var help, usage []call
	for _, l := range leaves {
		n := strings.Join(l, " ")
		for _, h := range []string{"-h", "-help", "--help", "help"} {
			help = append(help, call{n + " " + h, append(clone(l), h)})
		}
		help = append(help, call{"help " + n, append([]string{"help"}, l...)})
		usage = append(usage, call{n + " with an unknown flag", append(clone(l), "-no-such-flag")})
	}
	for _, g := range groups {
		n := strings.Join(g, " ")
		for _, h := range []string{"-h", "-help", "--help", "help"} {
			help = append(help, call{strings.TrimSpace(n + " " + h), append(clone(g), h)})
		}
		usage = append(usage, call{strings.TrimSpace(n + " without a command"), clone(g)})
		usage = append(usage, call{strings.TrimSpace(n + " with an unknown command"), append(clone(g), "frobnicate")})
	}
	usage = append(usage, call{"help for an unknown command", []string{"help", "frobnicate"}})
	for _, c := range help {
		t.Run("help/"+c.name, func(t *testing.T) {
			r := execBin(t, bin, "", c.args...)
			if r.code != exitOK || !strings.Contains(r.stdout, "usage: cookieseal") || r.stderr != "" {
				t.Fatalf("want usage on stdout, nothing on stderr, exit 0: %+v", r)
			}
		})
	}
	for _, c := range usage {
		t.Run("usage/"+c.name, func(t *testing.T) {
			r := execBin(t, bin, "", c.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, "usage: cookieseal") || r.stdout != "" {
				t.Fatalf("want usage on stderr, nothing on stdout, exit 2: %+v", r)
			}
		})
	}
}

func clone(s []string) []string { return append([]string(nil), s...) }

// version prints the version of the command's own module that the
// toolchain recorded in the binary ("(devel)" or a pseudo-version from the
// VCS state in this checkout; the release dry run checks vX.Y.Z after go
// install and go tool).
func TestVersion(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want, lib := "", false
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && (f[0] == "mod" || f[0] == "dep") && f[1] == modulePath:
			want, lib = f[2], true
		case len(f) >= 3 && f[0] == "=>" && lib: // replaced: the replacement's version
			want = f[2]
		default:
			lib = false
		}
	}
	if want == "" {
		t.Fatalf("no version of %s in go version -m:\n%s", modulePath, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := execBin(t, bin, "", args...)
		f := strings.Fields(r.stdout)
		if r.code != exitOK || len(f) != 3 || f[0] != "cookieseal" || f[1] != want || !strings.HasPrefix(f[2], "go") {
			t.Fatalf("%v: %+v; want cookieseal %s goX", args, r, want)
		}
	}
	r := execBin(t, bin, "", "version", "-json")
	var v struct{ Version, Go string }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Version != want || v.Go == "" {
		t.Fatalf("version -json: %v %+v", err, r)
	}
	// Without build information, the version is "(devel)".
	if got, _ := moduleVersion(); got == "" {
		t.Fatal("empty version in the test binary")
	}
}

// Every command that takes keys reads every form the library reads: a
// key set file, the compact form of $COOKIESEAL_KEYS in a file, and
// either one in an environment variable.
func TestKeyFormatsEveryCommand(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "keys.json")
	if r := execBin(t, bin, "", "keygen", "-out", jsonFile, "-epoch", "24h"); r.code != exitOK {
		t.Fatal(r)
	}
	if r := execBin(t, bin, "", "keys", "add", "-file", jsonFile); r.code != exitOK {
		t.Fatal(r)
	}
	set, err := rotate.ReadKeyFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	jsonText, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	compactFile := filepath.Join(dir, "keys.env")
	if err := os.WriteFile(compactFile, []byte(compact+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cookie.New(kr, "sid", cookie.Options{})
	if err != nil {
		t.Fatal(err)
	}
	value, err := c.Seal([]byte(`{"user":"ada"}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sources := []struct {
		name string
		env  []string
		args []string
	}{
		{"key set file", nil, []string{"-file", jsonFile}},
		{"compact form in a file", nil, []string{"-file", compactFile}},
		{"compact form in the environment", []string{"COOKIESEAL_KEYS=" + compact}, []string{"-env", "COOKIESEAL_KEYS"}},
		{"key set file in the environment", []string{"MY_KEYS=" + string(jsonText)}, []string{"-env", "MY_KEYS"}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			r := execBinEnv(t, bin, src.env, "", append([]string{"keys", "list", "-json"}, src.args...)...)
			var listed struct {
				EpochPeriod string `json:"epoch_period"`
				Keys        []struct {
					ID uint32 `json:"id"`
				} `json:"keys"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || r.code != exitOK || len(listed.Keys) != 2 || listed.EpochPeriod != "24h0m0s" {
				t.Fatalf("keys list: %v %+v", err, r)
			}
			r = execBinEnv(t, bin, src.env, value, append([]string{"inspect", "-name", "sid"}, src.args...)...)
			if r.code != exitOK || !strings.Contains(r.stdout, `"status": "valid"`) || !strings.Contains(r.stdout, `"user": "ada"`) {
				t.Fatalf("inspect: %+v", r)
			}
			r = execBinEnv(t, bin, src.env, "", append([]string{"keys", "export-env", "-i-know-this-prints-secrets"}, src.args...)...)
			if r.code != exitOK || strings.TrimSpace(r.stdout) != compact {
				t.Fatalf("export-env: %+v", r)
			}
			out := filepath.Join(t.TempDir(), "imported.json")
			r = execBinEnv(t, bin, src.env, "", append([]string{"keys", "import", "-out", out, "-json"}, src.args...)...)
			var res stepResult
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != exitOK || res.KeyID != kr.Primary().ID || res.PrimaryID != kr.Primary().ID {
				t.Fatalf("import: %v %+v", err, r)
			}
			got, err := rotate.ReadKeyFile(out)
			if err != nil || len(got.Keys) != 2 || got.EpochPeriod != 24*time.Hour {
				t.Fatalf("imported file: %v %v", got.Keys, err)
			}
			for i, k := range got.Keys {
				if k.ID != set.Keys[i].ID || !k.SameSecret(set.Keys[i]) || k.Status != set.Keys[i].Status || k.Added.IsZero() {
					t.Fatalf("imported key %d = %v, want %v with dates", i, k, set.Keys[i])
				}
			}
		})
	}
	// The steps that change keys need the dates only a key set file
	// keeps: on the compact form they refuse, say why, and change nothing.
	before, _ := os.ReadFile(compactFile)
	for _, step := range [][]string{{"add"}, {"promote", "-id", "1"}, {"remove", "-id", "1"}, {"enable", "-id", "1"}} {
		r := execBin(t, bin, "", append(append([]string{"keys"}, step...), "-file", compactFile)...)
		if r.code != exitFail || !strings.Contains(r.stderr, "keys import") {
			t.Fatalf("keys %s on the compact form: %+v", step[0], r)
		}
		noSecrets(t, r, []string{compact})
	}
	if after, _ := os.ReadFile(compactFile); string(after) != string(before) {
		t.Fatal("a refused step changed the compact file")
	}
}

// Every step that creates or changes keys prints its result with -json,
// the key's ID in key_id, and the file holds what it says.
func TestStepsPrintJSON(t *testing.T) {
	bin := buildBinary(t)
	file := filepath.Join(t.TempDir(), "keys.json")
	step := func(t *testing.T, wantCode int, args ...string) stepResult {
		t.Helper()
		r := execBin(t, bin, "", append(args, "-json")...)
		var res stepResult
		if r.code != wantCode {
			t.Fatalf("%v: exit %d, want %d: %+v", args, r.code, wantCode, r)
		}
		if wantCode != exitOK {
			if r.stdout != "" {
				t.Fatalf("%v: refused step printed %q", args, r.stdout)
			}
			return res
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("%v: %v in %q", args, err, r.stdout)
		}
		noSecrets(t, r, secrets(t, file))
		return res
	}
	inFile := func(t *testing.T, id uint32) (keyring.Key, bool) {
		t.Helper()
		set, err := rotate.ReadKeyFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return findKey(set, id)
	}
	id := func(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

	gen := step(t, exitOK, "keygen", "-out", file)
	if k, ok := inFile(t, gen.KeyID); !ok || gen.Step != "keygen" || gen.PrimaryID != gen.KeyID || k.Status != keyring.StatusPrimary || gen.Key == nil || gen.Key.Status != "primary" {
		t.Fatalf("keygen: %+v", gen)
	}
	add := step(t, exitOK, "keys", "add", "-file", file)
	if k, ok := inFile(t, add.KeyID); !ok || add.KeyID == gen.KeyID || k.Status != keyring.StatusDecryptOnly || add.Key.PromotableAt == nil || add.PrimaryID != gen.KeyID {
		t.Fatalf("add: %+v", add)
	}
	prom := step(t, exitOK, "keys", "promote", "-file", file, "-id", id(add.KeyID), "-emergency")
	if k, ok := inFile(t, add.KeyID); !ok || prom.KeyID != add.KeyID || prom.PrimaryID != add.KeyID || k.Status != keyring.StatusPrimary || prom.Demoted == nil || prom.Demoted.ID != gen.KeyID || prom.Demoted.RemovableAt == nil {
		t.Fatalf("promote: %+v", prom)
	}
	dis := step(t, exitOK, "keys", "disable", "-file", file, "-id", id(gen.KeyID), "-emergency")
	if k, _ := inFile(t, gen.KeyID); dis.KeyID != gen.KeyID || k.Status != keyring.StatusDisabled || dis.Key.Status != "disabled" {
		t.Fatalf("disable: %+v", dis)
	}
	// keys enable, end to end: the key is usable again, and its roll-out
	// starts over, so promoting it now is refused.
	before := time.Now().Add(-time.Second)
	en := step(t, exitOK, "keys", "enable", "-file", file, "-id", id(gen.KeyID))
	k, _ := inFile(t, gen.KeyID)
	if en.KeyID != gen.KeyID || k.Status != keyring.StatusDecryptOnly || en.Key.PromotableAt == nil || k.Enabled.Before(before.Truncate(time.Second)) || !k.Added.Before(k.Enabled.Add(time.Second)) {
		t.Fatalf("enable: %+v, key %v added %v, enabled %v", en, k, k.Added, k.Enabled)
	}
	if want := k.Enabled.Add(keyring.DefaultRolloutDelay + time.Second); !en.Key.PromotableAt.Equal(want) {
		t.Fatalf("enable: promotable at %v, want %v", en.Key.PromotableAt, want)
	}
	step(t, exitFail, "keys", "promote", "-file", file, "-id", id(gen.KeyID))
	step(t, exitFail, "keys", "demote", "-file", file, "-id", id(add.KeyID))
	rm := step(t, exitOK, "keys", "remove", "-file", file, "-id", id(gen.KeyID), "-emergency")
	if _, ok := inFile(t, gen.KeyID); ok || rm.KeyID != gen.KeyID || rm.RemovedID != gen.KeyID || rm.Key != nil {
		t.Fatalf("remove: %+v", rm)
	}
	rep := step(t, exitOK, "keys", "emergency-replace", "-file", file, "-id", id(add.KeyID))
	if k, ok := inFile(t, rep.KeyID); !ok || rep.RemovedID != add.KeyID || rep.KeyID == add.KeyID || rep.PrimaryID != rep.KeyID || k.Status != keyring.StatusPrimary {
		t.Fatalf("emergency-replace: %+v", rep)
	}
	if r := execBin(t, bin, "", "keygen", "-out", "-", "-json"); r.code != exitUsage || r.stdout != "" {
		t.Fatalf("keygen -out - -json: %+v", r)
	}
}

// The roll-out guard counts from keys enable, at the boundary, with the
// clock injected.
func TestEnableRestartsTheRollout(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	first := firstID(t, runAt(t, t0, "", "keygen", "-out", file).stdout)
	second := firstID(t, runAt(t, t0, "", "keys", "add", "-file", file).stdout)
	tE := t0.Add(30 * 24 * time.Hour)
	steps := []struct {
		name string
		at   time.Time
		args []string
		code int
		want string // in stdout, or in stderr on failure
	}{
		{"promote the new key", t0.Add(2 * time.Hour), []string{"promote", "-id", second}, exitOK, "key " + second + " is the primary"},
		{"disable the old key once drained", t0.Add(9 * 24 * time.Hour), []string{"disable", "-id", first}, exitOK, "disabled key " + first},
		{"enable it", tE, []string{"enable", "-id", first}, exitOK, "promote it at " + fmtTime(tE.Add(time.Hour+time.Second))},
		{"listed as rolling out", tE.Add(time.Minute), []string{"list"}, exitOK, "enabled, rolling out; promotable at " + fmtTime(tE.Add(time.Hour+time.Second))},
		{"promote one second early", tE.Add(time.Hour), []string{"promote", "-id", first}, exitFail, "too soon"},
		{"promote at the boundary", tE.Add(time.Hour + time.Second), []string{"promote", "-id", first}, exitOK, "key " + first + " is the primary"},
		{"enable a key that is not disabled", tE.Add(2 * time.Hour), []string{"enable", "-id", second}, exitFail, "not disabled"},
		{"enable a missing key", tE.Add(2 * time.Hour), []string{"enable", "-id", "7"}, exitFail, "no such key"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := append([]string{"keys", s.args[0], "-file", file}, s.args[1:]...)
			before, _ := os.ReadFile(file)
			r := runAt(t, s.at, "", args...)
			where := r.stdout
			if s.code != exitOK {
				where = r.stderr
				if after, _ := os.ReadFile(file); string(after) != string(before) {
					t.Fatal("a refused step changed the file")
				}
			}
			if r.code != s.code || !strings.Contains(where, s.want) {
				t.Fatalf("exit %d, want %d with %q: %+v", r.code, s.code, s.want, r)
			}
		})
	}
}

// Several cookieseal processes editing one file at once, some through a
// symbolic link, lose no edit, and the link stays a link.
func TestConcurrentCommandsLoseNoEdit(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.json")
	link := filepath.Join(t.TempDir(), "keys.json")
	if r := execBin(t, bin, "", "keygen", "-out", file); r.code != exitOK {
		t.Fatal(r)
	}
	if err := os.Symlink(file, link); err != nil {
		t.Skipf("symbolic links unavailable: %v", err)
	}
	const writers, edits = 4, 6
	var (
		mu   sync.Mutex
		ids  = map[uint32]bool{}
		errs []string
		wg   sync.WaitGroup
	)
	for w := range writers {
		path := []string{file, link}[w%2]
		wg.Go(func() {
			for range edits {
				cmd := exec.Command(bin, "keys", "add", "-file", path, "-json")
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				var res stepResult
				if err == nil {
					err = json.Unmarshal(out, &res)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Sprintf("%v: %s%s", err, out, stderr.String()))
				} else {
					ids[res.KeyID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d commands failed, e.g. %s", len(errs), errs[0])
	}
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != writers*edits || len(set.Keys) != 1+writers*edits {
		t.Fatalf("%d keys reported added, %d in the file; want %d and %d", len(ids), len(set.Keys), writers*edits, 1+writers*edits)
	}
	for _, k := range set.Keys {
		delete(ids, k.ID)
	}
	if len(ids) != 0 {
		t.Fatalf("edits reported successful but lost: %v", ids)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
}

// A key set file reached through a symbolic link is edited where the link
// points: the link is kept and readers of the target see the change.
func TestEditThroughSymlink(t *testing.T) {
	bin := buildBinary(t)
	target := filepath.Join(t.TempDir(), "keys.json")
	link := filepath.Join(t.TempDir(), "keys.json")
	if r := execBin(t, bin, "", "keygen", "-out", target); r.code != exitOK {
		t.Fatal(r)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symbolic links unavailable: %v", err)
	}
	r := execBin(t, bin, "", "keys", "add", "-file", link, "-json")
	var res stepResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != exitOK {
		t.Fatalf("keys add through the link: %v %+v", err, r)
	}
	set, err := rotate.ReadKeyFile(target)
	if _, ok := findKey(set, res.KeyID); err != nil || !ok {
		t.Fatalf("the target lacks key %d: %v %v", res.KeyID, set.Keys, err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if r := execBin(t, bin, "", "keygen", "-out", link, "-force"); r.code != exitOK {
		t.Fatalf("keygen -force through the link: %+v", r)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("keygen -force replaced the link: %v %v", fi.Mode(), err)
	}
}

// inspect reads the value from stdin; -value is refused unless the
// operator accepts the risk by name, and then warned about.
func TestInspectValueNotInArgv(t *testing.T) {
	bin := buildBinary(t)
	file := filepath.Join(t.TempDir(), "keys.json")
	if r := execBin(t, bin, "", "keygen", "-out", file); r.code != exitOK {
		t.Fatal(r)
	}
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cookie.New(kr, "sid", cookie.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Seal([]byte(`{"a":1}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"stdin", v, nil, exitOK, `"status": "valid"`, "treat the output as secret"},
		{"-value refused", "", []string{"-value", v}, exitUsage, "", "-insecure-value-in-argv"},
		{"-value refused even with stdin", v, []string{"-value", v}, exitUsage, "", "standard input"},
		{"-value accepted by name", "", []string{"-value", v, "-insecure-value-in-argv"}, exitOK, `"status": "valid"`, "process list"},
		{"nothing on stdin", "", nil, exitUsage, "", "no cookie value on standard input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := execBin(t, bin, tc.stdin, append([]string{"inspect", "-file", file, "-name", "sid"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d: %+v", r.code, tc.code, r)
			}
			if tc.code != exitOK && r.stdout != "" {
				t.Fatalf("refused, yet printed %q", r.stdout)
			}
			if strings.Contains(r.stderr, v) {
				t.Fatal("stderr repeats the cookie value")
			}
		})
	}
}
