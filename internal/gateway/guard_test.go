package gateway

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns its data in fixed-size reads, to put the key across
// read boundaries.
type chunkReader struct {
	data []byte
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(c.size, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestScanReaderCutsBeforeTheTokenValue(t *testing.T) {
	prefix := strings.Repeat("x", 1000)
	body := prefix + `{"AccessToken":"0123456789abcdef0123456789abcdef"}`
	for size := 1; size <= 40; size++ {
		hits := 0
		s := &scanReader{r: io.NopCloser(&chunkReader{data: []byte(body), size: size}), onHit: func() { hits++ }}
		got, err := io.ReadAll(s)
		if !errors.Is(err, errTokenInStream) {
			t.Fatalf("chunk %d: err = %v, want errTokenInStream", size, err)
		}
		if bytes.Contains(got, []byte("0123")) {
			t.Fatalf("chunk %d: token value leaked: %q", size, got[len(got)-20:])
		}
		if !strings.HasPrefix(string(got), prefix) || hits != 1 {
			t.Fatalf("chunk %d: passed %d bytes, hits %d", size, len(got), hits)
		}
	}
}

func TestScanReaderPassesCleanBodies(t *testing.T) {
	body := strings.Repeat(`{"Name":"Access","Token":"no"} ccessToken `, 5000)
	for _, size := range []int{1, 7, 4096, 65536} {
		s := &scanReader{r: io.NopCloser(&chunkReader{data: []byte(body), size: size}), onHit: func() { t.Fatal("false hit") }}
		got, err := io.ReadAll(s)
		if err != nil || string(got) != body {
			t.Fatalf("chunk %d: err %v, %d of %d bytes", size, err, len(got), len(body))
		}
	}
	if err := iotest.TestReader(&scanReader{r: io.NopCloser(strings.NewReader(body)), onHit: func() {}}, []byte(body)); err != nil {
		t.Fatal(err)
	}
}

func TestScannableSkipsMedia(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json; charset=utf-8": true, "text/html": true, "": true,
		"video/mp4": false, "image/png": false, "Audio/mpeg": false, "application/octet-stream": false,
		"application/vnd.apple.mpegurl": false,
	} {
		if got := scannable(ct); got != want {
			t.Errorf("scannable(%q) = %v", ct, got)
		}
	}
}

func FuzzScanReader(f *testing.F) {
	f.Add([]byte(`{"AccessToken":"abc"}`), 3)
	f.Add([]byte(`ccessTokenccessToken"`), 1)
	f.Fuzz(func(t *testing.T, body []byte, size int) {
		if size <= 0 || size > 1<<16 {
			size = 1
		}
		s := &scanReader{r: io.NopCloser(&chunkReader{data: body, size: size}), onHit: func() {}}
		got, err := io.ReadAll(s)
		has := bytes.Contains(body, tokenKey)
		if has != errors.Is(err, errTokenInStream) {
			t.Fatalf("hit=%v err=%v", has, err)
		}
		if has {
			// A key split across reads may pass in part; never whole, so
			// the value after it never leaves.
			i := bytes.Index(body, tokenKey)
			if len(got) >= i+len(tokenKey) {
				t.Fatalf("passed %d bytes, key at %d", len(got), i)
			}
		} else if !bytes.Equal(got, body) {
			t.Fatal("clean body altered")
		}
	})
}
