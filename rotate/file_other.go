//go:build !unix

package rotate

import "os"

func statOf(fi os.FileInfo) fileStat { return fileStat{size: fi.Size(), mtime: fi.ModTime()} }

func chownLike(*os.File, os.FileInfo) error { return nil }

func syncDir(string) {}
