package rotate

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

func writeSet(t testing.TB, path string, set keyring.Set) {
	t.Helper()
	if err := WriteKeyFile(path, set); err != nil {
		t.Fatal(err)
	}
}

func oneKeySet(t testing.TB, id uint32) keyring.Set {
	return keyring.Set{Keys: []keyring.Key{testKey(t, id, keyring.StatusPrimary, t0, t0, time.Time{})}}
}

func TestFileSourceSeesSameSecondRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeSet(t, path, oneKeySet(t, 1))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	src := NewFileSource(path)
	set, err := src.Load(context.Background())
	if err != nil || set.Keys[0].ID != 1 {
		t.Fatalf("Load = %v, %v", set.Keys, err)
	}
	// Same inode, size and modification time, new content: only the
	// hash can tell, and the file is racily clean (just written).
	other := oneKeySet(t, 2)
	od, _ := other.MarshalKeyFile()
	if err := os.WriteFile(path, od, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(path); fi2.Size() != fi.Size() {
		t.Fatalf("sizes differ: %d, %d", fi.Size(), fi2.Size())
	}
	set, err = src.Load(context.Background())
	if err != nil || set.Keys[0].ID != 2 {
		t.Fatalf("after rewrite Load = %v, %v; want key 2", set.Keys, err)
	}
}

func TestFileSourceSkipsUnchangedOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeSet(t, path, oneKeySet(t, 1))
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	src := NewFileSource(path)
	if _, err := src.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Make the file unreadable in a way stat does not show: replace its
	// content in place, keeping size and times. A poll trusts stat for a
	// file modified well before the last read; a forced load reads.
	data, _ := os.ReadFile(path)
	other := oneKeySet(t, 2)
	od, _ := other.MarshalKeyFile()
	if len(od) != len(data) {
		t.Fatalf("sizes differ")
	}
	if err := os.WriteFile(path, od, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	set, err := src.Load(context.Background())
	if err != nil || set.Keys[0].ID != 1 {
		t.Fatalf("poll Load = %v, %v; want the cached key 1", set.Keys, err)
	}
	src.invalidate()
	set, err = src.Load(context.Background())
	if err != nil || set.Keys[0].ID != 2 {
		t.Fatalf("forced Load = %v, %v; want key 2", set.Keys, err)
	}
}

func TestFileSourceErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		content string // "" means no file
		want    error
	}{
		{"missing", "", ErrSource},
		{"garbage", "not json", keyring.ErrInvalidKeySet},
		{"truncated", `{"cookieseal_keyset": 1, "keys": [`, keyring.ErrInvalidKeySet},
		{"no primary", `{"cookieseal_keyset": 1, "keys": []}`, keyring.ErrInvalidKeySet},
		{"too large", "{" + strings.Repeat(" ", keyring.MaxFileSize+1) + "}", keyring.ErrInvalidKeySet},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if c.content != "" {
				if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := NewFileSource(path).Load(context.Background())
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestEnvSource(t *testing.T) {
	set := oneKeySet(t, 7)
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KEYS": compact, "BAD": "7:primary:short", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	cases := []struct {
		name string
		want error
	}{
		{"KEYS", nil},
		{"BAD", keyring.ErrInvalidKeySet},
		{"EMPTY", ErrSource},
		{"UNSET", ErrSource},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := EnvSource{Name: c.name, Lookup: lookup}.Load(context.Background())
			if !errors.Is(err, c.want) || (c.want == nil && got.Keys[0].ID != 7) {
				t.Fatalf("Load = %v, %v; want err %v", got.Keys, err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "short") {
				t.Fatalf("error quotes the value: %v", err)
			}
		})
	}
}

func TestWriteKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	if err := CreateKeyFile(path, oneKeySet(t, 1)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if err := CreateKeyFile(path, oneKeySet(t, 2)); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateKeyFile over an existing file: %v", err)
	}
	// An existing file keeps its mode, less world bits.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	writeSet(t, path, oneKeySet(t, 2))
	if fi, _ := os.Stat(path); chmodWorks && fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode after rewrite = %v, want 0640", fi.Mode())
	}
	// An invalid set writes nothing.
	if err := WriteKeyFile(path, keyring.Set{}); !errors.Is(err, keyring.ErrInvalidKeySet) {
		t.Fatalf("WriteKeyFile(invalid) = %v", err)
	}
	got, err := ReadKeyFile(path)
	if err != nil || got.Keys[0].ID != 2 {
		t.Fatalf("ReadKeyFile = %v, %v", got.Keys, err)
	}
	// The key file and, where there is a lock, its lock file, empty and
	// private; no temporary file.
	want := 1
	if haveLock {
		want = 2
		fi, err := os.Stat(path + lockSuffix)
		if err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
			t.Fatalf("lock file: %v %v", fi, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != want {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

func TestUpdateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeSet(t, path, lifecycleSet(t))
	err := UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
		return Promote(s, 2, t0.Add(time.Hour), testPolicy)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ReadKeyFile(path)
	if kr, _ := keyring.New(got); kr.Primary().ID != 2 {
		t.Fatalf("primary = %v", kr.Primary())
	}
	// A refused step writes nothing.
	err = UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) { return Remove(s, 2, t0, testPolicy) })
	if !errors.Is(err, ErrState) {
		t.Fatalf("err = %v", err)
	}
	// An edit between read and write by a writer that ignores the lock
	// (an editor, another tool) is detected.
	err = UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
		data, err := oneKeySet(t, 9).MarshalKeyFile()
		if err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
		if err != nil {
			t.Error(err)
		}
		return Enable(s, 4, t0)
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	got, _ = ReadKeyFile(path)
	if got.Keys[0].ID != 9 || len(got.Keys) != 1 {
		t.Fatalf("conflicting update overwrote the other edit: %v", got.Keys)
	}
}

// TestReadKeyFileEitherForm: a file holding the compact one-line form (a
// secret of $COOKIESEAL_KEYS mounted as a file) reads as the same key set
// as the key set file, through ReadKeyFile and FileSource alike; only the
// key set file is editable (UpdateKeyFile refuses the compact form with
// ErrInvalidKeySet and leaves it as it was).
func TestReadKeyFileEitherForm(t *testing.T) {
	set := oneKeySet(t, 7)
	set.Lifetime = keyring.Lifetime{IdleTimeout: time.Hour, AbsoluteTimeout: 2 * time.Hour}
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jsonFile, compactFile := filepath.Join(dir, "keys.json"), filepath.Join(dir, "keys.env")
	if err := CreateKeyFile(jsonFile, set); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(compactFile, []byte(compact+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{jsonFile, compactFile} {
		got, err := ReadKeyFile(path)
		if err != nil {
			t.Fatalf("ReadKeyFile(%s): %v", filepath.Base(path), err)
		}
		fromSource, err := NewFileSource(path).Load(context.Background())
		if err != nil {
			t.Fatalf("FileSource(%s): %v", filepath.Base(path), err)
		}
		for _, s := range []keyring.Set{got, fromSource} {
			if len(s.Keys) != 1 || s.Keys[0].ID != 7 || !s.Keys[0].SameSecret(set.Keys[0]) || s.Lifetime != set.Lifetime {
				t.Fatalf("%s: read %v, want key 7 and lifetime %+v", filepath.Base(path), s, set.Lifetime)
			}
		}
	}
	err = UpdateKeyFile(compactFile, func(s keyring.Set) (keyring.Set, error) { return s, nil })
	if !errors.Is(err, keyring.ErrInvalidKeySet) {
		t.Fatalf("UpdateKeyFile on the compact form = %v, want ErrInvalidKeySet", err)
	}
	if after, _ := os.ReadFile(compactFile); string(after) != compact+"\n" {
		t.Fatal("a refused update changed the compact file")
	}
}
