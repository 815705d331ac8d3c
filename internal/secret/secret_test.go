package secret

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func testKeys(t *testing.T, fill byte) *Keys {
	t.Helper()
	k, err := FromBytes(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealRoundTrip(t *testing.T) {
	k := testKeys(t, 1)
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("token"), 100)} {
		sealed, err := k.Seal(plain, []byte("row-1"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.Open(sealed, []byte("row-1"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := testKeys(t, 1)
	a, _ := k.Seal([]byte("same"), nil)
	b, _ := k.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
	if a[0] != sealVersion1 {
		t.Fatalf("version byte = %d, want %d", a[0], sealVersion1)
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	k := testKeys(t, 1)
	sealed, err := k.Seal([]byte("a jellyfin token"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			if _, err := k.Open(bad, []byte("aad")); !errors.Is(err, ErrSealed) {
				t.Fatalf("byte %d flipped with %#x: err = %v, want ErrSealed", i, bit, err)
			}
		}
	}
	for _, n := range []int{0, 1, 13, len(sealed) - 1} {
		if _, err := k.Open(sealed[:n], []byte("aad")); !errors.Is(err, ErrSealed) {
			t.Fatalf("truncated to %d: err = %v, want ErrSealed", n, err)
		}
	}
}

func TestOpenRejectsWrongAADAndKey(t *testing.T) {
	k := testKeys(t, 1)
	sealed, err := k.Seal([]byte("secret"), []byte("row-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{[]byte("row-2"), nil, []byte("row-1x")} {
		if _, err := k.Open(sealed, aad); !errors.Is(err, ErrSealed) {
			t.Fatalf("aad %q: err = %v, want ErrSealed", aad, err)
		}
	}
	if _, err := testKeys(t, 2).Open(sealed, []byte("row-1")); !errors.Is(err, ErrSealed) {
		t.Fatalf("other key: err = %v, want ErrSealed", err)
	}
}

func TestMAC(t *testing.T) {
	k := testKeys(t, 1)
	mac := k.MAC("p", []byte("ab"), []byte("c"))
	if len(mac) != 32 {
		t.Fatalf("len = %d", len(mac))
	}
	if !k.VerifyMAC("p", mac, []byte("ab"), []byte("c")) {
		t.Fatal("VerifyMAC rejects a good MAC")
	}
	cases := map[string]bool{
		"part boundary": k.VerifyMAC("p", mac, []byte("a"), []byte("bc")),
		"joined parts":  k.VerifyMAC("p", mac, []byte("abc")),
		"extra part":    k.VerifyMAC("p", mac, []byte("ab"), []byte("c"), nil),
		"other purpose": k.VerifyMAC("q", mac, []byte("ab"), []byte("c")),
		"other key":     testKeys(t, 2).VerifyMAC("p", mac, []byte("ab"), []byte("c")),
		"short mac":     k.VerifyMAC("p", mac[:31], []byte("ab"), []byte("c")),
	}
	for name, ok := range cases {
		if ok {
			t.Errorf("%s: VerifyMAC accepted", name)
		}
	}
}

func TestFromBytesRejectsWrongSize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := FromBytes(make([]byte, n)); err == nil {
			t.Errorf("FromBytes(%d bytes) succeeded", n)
		}
	}
}

func TestKeysPrintingRedacts(t *testing.T) {
	k := testKeys(t, 0xAB)
	s := fmt.Sprintf("%v %+v %s %#v", k, k, k, k)
	if strings.Contains(s, "171") || strings.Contains(strings.ToLower(s), "ab") {
		t.Fatalf("printing Keys leaks key material: %s", s)
	}
}

func TestLoadOrCreateCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != KeySize {
		t.Fatalf("key file size = %d", info.Size())
	}
	if runtime.GOOS != "windows" {
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Fatalf("key file mode = %#o, want 0600", perm)
		}
		dinfo, _ := os.Stat(dir)
		if perm := dinfo.Mode().Perm(); perm != 0o700 {
			t.Fatalf("dir mode = %#o, want 0700", perm)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("data dir holds %d entries, want only the key file", len(entries))
	}
	k2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.master != k2.master {
		t.Fatal("reloading gave a different key")
	}
}

func TestLoadOrCreateRefusesReadableFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	if err := os.WriteFile(path, make([]byte, KeySize), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreate(dir)
	if err == nil {
		t.Fatal("accepted a 0644 key file")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("error does not name the path and the fix: %v", err)
	}
}

func TestLoadOrCreateRefusesWrongSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	for _, n := range []int{0, 16, 33} {
		if err := os.WriteFile(path, make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreate(dir)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("%d-byte key file: err = %v", n, err)
		}
	}
}

func TestLoadOrCreateConcurrentAgree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const n = 8
	keys := make([]*Keys, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = LoadOrCreate(dir)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if keys[i].master != keys[0].master {
			t.Fatalf("goroutine %d got a different key", i)
		}
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, keys[0].master[:]) {
		t.Fatal("the key on disk differs from the one loaded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("data dir holds %d entries, want only the key file", len(entries))
	}
}
