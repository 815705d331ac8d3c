package ipset

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary list text to the parser: it must not panic,
// every bad line must fit the logs, and every accepted prefix must be found
// again.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"1.2.3.4\n", "10.0.0.0/8 # x\r\n", "2001:db8::/32\n::ffff:1.2.3.4\n",
		"garbage\n\n#\n;x\n", "1.2.3.4/33\n0.0.0.0/0\n", "\xff\x00\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Builder
		added, bad, err := Parse(bytes.NewReader(data), 1, &b, 1000)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if added > 1000 {
			t.Fatalf("added %d over the limit", added)
		}
		for _, l := range bad {
			if !utf8.ValidString(l.Text) || strings.ContainsAny(l.Text, "\n\r\x00\x1b") {
				t.Fatalf("unescaped bad line text %q", l.Text)
			}
			if l.Line < 1 {
				t.Fatalf("bad line number %d", l.Line)
			}
		}
		s := b.Build()
		for p := range s.t.All() {
			if p.Bits() == 0 {
				t.Fatalf("accepted %s", p)
			}
			if _, ok := s.Lookup(p.Addr()); !ok {
				t.Fatalf("%s not found again", p)
			}
			if p != p.Masked() || p.Addr().Is4In6() {
				t.Fatalf("stored unnormalised %s", p)
			}
		}
	})
}
