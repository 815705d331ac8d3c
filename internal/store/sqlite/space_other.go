//go:build !(darwin || dragonfly || freebsd || linux)

package sqlite

// freeSpace cannot be found out here: an SQLite I/O error is then reported
// as it is, and only ENOSPC and SQLITE_FULL read as a full disk.
func freeSpace(string) (uint64, bool) { return 0, false }
