// Package audit is jellyguard's tamper-evident audit log. Each event's hash
// is a MAC, under a key derived from the data key, over the previous event's
// hash and the event itself. Someone who can edit the database but not read
// the key file cannot change, delete, reorder or insert an event without
// Verify noticing.
package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
)

// chainPurpose separates the chain MAC key from every other MAC key.
const chainPurpose = "audit chain"

// verifyPage is how many events Verify reads at a time.
const verifyPage = 500

// Log records and checks audit events. It is safe for concurrent use.
type Log struct {
	store store.Store
	keys  *secret.Keys
	log   *slog.Logger
}

// New returns a Log over s whose chain is keyed by k. log receives one line
// per recorded event; nil discards them.
func New(s store.Store, k *secret.Keys, log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{store: s, keys: k, log: log}
}

// Record appends ev to the chain and returns it as stored (Seq, Time,
// PrevHash and Hash filled in), and logs it. An event that records a state
// change is written with Commit instead, in the change's transaction.
func (l *Log) Record(ctx context.Context, ev store.AuditEvent) (store.AuditEvent, error) {
	if ev.Kind == "" {
		return store.AuditEvent{}, errors.New("recording audit event: no kind")
	}
	stored, err := l.store.AppendAudit(ctx, ev, l.chain)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("recording audit event %s: %w", ev.Kind, err)
	}
	l.logEvent(ctx, stored)
	return stored, nil
}

// Commit makes a state change and records the events that describe it in
// one transaction (store.Store.Audited): an acknowledged change always has
// its events, and an event never describes a change that was not made. If
// either cannot be written (a full disk), neither is, and the error says
// so; the caller then treats the change as not made — a sign-in is refused
// rather than released unaudited. The events are logged once committed.
func (l *Log) Commit(ctx context.Context, change func(store.Writer) error, events ...Event) error {
	evs := make([]store.AuditEvent, len(events))
	kinds := make([]string, len(events))
	for i, e := range events {
		if e.Kind == "" {
			return errors.New("committing an audited change: an event has no kind")
		}
		evs[i], kinds[i] = e.Stored(), string(e.Kind)
	}
	stored, err := l.store.Audited(ctx, evs, l.chain, change)
	if err != nil {
		return fmt.Errorf("committing a change audited as %s: %w", strings.Join(kinds, ", "), err)
	}
	for _, ev := range stored {
		l.logEvent(ctx, ev)
	}
	return nil
}

// logEvent writes a stored event to the log at info level; events never
// carry secrets, so the line is safe to ship anywhere.
func (l *Log) logEvent(ctx context.Context, ev store.AuditEvent) {
	l.log.LogAttrs(ctx, slog.LevelInfo, "audit event",
		slog.Int64("seq", ev.Seq), slog.String("kind", string(ev.Kind)),
		slog.String("user_id", ev.UserID), slog.String("user", ev.UserName),
		slog.String("ip", ev.IP), slog.String("detail", ev.Detail))
}

// chain is the store.ChainFunc: the MAC over the previous hash and a
// canonical encoding of ev (every field length-prefixed by MAC).
func (l *Log) chain(prev []byte, ev store.AuditEvent) []byte {
	return l.keys.MAC(chainPurpose, canonical(prev, ev)...)
}

// canonical lists the parts the chain MAC covers, in a fixed order.
func canonical(prev []byte, ev store.AuditEvent) [][]byte {
	var seq, at [8]byte
	binary.BigEndian.PutUint64(seq[:], uint64(ev.Seq)) //nolint:gosec // the bit pattern is what is hashed; sequence numbers are positive
	binary.BigEndian.PutUint64(at[:], uint64(ev.Time.UnixNano()))
	return [][]byte{prev, seq[:], at[:], []byte(ev.Kind), []byte(ev.UserID),
		[]byte(ev.UserName), []byte(ev.IP), []byte(ev.Detail)}
}

// ChainError reports the first event at which the chain breaks.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit log broken at seq %d: %s", e.Seq, e.Reason)
}

// Verify walks the whole chain from seq 1 and returns how many events it
// checked, or a *ChainError naming the first seq that was edited, deleted,
// reordered or inserted (or written under another key). Removing the newest
// events leaves a valid shorter chain; only a copy of the last hash kept
// elsewhere (an export, a notification) can reveal that.
func (l *Log) Verify(ctx context.Context) (int, error) {
	var prev []byte
	var next int64 = 1
	for {
		page, err := l.store.Audit(ctx, store.AuditQuery{AfterSeq: next - 1, Limit: verifyPage})
		if err != nil {
			return int(next - 1), fmt.Errorf("verifying audit log: %w", err)
		}
		for _, ev := range page {
			if err := l.check(ev, next, prev); err != nil {
				return int(next - 1), err
			}
			prev, next = ev.Hash, next+1
		}
		if len(page) < verifyPage {
			return int(next - 1), nil
		}
	}
}

// check verifies one event against the expected seq and previous hash.
func (l *Log) check(ev store.AuditEvent, want int64, prev []byte) error {
	switch {
	case ev.Seq != want:
		return &ChainError{Seq: want, Reason: fmt.Sprintf("event missing (the next stored is seq %d)", ev.Seq)}
	case !bytes.Equal(ev.PrevHash, prev):
		return &ChainError{Seq: ev.Seq, Reason: "does not link to the event before it"}
	case !l.keys.VerifyMAC(chainPurpose, ev.Hash, canonical(prev, ev)...):
		return &ChainError{Seq: ev.Seq, Reason: "contents do not match the hash (edited, or written under another key)"}
	}
	return nil
}

// Tail returns the newest n events, oldest first.
func (l *Log) Tail(ctx context.Context, n int) ([]store.AuditEvent, error) {
	if n <= 0 {
		return nil, nil
	}
	evs, err := l.store.Audit(ctx, store.AuditQuery{Limit: n, Newest: true})
	if err != nil {
		return nil, fmt.Errorf("reading the newest audit events: %w", err)
	}
	return evs, nil
}

// Since returns up to limit events after afterSeq (0: all), oldest first,
// for following the log and for export.
func (l *Log) Since(ctx context.Context, afterSeq int64, limit int) ([]store.AuditEvent, error) {
	evs, err := l.store.Audit(ctx, store.AuditQuery{AfterSeq: afterSeq, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("reading audit events after seq %d: %w", afterSeq, err)
	}
	return evs, nil
}
