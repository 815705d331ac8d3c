package cli

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

func TestReadOnlyCommandsWorkOnAReadOnlyDataDirectory(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, "--data", dir, "ban", "add", "203.0.113.9", "--reason", "probe"); r.code != exitOK {
		t.Fatalf("ban add: exit %d, stderr %s", r.code, r.stderr)
	}
	seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))

	view := testkit.ReadOnlyView(t, dir)
	before := testkit.TreeState(t, dir)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "list"}, "alice"},
		{[]string{"audit", "verify"}, "audit log intact: "},
		{[]string{"audit", "tail"}, "ban.added"},
		{[]string{"ban", "list"}, "203.0.113.9/32"},
		{[]string{"user", "list"}, "alice"},
	} {
		if !readOnlyCommands[strings.Join(tt.args, " ")] {
			t.Errorf("%s is not among readOnlyCommands", tt.args)
		}
		r := runCLI(t, append([]string{"--data", view}, tt.args...)...)
		if r.code != exitOK || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("%s on a read-only data directory: exit %d, stdout %q, stderr %q", tt.args, r.code, r.stdout, r.stderr)
		}
	}
	// The directory really is read-only: a command that writes fails.
	if r := runCLI(t, "--data", view, "ban", "add", "203.0.113.10"); r.code == exitOK {
		t.Errorf("ban add succeeded on the read-only data directory")
	}
	if after := testkit.TreeState(t, dir); !maps.Equal(before, after) {
		t.Errorf("the read-only commands changed the data directory")
	}
}

func TestReadOnlyCommandNamesAMissingKeyFile(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, "--data", dir, "ban", "add", "203.0.113.9"); r.code != exitOK {
		t.Fatalf("ban add: exit %d, stderr %s", r.code, r.stderr)
	}
	if err := os.Remove(filepath.Join(dir, "jellyguard.key")); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "--data", dir, "token", "list")
	want := "the key file " + filepath.Join(dir, "jellyguard.key") + " is missing beside the database"
	if r.code != exitError || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "restore it from a backup") {
		t.Errorf("exit %d, stderr %q, want it to contain %q", r.code, r.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "jellyguard.key")); err == nil {
		t.Error("a read-only command created a key file")
	}
}

func TestServeOnAFullDiskSaysDiskFull(t *testing.T) {
	disk := t.TempDir()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(disk, syscall.MNT_DETACH) })
	existing := filepath.Join(disk, "existing")
	if r := runCLI(t, "--data", existing, "ban", "add", "203.0.113.9"); r.code != exitOK {
		t.Fatalf("ban add: exit %d, stderr %s", r.code, r.stderr)
	}
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 4096))
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	for _, dir := range []string{existing, filepath.Join(disk, "fresh")} {
		r := runCLI(t, "serve", "--data", dir, "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0")
		if r.code != exitError || !strings.Contains(r.stderr, "disk full: there is no room left to write "+dir) ||
			!strings.Contains(r.stderr, "free some space on that disk") || strings.Contains(r.stderr, "I/O error") {
			t.Errorf("serve on a full disk (%s): exit %d, stderr %q", filepath.Base(dir), r.code, r.stderr)
		}
	}
	if r := runCLI(t, "--data", existing, "ban", "list"); r.code != exitOK || !strings.Contains(r.stdout, "203.0.113.9") {
		t.Errorf("ban list on a full disk: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	startServe(t, "--data", existing, "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0")
}
