package jellyfin

import (
	"strings"
	"unicode"
)

// FoldName maps a user name to the form Jellyfin compares: two names that
// fold alike are one account to Jellyfin. Jellyfin looks users up by
// NormalizedUsername, the name's .NET ToUpperInvariant, so this upper-cases
// rune by rune with the invariant culture's simple mappings and trims
// nothing: " alice" is not "alice" to Jellyfin, and a throttle keyed on
// anything looser or stricter would either let a guesser dodge a budget by
// changing the spelling or charge one account for another's failures.
//
// Invalid UTF-8 folds to U+FFFD, so such names share one key; Jellyfin
// only ever sees valid strings out of its JSON reader.
func FoldName(name string) string { return strings.Map(upperInvariant, name) }

// upperInvariant is .NET's invariant upper-casing of one character: the
// Unicode simple mapping, except that the dotless i (U+0131) and the long s
// (U+017F) stay as they are, since .NET's invariant culture does not map
// them to the ASCII I and S.
func upperInvariant(r rune) rune {
	if r == 'ı' || r == 'ſ' {
		return r
	}
	return unicode.ToUpper(r)
}
