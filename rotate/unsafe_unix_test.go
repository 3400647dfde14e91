//go:build unix

package rotate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
)

// The attacker of these tests can write the key set file's directory (a
// service user who owns it, say) and plants a link, a fifo or a directory
// there, or a link on the way to the key set file; then an operator, root
// or another user, runs a writer or a reader of this package on the file.
// Every such plant must be refused with ErrUnsafeFile, without blocking,
// and nothing outside the directory may change: the file a link points to
// keeps its contents, mode and owner, and a missing one is not created.
//
// As root the operations run twice: in this process, and in a child
// process running as an unprivileged user (cookiesealtest, or the user
// named by $COOKIESEAL_TEST_USER), for which the files are prepared as
// root. Cases that need a third user's link are run only as root.

const (
	unsafeOpEnv   = "COOKIESEAL_ROTATE_UNSAFE_OP"
	unsafePathEnv = "COOKIESEAL_ROTATE_UNSAFE_PATH"
	testUserEnv   = "COOKIESEAL_TEST_USER"
)

// unsafeOps are the entry points that open a key set file or a file
// beside it.
var unsafeOps = []struct {
	name string
	run  func(t testing.TB, path string) error
}{
	{"UpdateKeyFile", func(_ testing.TB, path string) error { _, err := addOne(path); return err }},
	{"WriteKeyFile", func(t testing.TB, path string) error { return WriteKeyFile(path, oneKeySet(t, 7)) }},
	{"CreateKeyFile", func(t testing.TB, path string) error { return CreateKeyFile(path, oneKeySet(t, 7)) }},
	{"ReadKeyFile", func(_ testing.TB, path string) error { _, err := ReadKeyFile(path); return err }},
	{"FileSource.Load", func(_ testing.TB, path string) error {
		_, err := NewFileSource(path).Load(context.Background())
		return err
	}},
}

// writers are the operations that take the lock.
var writers = []string{"UpdateKeyFile", "WriteKeyFile", "CreateKeyFile"}

// TestHelperProcessUnsafe is not a test: run as a child process by
// TestUnsafeKeyFiles, as an unprivileged user, it runs one operation on
// the path in its environment and prints whether it was refused.
func TestHelperProcessUnsafe(t *testing.T) {
	op, path := os.Getenv(unsafeOpEnv), os.Getenv(unsafePathEnv)
	if op == "" {
		t.Skip("helper process for TestUnsafeKeyFiles")
	}
	for _, o := range unsafeOps {
		if o.name != op {
			continue
		}
		switch err := o.run(t, path); {
		case errors.Is(err, ErrUnsafeFile):
			fmt.Printf("result: refused: %v\n", err)
		case err != nil:
			fmt.Printf("result: error: %v\n", err)
		default:
			fmt.Printf("result: ok\n")
		}
		return
	}
	t.Fatalf("unknown operation %q", op)
}

// fixture is one case's files. dir holds the key set file and what the
// attacker plants; victim is a file outside dir that must not change, and
// absent a path outside dir that must not come to exist.
type fixture struct {
	t              *testing.T
	dir            string
	victim, absent string
	keys           string // dir/keys.json
	// opUID is the user the operation runs as; keyUID owns the key set
	// file (the service user: as root, another user, so that a chown
	// would show); otherUID is neither root nor opUID, -1 when no file
	// can be given to another user (not root).
	opUID, keyUID, otherUID int
}

func (fx *fixture) lchown(path string, uid int) {
	fx.t.Helper()
	if uid == os.Geteuid() {
		return
	}
	if err := os.Lchown(path, uid, uid); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) symlink(target, link string, owner int) {
	fx.t.Helper()
	if err := os.Symlink(target, link); err != nil {
		fx.t.Fatal(err)
	}
	fx.lchown(link, owner)
}

func (fx *fixture) writeKeys(path string) {
	fx.t.Helper()
	writeKeysNoLock(fx.t, path)
	fx.lchown(path, fx.keyUID)
}

// writeKeysNoLock writes a key set file and removes the lock file that
// the write left, so that a case can plant its own.
func writeKeysNoLock(t *testing.T, path string) {
	t.Helper()
	writeSet(t, path, oneKeySet(t, 1))
	if err := os.Remove(path + lockSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

// snapshot is what must not change about a file.
type snapshot struct {
	exists   bool
	data     []byte
	mode     fs.FileMode
	uid, gid uint32
}

func snap(t *testing.T, path string) snapshot {
	t.Helper()
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return snapshot{}
	}
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{exists: true, mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.uid, s.gid = st.Uid, st.Gid
	}
	if fi.Mode().IsRegular() {
		if s.data, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s snapshot) String() string {
	if !s.exists {
		return "missing"
	}
	return fmt.Sprintf("mode %v, owner %d:%d, %d bytes", s.mode, s.uid, s.gid, len(s.data))
}

func (s snapshot) equal(o snapshot) bool {
	return s.exists == o.exists && s.mode == o.mode && s.uid == o.uid && s.gid == o.gid && bytes.Equal(s.data, o.data)
}

type unsafeCase struct {
	name string
	// plant makes the case's files and returns the path the operations
	// are given.
	plant func(fx *fixture) string
	// ops are the operations that must refuse it; default all.
	ops []string
	// needOther: the case plants a link owned by a third user.
	needOther bool
}

var unsafeCases = []unsafeCase{
	{
		name: "the lock file is a link to a file outside",
		plant: func(fx *fixture) string {
			fx.writeKeys(fx.keys)
			fx.symlink(fx.victim, fx.keys+lockSuffix, fx.keyUID)
			return fx.keys
		},
		ops: writers,
	},
	{
		name: "the lock file is a link to a missing file",
		plant: func(fx *fixture) string {
			fx.writeKeys(fx.keys)
			fx.symlink(fx.absent, fx.keys+lockSuffix, fx.keyUID)
			return fx.keys
		},
		ops: writers,
	},
	{
		name: "a new key set file whose lock file is a planted link",
		plant: func(fx *fixture) string {
			fx.symlink(fx.absent, fx.keys+lockSuffix, fx.keyUID)
			return fx.keys
		},
		ops: []string{"WriteKeyFile", "CreateKeyFile"},
	},
	{
		name: "the lock file is a fifo",
		plant: func(fx *fixture) string {
			fx.writeKeys(fx.keys)
			mkfifo(fx.t, fx.keys+lockSuffix)
			fx.lchown(fx.keys+lockSuffix, fx.keyUID)
			return fx.keys
		},
		ops: writers,
	},
	{
		name: "the lock file is a directory",
		plant: func(fx *fixture) string {
			fx.writeKeys(fx.keys)
			if err := os.Mkdir(fx.keys+lockSuffix, 0o700); err != nil {
				fx.t.Fatal(err)
			}
			fx.lchown(fx.keys+lockSuffix, fx.keyUID)
			return fx.keys
		},
		ops: writers,
	},
	{
		name: "the key set file is a link planted by another user",
		plant: func(fx *fixture) string {
			fx.symlink(fx.victim, fx.keys, fx.otherUID)
			return fx.keys
		},
		needOther: true,
	},
	{
		name: "the key set file is a link planted by another user to a missing file",
		plant: func(fx *fixture) string {
			fx.symlink(fx.absent, fx.keys, fx.otherUID)
			return fx.keys
		},
		ops:       []string{"WriteKeyFile", "CreateKeyFile"},
		needOther: true,
	},
	{
		name: "a directory on the way is a link planted by another user",
		plant: func(fx *fixture) string {
			link := filepath.Join(fx.dir, "conf")
			fx.symlink(filepath.Dir(fx.victim), link, fx.otherUID)
			return filepath.Join(link, filepath.Base(fx.victim))
		},
		needOther: true,
	},
	{
		name: "the key set file is a link in a directory other users can write",
		plant: func(fx *fixture) string {
			if err := os.Chmod(fx.dir, 0o777); err != nil {
				fx.t.Fatal(err)
			}
			fx.symlink(fx.victim, fx.keys, fx.opUID)
			return fx.keys
		},
	},
	{
		name: "the key set file is a fifo",
		plant: func(fx *fixture) string {
			mkfifo(fx.t, fx.keys)
			fx.lchown(fx.keys, fx.keyUID)
			return fx.keys
		},
	},
	{
		name: "the key set file is a trusted link to a fifo",
		plant: func(fx *fixture) string {
			fifo := filepath.Join(fx.dir, "fifo")
			mkfifo(fx.t, fifo)
			fx.lchown(fifo, fx.keyUID)
			fx.symlink("fifo", fx.keys, fx.opUID)
			return fx.keys
		},
	},
	{
		name: "the key set file is a directory",
		plant: func(fx *fixture) string {
			if err := os.Mkdir(fx.keys, 0o700); err != nil {
				fx.t.Fatal(err)
			}
			fx.lchown(fx.keys, fx.keyUID)
			return fx.keys
		},
	},
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no fifos here: %v", err)
	}
}

// unprivileged returns the user that the child processes run as, or a
// reason why there is none.
func unprivileged() (uid, gid int, why string) {
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

// otherUID is a user ID that is neither root nor uid: the attacker's.
func otherUID(uid int) int {
	if uid == 4242 {
		return 4243
	}
	return 4242
}

func TestUnsafeKeyFiles(t *testing.T) {
	if !chmodWorks {
		t.Skip("no file modes here")
	}
	t.Run("in this process", func(t *testing.T) {
		for _, c := range unsafeCases {
			t.Run(c.name, func(t *testing.T) {
				euid := os.Geteuid()
				fx := &fixture{opUID: euid, keyUID: euid, otherUID: -1}
				if euid == 0 {
					fx.otherUID = otherUID(0)
					fx.keyUID = otherUID(fx.otherUID) // the service user, not root
				}
				if c.needOther && fx.otherUID < 0 {
					t.Skip("needs a link owned by another user, which only root can make")
				}
				runCase(t, c, fx, func(t *testing.T, op, path string) string {
					return runInProcess(t, op, path)
				})
			})
		}
	})
	t.Run("as an unprivileged user", func(t *testing.T) {
		uid, gid, why := unprivileged()
		if why != "" {
			t.Skip(why)
		}
		bin := copyTestBinary(t)
		for _, c := range unsafeCases {
			t.Run(c.name, func(t *testing.T) {
				fx := &fixture{opUID: uid, keyUID: uid, otherUID: otherUID(uid)}
				runCase(t, c, fx, func(t *testing.T, op, path string) string {
					return runAsUser(t, bin, uid, gid, op, path)
				})
			})
		}
	})
}

// runCase plants the case's files afresh for each operation, runs it with
// run, and checks that it was refused and that nothing outside changed.
func runCase(t *testing.T, c unsafeCase, fx *fixture, run func(t *testing.T, op, path string) string) {
	ops := c.ops
	if ops == nil {
		for _, o := range unsafeOps {
			ops = append(ops, o.name)
		}
	}
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			fx := *fx
			fx.t = t
			base := accessibleTempDir(t)
			fx.dir = mkdirOwned(t, filepath.Join(base, "keys"), fx.opUID)
			outside := mkdirOwned(t, filepath.Join(base, "outside"), fx.opUID)
			fx.keys = filepath.Join(fx.dir, "keys.json")
			fx.absent = filepath.Join(outside, "absent.json")
			// The victim is a valid key set file, so that a reader or a
			// writer that followed a link to it would succeed: only the
			// refusal makes the test pass. As root it belongs to root;
			// otherwise to the operation's user, who could change it.
			fx.victim = filepath.Join(outside, "victim.json")
			writeKeysNoLock(t, fx.victim)
			if err := os.Chmod(fx.victim, 0o640); err != nil {
				t.Fatal(err)
			}
			fx.lchown(fx.victim, fx.opUID)
			path := c.plant(&fx)

			victim, absent := snap(t, fx.victim), snap(t, fx.absent)
			out := run(t, op, path)
			t.Log(out)

			if !strings.HasPrefix(out, "refused") {
				t.Errorf("%s(%s): %s; want an error matching ErrUnsafeFile", op, path, out)
			}
			if got := snap(t, fx.victim); !got.equal(victim) {
				t.Errorf("the file outside changed: %v, was %v", got, victim)
			}
			if got := snap(t, fx.absent); !got.equal(absent) {
				t.Errorf("a file outside was created: %s: %v", fx.absent, got)
			}
			// Nothing but the planted files and, for a writer, a lock
			// file may be left in the directory.
			ents, _ := os.ReadDir(fx.dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file left behind: %s", e.Name())
				}
			}
		})
	}
}

// blockLimit is how long an operation may take before the test calls it
// blocked (on a fifo, say); it never needs more than milliseconds.
const blockLimit = 10 * time.Second

func runInProcess(t *testing.T, op, path string) string {
	for _, o := range unsafeOps {
		if o.name != op {
			continue
		}
		done := make(chan error, 1)
		go func() { done <- o.run(t, path) }()
		timer := time.NewTimer(blockLimit)
		defer timer.Stop()
		select {
		case err := <-done:
			switch {
			case errors.Is(err, ErrUnsafeFile):
				return "refused: " + err.Error()
			case err != nil:
				return "error: " + err.Error()
			}
			return "ok"
		case <-timer.C:
			unblockFifos(filepath.Dir(path))
			return fmt.Sprintf("blocked for %v", blockLimit)
		}
	}
	t.Fatalf("unknown operation %q", op)
	return ""
}

// unblockFifos opens every fifo in dir for writing, and closes it, so
// that an operation blocked opening one for reading returns.
func unblockFifos(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Type()&fs.ModeNamedPipe != 0 {
			if f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		}
	}
}

func runAsUser(t *testing.T, bin string, uid, gid int, op, path string) string {
	ctx, cancel := context.WithTimeout(context.Background(), blockLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestHelperProcessUnsafe$", "-test.count=1")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = []string{unsafeOpEnv + "=" + op, unsafePathEnv + "=" + path, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Sprintf("blocked for %v", blockLimit)
	}
	_, result, ok := strings.Cut(string(out), "result: ")
	if !ok {
		t.Fatalf("helper process as uid %d: %v\n%s", uid, err, out)
	}
	result, _, _ = strings.Cut(result, "\n")
	return result
}

// accessibleTempDir returns a new directory that every user can reach:
// t.TempDir's are private to the user running the test.
func accessibleTempDir(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mkdirOwned makes dir with mode 0700, owned by uid.
func mkdirOwned(t *testing.T, dir string, uid int) string {
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if uid != os.Geteuid() {
		if err := os.Chown(dir, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyTestBinary copies this test binary where another user can run it.
func copyTestBinary(t *testing.T) string {
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(accessibleTempDir(t), "rotate.test")
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// The lock file is chown-ed to the key set file's owner only when this
// process has just created it: an existing lock file, or a hard link to
// another file planted at its name, keeps its owner.
func TestLockFileOwner(t *testing.T) {
	if !haveLock {
		t.Skip("no lock file on this system")
	}
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file away: run as root to test the chown of the lock file")
	}
	const service = 4242 // the key set file's owner
	setup := func(t *testing.T) (dir, keys string) {
		dir = t.TempDir()
		keys = filepath.Join(dir, "keys.json")
		writeKeysNoLock(t, keys)
		if err := os.Chown(keys, service, service); err != nil {
			t.Fatal(err)
		}
		return dir, keys
	}
	owner := func(t *testing.T, path string) (uint32, uint32) {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return st.Uid, st.Gid
	}
	update := func(t *testing.T, keys string) {
		t.Helper()
		if _, err := addOne(keys); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a lock file this process creates takes the key set file's owner", func(t *testing.T) {
		_, keys := setup(t)
		update(t, keys)
		if uid, gid := owner(t, keys+lockSuffix); uid != service || gid != service {
			t.Fatalf("new lock file owned by %d:%d, want %d:%d", uid, gid, service, service)
		}
	})
	t.Run("an existing lock file keeps its owner", func(t *testing.T) {
		_, keys := setup(t)
		if err := os.WriteFile(keys+lockSuffix, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		update(t, keys)
		if uid, gid := owner(t, keys+lockSuffix); uid != 0 || gid != 0 {
			t.Fatalf("existing lock file chown-ed to %d:%d", uid, gid)
		}
	})
	t.Run("a hard link at the lock file's name gives nothing away", func(t *testing.T) {
		_, keys := setup(t)
		victim := filepath.Join(t.TempDir(), "shadow")
		if err := os.WriteFile(victim, []byte("root:*:20000::::::\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(victim, keys+lockSuffix); err != nil {
			t.Skipf("no hard links here: %v", err)
		}
		before := snap(t, victim)
		update(t, keys)
		if got := snap(t, victim); !got.equal(before) {
			t.Fatalf("the hard-linked file changed: %v, was %v", got, before)
		}
	})
}

// Links that no other user can have planted or re-pointed are still
// followed: the refusals above must not cost the layouts that use links
// on purpose.
func TestTrustedLinksFollowed(t *testing.T) {
	read := func(t *testing.T, path string) {
		t.Helper()
		if s, err := ReadKeyFile(path); err != nil || len(s.Keys) != 1 {
			t.Fatalf("ReadKeyFile(%s) = %v, %v", path, s.Keys, err)
		}
		if _, err := addOne(path); err != nil {
			t.Fatalf("UpdateKeyFile(%s): %v", path, err)
		}
	}
	t.Run("a link in a sticky directory that everyone can write", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o777|fs.ModeSticky); err != nil {
			t.Fatal(err)
		}
		writeKeysNoLock(t, filepath.Join(dir, "real.json"))
		mustSymlink(t, "real.json", filepath.Join(dir, "keys.json"))
		read(t, filepath.Join(dir, "keys.json"))
	})
	t.Run("a Kubernetes secret volume", func(t *testing.T) {
		// keys.json -> ..data/keys.json, ..data -> ..2026_12_07_10_00_00.1,
		// in a sticky directory that everyone can write.
		vol := t.TempDir()
		if err := os.Chmod(vol, 0o777|fs.ModeSticky); err != nil {
			t.Fatal(err)
		}
		gen := filepath.Join(vol, "..2026_12_07_10_00_00.1")
		if err := os.Mkdir(gen, 0o755); err != nil {
			t.Fatal(err)
		}
		writeKeysNoLock(t, filepath.Join(gen, "keys.json"))
		mustSymlink(t, filepath.Base(gen), filepath.Join(vol, "..data"))
		mustSymlink(t, "..data/keys.json", filepath.Join(vol, "keys.json"))
		if s, err := NewFileSource(filepath.Join(vol, "keys.json")).Load(context.Background()); err != nil || len(s.Keys) != 1 {
			t.Fatalf("FileSource.Load = %v, %v", s.Keys, err)
		}
	})
	t.Run("a link made by root, read by an unprivileged user", func(t *testing.T) {
		uid, gid, why := unprivileged()
		if why != "" {
			t.Skip(why)
		}
		bin := copyTestBinary(t)
		base := accessibleTempDir(t)
		real := mkdirOwned(t, filepath.Join(base, "real"), uid)
		keys := filepath.Join(real, "keys.json")
		writeKeysNoLock(t, keys)
		if err := os.Chown(keys, uid, gid); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(base, "conf") // root's, mode 0755
		if err := os.Mkdir(conf, 0o755); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(conf, "keys.json")
		mustSymlink(t, keys, link)
		for _, op := range []string{"ReadKeyFile", "FileSource.Load", "UpdateKeyFile"} {
			if got := runAsUser(t, bin, uid, gid, op, link); got != "ok" {
				t.Errorf("%s(%s) as uid %d: %s", op, link, uid, got)
			}
		}
	})
}
