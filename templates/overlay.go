package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Limits of a template override folder, read whole into memory at start.
const (
	maxOverrideFileBytes  = 4 << 20
	maxOverrideTotalBytes = 32 << 20
)

// Overlay returns FS() with the files of the folder dir in place of the
// embedded files of the same path (templates_dir): a deployment's own
// login.html, mail/layout.html, static/gatehouse.css or locales/de.json.
// New files are accepted only under static/ (a logo) and locales/ (a
// language, *.json); any other file that replaces nothing is refused, so
// a misspelt name is reported rather than silently ignored. The files are
// read now, so what the renderers check at start-up is what is served;
// Overlay does NOT check their content: the renderers and the message
// bundle built on the result do.
func Overlay(dir string) (fs.FS, error) {
	return overlayOn(FS(), dir)
}

// overlayOn is Overlay over any base tree.
func overlayOn(base fs.FS, dir string) (fs.FS, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("templates: override folder: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("templates: override folder %s is not a folder", dir)
	}
	o := &overlay{base: base, files: map[string]*memFile{}, dirs: map[string][]string{}}
	var total int64
	err = fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(path.Base(p), ".") {
			return nil // editor and system files (.DS_Store, .swp)
		}
		where := filepath.Join(dir, filepath.FromSlash(p))
		if err := allowedOverride(base, p); err != nil {
			return fmt.Errorf("templates: override %s: %w", where, err)
		}
		b, err := os.ReadFile(where)
		if err != nil {
			return fmt.Errorf("templates: override %s: %w", where, err)
		}
		if len(b) > maxOverrideFileBytes {
			return fmt.Errorf("templates: override %s: %d bytes, more than %d", where, len(b), maxOverrideFileBytes)
		}
		if total += int64(len(b)); total > maxOverrideTotalBytes {
			return fmt.Errorf("templates: override folder %s: more than %d bytes in all", dir, maxOverrideTotalBytes)
		}
		st, err := d.Info()
		if err != nil {
			return fmt.Errorf("templates: override %s: %w", where, err)
		}
		o.files[p] = &memFile{name: path.Base(p), data: b, mod: st.ModTime()}
		o.dirs[path.Dir(p)] = append(o.dirs[path.Dir(p)], p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// allowedOverride says why p may not be in an override folder, or nil.
func allowedOverride(base fs.FS, p string) error {
	if st, err := fs.Stat(base, p); err == nil {
		if st.IsDir() {
			return errors.New("is a file where the embedded templates have a folder")
		}
		return nil
	}
	switch {
	case strings.HasPrefix(p, "static/") && !strings.Contains(strings.TrimPrefix(p, "static/"), "/"):
		return nil
	case path.Dir(p) == "locales" && path.Ext(p) == ".json":
		return nil
	}
	return errors.New("replaces no embedded file (new files go only in static/ and, as *.json, in locales/)")
}

// overlay is a read-only tree: its own files, then base's.
type overlay struct {
	base  fs.FS
	files map[string]*memFile
	// dirs lists, per folder, the paths of its override files.
	dirs map[string][]string
}

// Open opens the override of name, or base's file.
func (o *overlay) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := o.files[name]; ok {
		return &openFile{memFile: f, Reader: bytes.NewReader(f.data)}, nil
	}
	return o.base.Open(name)
}

// ReadDir lists base's entries of the folder with the overrides in place
// and the new files added, sorted by name.
func (o *overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.base, name)
	if err != nil && (len(o.dirs[name]) == 0 || !errors.Is(err, fs.ErrNotExist)) {
		return nil, err
	}
	byName := make(map[string]fs.DirEntry, len(entries))
	for _, e := range entries {
		byName[e.Name()] = e
	}
	for _, p := range o.dirs[name] {
		f := o.files[p]
		byName[f.name] = fs.FileInfoToDirEntry(f)
	}
	out := make([]fs.DirEntry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// memFile is an override file read at start; it is its own fs.FileInfo.
type memFile struct {
	name string
	data []byte
	mod  time.Time
}

// Name is the file's base name.
func (f *memFile) Name() string { return f.name }

// Size is the file's length.
func (f *memFile) Size() int64 { return int64(len(f.data)) }

// Mode is a read-only regular file's.
func (f *memFile) Mode() fs.FileMode { return 0o444 }

// ModTime is the file's modification time when it was read.
func (f *memFile) ModTime() time.Time { return f.mod }

// IsDir is false.
func (f *memFile) IsDir() bool { return false }

// Sys is nil.
func (f *memFile) Sys() any { return nil }

// openFile is an open memFile; it seeks, as http.FileServerFS wants.
type openFile struct {
	*memFile
	*bytes.Reader
}

// Stat describes the file.
func (f *openFile) Stat() (fs.FileInfo, error) { return f.memFile, nil }

// Close does nothing.
func (f *openFile) Close() error { return nil }
