package sqlite

import (
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

func openReadOnlyAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenReadOnly(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wantSetting(t *testing.T, s *Store, key, want string) {
	t.Helper()
	got, err := s.Setting(t.Context(), key)
	if err != nil || got != want {
		t.Fatalf("setting %s = %q, %v; want %q", key, got, err, want)
	}
}

func TestOpenReadOnlyReadsAReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jellyguard.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close() // the last connection folds the WAL in and removes it

	view := testkit.ReadOnlyView(t, dir)
	before := testkit.TreeState(t, dir)
	r := openReadOnlyAt(t, filepath.Join(view, "jellyguard.db"))
	wantSetting(t, r, "k", "v")
	if err := r.PutSetting(t.Context(), "k", "w"); err == nil {
		t.Error("a write through the read-only store succeeded")
	}
	r.Close()
	if after := testkit.TreeState(t, dir); !maps.Equal(before, after) {
		t.Errorf("the data directory changed:\nbefore %v\nafter  %v", keys(before), keys(after))
	}
}

func TestOpenReadOnlySeesARunningWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jellyguard.db")
	w := openAt(t, path)
	if err := w.PutSetting(t.Context(), "k", "v1"); err != nil {
		t.Fatal(err)
	}
	view := testkit.ReadOnlyView(t, dir)
	r := openReadOnlyAt(t, filepath.Join(view, "jellyguard.db"))
	wantSetting(t, r, "k", "v1") // still in the writer's WAL
	if err := w.PutSetting(t.Context(), "k", "v2"); err != nil {
		t.Fatal(err)
	}
	wantSetting(t, r, "k", "v2")
}

func TestOpenReadOnlyRefusesAnOutdatedSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jellyguard.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec("DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	view := testkit.ReadOnlyView(t, dir)
	before := testkit.TreeState(t, dir)
	_, err = OpenReadOnly(t.Context(), filepath.Join(view, "jellyguard.db"), nil)
	if !errors.Is(err, ErrSchemaOutdated) || !strings.Contains(err.Error(), "start `jellyguard serve` of this version once") {
		t.Fatalf("got %v, want ErrSchemaOutdated saying what to do", err)
	}
	if after := testkit.TreeState(t, dir); !maps.Equal(before, after) {
		t.Error("refusing an outdated database changed it")
	}
}

func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenReadOnly(t.Context(), filepath.Join(dir, "jellyguard.db"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want not-exist", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("created %v", entries)
	}
}

func TestOpenOnAFullDiskSaysDiskFull(t *testing.T) {
	disk := testkit.TinyDisk(t, "1m")
	existing := filepath.Join(disk, "a", "jellyguard.db")
	s, err := Open(t.Context(), existing, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	free := testkit.FillDisk(t, disk)

	checkFull := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrDiskFull) {
			t.Fatalf("%s on a full disk: %v, want ErrDiskFull", what, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "disk full: ") || strings.Contains(msg, "I/O error") ||
			!strings.Contains(msg, "free some space") {
			t.Errorf("%s: message %q should say disk full and what to do", what, msg)
		}
	}
	_, err = Open(t.Context(), existing, nil)
	checkFull("opening an existing database", err)
	_, err = Open(t.Context(), filepath.Join(disk, "b", "jellyguard.db"), nil)
	checkFull("creating a database", err)
	_, err = LockServe(filepath.Join(disk, "c"), Holder{PID: os.Getpid(), Since: time.Now()})
	checkFull("taking the serve lock", err)

	// What only reads still works on the full disk.
	wantSetting(t, openReadOnlyAt(t, existing), "k", "v")

	free()
	s = openAt(t, existing)
	wantSetting(t, s, "k", "v")
	if err := s.PutSetting(t.Context(), "k", "w"); err != nil {
		t.Fatalf("writing once space is free: %v", err)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, filepath.Base(k))
	}
	return out
}
