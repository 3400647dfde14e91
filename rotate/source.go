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
//
// When path is a symbolic link, the file it points to is replaced and the
// link kept: the temporary file is made in the target's directory, so
// every reader of the link or of the target sees the new keys. A link to
// a missing file is refused (ErrSource). The write holds the same lock
// as UpdateKeyFile.
func WriteKeyFile(path string, set keyring.Set) error {
	return writeKeyFile(path, set, true)
}

// CreateKeyFile is WriteKeyFile for a new file: it fails, matching
// fs.ErrExist, when path exists, even if it appeared during the write.
func CreateKeyFile(path string, set keyring.Set) error {
	return writeKeyFile(path, set, false)
}

func writeKeyFile(path string, set keyring.Set, replace bool) error {
	data, err := set.MarshalKeyFile()
	if err != nil {
		return err
	}
	defer clear(data)
	target, unlock, err := lockKeyFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	return writeTarget(path, target, data, replace)
}

// writeTarget writes data to target, the resolved file behind path (which
// only names the file in errors), under the caller's lock.
func writeTarget(path, target string, data []byte, replace bool) (err error) {
	dir, base := filepath.Split(target)
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
		if fi, serr := os.Stat(target); serr == nil {
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
		err = os.Rename(tmp.Name(), target)
	} else {
		// A hard link fails if target exists, where a rename would
		// replace it. Where hard links are not supported, fall back to a
		// check and a rename.
		err = os.Link(tmp.Name(), target)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			if _, serr := os.Lstat(target); errors.Is(serr, fs.ErrNotExist) {
				err = os.Rename(tmp.Name(), target)
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
// writes the result atomically as WriteKeyFile does, symbolic links
// included.
//
// The read, the edit and the write happen under an advisory lock, an
// exclusive flock(2) on the file "<target>.lock" beside the key set file
// (created with mode 0600 and left in place), so concurrent updates, from
// goroutines or from processes such as two cookieseal commands, run one
// after the other and none is lost. Every writer in this package takes
// the lock. On systems without flock (Windows, Plan 9, AIX, Solaris,
// wasm) there is no lock: the check below is then the only guard, and two
// updates at the same instant can still lose one.
//
// A writer that ignores the lock (an editor, another tool) is caught by a
// check instead: if the file changed between the read and the write,
// nothing is written and the error matches ErrConflict. Errors from edit
// are returned as they are. edit must not write the file itself: it would
// wait for the lock that its caller holds, forever.
func UpdateKeyFile(path string, edit func(keyring.Set) (keyring.Set, error)) error {
	target, unlock, err := lockKeyFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	before, err := readLimited(target)
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
	data, err := next.MarshalKeyFile()
	if err != nil {
		return err
	}
	defer clear(data)
	now, err := readLimited(target)
	if err != nil {
		return err
	}
	defer clear(now)
	if subtle.ConstantTimeCompare(before, now) != 1 {
		return fmt.Errorf("%w: %s", ErrConflict, path)
	}
	return writeTarget(path, target, data, true)
}

// lockSuffix is appended to a key set file's resolved path to name its
// lock file.
const lockSuffix = ".lock"

// maxRelock bounds the retries of lockKeyFile when a symbolic link is
// re-pointed while it waits for the lock.
const maxRelock = 8

// lockKeyFile resolves path to the file it names and takes that file's
// lock. It returns the resolved path and the function that releases the
// lock. The link is resolved again once the lock is held: if it was
// re-pointed meanwhile, the lock is taken on the new target instead.
func lockKeyFile(path string) (target string, unlock func(), err error) {
	for range maxRelock {
		target, err := resolveKeyFile(path)
		if err != nil {
			return "", nil, err
		}
		unlock, err := lockTarget(path, target)
		if err != nil {
			return "", nil, err
		}
		again, err := resolveKeyFile(path)
		if err == nil && again == target {
			return target, unlock, nil
		}
		unlock()
		if err != nil {
			return "", nil, err
		}
	}
	return "", nil, fmt.Errorf("rotate: locking %s: the symbolic link keeps changing", path)
}

// resolveKeyFile follows symbolic links in path. A path that does not
// exist is returned as it is (a new file); a link to a missing file is
// refused, since writing there would create a file the link's readers
// may not expect.
func resolveKeyFile(path string) (string, error) {
	target, err := filepath.EvalSymlinks(path)
	if err == nil {
		return target, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrNotExist) {
			return path, nil
		}
		return "", fmt.Errorf("%w: %s is a symbolic link to a missing file", ErrSource, path)
	}
	return "", fmt.Errorf("%w: %w", ErrSource, err)
}

// lockTarget takes the lock of the key set file target.
func lockTarget(path, target string) (unlock func(), err error) {
	if !haveLock {
		return func() {}, nil
	}
	f, err := os.OpenFile(target+lockSuffix, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rotate: locking %s: %w", path, err)
	}
	if fi, serr := os.Stat(target); serr == nil {
		_ = chownLike(f, fi) // best effort, as for the key set file
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("rotate: locking %s: %w", path, err)
	}
	return func() {
		_ = unlockFile(f)
		f.Close()
	}, nil
}
