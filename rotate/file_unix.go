//go:build unix

package rotate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// openNonblock makes an open of a fifo return at once instead of waiting
// for a writer.
const openNonblock = syscall.O_NONBLOCK

// openNoFollow makes an open fail on a symbolic link.
const openNoFollow = syscall.O_NOFOLLOW

func statOf(fi os.FileInfo) fileStat {
	st := fileStat{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino, st.dev = uint64(sys.Ino), uint64(sys.Dev)
	}
	return st
}

// chownLike gives f, a file this process has just created, the owner and
// group of like.
func chownLike(f *os.File, like os.FileInfo) error {
	sys, ok := like.Sys().(*syscall.Stat_t)
	if !ok || (int(sys.Uid) == os.Geteuid() && int(sys.Gid) == os.Getegid()) {
		return nil
	}
	return f.Chown(int(sys.Uid), int(sys.Gid))
}

func syncDir(root *os.Root) {
	if d, err := root.Open("."); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// maxLinks bounds the symbolic links resolveKeyFile follows, as Linux's
// MAXSYMLINKS does.
const maxLinks = 40

// resolveKeyFile follows the symbolic links in path as
// filepath.EvalSymlinks does, component by component, but only links
// that no other user can have planted or re-pointed (see trustLink); any
// other link matches ErrUnsafeFile. A path whose last component does not
// exist is returned with its directories resolved (a new file); a link
// to a missing file is refused (ErrSource), since writing there would
// create a file the link's readers may not expect. An existing file that
// is not a regular file matches ErrUnsafeFile.
func resolveKeyFile(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: empty key set file name", ErrSource)
	}
	dest := "" // the resolved prefix: no link in it
	if filepath.IsAbs(path) {
		dest = "/"
	}
	rest := path
	links := 0
	fromLink := false // the last component came out of a link
	for {
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			break
		}
		comp, tail, _ := strings.Cut(rest, "/")
		rest = tail
		last := strings.TrimLeft(tail, "/") == ""
		switch comp {
		case ".":
			continue
		case "..":
			switch {
			case dest == "" || dest == "." || filepath.Base(dest) == "..":
				dest = filepath.Join(dest, "..")
			case dest != "/":
				dest = filepath.Dir(dest)
			}
			continue
		}
		next := filepath.Join(dest, comp)
		fi, err := os.Lstat(next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && last {
				if fromLink {
					return "", fmt.Errorf("%w: %s is a symbolic link to a missing file", ErrSource, path)
				}
				return next, nil
			}
			return "", fmt.Errorf("%w: %w", ErrSource, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !last && !fi.IsDir() {
				return "", fmt.Errorf("%w: %s: %s is not a directory", ErrSource, path, next)
			}
			if last && !fi.Mode().IsRegular() {
				return "", fmt.Errorf("%w: %s is %s; refusing to open it", ErrUnsafeFile, next, describeMode(fi.Mode()))
			}
			dest = next
			continue
		}
		links++
		if links > maxLinks {
			return "", fmt.Errorf("%w: %s: too many symbolic links", ErrSource, path)
		}
		if err := trustLink(next, fi); err != nil {
			return "", err
		}
		link, err := os.Readlink(next)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrSource, err)
		}
		if link == "" {
			return "", fmt.Errorf("%w: %s is an empty symbolic link", ErrSource, next)
		}
		if filepath.IsAbs(link) {
			dest = "/"
		}
		if last {
			fromLink = true
			rest = link
		} else {
			rest = link + "/" + rest
		}
	}
	if dest == "" {
		dest = "."
	}
	return dest, nil
}

// trustLink accepts the symbolic link at path, whose Lstat is fi, only
// when no other user can have planted it or can re-point it: the link
// belongs to root or to the effective user, and so does the directory
// holding it, which grants no one else write permission unless it has
// the sticky bit (then only the link's owner, the directory's owner and
// root may replace the link). Kubernetes secret volumes, links made by
// root or by the operator in a directory of their own pass; a link in a
// directory that a service user can write, made or replaceable by that
// user, does not, whoever runs the process.
func trustLink(path string, fi fs.FileInfo) error {
	euid := os.Geteuid()
	trusted := func(uid uint32) bool { return uid == 0 || int(uid) == euid }
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: %s: cannot tell who owns this symbolic link", ErrUnsafeFile, path)
	}
	if !trusted(st.Uid) {
		return fmt.Errorf("%w: %s is a symbolic link owned by uid %d, neither root nor this process's user (uid %d), so it may have been planted; refusing to follow it (give the path of the file it points to)", ErrUnsafeFile, path, st.Uid, euid)
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSource, err)
	}
	ds, ok := di.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: %s: cannot tell who owns its directory", ErrUnsafeFile, path)
	}
	if !trusted(ds.Uid) {
		return fmt.Errorf("%w: %s is a symbolic link in %s, a directory owned by uid %d, neither root nor this process's user (uid %d), who can replace it; refusing to follow it (give the path of the file it points to)", ErrUnsafeFile, path, dir, ds.Uid, euid)
	}
	if di.Mode().Perm()&0o022 != 0 && di.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("%w: %s is a symbolic link in %s, a directory other users can write (mode %04o), who can replace it; refusing to follow it (give the path of the file it points to)", ErrUnsafeFile, path, dir, uint32(di.Mode().Perm()))
	}
	return nil
}
