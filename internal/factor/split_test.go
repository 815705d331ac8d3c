package factor

import (
	"strings"
	"testing"
)

func TestSplitCode(t *testing.T) {
	for _, tc := range []struct {
		in       string
		password string
		code     string
		kind     CodeKind
	}{
		{"horse;314159", "horse", "314159", CodeTOTP},
		{"a;b;123456", "a;b", "123456", CodeTOTP},
		{";123456", "", "123456", CodeTOTP},
		{"horse;;123456", "horse;", "123456", CodeTOTP},
		{"pässwörd 日本;000000", "pässwörd 日本", "000000", CodeTOTP},
		{"pw;ABCDE-FGHJK", "pw", "ABCDE-FGHJK", CodeRecovery},
		{"pw;abcde fghjk", "pw", "abcde fghjk", CodeRecovery},
		{"pw;abcdefghjk", "pw", "abcdefghjk", CodeRecovery},
		{"pw;0OIL1-abcde", "pw", "0OIL1-abcde", CodeRecovery},
		{";ABCDE-FGHJK", "", "ABCDE-FGHJK", CodeRecovery},
		{"a;123456;ABCDE-FGHJK", "a;123456", "ABCDE-FGHJK", CodeRecovery},

		// Not a code after the last ';': the input is the password.
		{"horse", "horse", "", CodeNone},
		{"", "", "", CodeNone},
		{";", ";", "", CodeNone},
		{"pass;", "pass;", "", CodeNone},
		{"pass;12345", "pass;12345", "", CodeNone},
		{"pass;1234567", "pass;1234567", "", CodeNone},
		{"pass;12345a", "pass;12345a", "", CodeNone},
		{"pw;١٢٣٤٥٦", "pw;١٢٣٤٥٦", "", CodeNone},
		{"pw;１２３４５６", "pw;１２３４５６", "", CodeNone},
		{"pw;123456 ", "pw;123456 ", "", CodeNone},
		{"pw; 123456", "pw; 123456", "", CodeNone},
		{"pw;123456\n", "pw;123456\n", "", CodeNone},
		{"pw;ABCDE-FGHJK ", "pw;ABCDE-FGHJK ", "", CodeNone},
		{"pw; ABCDE-FGHJK", "pw; ABCDE-FGHJK", "", CodeNone},
		{"pw;ABCDE-FGHJU", "pw;ABCDE-FGHJU", "", CodeNone},
		{"pw;ABCDE-FGHJKM", "pw;ABCDE-FGHJKM", "", CodeNone},
		{"123456", "123456", "", CodeNone},
		{"pw;123456;x", "pw;123456;x", "", CodeNone},
		{"pw:123456", "pw:123456", "", CodeNone},
	} {
		t.Run(tc.in, func(t *testing.T) {
			pw, code, kind := SplitCode(tc.in)
			if pw != tc.password || code != tc.code || kind != tc.kind {
				t.Errorf("SplitCode(%q) = (%q, %q, %v), want (%q, %q, %v)",
					tc.in, pw, code, kind, tc.password, tc.code, tc.kind)
			}
		})
	}
}

func TestCodeKindString(t *testing.T) {
	for k, want := range map[CodeKind]string{
		CodeNone: "none", CodeTOTP: "totp", CodeRecovery: "recovery", 9: "unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("CodeKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func FuzzSplitCode(f *testing.F) {
	for _, s := range []string{
		"horse;314159", "a;b;123456", "pass;12345", ";123456", "pw;ABCDE-FGHJK",
		"pw;abcde fghjk", "pw;١٢٣٤٥٦", "pw;123456 ", "", ";", "\xff;123456",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		pw, code, kind := SplitCode(in)
		switch kind {
		case CodeNone:
			if pw != in || code != "" {
				t.Fatalf("SplitCode(%q) = (%q, %q, none): not the whole input", in, pw, code)
			}
		case CodeTOTP, CodeRecovery:
			if pw+";"+code != in {
				t.Fatalf("SplitCode(%q) = (%q, %q, %v): split lost something", in, pw, code, kind)
			}
			if strings.Contains(code, ";") {
				t.Fatalf("SplitCode(%q): code %q contains ';', not split at the last one", in, code)
			}
			if kind == CodeTOTP && (len(code) != 6 || strings.Trim(code, "0123456789") != "") {
				t.Fatalf("SplitCode(%q): TOTP code %q is not six ASCII digits", in, code)
			}
		default:
			t.Fatalf("SplitCode(%q): kind %v", in, kind)
		}
	})
}
