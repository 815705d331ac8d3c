//go:build darwin || dragonfly || freebsd || linux

package sqlite

import "syscall"

// freeSpace returns the bytes an unprivileged process may still write on
// the file system holding dir, and whether it could be found out.
func freeSpace(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true //nolint:gosec // G115: the field types differ between systems; both are non-negative
}
