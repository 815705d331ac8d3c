//go:build linux

package testkit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// ReadOnlyView returns a directory that shows dir read-only for real: as
// root (who may write through any permission bits) a read-only bind mount
// of it, otherwise dir itself with every write bit taken away. The test is
// skipped where neither can be had.
func ReadOnlyView(t *testing.T, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		setWritable(t, dir, false)
		t.Cleanup(func() { setWritable(t, dir, true) })
		return dir
	}
	mnt := t.TempDir()
	if err := syscall.Mount(dir, mnt, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount %s (needs CAP_SYS_ADMIN, or run the tests as a user other than root): %v", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot make the bind mount read-only: %v", err)
	}
	probe := filepath.Join(mnt, "probe")
	if err := os.WriteFile(probe, nil, 0o600); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("writing into the read-only view: %v, want EROFS", err)
	}
	return mnt
}

func setWritable(t *testing.T, dir string, writable bool) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode().Perm() &^ 0o222
		if writable {
			mode |= 0o200
		}
		return os.Chmod(path, mode) //nolint:gosec // G122: a test's own temporary directory; nobody races it
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TinyDisk mounts a tmpfs of size (e.g. "1m") for the test, or skips it
// where mounting is not allowed (root with CAP_SYS_ADMIN can, as in CI).
func TinyDisk(t *testing.T, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}

// FillDisk writes a file under dir until the disk is full, and returns a
// function that frees the space again.
func FillDisk(t *testing.T, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// TreeState records every file under dir with its time and content, to
// show that nothing was written.
func TreeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path) //nolint:gosec // G122: a test's own temporary directory; nobody races it
		if err != nil {
			return err
		}
		out[path] = info.ModTime().String() + "|" + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
