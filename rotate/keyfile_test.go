package rotate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// helperEnv names the key set file a re-executed test binary edits; see
// TestHelperProcessAdds.
const (
	helperEnv      = "COOKIESEAL_ROTATE_HELPER_FILE"
	helperEditsEnv = "COOKIESEAL_ROTATE_HELPER_EDITS"
)

// TestHelperProcessAdds is not a test: run as a child process by
// TestUpdateKeyFileConcurrentWriters, it adds keys to the file named in
// its environment and prints each new key's ID.
func TestHelperProcessAdds(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestUpdateKeyFileConcurrentWriters")
	}
	n, err := strconv.Atoi(os.Getenv(helperEditsEnv))
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		id, err := addOne(path)
		if err != nil {
			fmt.Printf("error %v\n", err)
			continue
		}
		fmt.Printf("added %d\n", id)
	}
}

func addOne(path string) (uint32, error) {
	var added uint32
	err := UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
		s, k, err := Add(s, time.Now())
		added = k.ID
		return s, err
	})
	return added, err
}

// Writers in goroutines and in other processes, some through a symbolic
// link and some through the file itself, add keys at once. Every edit
// that reported success must be in the file afterwards.
func TestUpdateKeyFileConcurrentWriters(t *testing.T) {
	if !haveLock {
		t.Skip("no advisory lock on this system: UpdateKeyFile is best effort here")
	}
	const (
		procs, goroutines = 3, 3
		edits             = 12
	)
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	link := filepath.Join(t.TempDir(), "link.json")
	writeSet(t, path, oneKeySet(t, 1))
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	names := []string{path, link}

	var (
		mu   sync.Mutex
		ids  = map[uint32]bool{1: true}
		errs []string
		wg   sync.WaitGroup
	)
	record := func(id uint32, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		if ids[id] {
			errs = append(errs, fmt.Sprintf("key %d reported twice", id))
		}
		ids[id] = true
	}
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessAdds$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+names[i%2], helperEditsEnv+"="+strconv.Itoa(edits))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				record(0, fmt.Errorf("helper process: %v\n%s", err, out.String()))
				return
			}
			n := 0
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "added "):
					id, err := strconv.ParseUint(strings.TrimPrefix(line, "added "), 10, 32)
					record(uint32(id), err)
					n++
				case strings.HasPrefix(line, "error "):
					record(0, errors.New(line))
				}
			}
			if n != edits {
				record(0, fmt.Errorf("helper process reported %d edits, want %d:\n%s", n, edits, out.String()))
			}
		})
	}
	for i := range goroutines {
		wg.Go(func() {
			for range edits {
				record(addOne(names[i%2]))
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d edits failed, e.g.: %s", len(errs), errs[0])
	}
	if want := 1 + (procs+goroutines)*edits; len(ids) != want {
		t.Fatalf("%d keys reported, want %d", len(ids), want)
	}
	set, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != len(ids) {
		t.Fatalf("the file holds %d keys; %d edits reported success", len(set.Keys), len(ids))
	}
	for _, k := range set.Keys {
		delete(ids, k.ID)
	}
	if len(ids) != 0 {
		t.Fatalf("successful edits lost: keys %v", ids)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
}

// The lock is held across the whole read-edit-write: a second update
// waits for the first even while the first is inside its edit.
func TestUpdateKeyFileWaitsForTheLock(t *testing.T) {
	if !haveLock {
		t.Skip("no advisory lock on this system")
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	writeSet(t, path, oneKeySet(t, 1))
	inEdit, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
			close(inEdit)
			<-release
			s, _, err := Add(s, t0)
			return s, err
		})
	}()
	<-inEdit
	second := make(chan error, 1)
	go func() {
		_, err := addOne(path)
		second <- err
	}()
	// The second update cannot finish while the first holds the lock.
	// Whether it has started waiting is not observable, so this only
	// checks that it has not finished; the concurrent-writers test
	// checks that no edit is lost.
	select {
	case err := <-second:
		t.Fatalf("second update finished while the first held the lock: %v", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second update: %v", err)
	}
	if set, err := ReadKeyFile(path); err != nil || len(set.Keys) != 3 {
		t.Fatalf("after both updates: %v, %v", set.Keys, err)
	}
}

// Writing through a symbolic link replaces the file it points to and
// keeps the link, so readers of the target and of the link see the new
// keys.
func TestKeyFileThroughSymlink(t *testing.T) {
	type layout struct{ target, link string }
	layouts := []struct {
		name  string
		setup func(t *testing.T, base string) layout
	}{
		{"absolute link in another directory", func(t *testing.T, base string) layout {
			target := filepath.Join(base, "real", "keys.json")
			link := filepath.Join(base, "conf", "keys.json")
			mustSymlink(t, target, link)
			return layout{target, link}
		}},
		{"relative link in the same directory", func(t *testing.T, base string) layout {
			target := filepath.Join(base, "real", "keys-v1.json")
			link := filepath.Join(base, "real", "keys.json")
			mustSymlink(t, "keys-v1.json", link)
			return layout{target, link}
		}},
		{"a chain of two links", func(t *testing.T, base string) layout {
			target := filepath.Join(base, "real", "keys.json")
			mid := filepath.Join(base, "mid", "keys.json")
			link := filepath.Join(base, "conf", "keys.json")
			mustSymlink(t, "../real/keys.json", mid)
			mustSymlink(t, mid, link)
			return layout{target, link}
		}},
		{"a linked directory", func(t *testing.T, base string) layout {
			target := filepath.Join(base, "real", "keys.json")
			mustSymlink(t, filepath.Join(base, "real"), filepath.Join(base, "conf"))
			return layout{target, filepath.Join(base, "conf", "keys.json")}
		}},
	}
	writes := []struct {
		name  string
		write func(link string) error
	}{
		{"UpdateKeyFile", func(link string) error {
			return UpdateKeyFile(link, func(s keyring.Set) (keyring.Set, error) {
				s, _, err := Add(s, t0)
				return s, err
			})
		}},
		{"WriteKeyFile", func(link string) error {
			s, err := ReadKeyFile(link)
			if err == nil {
				s, _, err = Add(s, t0)
			}
			if err == nil {
				err = WriteKeyFile(link, s)
			}
			return err
		}},
	}
	for _, l := range layouts {
		for _, w := range writes {
			t.Run(l.name+"/"+w.name, func(t *testing.T) {
				base := t.TempDir()
				for _, d := range []string{"real", "mid"} {
					if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
						t.Fatal(err)
					}
				}
				// "conf" is made by the setup: mustSymlink makes a link's
				// directory, and "a linked directory" links conf itself.
				lay := l.setup(t, base)
				writeSet(t, lay.target, oneKeySet(t, 1))
				if err := os.Chmod(lay.target, 0o640); err != nil {
					t.Fatal(err)
				}
				reader := NewFileSource(lay.target)
				if s, err := reader.Load(context.Background()); err != nil || len(s.Keys) != 1 {
					t.Fatalf("first load: %v %v", s.Keys, err)
				}
				linkInfo, err := os.Lstat(lay.link)
				if err != nil {
					t.Fatal(err)
				}

				if err := w.write(lay.link); err != nil {
					t.Fatal(err)
				}

				if fi, err := os.Lstat(lay.link); err != nil || fi.Mode().Type() != linkInfo.Mode().Type() {
					t.Fatalf("the link became %v (%v), was %v", fi.Mode(), err, linkInfo.Mode())
				}
				if fi, err := os.Lstat(lay.target); err != nil || !fi.Mode().IsRegular() || chmodWorks && fi.Mode().Perm() != 0o640 {
					t.Fatalf("target after the write: %v %v; want a regular file, mode 0640", fi.Mode(), err)
				}
				got, err := reader.Load(context.Background())
				if err != nil || len(got.Keys) != 2 {
					t.Fatalf("a reader of the target sees %v, %v; want the added key", got.Keys, err)
				}
				viaLink, err := ReadKeyFile(lay.link)
				if err != nil || len(viaLink.Keys) != 2 {
					t.Fatalf("a reader of the link sees %v, %v", viaLink.Keys, err)
				}
				// Nothing is left but the files, the links and the lock
				// beside the target.
				err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					if strings.Contains(d.Name(), ".tmp-") {
						return fmt.Errorf("temporary file left behind: %s", p)
					}
					if strings.HasSuffix(p, lockSuffix) && haveLock && p != lay.target+lockSuffix {
						return fmt.Errorf("lock file beside the link, not the target: %s", p)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}

	t.Run("a link to a missing file is refused", func(t *testing.T) {
		dir := t.TempDir()
		link := filepath.Join(dir, "keys.json")
		mustSymlink(t, filepath.Join(dir, "gone.json"), link)
		for _, w := range []func() error{
			func() error { return WriteKeyFile(link, oneKeySet(t, 1)) },
			func() error { return CreateKeyFile(link, oneKeySet(t, 1)) },
			func() error { _, err := addOne(link); return err },
		} {
			if err := w(); !errors.Is(err, ErrSource) {
				t.Fatalf("err = %v, want ErrSource", err)
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("files written: %v", ents)
		}
	})
	t.Run("CreateKeyFile on a link to an existing file", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "real.json")
		writeSet(t, target, oneKeySet(t, 1))
		link := filepath.Join(dir, "keys.json")
		mustSymlink(t, target, link)
		if err := CreateKeyFile(link, oneKeySet(t, 2)); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want fs.ErrExist", err)
		}
		if s, err := ReadKeyFile(target); err != nil || s.Keys[0].ID != 1 {
			t.Fatalf("target changed: %v %v", s.Keys, err)
		}
	})
}

func mustSymlink(t *testing.T, oldname, newname string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(newname), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(oldname, newname); err != nil {
		t.Skipf("symbolic links unavailable: %v", err)
	}
}
