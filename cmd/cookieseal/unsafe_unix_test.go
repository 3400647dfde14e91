//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/rotate"
)

// The attacker can write the key set file's directory (a service user
// who owns it) and plants a link or a fifo there; then an operator runs
// cookieseal on the file, as root (`cookieseal keys add` with the lock
// file linked to /etc/shadow gave /etc/shadow to the service user) or as
// another user (the link's target was created). Each command must refuse,
// without blocking, and leave the file outside as it was. As root the
// commands also run as an unprivileged user (cookiesealtest, or the user
// named by $COOKIESEAL_TEST_USER).

const testUserEnv = "COOKIESEAL_TEST_USER"

// cliFixture is one run's files: dir holds the key set file and the
// plant; victim (a valid key set file) and absent are outside it.
type cliFixture struct {
	dir, keys, victim, absent string
	// opUID runs the command, keyUID owns the key set file, otherUID is
	// the attacker (-1: no file can be given to another user).
	opUID, keyUID, otherUID int
}

func lchownTo(t *testing.T, path string, uid int) {
	t.Helper()
	if uid == os.Geteuid() {
		return
	}
	if err := os.Lchown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// writeKeys writes a key set file owned by uid, without the lock file
// that the write leaves.
func writeKeys(t *testing.T, path string, uid int) {
	t.Helper()
	k, err := keyring.GenerateKey(keyring.StatusPrimary, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := rotate.WriteKeyFile(path, keyring.Set{Keys: []keyring.Key{k}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + ".lock"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	lchownTo(t, path, uid)
}

func plantLink(t *testing.T, target, link string, uid int) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	lchownTo(t, link, uid)
}

func plantFifo(t *testing.T, path string, uid int) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no fifos here: %v", err)
	}
	lchownTo(t, path, uid)
}

type cliPlant struct {
	name string
	// plant makes the files and returns the path given to the command.
	plant func(t *testing.T, fx *cliFixture) string
	// commands run against it, FILE standing for the path.
	commands  [][]string
	needOther bool
}

var (
	keysAdd    = []string{"keys", "add", "-file", "FILE"}
	keysList   = []string{"keys", "list", "-file", "FILE"}
	keygen     = []string{"keygen", "-force", "-out", "FILE"}
	keysImport = []string{"keys", "import", "-file", "FILE", "-out", "OUT"}
)

var cliPlants = []cliPlant{
	{
		name: "the lock file is a link to a file outside",
		plant: func(t *testing.T, fx *cliFixture) string {
			writeKeys(t, fx.keys, fx.keyUID)
			plantLink(t, fx.victim, fx.keys+".lock", fx.keyUID)
			return fx.keys
		},
		commands: [][]string{keysAdd, keygen},
	},
	{
		name: "the lock file is a link to a missing file",
		plant: func(t *testing.T, fx *cliFixture) string {
			writeKeys(t, fx.keys, fx.keyUID)
			plantLink(t, fx.absent, fx.keys+".lock", fx.keyUID)
			return fx.keys
		},
		commands: [][]string{keysAdd, keygen},
	},
	{
		name: "the lock file is a fifo",
		plant: func(t *testing.T, fx *cliFixture) string {
			writeKeys(t, fx.keys, fx.keyUID)
			plantFifo(t, fx.keys+".lock", fx.keyUID)
			return fx.keys
		},
		commands: [][]string{keysAdd},
	},
	{
		name: "the key set file is a link planted by another user",
		plant: func(t *testing.T, fx *cliFixture) string {
			plantLink(t, fx.victim, fx.keys, fx.otherUID)
			return fx.keys
		},
		commands:  [][]string{keysAdd, keysList, keygen, keysImport},
		needOther: true,
	},
	{
		name: "the key set file is a fifo",
		plant: func(t *testing.T, fx *cliFixture) string {
			plantFifo(t, fx.keys, fx.keyUID)
			return fx.keys
		},
		commands: [][]string{keysAdd, keysList, keygen, keysImport},
	},
}

// cliTestUser returns the unprivileged user the commands also run as, or
// why there is none.
func cliTestUser() (uid, gid int, why string) {
	if os.Geteuid() != 0 {
		return 0, 0, "not root, so the test cannot switch to another user; it runs as this user only"
	}
	name := os.Getenv(testUserEnv)
	if name == "" {
		name = "cookiesealtest"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Sprintf("no unprivileged user %q to run as (%v): create one with `useradd -M cookiesealtest`, or name one in $%s", name, err, testUserEnv)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if uid == 0 {
		return 0, 0, fmt.Sprintf("user %q is root", name)
	}
	return uid, gid, ""
}

func TestPlantedKeyFilesRefused(t *testing.T) {
	bin := buildBinary(t)
	type runner struct {
		name     string
		uid, gid int
		skip     string
	}
	runners := []runner{{name: "as this user", uid: os.Geteuid(), gid: os.Getegid()}}
	uid, gid, why := cliTestUser()
	runners = append(runners, runner{name: "as an unprivileged user", uid: uid, gid: gid, skip: why})
	for _, r := range runners {
		t.Run(r.name, func(t *testing.T) {
			if r.skip != "" {
				t.Skip(r.skip)
			}
			if r.uid != os.Geteuid() {
				// The binary's directory is private to the user who
				// built it.
				if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range cliPlants {
				for _, args := range p.commands {
					t.Run(p.name+"/"+strings.Join(args[:2], " "), func(t *testing.T) {
						fx := &cliFixture{opUID: r.uid, keyUID: r.uid, otherUID: -1}
						if os.Geteuid() == 0 {
							fx.otherUID = 4242
							if r.uid == 0 {
								// As root, the key set file belongs to the
								// service user, so that a chown would show.
								fx.keyUID = 4243
							}
						}
						if p.needOther && fx.otherUID < 0 {
							t.Skip("needs a link owned by another user, which only root can make")
						}
						runPlanted(t, bin, p, args, fx, r.gid)
					})
				}
			}
		})
	}
}

func runPlanted(t *testing.T, bin string, p cliPlant, args []string, fx *cliFixture, gid int) {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mkdir := func(name string) string {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		lchownTo(t, dir, fx.opUID)
		return dir
	}
	fx.dir = mkdir("keys")
	outside := mkdir("outside")
	fx.keys = filepath.Join(fx.dir, "keys.json")
	fx.absent = filepath.Join(outside, "absent.json")
	fx.victim = filepath.Join(outside, "victim.json")
	writeKeys(t, fx.victim, fx.opUID)
	if err := os.Chmod(fx.victim, 0o640); err != nil {
		t.Fatal(err)
	}
	path := p.plant(t, fx)
	out := filepath.Join(outside, "imported.json")
	argv := make([]string, len(args))
	for i, a := range args {
		switch a {
		case "FILE":
			argv[i] = path
		case "OUT":
			argv[i] = out
		default:
			argv[i] = a
		}
	}

	victim, absent := fileState(t, fx.victim), fileState(t, fx.absent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Dir = base
	if fx.opUID != os.Geteuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(fx.opUID), Gid: uint32(gid), Groups: []uint32{}}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cookieseal %s blocked (killed after 10s)", strings.Join(argv, " "))
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFail || !strings.Contains(stderr.String(), "unsafe key file") {
		t.Errorf("cookieseal %s: %v\nstdout: %s\nstderr: %s\nwant exit status %d and an unsafe key file error", strings.Join(argv, " "), err, stdout.String(), stderr.String(), exitFail)
	} else {
		t.Log(strings.TrimSpace(stderr.String()))
	}
	if got := fileState(t, fx.victim); got != victim {
		t.Errorf("the file outside changed: %s, was %s", got, victim)
	}
	if got := fileState(t, fx.absent); got != absent {
		t.Errorf("a file outside was created: %s: %s", fx.absent, got)
	}
	if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("keys import wrote %s: %v", out, err)
	}
}

// fileState describes what must not change about a file: whether it
// exists, its mode, owner and contents.
func fileState(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("mode %v, owner %d:%d, contents sha256 %x", fi.Mode(), st.Uid, st.Gid, sha256.Sum256(data))
}
