package jellyfin

import (
	"encoding/hex"
	"strings"
)

// ParseID reads a Jellyfin id (a .NET Guid) in any form its route binder
// accepts — "N" (32 hex), "D" (dashed), "B" {braced} and "P" (parenthesised),
// any case — and returns the "N" form in lower case, the one Jellyfin
// answers with. Whatever spelling a client used, one user has one id.
func ParseID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 38 && (s[0] == '{' && s[37] == '}' || s[0] == '(' && s[37] == ')') {
		s = s[1:37]
	}
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", false
	}
	return strings.ToLower(s), true
}
