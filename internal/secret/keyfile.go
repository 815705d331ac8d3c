package secret

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// LoadOrCreate reads <dir>/jellyguard.key, creating dir (0700) and the key
// file (0600, 32 random bytes) on first start. The file appears atomically
// and never replaces an existing one, so two processes starting at once end
// up with the same key. It refuses a file of the wrong size, and a key file
// group or others can read, because whoever reads it can open every sealed
// secret and forge the audit chain.
func LoadOrCreate(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, KeyFileName)
	master, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		master, err = createKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	return FromBytes(master)
}

// readKeyFile reads and checks an existing key file.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("opening key file %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checking key file %s: %w", path, err)
	}
	if err := checkKeyFile(path, info); err != nil {
		return nil, err
	}
	master := make([]byte, KeySize)
	if _, err := io.ReadFull(f, master); err != nil {
		return nil, fmt.Errorf("reading key file %s: %w", path, err)
	}
	return master, nil
}

// checkKeyFile refuses key files that are not regular, have the wrong size,
// or are readable by group or others.
func checkKeyFile(path string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("key file %s is not a regular file", path)
	}
	if info.Size() != KeySize {
		return fmt.Errorf("key file %s is %d bytes, want %d: it is damaged or not a jellyguard key; "+
			"restore it from a backup (a new key cannot open the secrets sealed under the old one)",
			path, info.Size(), KeySize)
	}
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return fmt.Errorf("key file %s has mode %#o and is readable by group or others; "+
			"restrict it with `chmod 600 %s`", path, perm, path)
	}
	return nil
}

// createKeyFile writes a new random key to a temporary file, syncs it, and
// links it into place. Unlike a rename, the link fails if the key file
// already exists, so a process that loses the race reads the winner's key
// instead of overwriting it.
func createKeyFile(path string) ([]byte, error) {
	master := make([]byte, KeySize)
	if _, err := rand.Read(master); err != nil {
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	tmp, err := writeTempKey(filepath.Dir(path), master)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	switch {
	case errors.Is(err, fs.ErrExist):
		return readKeyFile(path)
	case err != nil:
		// Some file systems (SMB shares, for one) have no hard links.
		if err := writeKeyExclusive(path, master); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return readKeyFile(path)
			}
			return nil, err
		}
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return master, nil
}

// writeTempKey writes master to a new 0600 file in dir and syncs it.
func writeTempKey(dir string, master []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+KeyFileName+".*")
	if err != nil {
		return "", fmt.Errorf("creating key file in %s: %w", dir, err)
	}
	name := f.Name()
	if err := writeAndSync(f, master); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("writing key file %s: %w", name, err)
	}
	return name, nil
}

// writeKeyExclusive creates path with O_EXCL and writes master to it, for
// file systems that cannot link.
func writeKeyExclusive(path string, master []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("creating key file %s: %w", path, err)
	}
	if err := writeAndSync(f, master); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing key file %s: %w", path, err)
	}
	return nil
}

// writeAndSync writes b, flushes it to disk and closes f.
func writeAndSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes the new directory entry durable, so a crash right after
// start-up cannot lose the key while data sealed under it survives.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there; NTFS journals the entry
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing data directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing data directory %s: %w", dir, err)
	}
	return nil
}
