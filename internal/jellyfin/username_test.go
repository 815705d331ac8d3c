package jellyfin

import "testing"

func TestFoldNameMatchesJellyfinsComparison(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"alice", "ALICE", true},
		{"Alice", "aLiCe", true},
		{"élodie", "ÉLODIE", true},
		{"σοφία", "ΣΟΦΊΑ", true},
		{"ǆemal", "ǅemal", true},   // a title-case digraph upper-cases too
		{"𐐨", "𐐀", true},           // outside the BMP (a surrogate pair in .NET)
		{"alice", " alice", false}, // Jellyfin trims nothing
		{"alice", "alice ", false},
		{"straße", "STRASSE", false}, // no multi-character mappings
		{"ıvan", "IVAN", false},      // dotless i is not ASCII I to .NET
		{"ſam", "SAM", false},        // nor long s ASCII S
		{"i", "İ", false},            // no Turkish rules either
		{"bob", "b0b", false},
	} {
		if got := FoldName(tc.a) == FoldName(tc.b); got != tc.same {
			t.Errorf("FoldName(%q) == FoldName(%q) is %v, want %v (%q, %q)", tc.a, tc.b, got, tc.same, FoldName(tc.a), FoldName(tc.b))
		}
	}
	if got := FoldName("Alice Smith"); got != "ALICE SMITH" {
		t.Errorf("FoldName(%q) = %q", "Alice Smith", got)
	}
}
