package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no file content makes Load panic or hang, and that
// a config Load accepts validates again unchanged.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(Example()))
	f.Add([]byte("a: &a [*a]\nlisten: *a\n"))
	f.Add([]byte("trusted_proxies: &p [*p]\n"))
	f.Add([]byte("tokens: !!map {cache_ttl: !!str 5m}\n"))
	f.Add([]byte("? complex\n: key\n"))
	f.Add([]byte("listen: *missing\n"))
	f.Add([]byte("\xff\xfe: \x00\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails a second Validate: %v", err)
		}
	})
}
