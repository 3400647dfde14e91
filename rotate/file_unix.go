//go:build unix

package rotate

import (
	"os"
	"syscall"
)

func statOf(fi os.FileInfo) fileStat {
	st := fileStat{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino, st.dev = uint64(sys.Ino), uint64(sys.Dev)
	}
	return st
}

func chownLike(f *os.File, like os.FileInfo) error {
	sys, ok := like.Sys().(*syscall.Stat_t)
	if !ok || (int(sys.Uid) == os.Geteuid() && int(sys.Gid) == os.Getegid()) {
		return nil
	}
	return f.Chown(int(sys.Uid), int(sys.Gid))
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
