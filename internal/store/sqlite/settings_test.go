package sqlite

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/jellyguard/jellyguard/internal/store"
)

func TestSettingsRoundTripAndSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jellyguard.db")
	s := openAt(t, path)
	ctx := t.Context()
	if _, err := s.Setting(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing setting: %v", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.PutSetting(ctx, "x", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	if v, err := s.Setting(ctx, "x"); err != nil || v != "two" {
		t.Fatalf("after reopen: %q %v", v, err)
	}
}
