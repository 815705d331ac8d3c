package jellyfin

import "testing"

func TestParseIDAcceptsEverySpellingOfOneID(t *testing.T) {
	const want = "0123456789abcdef0123456789abcdef"
	for _, in := range []string{
		"0123456789abcdef0123456789abcdef",
		"0123456789ABCDEF0123456789ABCDEF",
		"01234567-89ab-cdef-0123-456789abcdef",
		"{01234567-89AB-cdef-0123-456789abcdef}",
		"(01234567-89ab-cdef-0123-456789abcdef)",
		" 0123456789abcdef0123456789abcdef ",
	} {
		if got, ok := ParseID(in); !ok || got != want {
			t.Errorf("ParseID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "alice", "0123456789abcdef0123456789abcdeg", "{01234567-89ab-cdef-0123-456789abcdef)",
		"01234567-89ab-cdef-0123+456789abcdef", "0123456789abcdef0123456789abcde"} {
		if got, ok := ParseID(in); ok {
			t.Errorf("ParseID(%q) = %q, want refusal", in, got)
		}
	}
}
