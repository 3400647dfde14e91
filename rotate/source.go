package rotate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
	// ErrUnsafeFile reports a key set file, or a file beside it, that
	// this package refuses to open, so that whoever can write the key set
	// file's directory cannot make a reader or a writer (the cookieseal
	// command run as root, say) touch another file: a lock file that is a
	// symbolic link, anything but a regular file where the key set file
	// or its lock file should be (a fifo, a directory), or a symbolic link
	// on the way to the key set file that another user could have planted
	// or re-pointed (the rules are in WriteKeyFile's documentation).
	// Nothing was read or written through the refused file, and nothing
	// outside the key set file's directory was created or changed.
	ErrUnsafeFile = errors.New("rotate: unsafe key file")
)

// Source loads a key set. Load returns a set that passes Set.Validate or
// an error, and never a partly valid set. Implementations used with a
// [Reloader] are called from one goroutine at a time.
type Source interface {
	Load(ctx context.Context) (keyring.Set, error)
}

// SourceFunc adapts a function, such as a call to a secrets manager, to a
// [Source]. The function should parse what it fetches with
// [keyring.ParseString] or [keyring.ParseKeyFile].
type SourceFunc func(ctx context.Context) (keyring.Set, error)

// Load calls f.
func (f SourceFunc) Load(ctx context.Context) (keyring.Set, error) { return f(ctx) }

// EnvSource loads a key set from an environment variable, in either form
// [keyring.ParseString] accepts. A process's environment does not change
// after it starts, so with EnvSource a key set change reaches an instance
// when it restarts: count a deploy in the key set's rollout_delay ([keyring.Lifetime]).
type EnvSource struct {
	// Name is the variable's name, e.g. "COOKIESEAL_KEYS".
	Name string
	// Lookup reads a variable. Default os.LookupEnv.
	Lookup func(name string) (string, bool)
}

var _ Source = EnvSource{}

// Load parses the variable. An unset or empty variable matches [ErrSource],
// with an error that names the variable and the command that makes a key
// set.
func (e EnvSource) Load(context.Context) (keyring.Set, error) {
	lookup := e.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(e.Name)
	if !ok || v == "" {
		return keyring.Set{}, fmt.Errorf("%w: environment variable %s is not set or empty; make a key set with `cookieseal keygen -out keys.json` and put the file's contents in %s, "+
			"or the one-line form `cookieseal keys export-env -file keys.json -i-know-this-prints-secrets` prints", ErrSource, e.Name, e.Name)
	}
	set, err := keyring.ParseString(v)
	if err != nil {
		return keyring.Set{}, fmt.Errorf("rotate: environment variable %s: %w", e.Name, err)
	}
	return set, nil
}

// FileSource loads a key set file (either form, as [ReadKeyFile]). It remembers what it last read, so that
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
// matches [ErrSource]; a malformed one [keyring.ErrInvalidKeySet]; a file it
// refuses to open (see [ErrUnsafeFile] and [WriteKeyFile]) ErrUnsafeFile.
func (f *FileSource) Load(ctx context.Context) (keyring.Set, error) {
	if err := ctx.Err(); err != nil {
		return keyring.Set{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, fi, err := openKeyFile(f.path)
	if err != nil {
		f.hasState = false
		return keyring.Set{}, err
	}
	defer fh.Close()
	st := statOf(fi)
	if f.hasState && !f.force && st == f.stat && st.mtime.Add(racyWindow).Before(f.readAt) {
		return f.cached()
	}
	data, err := readAll(f.path, fh)
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
		f.set, f.err = parseEither(data)
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

func openKeyFile(path string) (*os.File, fs.FileInfo, error) {
	target, err := resolveKeyFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, fi, err := openRegularPath(target)
	if err != nil {
		return nil, nil, sourceErr("", err)
	}
	return f, fi, nil
}

// readAll reads at most keyring.MaxFileSize+1 bytes of the key set file
// path from fh.
func readAll(path string, fh io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(fh, keyring.MaxFileSize+1))
	if err != nil {
		clear(data)
		return nil, fmt.Errorf("%w: reading %s: %w", ErrSource, path, err)
	}
	return data, nil
}

// parseEither parses a key set file (JSON) or, when data does not start
// with '{', the compact one-line form of keyring.ParseString.
func parseEither(data []byte) (keyring.Set, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] == '{' {
		return keyring.ParseKeyFile(data)
	}
	return keyring.ParseString(string(data))
}

// ReadKeyFile reads and parses the key set file at path, opened as
// [FileSource] opens it (see [WriteKeyFile] for the rules on links). The file
// holds a key set file, as MarshalKeyFile writes it, or the compact
// one-line form of $COOKIESEAL_KEYS ([keyring.ParseString]), for a secret
// mounted as a file; only a key set file keeps the lifecycle dates that
// [UpdateKeyFile]'s edits need.
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
// a missing file is refused ([ErrSource]). The write holds the same lock
// as [UpdateKeyFile].
//
// Whoever can write the key set file's directory must not be able to
// make a writer (the cookieseal command run by root, say) touch another
// file, so every reader and writer in this package follows these rules,
// and a path that breaks one matches [ErrUnsafeFile] with nothing changed:
//
//   - A symbolic link in path, the file's own name or a directory on the
//     way, is followed only when no other user can have planted or
//     re-pointed it: on Unix the link belongs to root or to the process's
//     effective user, and so does the directory holding it, which no one
//     else may write (group or others' write permission is allowed only
//     with the sticky bit, as on /tmp or a Kubernetes secret volume).
//     Elsewhere links are followed as filepath.EvalSymlinks does.
//   - The file that path resolves to, when it exists, and its lock file
//     are opened only if they are regular files (the lock file is never
//     reached through a link); a fifo is refused without waiting for a
//     writer.
//   - The lock file and the temporary file are created exclusively
//     (O_CREATE|O_EXCL), so a link planted at their names is never
//     followed, and only a file this process has just created is given an
//     owner or a mode.
//   - A writer reaches everything beside the key set file through its
//     directory, opened once ([os.Root]) and checked again under the lock,
//     so it needs read permission on that directory; the rename replaces
//     the directory entry, never a file that a link there points to.
func WriteKeyFile(path string, set keyring.Set) error {
	return writeKeyFile(path, set, true)
}

// CreateKeyFile is [WriteKeyFile] for a new file: it fails, matching
// [fs.ErrExist], when path exists, even if it appeared during the write.
func CreateKeyFile(path string, set keyring.Set) error {
	return writeKeyFile(path, set, false)
}

func writeKeyFile(path string, set keyring.Set, replace bool) error {
	data, err := set.MarshalKeyFile()
	if err != nil {
		return err
	}
	defer clear(data)
	d, unlock, err := lockKeyFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	var prev fs.FileInfo
	if replace {
		if prev, err = d.existing(); err != nil {
			if errors.Is(err, ErrUnsafeFile) {
				return err
			}
			return fmt.Errorf("rotate: writing %s: %w", path, err)
		}
	}
	return writeTarget(path, d, data, replace, prev)
}

// writeTarget writes data to the key set file of d, under the caller's
// lock; path only names it in errors. prev, when not nil, is the file
// being replaced: the new one takes its owner, group and mode.
func writeTarget(path string, d *keyDir, data []byte, replace bool, prev fs.FileInfo) (err error) {
	tmp, tmpName, err := d.createTemp()
	if err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			d.root.Remove(tmpName)
		}
	}()
	mode := os.FileMode(0o600)
	if prev != nil {
		mode = prev.Mode().Perm() &^ 0o007
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	if prev != nil {
		// Best effort: only root may give a file away, and a file that
		// already belongs to the writer needs nothing. tmp is the file
		// this process has just created.
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
		err = d.root.Rename(tmpName, d.name)
	} else {
		// A hard link fails if the name exists, where a rename would
		// replace it. Where hard links are not supported, fall back to a
		// check and a rename.
		err = d.root.Link(tmpName, d.name)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			if _, serr := d.root.Lstat(d.name); errors.Is(serr, fs.ErrNotExist) {
				err = d.root.Rename(tmpName, d.name)
			}
		} else if err == nil {
			d.root.Remove(tmpName)
		}
	}
	if err != nil {
		return fmt.Errorf("rotate: writing %s: %w", path, err)
	}
	syncDir(d.root)
	return nil
}

// UpdateKeyFile applies edit to the key set in the file at path and
// writes the result atomically as [WriteKeyFile] does, symbolic links
// included, under the same rules against planted files ([ErrUnsafeFile]).
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
// nothing is written and the error matches [ErrConflict]. Errors from edit
// are returned as they are. edit must not write the file itself: it would
// wait for the lock that its caller holds, forever.
func UpdateKeyFile(path string, edit func(keyring.Set) (keyring.Set, error)) error {
	d, unlock, err := lockKeyFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	before, _, err := d.read()
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
	now, prev, err := d.read()
	if err != nil {
		return err
	}
	defer clear(now)
	if subtle.ConstantTimeCompare(before, now) != 1 {
		return fmt.Errorf("%w: %s", ErrConflict, path)
	}
	return writeTarget(path, d, data, true, prev)
}

// lockSuffix is appended to a key set file's resolved path to name its
// lock file.
const lockSuffix = ".lock"

// maxRelock bounds the retries of lockKeyFile when a symbolic link is
// re-pointed while it waits for the lock.
const maxRelock = 8

// lockKeyFile resolves path to the file it names, opens that file's
// directory and takes the file's lock. It returns the directory and the
// function that releases the lock and closes the directory. The path is
// resolved again once the lock is held: if a link was re-pointed or a
// directory replaced meanwhile, the lock is taken on the new target
// instead.
func lockKeyFile(path string) (d *keyDir, unlock func(), err error) {
	for range maxRelock {
		target, err := resolveKeyFile(path)
		if err != nil {
			return nil, nil, err
		}
		d, err := openKeyDir(target)
		if err != nil {
			return nil, nil, fmt.Errorf("rotate: locking %s: %w", path, err)
		}
		unlock, err := lockTarget(path, d)
		if err != nil {
			d.close()
			return nil, nil, err
		}
		// Resolve again, now that the lock is held: a link re-pointed, or
		// a directory on the way replaced, while this waited means the
		// lock and d belong to a file that path no longer names.
		again, err := resolveKeyFile(path)
		if err == nil && again == target && d.isDirOf(target) {
			return d, func() { unlock(); d.close() }, nil
		}
		unlock()
		d.close()
		if err != nil {
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("rotate: locking %s: the path keeps changing", path)
}

// lockTarget takes the lock of the key set file of d.
func lockTarget(path string, d *keyDir) (unlock func(), err error) {
	if !haveLock {
		return func() {}, nil
	}
	f, err := d.openLock()
	if err != nil {
		return nil, fmt.Errorf("rotate: locking %s: %w", path, err)
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
