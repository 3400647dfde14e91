package rotate

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// keyDir is the directory of a resolved key set file, opened once. Every
// file this package touches beside a key set file (the file itself, its
// lock file, the temporary file of a write) is reached through it by its
// bare name, so that renaming a directory on the way does not redirect
// the operations that follow, and each is opened under these rules:
//
//   - an existing file is opened only if it is a regular file and not a
//     symbolic link (Lstat before the open, and the open file must be
//     the one Lstat saw; a fifo is opened without waiting for a writer);
//   - a new file is created exclusively (O_CREATE|O_EXCL, which follows no
//     link, not even a dangling one);
//   - only a file this process has just created is chmod-ed or chown-ed,
//     and only through its open descriptor;
//   - a rename or a link replaces the directory entry, never a file that
//     a link there points to.
type keyDir struct {
	root *os.Root
	dir  string // the directory's path, for messages
	name string // the key set file's name in dir
}

// openKeyDir opens the directory of target, a path from resolveKeyFile.
func openKeyDir(target string) (*keyDir, error) {
	dir, name := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	if name == "" {
		return nil, fmt.Errorf("%w: %s names a directory", ErrUnsafeFile, target)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &keyDir{root: root, dir: dir, name: name}, nil
}

func (d *keyDir) close() { d.root.Close() }

// isDirOf reports whether d is, now, the directory that target's path
// leads to: whether no directory on the way was replaced since d was
// opened.
func (d *keyDir) isDirOf(target string) bool {
	dir := filepath.Dir(target)
	now, err := os.Stat(dir)
	if err != nil {
		return false
	}
	pinned, err := d.root.Stat(".")
	return err == nil && os.SameFile(now, pinned)
}

// path returns name's path, for messages.
func (d *keyDir) path(name string) string { return filepath.Join(d.dir, name) }

// unsafeFile describes why fi, found at path, is refused.
func unsafeFile(path string, fi fs.FileInfo) error {
	return fmt.Errorf("%w: %s is %s; refusing to open it", ErrUnsafeFile, path, describeMode(fi.Mode()))
}

// describeMode names the kind of file m is, for a refusal.
func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (fifo)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// openRegular opens the existing file name in d for reading; see
// openChecked.
func (d *keyDir) openRegular(name string) (*os.File, fs.FileInfo, error) {
	return openChecked(d.path(name), name, d.root.Lstat, d.root.OpenFile)
}

// openRegularPath opens the existing file at path for reading; see
// openChecked. Unlike a keyDir it needs no read permission on the
// directory, only search permission, as a plain open does: the readers
// use it.
func openRegularPath(path string) (*os.File, fs.FileInfo, error) {
	open := func(name string, flag int, perm fs.FileMode) (*os.File, error) {
		return os.OpenFile(name, flag|openNoFollow, perm)
	}
	return openChecked(path, path, os.Lstat, open)
}

// openChecked opens the existing file name for reading, through lstat
// and open, and refuses (ErrUnsafeFile) a name that is a symbolic link or
// anything but a regular file. The file opened must be the one that lstat
// saw, so a swap between the two is refused too, and a fifo is opened
// without waiting for a writer. Other errors are returned as they are
// (fs.ErrNotExist for a missing file). display names the file in errors.
func openChecked(display, name string, lstat func(string) (fs.FileInfo, error), open func(string, int, fs.FileMode) (*os.File, error)) (*os.File, fs.FileInfo, error) {
	// A writer's atomic rename may replace the file between the lstat and
	// the open: that is no attack, so the pair is tried again, a bounded
	// number of times. A planted link or non-regular file is refused on
	// the attempt that sees it.
	for range maxOpenTries {
		f, fi, err := openCheckedOnce(display, name, lstat, open)
		if !errors.Is(err, errReplaced) {
			return f, fi, err
		}
	}
	return nil, nil, fmt.Errorf("%w: %s was replaced while it was opened, %d times", ErrUnsafeFile, display, maxOpenTries)
}

// maxOpenTries bounds openChecked's attempts when the file keeps being
// replaced between its lstat and its open.
const maxOpenTries = 8

// errReplaced is openCheckedOnce's answer when the file opened is not the
// one lstat saw.
var errReplaced = errors.New("rotate: replaced while opened")

func openCheckedOnce(display, name string, lstat func(string) (fs.FileInfo, error), open func(string, int, fs.FileMode) (*os.File, error)) (*os.File, fs.FileInfo, error) {
	before, err := lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, unsafeFile(display, before)
	}
	// O_NONBLOCK: if a fifo replaced the file since the lstat, the open
	// returns at once instead of waiting for a writer, and the check
	// below refuses it.
	f, err := open(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		if fi, lerr := lstat(name); lerr == nil && !fi.Mode().IsRegular() {
			return nil, nil, unsafeFile(display, fi)
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, unsafeFile(display, fi)
	}
	if !os.SameFile(before, fi) {
		f.Close()
		return nil, nil, errReplaced
	}
	return f, fi, nil
}

// read reads the key set file, at most keyring.MaxFileSize+1 bytes, and
// returns its contents and what its open descriptor's stat said.
func (d *keyDir) read() ([]byte, fs.FileInfo, error) {
	f, fi, err := d.openRegular(d.name)
	if err != nil {
		return nil, nil, sourceErr(d.path(d.name), err)
	}
	defer f.Close()
	data, err := readAll(d.path(d.name), f)
	if err != nil {
		return nil, nil, err
	}
	return data, fi, nil
}

// existing returns the key set file's stat, nil when it does not exist.
// Anything but a regular file there matches ErrUnsafeFile.
func (d *keyDir) existing() (fs.FileInfo, error) {
	fi, err := d.root.Lstat(d.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, unsafeFile(d.path(d.name), fi)
	}
	return fi, nil
}

// sourceErr wraps err, from opening a key set file, with ErrSource unless
// it already matches ErrUnsafeFile. path, when not empty, names the file
// for an err that does not.
func sourceErr(path string, err error) error {
	switch {
	case errors.Is(err, ErrUnsafeFile):
		return err
	case path != "":
		return fmt.Errorf("%w: %s: %w", ErrSource, path, err)
	}
	return fmt.Errorf("%w: %w", ErrSource, err)
}

// maxLockOpens bounds the retries of openLock when the lock file is
// removed between a failed exclusive create and the open.
const maxLockOpens = 8

// openLock opens the lock file "<name>.lock", creating it exclusively
// (mode 0600) when it is missing. Only a lock file created here is given
// the key set file's owner and group (best effort: only root may give a
// file away), so that the service that owns the keys can take the lock
// later; an existing one is opened as it is and never chown-ed, so a
// hard link planted there gives nothing away.
func (d *keyDir) openLock() (*os.File, error) {
	name := d.name + lockSuffix
	for range maxLockOpens {
		f, err := d.root.OpenFile(name, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			if key, kerr := d.root.Lstat(d.name); kerr == nil && key.Mode().IsRegular() {
				_ = chownLike(f, key)
			}
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		f, _, err = d.openRegular(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("%s keeps disappearing", d.path(name))
}

// maxTempNames bounds the names createTemp tries, as os.CreateTemp does.
const maxTempNames = 10000

// createTemp creates a new temporary file ".<name>.tmp-<random>" beside
// the key set file, exclusively, with mode 0600, and returns it and its
// name.
func (d *keyDir) createTemp() (*os.File, string, error) {
	for range maxTempNames {
		name := "." + d.name + ".tmp-" + strconv.FormatUint(uint64(rand.Uint32()), 10)
		f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no unused temporary file name in %s", d.dir)
}
