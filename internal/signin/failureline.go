package signin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// failureLog writes the documented sign-in failure line that fail2ban and
// CrowdSec read:
//
//	time=2026-11-22T12:00:00.000Z level=WARN msg="sign-in failed" ip=203.0.113.7 user="alice" reason=invalid_credentials status=401 client="Jellyfin Web" device="Firefox"
//
// The address comes first and is never attacker-chosen text, so a filter
// anchored on `msg="sign-in failed" ip=` cannot be fooled by a username; every
// attacker-chosen value is always quoted and escaped (no newline or quote
// can forge a second line or field). No password is ever part of it. In
// JSON log format the same fields are a slog record.
type failureLog struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	log  *slog.Logger
}

// NewFailureLine returns the writer of the documented failure line to w
// (a slog JSON record when json): the FailureLine option. It is written
// whatever the log level says: fail2ban and CrowdSec depend on it.
func NewFailureLine(w io.Writer, json bool) func(Failure) {
	return (&failureLog{w: w, json: json, log: slog.New(slog.NewJSONHandler(w, nil))}).write
}

func (f *failureLog) write(x Failure) {
	if f.json {
		f.log.LogAttrs(context.Background(), slog.LevelWarn, "sign-in failed",
			slog.String("ip", x.IP.String()), slog.String("user", x.User), slog.String("reason", x.Reason),
			slog.Int("status", http.StatusUnauthorized), slog.String("client", x.Client), slog.String("device", x.Device))
		return
	}
	var b strings.Builder
	b.WriteString("time=")
	b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	b.WriteString(` level=WARN msg="sign-in failed" ip=`)
	b.WriteString(x.IP.String())
	b.WriteString(" user=")
	b.WriteString(strconv.Quote(x.User))
	b.WriteString(" reason=")
	b.WriteString(x.Reason)
	b.WriteString(" status=")
	b.WriteString(strconv.Itoa(http.StatusUnauthorized))
	b.WriteString(" client=")
	b.WriteString(strconv.Quote(x.Client))
	b.WriteString(" device=")
	b.WriteString(strconv.Quote(x.Device))
	b.WriteByte('\n')
	f.mu.Lock()
	_, _ = io.WriteString(f.w, b.String())
	f.mu.Unlock()
}
