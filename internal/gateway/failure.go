package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/store"
)

// failure is one failed sign-in.
type failure struct {
	ip             netip.Addr
	user           string
	reason         string
	status         int
	client, device string
}

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

func newFailureLog(w io.Writer, json bool, log *slog.Logger) *failureLog {
	return &failureLog{w: w, json: json, log: log}
}

func (f *failureLog) write(x failure) {
	if f.json {
		f.log.LogAttrs(context.Background(), slog.LevelWarn, "sign-in failed",
			slog.String("ip", x.ip.String()), slog.String("user", x.user), slog.String("reason", x.reason),
			slog.Int("status", x.status), slog.String("client", x.client), slog.String("device", x.device))
		return
	}
	var b strings.Builder
	b.WriteString("time=")
	b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	b.WriteString(` level=WARN msg="sign-in failed" ip=`)
	b.WriteString(x.ip.String())
	b.WriteString(" user=")
	b.WriteString(strconv.Quote(x.user))
	b.WriteString(" reason=")
	b.WriteString(x.reason)
	b.WriteString(" status=")
	b.WriteString(strconv.Itoa(x.status))
	b.WriteString(" client=")
	b.WriteString(strconv.Quote(x.client))
	b.WriteString(" device=")
	b.WriteString(strconv.Quote(x.device))
	b.WriteByte('\n')
	f.mu.Lock()
	_, _ = io.WriteString(f.w, b.String())
	f.mu.Unlock()
}

// record appends an audit event, logging (not failing) when it cannot.
func (g *Gateway) record(ctx context.Context, ev audit.Event) { g.recordStored(ctx, ev.Stored()) }

// recordStored appends an event whose address is a network, not a client.
func (g *Gateway) recordStored(ctx context.Context, ev store.AuditEvent) {
	if g.audit == nil {
		return
	}
	if _, err := g.audit.Record(context.WithoutCancel(ctx), ev); err != nil {
		g.log.Error("writing audit event failed", "kind", ev.Kind, "err", err)
	}
}
