package totp

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// quietZone is the blank margin around the symbol, in modules. The QR
// specification asks for four; scanners struggle with less, especially on
// a dark page.
const quietZone = 4

// modulePixels is the default rendered size of one module. The page's
// stylesheet may override the width and height.
const modulePixels = 6

// QRSVG renders uri as an SVG QR code to inline in the enrolment page: one
// path of 1×1 squares in a viewBox with a four-module quiet zone, black on
// white through fill attributes and shape-rendering="crispEdges". It has no
// script, no style attribute and no text taken from uri, so it is safe under
// a strict Content-Security-Policy and needs no escaping; it stays sharp at
// any screen density.
func QRSVG(uri string) (string, error) {
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("encoding qr code: %w", err)
	}
	b := code.Bounds()
	n := b.Dx()
	size := n + 2*quietZone
	px := strconv.Itoa(size * modulePixels)
	sz := strconv.Itoa(size)

	var sb strings.Builder
	sb.Grow(64 + n*n*8)
	sb.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="QR code" width="`)
	sb.WriteString(px + `" height="` + px + `" viewBox="0 0 ` + sz + " " + sz)
	sb.WriteString(`" shape-rendering="crispEdges"><rect width="` + sz + `" height="` + sz)
	sb.WriteString(`" fill="#fff"/><path fill="#000" d="`)
	for y := range n {
		for x := range n {
			if !dark(code.At(b.Min.X+x, b.Min.Y+y)) {
				continue
			}
			sb.WriteByte('M')
			sb.WriteString(strconv.Itoa(x + quietZone))
			sb.WriteByte(' ')
			sb.WriteString(strconv.Itoa(y + quietZone))
			sb.WriteString("h1v1h-1z")
		}
	}
	sb.WriteString(`"/></svg>`)
	return sb.String(), nil
}

func dark(c color.Color) bool {
	return color.GrayModel.Convert(c).(color.Gray).Y < 128
}
