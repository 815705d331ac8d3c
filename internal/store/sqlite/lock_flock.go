//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive advisory lock on path (created 0600 if
// missing), waiting until it is free or ctx ends. The kernel drops the lock
// if the process dies, so a crash never leaves it stuck. With readOnly the
// file is only opened, never created (a read-only data directory), and a
// missing file means there is nobody to wait for: unlock is then a no-op.
func lockFile(ctx context.Context, path string, readOnly bool) (unlock func(), err error) {
	flag := os.O_RDWR | os.O_CREATE
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if readOnly && errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	for {
		locked, err := tryLock(f)
		if locked {
			return func() { f.Close() }, nil
		}
		if err != nil && readOnly {
			// Only a reader would wait here: go on without the lock.
			f.Close()
			return func() {}, nil
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tryLock takes an exclusive advisory lock on f without waiting; it reports
// false (and no error) when another open file holds it. A lock belongs to
// the open file, so two opens in one process exclude each other as two
// processes do, and it ends when the file is closed or the process dies.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}
