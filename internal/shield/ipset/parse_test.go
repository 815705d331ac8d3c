package ipset

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParse(t *testing.T) {
	long := "10.9.9.9 # " + strings.Repeat("x", 2048)
	tests := []struct {
		name  string
		in    string
		max   int
		added int
		in4   []string // addresses that must be in the set
		out   []string // addresses that must not
		bad   []BadLine
	}{
		{
			name:  "firehol header and entries",
			in:    "#\n# firehol_level1\n#\n\n1.2.3.4\n5.6.7.0/24\n",
			added: 2, in4: []string{"1.2.3.4", "5.6.7.99"}, out: []string{"1.2.3.5", "5.6.8.1"},
		},
		{
			name:  "inline comments and spaces",
			in:    "  1.2.3.4   # a scanner\n\t5.6.7.0/24\t\n8.8.8.0/24 ; SBL123\n; spamhaus header\n",
			added: 3, in4: []string{"1.2.3.4", "5.6.7.1", "8.8.8.8"},
		},
		{
			name:  "CRLF",
			in:    "# windows\r\n1.2.3.4\r\n2001:db8::/32\r\n\r\n",
			added: 2, in4: []string{"1.2.3.4", "2001:db8::1"},
		},
		{
			name:  "IPv6 and bare addresses",
			in:    "2001:db8::1\n2001:db8:1::/48\n::ffff:9.9.9.9\n::ffff:9.9.8.0/120\n",
			added: 4, in4: []string{"2001:db8::1", "2001:db8:1:ffff::1", "9.9.9.9", "9.9.8.200"},
			out: []string{"2001:db8::2", "9.9.9.8"},
		},
		{
			name:  "host bits masked",
			in:    "10.1.2.3/8\n2001:db8::99/32\n",
			added: 2, in4: []string{"10.200.0.1", "2001:db8:ffff::1"},
		},
		{
			name:  "no final newline",
			in:    "1.2.3.4\n5.6.7.8",
			added: 2, in4: []string{"5.6.7.8"},
		},
		{
			name: "bad lines",
			in: strings.Join([]string{
				"1.2.3.4",           // 1
				"not-an-ip",         // 2
				"1.2.3.4/33",        // 3
				"1.2.3",             // 4
				"fe80::1%eth0",      // 5
				"1.2.3.4 5.6.7.8",   // 6
				"0.0.0.0/0",         // 7
				"::/0",              // 8
				"01.2.3.4",          // 9
				"1.2.3.4/",          // 10
				"1.2.3.4/+8",        // 11
				"1.2.3.4-1.2.3.9",   // 12
				"\x1b[31mred\u202e", // 13
				"5.6.7.8",           // 14
			}, "\n"),
			added: 2, in4: []string{"1.2.3.4", "5.6.7.8"},
			bad: []BadLine{
				{2, "not-an-ip", "not an IP address"},
				{3, "1.2.3.4/33", "invalid prefix length"},
				{4, "1.2.3", "not an IP address"},
				{5, "fe80::1%eth0", "address with a zone"},
				{6, "1.2.3.4 5.6.7.8", "more than one value on the line"},
				{7, "0.0.0.0/0", "prefix covers every address"},
				{8, "::/0", "prefix covers every address"},
				{9, "01.2.3.4", "not an IP address"},
				{10, "1.2.3.4/", "invalid prefix length"},
				{11, "1.2.3.4/+8", "invalid prefix length"},
				{12, "1.2.3.4-1.2.3.9", "not an IP address"},
				{13, `\x1b[31mred\u202e`, "not an IP address"},
			},
		},
		{
			name:  "2 KiB line",
			in:    "1.2.3.4\n" + long + "\n5.6.7.8\n",
			added: 2, in4: []string{"1.2.3.4", "5.6.7.8"}, out: []string{"10.9.9.9"},
			bad: []BadLine{{2, long[:80] + "…", "line longer than 1024 bytes"}},
		},
		{
			name:  "line over the read buffer",
			in:    "1.2.3.4\n" + strings.Repeat("y", 200<<10) + "\n5.6.7.8\n",
			added: 2, in4: []string{"1.2.3.4", "5.6.7.8"},
			bad: []BadLine{{2, strings.Repeat("y", 80) + "…", "line longer than 1024 bytes"}},
		},
		{
			name:  "prefix limit",
			in:    "1.1.1.1\n2.2.2.2\n# c\n3.3.3.3\n4.4.4.4\n",
			max:   2,
			added: 2, in4: []string{"1.1.1.1", "2.2.2.2"}, out: []string{"3.3.3.3", "4.4.4.4"},
			bad: []BadLine{{4, "3.3.3.3", "more than 2 prefixes: the rest of the list is ignored"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			added, bad, err := Parse(strings.NewReader(tc.in), 3, &b, tc.max)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if added != tc.added {
				t.Errorf("added = %d, want %d", added, tc.added)
			}
			if !reflect.DeepEqual(bad, tc.bad) {
				t.Errorf("bad lines:\n got %q\nwant %q", bad, tc.bad)
			}
			s := b.Build()
			for _, a := range tc.in4 {
				if lists, ok := s.Lookup(netip.MustParseAddr(a)); !ok || lists != 1<<3 {
					t.Errorf("%s: lists %b, %v; want in list 3", a, lists, ok)
				}
			}
			for _, a := range tc.out {
				if _, ok := s.Lookup(netip.MustParseAddr(a)); ok {
					t.Errorf("%s is in the set", a)
				}
			}
		})
	}
}

func TestParseCapsBadLines(t *testing.T) {
	in := strings.Repeat("garbage\n", MaxBadLines+500)
	var res parseResult
	if err := parse(strings.NewReader(in), 0, new(Builder), 0, &res); err != nil {
		t.Fatal(err)
	}
	if res.bad != MaxBadLines+500 || res.lines != MaxBadLines+500 {
		t.Errorf("bad = %d, lines = %d", res.bad, res.lines)
	}
	if len(res.badLines) != MaxBadLines+1 {
		t.Fatalf("%d bad lines listed", len(res.badLines))
	}
	last := res.badLines[MaxBadLines]
	if last.Line != MaxBadLines+1 || last.Reason != "500 more bad lines not listed" {
		t.Errorf("summary = %+v", last)
	}
}

func TestParseErrors(t *testing.T) {
	boom := errors.New("boom")
	var b Builder
	added, _, err := Parse(iotest.TimeoutReader(strings.NewReader(strings.Repeat("1.2.3.4\n", 20000))), 0, &b, 0)
	if err == nil || !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("err = %v, want the read error", err)
	}
	if added == 0 {
		t.Error("nothing added before the read error")
	}
	if _, _, err := Parse(iotest.ErrReader(boom), 0, &b, 0); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if _, _, err := Parse(strings.NewReader("1.2.3.4"), MaxLists, &b, 0); !errors.Is(err, ErrListID) {
		t.Errorf("err = %v, want ErrListID", err)
	}
}

// TestParseFileWithBadLines is the acceptance case: a list file with bad
// lines loads the good ones and names the bad ones by line number.
func TestParseFileWithBadLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list.netset")
	body := "# list\n1.2.3.4\n1.2.3.999\n5.6.7.0/24\n<html>\n2001:db8::/32\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b Builder
	added, bad, err := Parse(f, 0, &b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if added != 3 {
		t.Errorf("added = %d, want 3", added)
	}
	var lines []int
	for _, l := range bad {
		lines = append(lines, l.Line)
	}
	if !reflect.DeepEqual(lines, []int{3, 5}) {
		t.Errorf("bad line numbers = %v, want [3 5]", lines)
	}
	s := b.Build()
	for _, a := range []string{"1.2.3.4", "5.6.7.8", "2001:db8::1"} {
		if _, ok := s.Lookup(netip.MustParseAddr(a)); !ok {
			t.Errorf("%s not loaded", a)
		}
	}
}

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                       "plain",
		"tab\there":                   `tab\there`,
		"nul\x00":                     `nul\x00`,
		"back\\slash":                 `back\\slash`,
		"bad\xffutf8":                 `bad\xffutf8`,
		"ünï":                         "ünï",
		"rtl\u202eoverride":           `rtl\u202eoverride`,
		strings.Repeat("é", 50):       strings.Repeat("é", 40) + "…",
		strings.Repeat("a", 79) + "é": strings.Repeat("a", 79) + "…",
	} {
		if got := escapeText([]byte(in)); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}
