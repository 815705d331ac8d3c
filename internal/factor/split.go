package factor

import (
	"strings"

	"github.com/jellyguard/jellyguard/internal/factor/recovery"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
)

// CodeKind says what kind of one-time code SplitCode found after a password.
type CodeKind uint8

// Code kinds.
const (
	CodeNone     CodeKind = iota // no code: the whole input is the password
	CodeTOTP                     // six ASCII digits from an authenticator app
	CodeRecovery                 // a recovery code, in any spelling recovery.Normalize reads
)

// String names the kind for logs and audit events.
func (k CodeKind) String() string {
	switch k {
	case CodeNone:
		return "none"
	case CodeTOTP:
		return "totp"
	case CodeRecovery:
		return "recovery"
	default:
		return "unknown"
	}
}

// SplitCode reads "password;code", the form that gives apps without a
// second-factor screen a way to send a code (DESIGN §3 step 2). It splits at
// the last ';' when what follows is exactly six ASCII digits (a TOTP code)
// or looks like a recovery code (case, inner spaces and dashes tolerated).
// Otherwise it returns the input whole as the password and CodeNone. The
// password may itself contain ';' and may be empty.
//
// The split is lossless: password + ";" + code is the input whenever a code
// is found, so the caller can still fall back to the whole string. The code
// is returned as typed; recovery codes need recovery.Normalize. Leading or
// trailing spaces around the code mean no split, so a password that merely
// ends in digits after a ';' is less likely to be taken apart. Callers split
// only for users who have a second factor (DESIGN §7).
func SplitCode(pw string) (password, code string, kind CodeKind) {
	i := strings.LastIndexByte(pw, ';')
	if i < 0 {
		return pw, "", CodeNone
	}
	password, code = pw[:i], pw[i+1:]
	switch {
	case totp.Looks(code):
		return password, code, CodeTOTP
	case code == strings.TrimSpace(code) && recovery.Looks(code):
		return password, code, CodeRecovery
	default:
		return pw, "", CodeNone
	}
}
