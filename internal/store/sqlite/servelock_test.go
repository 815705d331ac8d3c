package sqlite

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSecondServeLockIsRefusedNamingTheFirst(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock on Windows")
	}
	dir := t.TempDir()
	since := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	first, err := LockServe(dir, Holder{PID: 1234, Listen: ":8097", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockServe(dir, Holder{PID: 5678, Listen: ":8098", Since: time.Now()})
	var inUse *InUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrInUse) {
		t.Fatalf("second lock: %v, want an InUseError", err)
	}
	want := fmt.Sprintf("another jellyguard serve (pid 1234, listening on :8097, since %s) is using %s; "+
		"stop it first, or give this one its own --data", since.Local().Format("2006-01-02 15:04:05 MST"), dir)
	if err.Error() != want {
		t.Errorf("message\n got %q\nwant %q", err, want)
	}
	if err := CheckServe(dir); !errors.As(err, &inUse) || inUse.Holder.PID != 1234 {
		t.Errorf("CheckServe while held: %v", err)
	}
	// The refused one changed nothing: the holder is still the first.
	if b, _ := os.ReadFile(filepath.Join(dir, ServeLockFile)); !strings.Contains(string(b), `"pid":1234`) {
		t.Errorf("lock file after the refused attempt: %s", b)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := CheckServe(dir); err != nil {
		t.Errorf("CheckServe after release: %v", err)
	}
	again, err := LockServe(dir, Holder{PID: 5678, Since: time.Now()})
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	_ = again.Release()
}

func TestServeLockOfAKilledProcessDoesNotBlock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock on Windows")
	}
	dir := t.TempDir()
	// A child process takes the lock and is killed with SIGKILL: it never
	// gets to release anything, and leaves its lock file behind.
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeLockHelperProcess$")
	cmd.Env = append(os.Environ(), "JG_SERVELOCK_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked" {
		t.Fatalf("helper said %q: %v", buf, err)
	}
	_, err = LockServe(dir, Holder{PID: os.Getpid(), Since: time.Now()})
	if want := fmt.Sprintf("pid %d", cmd.Process.Pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("while the helper runs: %v, want a refusal naming %s", err, want)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, ServeLockFile)); err != nil {
		t.Fatalf("the killed process left no lock file: %v", err)
	}
	l, err := LockServe(dir, Holder{PID: os.Getpid(), Since: time.Now()})
	if err != nil {
		t.Fatalf("the stale lock file of a killed process blocks: %v", err)
	}
	_ = l.Release()
}

// TestServeLockHelperProcess is the child of
// TestServeLockOfAKilledProcessDoesNotBlock: it holds the lock until killed.
func TestServeLockHelperProcess(t *testing.T) {
	dir := os.Getenv("JG_SERVELOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := LockServe(dir, Holder{PID: os.Getpid(), Listen: "127.0.0.1:1", Since: time.Now()}); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Print("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}

func TestCheckServeCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := CheckServe(dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("CheckServe created %v", entries)
	}
}

func TestServeLockWithoutADescriptionStillRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock on Windows")
	}
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, ServeLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := tryLock(f); !ok || err != nil {
		t.Fatalf("tryLock: %v %v", ok, err)
	}
	_, err = LockServe(dir, Holder{PID: os.Getpid(), Since: time.Now()})
	want := "another jellyguard serve is using " + dir + "; stop it first, or give this one its own --data"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
