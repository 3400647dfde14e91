package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

var versionLineRE = regexp.MustCompile(`(?m)^(version[ \t]+)\S+`)

// bump sets the manifest's version, every requirement on a module of the
// repository and go.work's replacements to v, in the files under r.Root,
// and returns the files it changed (relative to r.Root).
func (r *repo) bump(v string) ([]string, error) {
	if !semver.IsValid(v) || semver.Canonical(v) != v || semver.Build(v) != "" {
		return nil, fmt.Errorf("bump: %q is not a canonical semantic version (vX.Y.Z)", v)
	}
	if semver.Major(v) != "v0" && semver.Major(v) != "v1" {
		return nil, fmt.Errorf("bump: %s: a major version above v1 needs /%s module paths", v, semver.Major(v))
	}
	if semver.Compare(v, r.Version) < 0 {
		return nil, fmt.Errorf("bump: %s is lower than the manifest's %s", v, r.Version)
	}
	var changed []string
	write := func(rel string, data []byte) error {
		name := filepath.Join(r.Root, filepath.FromSlash(rel))
		old, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if bytes.Equal(old, data) {
			return nil
		}
		changed = append(changed, rel)
		return os.WriteFile(name, data, 0o644)
	}

	data, err := os.ReadFile(filepath.Join(r.Root, manifestFile))
	if err != nil {
		return nil, err
	}
	if err := write(manifestFile, versionLineRE.ReplaceAll(data, []byte("${1}"+v))); err != nil {
		return nil, err
	}
	r.Version = v

	for _, e := range r.Modules {
		for _, s := range r.siblings(e) {
			if err := e.GoMod.AddRequire(s.Path, v); err != nil {
				return nil, err
			}
		}
		e.GoMod.Cleanup()
		if err := write(e.Dir+"/go.mod", modfile.Format(e.GoMod.Syntax)); err != nil {
			return nil, err
		}
	}

	if r.Work != nil {
		for _, rep := range append([]*modfile.Replace(nil), r.Work.Replace...) {
			if r.byPath(rep.Old.Path) != nil {
				if err := r.Work.DropReplace(rep.Old.Path, rep.Old.Version); err != nil {
					return nil, err
				}
			}
		}
		for _, e := range r.Modules { // in the manifest's order, for a stable file
			for old, dir := range r.workReplaces() {
				if old.Path == e.Path {
					if err := r.Work.AddReplace(old.Path, old.Version, dir, ""); err != nil {
						return nil, err
					}
				}
			}
		}
		r.Work.Cleanup()
		if err := write("go.work", modfile.Format(r.Work.Syntax)); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// export copies what a release would tag into dst: the files git would
// commit (tracked, or untracked and not ignored), as they are on disk,
// of the public modules, plus every listed go.mod, the manifest and
// go.work, so that loadRepo(dst) reads the copy. A nested public module
// with no LICENSE of its own gets the root's, as the go command and the
// module proxy add it to the module's zip.
func (r *repo) export(dst string) error {
	files, err := gitFiles(r.Root)
	if err != nil {
		return err
	}
	for _, f := range files {
		e := r.owner(f)
		if !e.Public && f != e.Dir+"/go.mod" && f != manifestFile && f != "go.work" {
			continue
		}
		src := filepath.Join(r.Root, filepath.FromSlash(f))
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue // module zips hold regular files only
		}
		if err := copyFile(filepath.Join(dst, filepath.FromSlash(f)), src); err != nil {
			return err
		}
	}
	license := filepath.Join(r.Root, "LICENSE")
	if _, err := os.Stat(license); err == nil {
		for _, e := range r.public() {
			own := filepath.Join(dst, filepath.FromSlash(e.Dir), "LICENSE")
			if _, err := os.Stat(own); os.IsNotExist(err) {
				if err := copyFile(own, license); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func copyFile(dst, src string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeProxy writes a module proxy in the file layout GOPROXY=file://
// reads (the layout of $GOMODCACHE/cache/download) into dir, holding
// every public module of r at r.Version, each zipped from its directory
// as the module proxy zips a tag: nested modules left out.
func writeProxy(r *repo, dir string) error {
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{r.Version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	for _, e := range r.public() {
		esc, err := module.EscapePath(e.Path)
		if err != nil {
			return err
		}
		vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return err
		}
		src := filepath.Join(r.Root, filepath.FromSlash(e.Dir))
		base := filepath.Join(vdir, r.Version)
		f, err := os.Create(base + ".zip")
		if err != nil {
			return err
		}
		err = zip.CreateFromDir(f, module.Version{Path: e.Path, Version: r.Version}, src)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("zip %s@%s: %w", e.Path, r.Version, err)
		}
		if err := copyFile(base+".mod", filepath.Join(src, "go.mod")); err != nil {
			return err
		}
		if err := os.WriteFile(base+".info", info, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(vdir, "list"), []byte(r.Version+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildProxy exports the working tree of r into work/tree, bumps the
// copy to version v if it says another, and writes the proxy of its
// public modules into work/proxy. It returns the copy.
func buildProxy(r *repo, work, v string) (*repo, error) {
	tree := filepath.Join(work, "tree")
	if err := r.export(tree); err != nil {
		return nil, err
	}
	c, err := loadRepo(tree)
	if err != nil {
		return nil, err
	}
	if v != c.Version {
		if _, err := c.bump(v); err != nil {
			return nil, err
		}
	}
	if err := writeProxy(c, filepath.Join(work, "proxy")); err != nil {
		return nil, err
	}
	return c, nil
}
