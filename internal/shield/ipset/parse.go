package ipset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxLineLen bounds a line: no address or CIDR comes close, and a
	// list that has such lines is not a list of addresses.
	maxLineLen = 1024
	// maxTextLen bounds the copy of a bad line kept for the log: enough to
	// recognise it, not enough to carry a payload into the log.
	maxTextLen = 80
	// MaxBadLines is how many bad lines Parse lists one by one. A garbage
	// body of 64 MiB would otherwise become millions of entries; past this
	// number one last entry gives the count of the rest.
	MaxBadLines = 1000
)

// ErrListID is returned by Parse for a list id outside [0, MaxLists).
var ErrListID = errors.New("list id out of range")

// BadLine is a line of a list that is not an address or CIDR. It is
// reported and skipped: one typo must not cost the rest of the list.
type BadLine struct {
	// Line is the 1-based line number.
	Line int
	// Text is the line, cut to 80 bytes, with control characters and
	// invalid UTF-8 escaped so that it can be logged as it is.
	Text string
	// Reason says what is wrong with the line.
	Reason string
}

func (l BadLine) String() string {
	return fmt.Sprintf("line %d: %s: %s", l.Line, l.Reason, l.Text)
}

// parseResult is what one parse found; the Manager needs the counts that
// Parse's signature leaves out (how many lines held data at all, how many
// were bad beyond the listed ones) to tell a list from a garbage body.
type parseResult struct {
	added    int       // prefixes accepted
	lines    int       // lines that were neither blank nor comments
	bad      int       // bad lines, listed or not; the limit line excluded
	badLines []BadLine // the first MaxBadLines bad lines, plus a summary
	full     bool      // stopped at the prefix limit
}

func (r *parseResult) reject(n int, line []byte, reason string) {
	r.bad++
	switch {
	case len(r.badLines) < MaxBadLines:
		r.badLines = append(r.badLines, BadLine{Line: n, Text: escapeText(line), Reason: reason})
	case len(r.badLines) == MaxBadLines:
		r.badLines = append(r.badLines, BadLine{Line: n, Reason: "1 more bad line not listed"})
	default:
		last := &r.badLines[MaxBadLines]
		last.Reason = strconv.Itoa(r.bad-MaxBadLines) + " more bad lines not listed"
	}
}

// Parse reads a FireHOL .netset/.ipset file, or any list with one IP address
// or CIDR per line, and adds its prefixes to b under list.
//
// Blank lines and comments ("#", and ";" as Spamhaus lists write them, whole
// lines or after the address) are skipped; surrounding spaces, tabs and CRLF
// line ends are tolerated. IPv4 and IPv6 are accepted; a bare address becomes
// a /32 or /128, a CIDR with host bits set is masked, an IPv4-mapped IPv6
// address counts as the IPv4 address.
//
// Anything else is a bad line, reported with its line number and skipped:
// text that is not an address, a line longer than 1 KiB, a zone, two values
// on one line, and /0, which in a list of bad actors can only be a mistake
// that would refuse every client. Only the first MaxBadLines are listed.
//
// At most maxPrefixes entries are added (no limit if maxPrefixes <= 0); past
// it, one bad line says so and the rest of r is not read. added counts
// entries, duplicates included. err reports a read error (the prefixes read
// before it are in b) or an invalid list id; bad lines never make an error.
func Parse(r io.Reader, list int, b *Builder, maxPrefixes int) (added int, bad []BadLine, err error) {
	var res parseResult
	err = parse(r, list, b, maxPrefixes, &res)
	return res.added, res.badLines, err
}

func parse(r io.Reader, list int, b *Builder, maxPrefixes int, res *parseResult) error {
	if list < 0 || list >= MaxLists {
		return fmt.Errorf("parsing list %d: %w", list, ErrListID)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Far over maxLineLen: report what we have and skip to the
			// end of the line without holding it.
			n++
			res.lines++
			res.reject(n, line, "line longer than 1024 bytes")
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading line %d: %w", n, err)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading line %d: %w", n+1, err)
		}
		if len(line) > 0 {
			n++
			parseLine(n, line, list, b, maxPrefixes, res)
			if res.full {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func parseLine(n int, line []byte, list int, b *Builder, maxPrefixes int, res *parseResult) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > maxLineLen {
		res.lines++
		res.reject(n, line, "line longer than 1024 bytes")
		return
	}
	field := line
	if i := bytes.IndexAny(field, "#;"); i >= 0 {
		field = field[:i]
	}
	field = bytes.TrimSpace(field)
	if len(field) == 0 {
		return
	}
	res.lines++
	if bytes.IndexFunc(field, unicode.IsSpace) >= 0 {
		res.reject(n, line, "more than one value on the line")
		return
	}
	p, reason := parsePrefix(field)
	if reason != "" {
		res.reject(n, line, reason)
		return
	}
	if maxPrefixes > 0 && res.added >= maxPrefixes {
		res.full = true
		res.badLines = append(res.badLines, BadLine{Line: n, Text: escapeText(line),
			Reason: "more than " + strconv.Itoa(maxPrefixes) + " prefixes: the rest of the list is ignored"})
		return
	}
	b.Add(p, list)
	res.added++
}

// parsePrefix reads one address or CIDR. The common case, a dotted-quad
// IPv4 address or prefix, is read without allocating; load time of a large
// list is mostly this function.
func parsePrefix(f []byte) (netip.Prefix, string) {
	if p, ok := parse4(f); ok {
		if p.Bits() == 0 {
			return netip.Prefix{}, "prefix covers every address"
		}
		return p, ""
	}
	s := string(f)
	addr, bitsText, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, "not an IP address"
	}
	if a.Zone() != "" {
		return netip.Prefix{}, "address with a zone"
	}
	bits := a.BitLen()
	if hasBits {
		bits = -1
		if len(bitsText) > 0 && len(bitsText) <= 3 && strings.Trim(bitsText, "0123456789") == "" {
			bits, _ = strconv.Atoi(bitsText)
		}
		if bits < 0 || bits > a.BitLen() {
			return netip.Prefix{}, "invalid prefix length"
		}
	}
	p := normalize(netip.PrefixFrom(a, bits))
	if p.Bits() == 0 {
		return netip.Prefix{}, "prefix covers every address"
	}
	return p, ""
}

// parse4 reads a.b.c.d or a.b.c.d/n strictly (no leading zeros, which some
// parsers read as octal) and reports false for anything else, leaving the
// reason to the general path.
func parse4(f []byte) (netip.Prefix, bool) {
	var ip [4]byte
	i := 0
	for k := range 4 {
		if k > 0 {
			if i >= len(f) || f[i] != '.' {
				return netip.Prefix{}, false
			}
			i++
		}
		v, j, ok := decimal(f, i, 255)
		if !ok || v < 0 || v > 255 {
			return netip.Prefix{}, false
		}
		ip[k], i = byte(v), j
	}
	bits := 32
	if i < len(f) {
		if f[i] != '/' {
			return netip.Prefix{}, false
		}
		v, j, ok := decimal(f, i+1, 32)
		if !ok || j != len(f) {
			return netip.Prefix{}, false
		}
		bits = v
	}
	p, err := netip.AddrFrom4(ip).Prefix(bits)
	return p, err == nil
}

// decimal reads 1–3 digits from f[i:] without a leading zero, at most max.
func decimal(f []byte, i, max int) (v, next int, ok bool) {
	j := i
	for j < len(f) && j-i < 3 && f[j] >= '0' && f[j] <= '9' {
		v = v*10 + int(f[j]-'0')
		j++
	}
	if j == i || (j-i > 1 && f[i] == '0') || v > max {
		return 0, 0, false
	}
	return v, j, true
}

// escapeText makes a line from an untrusted list safe to log and show: cut
// to maxTextLen bytes on a character boundary, with control and format
// characters (bidi overrides included), backslashes and invalid UTF-8
// written as escapes.
func escapeText(line []byte) string {
	cut := false
	if len(line) > maxTextLen {
		n := maxTextLen
		for n > 0 && !utf8.RuneStart(line[n]) {
			n--
		}
		line, cut = line[:n], true
	}
	var sb strings.Builder
	for len(line) > 0 {
		r, size := utf8.DecodeRune(line)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&sb, `\x%02x`, line[0])
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\t':
			sb.WriteString(`\t`)
		case unicode.IsPrint(r):
			sb.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&sb, `\x%02x`, r)
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
		line = line[size:]
	}
	if cut {
		sb.WriteString("…")
	}
	return sb.String()
}
