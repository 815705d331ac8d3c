package fake

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Source contexts of the lines the emulator writes.
const (
	srcUserManager    = "Jellyfin.Server.Implementations.Users.UserManager"
	srcSessionManager = "Emby.Server.Implementations.Session.SessionManager"
	srcException      = "Jellyfin.Api.Middleware.ExceptionMiddleware"
	srcIPValidation   = "Jellyfin.Api.Middleware.IPBasedAccessValidationMiddleware"
	srcWebSocket      = "Emby.Server.Implementations.HttpServer.WebSocketManager"
)

// jfLogger writes Serilog lines in Jellyfin's file-sink format (§3.4):
//
//	[2025-01-01 12:00:00.000 +00:00] [INF] [42] SourceContext: Message
//
// The file sink renders {Message} without the :lj format, so string values
// are quoted (with embedded quotes backslash-escaped and nothing else
// escaped), while numbers, enums and GUIDs are not.
type jfLogger struct {
	mu     sync.Mutex
	w      io.Writer
	now    func() time.Time
	thread int
}

func newLogger(w io.Writer, now func() time.Time) *jfLogger {
	if w == nil {
		w = io.Discard
	}
	return &jfLogger{w: w, now: now}
}

// line writes one log event.
func (l *jfLogger) line(level, source, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.thread = l.thread%40 + 1
	ts := l.now().Format("2006-01-02 15:04:05.000 -07:00")
	_, _ = fmt.Fprintf(l.w, "[%s] [%s] [%d] %s: %s\n", ts, level, 10+l.thread, source, msg)
}

// q renders a string property value as the file sink does.
func q(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// loginDenied is the fail2ban line: unknown user or wrong password.
func (l *jfLogger) loginDenied(name, ip string) {
	l.line("INF", srcUserManager, fmt.Sprintf("Authentication request for %s has been denied (IP: %s).", q(name), q(ip)))
}

func (l *jfLogger) loginDisabled(name, ip string) {
	l.line("INF", srcUserManager, fmt.Sprintf(
		"Authentication request for %s has been denied because this account is currently disabled (IP: %s).", q(name), q(ip)))
}

func (l *jfLogger) loginRemoteForbidden(name, ip string) {
	l.line("INF", srcUserManager, fmt.Sprintf(
		"Authentication request for %s forbidden: remote access disabled and user not in local network (IP: %s).", q(name), q(ip)))
}

func (l *jfLogger) loginSucceeded(name string) {
	l.line("INF", srcUserManager, fmt.Sprintf("Authentication request for %s has succeeded.", q(name)))
}

func (l *jfLogger) lockout(name string, attempts int) {
	l.line("WRN", srcUserManager, fmt.Sprintf("Disabling user %s due to %d unsuccessful login attempts.", q(name), attempts))
}

func (l *jfLogger) sessionCount(name string, count, max int) {
	l.line("INF", srcSessionManager, fmt.Sprintf("Current/Max sessions for user %s: %d/%d", q(name), count, max))
}

func (l *jfLogger) newToken(userID string) {
	l.line("INF", srcSessionManager, "Creating new access token for user "+dashedGUID(userID))
}

func (l *jfLogger) logout(token string) {
	l.line("INF", srcSessionManager, "Logging out access token "+q(token))
}

// ipBlocked is IPBasedAccessValidationMiddleware's warning (§7).
func (l *jfLogger) ipBlocked(path, ip, reason string) {
	l.line("WRN", srcIPValidation, fmt.Sprintf(
		"Blocking request to %s by %s due to IP filtering rule, reason: %s", q(urlEncodeForm(path)), q(ip), reason))
}

// exception is ExceptionMiddleware's ERR line: one line with the message for
// security/authentication exceptions, otherwise a line and the exception.
func (l *jfLogger) exception(e *jfError, method, path string) {
	if e.quiet {
		l.line("ERR", srcException, fmt.Sprintf("Error processing request: %s. URL %s %s.",
			q(strings.TrimRight(e.msg, ".")), q(method), q(path)))
		return
	}
	l.line("ERR", srcException, fmt.Sprintf("Error processing request. URL %s %s.\n%s: %s",
		q(method), q(path), e.typ, e.msg))
}

// dashedGUID renders an "N" GUID in .NET's default "D" form, as Serilog
// prints a Guid property.
func dashedGUID(n string) string {
	if len(n) != 32 {
		return n
	}
	return n[:8] + "-" + n[8:12] + "-" + n[12:16] + "-" + n[16:20] + "-" + n[20:]
}

// urlEncodeForm is HttpUtility.UrlEncode, which the middleware applies to the
// path "to block log injection".
func urlEncodeForm(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			strings.IndexByte("-_.!*()", c) >= 0:
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}
