package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/storetest"
)

// TestConformance runs the store conformance suite against a real SQLite
// file per subtest.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "jellyguard.db"))
	})
}
