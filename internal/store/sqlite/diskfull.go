package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrDiskFull is matched (errors.Is) by every error that means the disk
// holding the data directory has no room left.
var ErrDiskFull = errors.New("disk full")

// lowSpace is the free space under which an I/O error is taken for a full
// disk: SQLite needs at least 32 KiB for its shared-memory file alone.
const lowSpace = 1 << 20

// diskFullError names what could not be written and says what to do.
type diskFullError struct {
	path  string
	cause error
}

func (e *diskFullError) Error() string {
	return fmt.Sprintf("disk full: there is no room left to write %s; "+
		"free some space on that disk (or point --data at a disk with room) and start again", e.path)
}

func (e *diskFullError) Unwrap() []error { return []error{ErrDiskFull, e.cause} }

// DiskFull returns err as a disk-full error naming path when err means the
// disk is full, and err unchanged otherwise. A full disk reaches us as
// ENOSPC or EDQUOT from the system, as SQLite's SQLITE_FULL, or — when
// SQLite cannot grow its shared-memory or journal file — as a plain "disk
// I/O error", which is only taken for a full disk when the file system
// holding path has (almost) no space left.
func DiskFull(err error, path string) error {
	if err == nil || errors.Is(err, ErrDiskFull) {
		return err
	}
	if isDiskFull(err, path) {
		return &diskFullError{path: path, cause: err}
	}
	return err
}

func isDiskFull(err error, path string) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	var se *sqlitedriver.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_FULL:
		return true
	case sqlite3.SQLITE_IOERR:
		free, ok := freeSpace(existingDir(path))
		return ok && free < lowSpace
	}
	return false
}

// existingDir is path's directory, or path itself when it is a directory:
// the place whose file system is asked for free space.
func existingDir(path string) string {
	if info, err := os.Stat(path); err == nil && info.IsDir() { //nolint:gosec // G703: the operator names the data directory
		return path
	}
	return filepath.Dir(path)
}
