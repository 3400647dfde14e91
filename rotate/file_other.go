//go:build !unix

package rotate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// openNonblock is 0: these systems have no fifos that an open could wait
// on.
const openNonblock = 0

// openNoFollow is 0: there is no O_NOFOLLOW here, so openChecked's
// Lstat before the open and its comparison after it are the only guard.
const openNoFollow = 0

func statOf(fi os.FileInfo) fileStat { return fileStat{size: fi.Size(), mtime: fi.ModTime()} }

func chownLike(*os.File, os.FileInfo) error { return nil }

func syncDir(*os.Root) {}

// resolveKeyFile follows the symbolic links in path. Files here have no
// owner that says who made a link, so every link is followed, as
// filepath.EvalSymlinks does (on Windows, creating one takes a privilege
// that a service account rarely has). A path that does not exist is
// returned as it is (a new file); a link to a missing file is refused
// (ErrSource), since writing there would create a file the link's readers
// may not expect. An existing file that is not a regular file matches
// ErrUnsafeFile.
func resolveKeyFile(path string) (string, error) {
	target, err := filepath.EvalSymlinks(path)
	if err == nil {
		fi, err := os.Lstat(target)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrSource, err)
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%w: %s is %s; refusing to open it", ErrUnsafeFile, target, describeMode(fi.Mode()))
		}
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
