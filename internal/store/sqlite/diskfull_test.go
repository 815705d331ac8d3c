package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDiskFullMapsWhatMeansAFullDisk(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "jellyguard.db")

	// SQLITE_FULL, the real error value: a database that may not grow.
	s := openAt(t, db)
	if _, err := s.DB().Exec("PRAGMA max_page_count = 1; CREATE TABLE filler (b BLOB)"); err == nil {
		t.Fatal("a one-page database accepted a table")
	} else if got := DiskFull(err, db); !errors.Is(got, ErrDiskFull) {
		t.Errorf("SQLITE_FULL (%v) not taken for a full disk", err)
	}

	for _, tt := range []struct {
		name string
		err  error
		full bool
	}{
		{"ENOSPC", &fs.PathError{Op: "write", Path: db, Err: syscall.ENOSPC}, true},
		{"EDQUOT", fmt.Errorf("creating key: %w", &fs.PathError{Op: "write", Path: db, Err: syscall.EDQUOT}), true},
		{"permission denied", &fs.PathError{Op: "open", Path: db, Err: syscall.EACCES}, false},
		{"plain", errors.New("disk I/O error (4874)"), false}, // not the driver's: nothing to go by
	} {
		got := DiskFull(tt.err, db)
		if errors.Is(got, ErrDiskFull) != tt.full {
			t.Errorf("%s: DiskFull = %v, full %v", tt.name, got, tt.full)
			continue
		}
		if !tt.full {
			if got != tt.err {
				t.Errorf("%s: changed to %v", tt.name, got)
			}
			continue
		}
		msg := got.Error()
		if !strings.HasPrefix(msg, "disk full: ") || !strings.Contains(msg, db) || !strings.Contains(msg, "free some space") {
			t.Errorf("%s: message %q should say disk full, name %s and what to do", tt.name, msg, db)
		}
		if !errors.Is(got, tt.err) && !errors.Is(got, syscall.ENOSPC) && !errors.Is(got, syscall.EDQUOT) {
			t.Errorf("%s: the cause is lost", tt.name)
		}
		if again := DiskFull(got, dir); again != got {
			t.Errorf("%s: mapped twice: %v", tt.name, again)
		}
	}
	if DiskFull(nil, db) != nil {
		t.Error("DiskFull(nil) is not nil")
	}
}
