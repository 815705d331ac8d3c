//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package sqlite

import (
	"context"
	"os"
)

// lockFile is a no-op where flock is unavailable: there, the second of two
// processes opening a new or outdated database at the same moment may fail,
// and succeeds when started again.
func lockFile(context.Context, string, bool) (unlock func(), err error) {
	return func() {}, nil
}

// tryLock always succeeds where flock is unavailable: there, nothing keeps
// a second serve off a data directory.
func tryLock(*os.File) (bool, error) { return true, nil }
