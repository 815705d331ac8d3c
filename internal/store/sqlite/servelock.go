package sqlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ServeLockFile is the file in the data directory that the one serving
// process holds locked for as long as it runs. Two gateways on one SQLite
// file would each keep their own view of the tokens they released, rewrite
// each other's records and double an attacker's failure budget; until
// replicas share a PostgreSQL store, one data directory serves once.
const ServeLockFile = "serve.lock"

// Holder describes the process that holds the serve lock, for the message
// a second one gets.
type Holder struct {
	PID    int       `json:"pid"`
	Listen string    `json:"listen,omitempty"`
	Since  time.Time `json:"since"`
}

// ErrInUse is matched (errors.Is) by the error LockServe returns when
// another process serves from the data directory.
var ErrInUse = errors.New("data directory in use by another jellyguard serve")

// InUseError names the process that holds the serve lock.
type InUseError struct {
	Dir    string
	Holder Holder // zero when its description could not be read
}

func (e *InUseError) Error() string {
	var about []string
	if e.Holder.PID > 0 {
		about = append(about, fmt.Sprintf("pid %d", e.Holder.PID))
	}
	if e.Holder.Listen != "" {
		about = append(about, "listening on "+e.Holder.Listen)
	}
	if !e.Holder.Since.IsZero() {
		about = append(about, "since "+e.Holder.Since.Local().Format("2006-01-02 15:04:05 MST"))
	}
	who := "another jellyguard serve"
	if len(about) > 0 {
		who += " (" + strings.Join(about, ", ") + ")"
	}
	return fmt.Sprintf("%s is using %s; stop it first, or give this one its own --data", who, e.Dir)
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// ServeLock is a held serve lock. The kernel releases it when the process
// ends in any way, so the lock file a killed process leaves behind never
// blocks the next start.
type ServeLock struct{ f *os.File }

// holderWait bounds how long LockServe waits for the holder to finish
// writing its description (it locks first, then writes).
const holderWait = 500 * time.Millisecond

// LockServe takes the data directory dir (created 0700 if missing) for one
// serving process described by h, or returns an *InUseError naming the
// process that has it. Admin commands do not take it: they work beside a
// running gateway through the database's own locking.
func LockServe(dir string, h Holder) (*ServeLock, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o700); err != nil { //nolint:gosec // G703: the operator names the data directory
		return nil, DiskFull(fmt.Errorf("creating data directory %s: %w", dir, err), dir)
	}
	path := filepath.Join(dir, ServeLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) //nolint:gosec // G703: a fixed name in the data directory the operator names
	if err != nil {
		return nil, DiskFull(fmt.Errorf("opening lock file %s: %w", path, err), dir)
	}
	locked, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !locked {
		holder := readHolder(f)
		f.Close()
		return nil, &InUseError{Dir: dir, Holder: holder}
	}
	if err := writeHolder(f, h); err != nil {
		f.Close()
		return nil, DiskFull(fmt.Errorf("writing lock file %s: %w", path, err), dir)
	}
	return &ServeLock{f: f}, nil
}

// CheckServe reports, without taking it, whether a serving process holds
// the data directory dir: an *InUseError naming it, or nil. It is for the
// steps a serve takes before it locks (the demo writes its config file into
// the data directory first), and creates nothing.
func CheckServe(dir string) error {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	path := filepath.Join(dir, ServeLockFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening lock file %s: %w", path, err)
	}
	defer f.Close()
	locked, err := tryLock(f)
	if err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	if !locked {
		return &InUseError{Dir: dir, Holder: readHolder(f)}
	}
	return nil // closing f lets the lock go
}

// Release lets the data directory go.
func (l *ServeLock) Release() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("releasing %s: %w", l.f.Name(), err)
	}
	return nil
}

func writeHolder(f *os.File, h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(append(b, '\n'), 0)
	return err
}

// readHolder reads the description the holder wrote, waiting briefly for
// a holder that has just locked and not yet written it; zero if it never
// becomes readable.
func readHolder(f *os.File) Holder {
	deadline := time.Now().Add(holderWait)
	for {
		var h Holder
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 4096))
		if err == nil && json.Unmarshal(b, &h) == nil && h.PID > 0 {
			return h
		}
		if time.Now().After(deadline) {
			return Holder{}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
