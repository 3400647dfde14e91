package rotate

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

var (
	// ErrSource reports a source that could not be read: a missing or
	// unreadable file, an unset environment variable. A malformed key set
	// matches keyring.ErrInvalidKeySet instead.
	ErrSource = errors.New("rotate: key source unavailable")
	// ErrConflict reports a key set file that changed between the read and
	// the write of UpdateKeyFile: someone else edited it. Nothing was
	// written; read it again and redo the step.
	ErrConflict = errors.New("rotate: key set file changed during the update")
)

// Source loads a key set. Load returns a set that passes Set.Validate or
// an error, and never a partly valid set. Implementations used with a
// Reloader are called from one goroutine at a time.
type Source interface {
	Load(ctx context.Context) (keyring.Set, error)
}

// SourceFunc adapts a function, such as a call to a secrets manager, to a
// Source. The function should parse what it fetches with
// keyring.ParseString or keyring.ParseKeyFile.
type SourceFunc func(ctx context.Context) (keyring.Set, error)

// Load calls f.
func (f SourceFunc) Load(ctx context.Context) (keyring.Set, error) { return f(ctx) }

// EnvSource loads a key set from an environment variable, in either form
// keyring.ParseString accepts. A process's environment does not change
// after it starts, so with EnvSource a key set change reaches an instance
// when it restarts: count a deploy in Policy.RolloutDelay.
type EnvSource struct {
	// Name is the variable's name, e.g. "COOKIESEAL_KEYS".
	Name string
	// Lookup reads a variable. Default os.LookupEnv.
	Lookup func(name string) (string, bool)
}

var _ Source = EnvSource{}

// Load parses the variable. An unset or empty variable matches ErrSource.
func (e EnvSource) Load(context.Context) (keyring.Set, error) {
	lookup := e.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(e.Name)
	if !ok || v == "" {
		return keyring.Set{}, fmt.Errorf("%w: environment variable %s is not set", ErrSource, e.Name)
	}
	set, err := keyring.ParseString(v)
	if err != nil {
		return keyring.Set{}, fmt.Errorf("rotate: environment variable %s: %w", e.Name, err)
	}
	return set, nil
}

// FileSource loads a key set file. It remembers what it last read, so that
// polling it is cheap: Load compares the file's size, modification time and
// inode with the last read, and re-reads only when one of them changed or
// when the last read happened so soon after the last modification that a
// second write within the file system's timestamp granularity could have
// left them unchanged. A re-read file whose SHA-256 matches the last one is
// not parsed again. So a rewrite within the same second is still seen.
//
// A FileSource is safe for concurrent use.
type FileSource struct {
	path string

	mu       sync.Mutex
	stat     fileStat
	readAt   time.Time // wall clock of the last read
	sum      [sha256.Size]byte
	set      keyring.Set
	err      error
	hasState bool
	force    bool
}

var _ Source = (*FileSource)(nil)

// racyWindow is how long after a file's modification time a read may miss
// a later write with the same timestamp: FAT's two seconds covers every
// common file system.
const racyWindow = 2 * time.Second

type fileStat struct {
	size  int64
	mtime time.Time
	ino   uint64
	dev   uint64
}

// NewFileSource returns a source reading the key set file at path. It
// reads nothing until Load.
func NewFileSource(path string) *FileSource { return &FileSource{path: path} }

// Path returns the file's path.
func (f *FileSource) Path() string { return f.path }

// Load returns the key set in the file. A missing or unreadable file
// matches ErrSource; a malformed one keyring.ErrInvalidKeySet.
func (f *FileSource) Load(ctx context.Context) (keyring.Set, error) {
	if err := ctx.Err(); err != nil {
		return keyring.Set{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		f.hasState = false
		return keyring.Set{}, fmt.Errorf("%w: %w", ErrSource, err)
	}
	st := statOf(fi)
	if f.hasState && !f.force && st == f.stat && st.mtime.Add(racyWindow).Before(f.readAt) {
		return f.cached()
	}
	data, err := readLimited(f.path)
	if err != nil {
		f.hasState = false
		return keyring.Set{}, err
	}
	defer clear(data)
	f.force = false
	sum := sha256.Sum256(data)
	unchanged := f.hasState && subtle.ConstantTimeCompare(sum[:], f.sum[:]) == 1
	f.stat, f.readAt, f.sum, f.hasState = st, time.Now(), sum, true
	if !unchanged {
		f.set, f.err = keyring.ParseKeyFile(data)
		if f.err != nil {
			f.set, f.err = keyring.Set{}, fmt.Errorf("rotate: %s: %w", f.path, f.err)
		}
	}
	return f.cached()
}

func (f *FileSource) cached() (keyring.Set, error) {
	if f.err != nil {
		return keyring.Set{}, f.err
	}
	return f.set.Clone(), nil
}

// invalidate makes the next Load read the file whatever its stat says:
// Reloader.Reload, the on-demand reload, uses it.
func (f *FileSource) invalidate() {
	f.mu.Lock()
	f.force = true
	f.mu.Unlock()
}

func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, keyring.MaxFileSize+1))
	if err != nil {
		clear(data)
		return nil, fmt.Errorf("%w: reading %s: %w", ErrSource, path, err)
	}
	return data, nil
}

// ReadKeyFile reads and parses the key set file at path.
func ReadKeyFile(path string) (keyring.Set, error) {
	return NewFileSource(path).Load(context.Background())
}

// WriteKeyFile writes set to path as a key set file, atomically: it writes
// a temporary file in the same directory, syncs it, renames it over path
// and syncs the directory, so a reader or a crash sees the old file or the
// new one, never half of one. A new file gets mode 0600; an existing one
// keeps its owner, group and mode, less any permission for others.
func WriteKeyFile(path string, set keyring.Set) error {
	return writeKeyFile(path, set, true)
}

// CreateKeyFile is WriteKeyFile for a new file: it fails, matching
// fs.ErrExist, when path exists, even if it appeared during the write.
func CreateKeyFile(path string, set keyring.Set) error {
	return writeKeyFile(path, set, false)
}

func writeKeyFile(path string, set keyring.Set, replace bool) (err error) {
	data, err := set.MarshalKeyFile()
	if err != nil {
		return err
	}
	defer clear(data)
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	mode := os.FileMode(0o600)
	var prev os.FileInfo
	if replace {
		if fi, serr := os.Stat(path); serr == nil {
			prev = fi
			mode = fi.Mode().Perm() &^ 0o007
		}
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	if prev != nil {
		// Best effort: only root may give a file away, and a file that
		// already belongs to the writer needs nothing.
		_ = chownLike(tmp, prev)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		// A hard link fails if path exists, where a rename would replace
		// it. Where hard links are not supported, fall back to a check
		// and a rename.
		err = os.Link(tmp.Name(), path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
				err = os.Rename(tmp.Name(), path)
			}
		} else if err == nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// UpdateKeyFile applies edit to the key set in the file at path and
// writes the result atomically with WriteKeyFile. If the file changed
// between the read and the write, nothing is written and the error
// matches ErrConflict. Errors from edit are returned as they are.
func UpdateKeyFile(path string, edit func(keyring.Set) (keyring.Set, error)) error {
	before, err := readLimited(path)
	if err != nil {
		return err
	}
	defer clear(before)
	set, err := keyring.ParseKeyFile(before)
	if err != nil {
		return fmt.Errorf("rotate: %s: %w", path, err)
	}
	next, err := edit(set)
	if err != nil {
		return err
	}
	now, err := readLimited(path)
	if err != nil {
		return err
	}
	defer clear(now)
	if subtle.ConstantTimeCompare(before, now) != 1 {
		return fmt.Errorf("%w: %s", ErrConflict, path)
	}
	return WriteKeyFile(path, next)
}
