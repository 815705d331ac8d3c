package recovery

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var codeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)

func TestAlphabet(t *testing.T) {
	if len(Alphabet) != 32 {
		t.Fatalf("alphabet has %d characters, want 32", len(Alphabet))
	}
	for _, c := range "ILOU" {
		if strings.ContainsRune(Alphabet, c) {
			t.Errorf("alphabet contains %c", c)
		}
	}
	seen := map[rune]bool{}
	for _, c := range Alphabet {
		if seen[c] {
			t.Errorf("alphabet repeats %c", c)
		}
		seen[c] = true
		if !codeRE.MatchString(strings.Repeat(string(c), 5) + "-" + strings.Repeat(string(c), 5)) {
			t.Errorf("alphabet character %c outside Crockford base32", c)
		}
	}
}

func TestGenerateFormat(t *testing.T) {
	codes, err := Generate(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 {
		t.Fatalf("got %d codes, want 10", len(codes))
	}
	for _, c := range codes {
		if !codeRE.MatchString(c) {
			t.Errorf("code %q is not XXXXX-XXXXX over the alphabet", c)
		}
		if n, ok := Normalize(c); !ok || n != c {
			t.Errorf("Normalize(%q) = %q, %v; a generated code must be canonical", c, n, ok)
		}
		if !Looks(c) {
			t.Errorf("Looks(%q) = false", c)
		}
	}
	for _, n := range []int{0, -1, 101} {
		if _, err := Generate(n); err == nil {
			t.Errorf("Generate(%d): no error", n)
		}
	}
}

func TestGenerateUniqueAndSpread(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 1000 {
		codes, err := Generate(10)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			if seen[c] {
				t.Fatalf("code %q generated twice in 10k", c)
			}
			seen[c] = true
			for _, r := range strings.ReplaceAll(c, "-", "") {
				counts[r]++
			}
		}
	}
	// 100k characters over 32 symbols: about 3125 each. Far outside
	// ±25% means a biased or stuck generator, not bad luck.
	for _, r := range Alphabet {
		if n := counts[r]; n < 2340 || n > 3900 {
			t.Errorf("character %c appeared %d times in 100k, want about 3125", r, n)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ABCDE-FGHJK", "ABCDE-FGHJK", true},
		{"abcde-fghjk", "ABCDE-FGHJK", true},
		{"AbCdE-fGhJk", "ABCDE-FGHJK", true},
		{"ABCDEFGHJK", "ABCDE-FGHJK", true},
		{"abcde fghjk", "ABCDE-FGHJK", true},
		{"  ABCDE-FGHJK\n", "ABCDE-FGHJK", true},
		{"AB CDE - FG HJK", "ABCDE-FGHJK", true},
		{"ABCDE--FGHJK", "ABCDE-FGHJK", true},
		{"A-B-C-D-E-F-G-H-J-K", "ABCDE-FGHJK", true},
		{"\tabcde\u00a0fghjk", "ABCDE-FGHJK", true},
		{"O0OO0-IiLl1", "00000-11111", true},
		{"oooo0-iiiii", "00000-11111", true},
		{"12345-67890", "12345-67890", true},
		{"", "", false},
		{"-", "", false},
		{"ABCDE-FGHJ", "", false},       // nine
		{"ABCDE-FGHJKM", "", false},     // eleven
		{"ABCDE-FGHJU", "", false},      // U is not in the alphabet
		{"ABCDE-FGHJ!", "", false},      // punctuation
		{"ABCDE_FGHJK", "", false},      // underscore is not a separator
		{"ABCDE-FGHJ\u0131", "", false}, // dotless i upper-cases to I
		{"ABCDE-FGHJ\u212a", "", false}, // Kelvin sign
		{"ＡBCDE-FGHJK", "", false},      // full-width A
		{"ABCDE-FGHJ\x00", "", false},
		{strings.Repeat(" ", 60) + "ABCDE-FGHJK", "", false}, // too long to read
	} {
		got, ok := Normalize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if Looks(tc.in) != tc.ok {
			t.Errorf("Looks(%q) = %v, want %v", tc.in, !tc.ok, tc.ok)
		}
	}
}

func TestLooks(t *testing.T) {
	for s, want := range map[string]bool{
		"ABCDE-FGHJK":  true,
		"abcde fghjk":  true,
		"123456":       false, // a TOTP code
		"hunter2":      false,
		"password":     false,
		"correct-hors": false, // eleven characters
		"bluehouses":   false, // U
		// Ten letters that all read as code characters do look like a
		// code; the splitter only runs for users with a second factor.
		"helloworld": true,
		"":           false,
	} {
		if got := Looks(s); got != want {
			t.Errorf("Looks(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestHint(t *testing.T) {
	for in, want := range map[string]string{
		"ABCDE-FGHJK": "AB",
		"abcde fghjk": "AB",
		"oIcde-fghjk": "01",
		"not a code":  "",
		"":            "",
	} {
		if got := Hint(in); got != want {
			t.Errorf("Hint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	codes := []string{"ABCDE-FGHJK", "12345-67890"}
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	got := Text("My Jellyfin", "alice\nAccount: mallory", codes, now)
	for _, want := range []string{
		"My Jellyfin recovery codes\n",
		"Account: alice Account: mallory\n",
		"2026-03-14",
		"\nABCDE-FGHJK\n12345-67890\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(strings.ToLower(got), "each code works once") {
		t.Errorf("text does not say each code works once:\n%s", got)
	}
	if strings.Count(got, "Account:") != 2 || strings.Count(got, "\nAccount:") != 1 {
		t.Errorf("a newline in the account name forged a line:\n%s", got)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK", "abcde fghjk", "O0OO0-IiLl1", "", "ABCDE-FGHJ\u0131", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := Normalize(in)
		if !ok {
			if got != "" || Looks(in) || Hint(in) != "" {
				t.Fatalf("Normalize(%q) = %q, false; Looks/Hint disagree", in, got)
			}
			return
		}
		if !codeRE.MatchString(got) {
			t.Fatalf("Normalize(%q) = %q, not canonical", in, got)
		}
		if again, ok := Normalize(got); !ok || again != got {
			t.Fatalf("Normalize is not idempotent: %q -> %q -> %q", in, got, again)
		}
		if Hint(in) != got[:2] {
			t.Fatalf("Hint(%q) = %q, want %q", in, Hint(in), got[:2])
		}
	})
}
