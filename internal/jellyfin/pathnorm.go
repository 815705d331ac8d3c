package jellyfin

import "strings"

// slashMark stands for an encoded slash while dot segments are removed:
// Kestrel leaves %2F encoded, so it must not split a segment then. A NUL
// cannot otherwise survive decoding here: %00 is kept encoded (Kestrel
// refuses such paths) and a raw NUL is re-encoded.
const slashMark = 0

// cleanPath decodes p once and removes dot segments in Kestrel's order, then
// settles encoded slashes (as separators with decodeSlash, else as "%2F"),
// and collapses duplicate slashes. saw is set when p held an encoded slash.
func cleanPath(p string, decodeSlash bool, saw *bool) string {
	p, marked := decodePath(p)
	p = removeDotSegments(p)
	if marked {
		*saw = true
		if decodeSlash {
			p = removeDotSegments(strings.ReplaceAll(p, string(rune(slashMark)), "/"))
		} else {
			p = strings.ReplaceAll(p, string(rune(slashMark)), "%2F")
		}
	}
	return collapseSlashes(p)
}

// decodePath percent-decodes every %XX once, except %00, and turns %2F into
// slashMark. Malformed escapes stay as written; nothing is decoded twice.
func decodePath(p string) (decoded string, marked bool) {
	if strings.IndexByte(p, '%') < 0 && strings.IndexByte(p, slashMark) < 0 {
		return p, false
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == slashMark:
			b = append(b, "%00"...)
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			switch v {
			case 0:
				b = append(b, p[i:i+3]...)
			case '/':
				b = append(b, slashMark)
				marked = true
			default:
				b = append(b, v)
			}
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), marked
}

// removeDotSegments removes "." and ".." segments from a path that starts
// with "/", as RFC 3986 section 5.2.4 and Kestrel do: ".." above the root
// stays at the root, and a path ending in a dot segment keeps a trailing
// slash.
func removeDotSegments(p string) string {
	if !hasDotSegment(p) {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}

// hasDotSegment reports whether p holds a "." or ".." segment.
func hasDotSegment(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		if strings.HasPrefix(rest, "..") {
			rest = rest[2:]
		} else if strings.HasPrefix(rest, ".") {
			rest = rest[1:]
		} else {
			continue
		}
		if rest == "" || rest[0] == '/' {
			return true
		}
	}
	return false
}

// collapseSlashes turns every run of slashes into one.
func collapseSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var sb strings.Builder
	sb.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		sb.WriteByte(p[i])
	}
	return sb.String()
}

// foldPath lower-cases ASCII letters and maps the non-ASCII letters that
// some case-insensitive comparison treats as ASCII ones (dotless i, dotted
// capital I, long s, Kelvin sign) onto them. Other bytes are kept, valid
// UTF-8 or not.
func foldPath(p string) string {
	if !needsFold(p) {
		return p
	}
	var sb strings.Builder
	sb.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x80 {
			sb.WriteByte(asciiLower(c))
			continue
		}
		if r, n := foldedLetter(p[i:]); n > 0 {
			sb.WriteByte(r)
			i += n - 1
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// needsFold reports whether foldPath would change anything.
func needsFold(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}

// foldedLetter returns the ASCII letter that the non-ASCII letter at the
// start of s folds to, and its length in bytes; n is 0 for any other text.
func foldedLetter(s string) (letter byte, n int) {
	switch {
	case strings.HasPrefix(s, "\u0131"), strings.HasPrefix(s, "\u0130"):
		return 'i', 2
	case strings.HasPrefix(s, "\u017F"):
		return 's', 2
	case strings.HasPrefix(s, "\u212A"):
		return 'k', 3
	}
	return 0, 0
}

// foldEqual reports whether foldPath(seg) == folded, without allocating.
func foldEqual(seg, folded string) bool {
	j := 0
	for i := 0; i < len(seg); j++ {
		c, n := seg[i], 1
		switch {
		case c < 0x80:
			c = asciiLower(c)
		default:
			if l, m := foldedLetter(seg[i:]); m > 0 {
				c, n = l, m
			}
		}
		if j >= len(folded) || folded[j] != c {
			return false
		}
		i += n
	}
	return j == len(folded)
}
