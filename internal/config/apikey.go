package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// maxKeyFileLine bounds how much of a key file is read looking for the
// first line; a Jellyfin API key is 32 hex characters.
const maxKeyFileLine = 64 << 10

// checkAPIKey enforces that api_key and api_key_file are not both given and
// reads the key file into APIKey.
func (v *validator) checkAPIKey() {
	c := v.c
	if c.origins.lookup("api_key").layer == layerFlag {
		v.warnf("--api-key shows the key in the process list; prefer --api-key-file or %s", envName("api_key"))
	}
	if c.APIKeyFile == "" {
		if c.apiKeyFromFile {
			c.APIKey, c.apiKeyFromFile = "", false
		}
		return
	}
	if c.APIKey != "" && !c.apiKeyFromFile {
		v.failf("api_key_file", "api_key%s and api_key_file are both set; keep only one", setAt(c.origins.lookup("api_key")))
		return
	}
	key, warning, err := readKeyFile(c.APIKeyFile)
	if err != nil {
		v.fail("api_key_file", err)
		return
	}
	if warning != "" {
		v.warnf("%s", warning)
	}
	c.APIKey, c.apiKeyFromFile = key, true
}

// setAt renders " (set at X)" when the origin is known.
func setAt(o origin) string {
	if o.where == "" {
		return ""
	}
	return " (set at " + o.where + ")"
}

// readKeyFile returns the first line of the file at path, trimmed, and a
// warning when other users may read the file.
func readKeyFile(path string) (key, warning string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("cannot read %q: %w", path, unwrapPath(err))
	}
	// A pipe or device would block or never end; a key file is a file.
	if !info.Mode().IsRegular() {
		return "", "", fmt.Errorf("%q is not a regular file", path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o044 != 0 {
		warning = fmt.Sprintf("api_key_file %q can be read by other users (mode %#o); run chmod 600 on it", path, info.Mode().Perm())
	}
	f, err := os.Open(path) //nolint:gosec // G304: the operator names the key file; reading it is the point
	if err != nil {
		return "", "", fmt.Errorf("cannot read %q: %w", path, unwrapPath(err))
	}
	defer func() { _ = f.Close() }() // opened read-only: a close error loses nothing
	line, err := bufio.NewReader(io.LimitReader(f, maxKeyFileLine)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", "", fmt.Errorf("cannot read %q: %w", path, unwrapPath(err))
	}
	if key = strings.TrimSpace(line); key == "" {
		return "", "", fmt.Errorf("%q: the first line is empty", path)
	}
	return key, warning, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose text repeats the path
// the caller already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
