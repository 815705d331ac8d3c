package totp

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/boombuler/barcode/qr"
)

// svgDoc is the part of the SVG the tests look at.
type svgDoc struct {
	XMLName        xml.Name   `xml:"svg"`
	Attrs          []xml.Attr `xml:",any,attr"`
	ViewBox        string     `xml:"viewBox,attr"`
	ShapeRendering string     `xml:"shape-rendering,attr"`
	Rect           []struct {
		Width  string `xml:"width,attr"`
		Height string `xml:"height,attr"`
		Fill   string `xml:"fill,attr"`
	} `xml:"rect"`
	Path []struct {
		Fill string `xml:"fill,attr"`
		D    string `xml:"d,attr"`
	} `xml:"path"`
}

var (
	squareRE    = regexp.MustCompile(`^M(\d+) (\d+)h1v1h-1z`)
	eventAttrRE = regexp.MustCompile(`\son[a-z]+=`)
)

// modules reads the SVG back into a matrix of dark modules, including the
// quiet zone, checking its structure on the way.
func modules(t *testing.T, svg string) [][]bool {
	t.Helper()
	var doc svgDoc
	dec := xml.NewDecoder(strings.NewReader(svg))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("SVG does not parse as XML: %v", err)
	}
	if doc.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Errorf("namespace %q", doc.XMLName.Space)
	}
	for _, a := range doc.Attrs {
		if a.Name.Local == "style" {
			t.Error("svg has a style attribute")
		}
	}
	for _, bad := range []string{"<script", "style=", "<style", "href"} {
		if strings.Contains(svg, bad) {
			t.Errorf("SVG contains %q", bad)
		}
	}
	if eventAttrRE.MatchString(svg) {
		t.Error("SVG has an event handler attribute")
	}
	if doc.ShapeRendering != "crispEdges" {
		t.Errorf("shape-rendering = %q", doc.ShapeRendering)
	}
	var size int
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &size, new(int)); err != nil {
		t.Fatalf("viewBox %q: %v", doc.ViewBox, err)
	}
	if len(doc.Rect) != 1 || doc.Rect[0].Fill != "#fff" ||
		doc.Rect[0].Width != strconv.Itoa(size) || doc.Rect[0].Height != strconv.Itoa(size) {
		t.Errorf("background %+v, want one white %d×%d rect", doc.Rect, size, size)
	}
	if len(doc.Path) != 1 || doc.Path[0].Fill != "#000" {
		t.Fatalf("want one black path, got %+v", doc.Path)
	}
	m := make([][]bool, size)
	for i := range m {
		m[i] = make([]bool, size)
	}
	d := doc.Path[0].D
	for d != "" {
		sm := squareRE.FindStringSubmatch(d)
		if sm == nil {
			t.Fatalf("path data not a run of 1×1 squares at %.30q", d)
		}
		x, _ := strconv.Atoi(sm[1])
		y, _ := strconv.Atoi(sm[2])
		if x >= size || y >= size {
			t.Fatalf("square at %d,%d outside the %d viewBox", x, y, size)
		}
		if m[y][x] {
			t.Errorf("square at %d,%d drawn twice", x, y)
		}
		m[y][x] = true
		d = d[len(sm[0]):]
	}
	return m
}

// raster draws the module matrix as a PNG, scale pixels per module.
func raster(m [][]bool, scale int) []byte {
	n := len(m)
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for y := range n * scale {
		for x := range n * scale {
			c := color.Gray{Y: 255}
			if m[y/scale][x/scale] {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

func TestQRSVG(t *testing.T) {
	uris := []string{
		URI("jellyguard", "alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
		URI("My Jellyfin", "José Ñandú", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
		URI("a:b&c", "x/y?z", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"),
	}
	zbarimg, lookErr := exec.LookPath("zbarimg")
	if lookErr != nil {
		t.Log("zbarimg not installed: checking the module matrix only")
	}
	for i, uri := range uris {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			svg, err := QRSVG(uri)
			if err != nil {
				t.Fatal(err)
			}
			m := modules(t, svg)

			// The matrix must be exactly qr.Encode's, inside a blank
			// four-module quiet zone.
			want, err := qr.Encode(uri, qr.M, qr.Auto)
			if err != nil {
				t.Fatal(err)
			}
			n := want.Bounds().Dx()
			if len(m) != n+2*quietZone {
				t.Fatalf("viewBox is %d modules, want %d", len(m), n+2*quietZone)
			}
			for y := range m {
				for x := range m[y] {
					inside := x >= quietZone && y >= quietZone && x < n+quietZone && y < n+quietZone
					wantDark := inside && dark(want.At(x-quietZone, y-quietZone))
					if m[y][x] != wantDark {
						t.Fatalf("module %d,%d dark = %v, want %v", x, y, m[y][x], wantDark)
					}
				}
			}

			if lookErr != nil {
				return
			}
			file := filepath.Join(t.TempDir(), "qr.png")
			if err := os.WriteFile(file, raster(m, 8), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(zbarimg, "--raw", "-q", file).Output()
			if err != nil {
				t.Fatalf("zbarimg: %v", err)
			}
			if got := strings.TrimRight(string(out), "\n"); got != uri {
				t.Errorf("zbarimg read %q, want %q", got, uri)
			}
		})
	}
}

func TestQRSVGTooLong(t *testing.T) {
	if _, err := QRSVG(strings.Repeat("x", 4000)); err == nil {
		t.Error("QRSVG of 4000 bytes: no error")
	}
}
