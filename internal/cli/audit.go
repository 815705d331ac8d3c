package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/store"
)

// followInterval is how often audit tail --follow looks for new events.
const followInterval = time.Second

// followBatch bounds one read while following, so a burst of events is
// printed in pieces rather than loaded whole.
const followBatch = 500

func (a *app) auditCommand() *cobra.Command {
	return group("audit", "Read and verify the audit log",
		`Every sign-in, refusal and revocation is an event in the audit log. Each event
carries a hash of the one before it and is signed with the data key, so an
edited, deleted or reordered event is detected by audit verify.`,
		a.auditTailCommand(), a.auditVerifyCommand())
}

// auditTailOptions are the flags of audit tail.
type auditTailOptions struct {
	n      int
	follow bool
	json   bool
	user   string
	kinds  []string
	since  string
}

func (a *app) auditTailCommand() *cobra.Command {
	var o auditTailOptions
	c := &cobra.Command{
		Use:   "tail",
		Short: "Print the newest audit events, and optionally follow new ones",
		Long: `Print the newest audit events, oldest first. With --follow, keep printing
events as they are recorded (checked every second) until Ctrl-C. This works
while the gateway runs.

Filters pick the events -n counts (and --follow prints):

  --user NAME|ID   events of one user (the name as Jellyfin compares names,
                   case-insensitively, or the user id)
  --kind KIND      one kind (signin.failure) or a family (signin: every
                   signin.* event); repeat it or separate kinds with commas
  --since WHEN     events from then on: a duration back from now (90m, 24h,
                   7d) or a time (2026-11-22, "2026-11-22 18:00", RFC 3339),
                   local time unless it names a zone

The families (a kind's first word):
  ` + strings.Join(auditFamilies, ", ") + `

With --json each event is one line of JSON (JSON Lines), ready for jq or a
log shipper.`,
		Example: `  jellyguard audit tail
  jellyguard audit tail -n 100
  jellyguard audit tail --user alice --since 24h
  jellyguard audit tail --kind signin.failure,ban --since 2026-11-22
  jellyguard audit tail --follow --json | jq 'select(.kind == "signin.failure")'`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.n < 1 {
				return usagef("-n must be at least 1")
			}
			f, err := newEventFilter(o, time.Now())
			if err != nil {
				return err
			}
			return a.auditTail(cmd.Context(), o, f)
		},
	}
	c.Flags().IntVarP(&o.n, "lines", "n", 20, "number of events to print")
	c.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new events until interrupted")
	c.Flags().BoolVar(&o.json, "json", false, "print one JSON object per event")
	c.Flags().StringVar(&o.user, "user", "", "only events of this user (name or id)")
	c.Flags().StringSliceVar(&o.kinds, "kind", nil, "only events of these kinds or families (e.g. signin.failure, ban)")
	c.Flags().StringVar(&o.since, "since", "", "only events from then on: a duration back (24h, 7d) or a time (2026-11-22 18:00)")
	return c
}

// auditFamilies are the first words of the audit event kinds: --kind takes
// one of them for every kind that starts with it. A test keeps the list
// equal to the kinds package audit defines.
var auditFamilies = []string{"ban", "browser", "challenge", "config", "device", "factor", "recovery", "signin", "token", "user"}

// eventFilter selects audit events; its zero value selects every event.
type eventFilter struct {
	user  string
	kinds []string // exact kinds, or families ending in "."
	since time.Time
}

// newEventFilter checks the filter flags of o; now is the time a --since
// duration counts back from.
func newEventFilter(o auditTailOptions, now time.Time) (eventFilter, error) {
	f := eventFilter{user: strings.TrimSpace(o.user)}
	if o.user != "" && f.user == "" {
		return f, usagef("--user: give a user name or id")
	}
	for _, k := range o.kinds {
		k = strings.ToLower(strings.TrimSpace(k))
		family, _, exact := strings.Cut(k, ".")
		if !slices.Contains(auditFamilies, family) || (exact && !validKindRest(k[len(family)+1:])) {
			return f, usagef("--kind %q: not an audit event kind; give a kind such as signin.failure or one of the families %s",
				k, strings.Join(auditFamilies, ", "))
		}
		if !exact {
			k += "."
		}
		f.kinds = append(f.kinds, k)
	}
	if o.since != "" {
		t, err := parseSince(o.since, now)
		if err != nil {
			return f, usagef("--since %q: %v", o.since, err)
		}
		f.since = t
	}
	return f, nil
}

// validKindRest accepts what follows a family in a kind: lower-case words
// joined by "_" or ".".
func validKindRest(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' && r != '.' {
			return false
		}
	}
	return true
}

// sinceLayouts are the times --since accepts besides RFC 3339, in local
// time.
var sinceLayouts = []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// parseSince reads --since: a duration back from now (Go's units, and d for
// days), or a time.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok, err := parseAgo(s); ok {
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range sinceLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New(`give a duration back from now (90m, 24h, 7d) or a time (2026-11-22, "2026-11-22 18:00", 2026-11-22T18:00:00Z)`)
}

// parseAgo reads a duration such as 90m, 24h or 7d; ok is false when s does
// not look like a duration at all (so it may be a time).
func parseAgo(s string) (d time.Duration, ok bool, err error) {
	if s == "" || (s[0] < '0' || s[0] > '9') && s[0] != '-' && s[0] != '+' {
		return 0, false, nil
	}
	if days, found := strings.CutSuffix(s, "d"); found {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || strings.ContainsAny(days, "eE") {
			return 0, false, nil
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, false, nil
	}
	if d <= 0 {
		return 0, true, errors.New("a duration back from now must be positive")
	}
	return d, true, nil
}

// empty reports whether f selects every event.
func (f eventFilter) empty() bool { return f.user == "" && len(f.kinds) == 0 && f.since.IsZero() }

// match reports whether f selects ev.
func (f eventFilter) match(ev store.AuditEvent) bool {
	if f.user != "" && !userMatches(ev.UserName, ev.UserID, f.user) {
		return false
	}
	if !f.since.IsZero() && ev.Time.Before(f.since) {
		return false
	}
	if len(f.kinds) == 0 {
		return true
	}
	kind := string(ev.Kind)
	for _, k := range f.kinds {
		if kind == k || strings.HasSuffix(k, ".") && strings.HasPrefix(kind, k) {
			return true
		}
	}
	return false
}

func (a *app) auditTail(ctx context.Context, o auditTailOptions, f eventFilter) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	events, last, err := newestMatching(ctx, e.audit, o.n, f)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	show := eventPrinter(a.stdout, o.json, f)
	if err := show(events); err != nil {
		return err
	}
	if !o.follow {
		return nil
	}
	return follow(ctx, e.audit, last, show)
}

// newestMatching returns the newest n events f selects, oldest first, and
// the highest seq read, where following starts. Without a filter it reads
// only those n; with one it reads the log from the start in batches and
// keeps the last n matches, so memory stays bounded however long the log.
func newestMatching(ctx context.Context, log *audit.Log, n int, f eventFilter) (_ []store.AuditEvent, last int64, _ error) {
	if f.empty() {
		events, err := log.Tail(ctx, n)
		if err != nil {
			return nil, 0, err
		}
		if len(events) > 0 {
			last = events[len(events)-1].Seq
		}
		return events, last, nil
	}
	var kept []store.AuditEvent
	for {
		batch, err := log.Since(ctx, last, followBatch)
		if err != nil {
			return nil, 0, err
		}
		if len(batch) == 0 {
			return kept, last, nil
		}
		for _, ev := range batch {
			if f.match(ev) {
				kept = append(kept, ev)
			}
		}
		if len(kept) > n {
			kept = append(kept[:0:0], kept[len(kept)-n:]...)
		}
		last = batch[len(batch)-1].Seq
	}
}

// follow prints the events after seq `last` every followInterval until ctx
// ends, which is the normal way out (Ctrl-C), not an error.
func follow(ctx context.Context, log *audit.Log, last int64, show func([]store.AuditEvent) error) error {
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for {
			events, err := log.Since(ctx, last, followBatch)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading the audit log: %w", err)
			}
			if len(events) == 0 {
				break
			}
			if err := show(events); err != nil {
				return err
			}
			last = events[len(events)-1].Seq
		}
	}
}

// eventPrinter returns the function that prints the events of a batch
// that f selects, in the chosen format.
func eventPrinter(w io.Writer, asJSON bool, f eventFilter) func([]store.AuditEvent) error {
	return func(events []store.AuditEvent) error {
		for _, ev := range events {
			if !f.match(ev) {
				continue
			}
			if err := printEvent(w, ev, asJSON); err != nil {
				return err
			}
		}
		return nil
	}
}

// eventJSON is one audit event in --json output.
type eventJSON struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	UserID   string    `json:"user_id,omitempty"`
	UserName string    `json:"user,omitempty"`
	IP       string    `json:"ip,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Hash     string    `json:"hash"`
}

// printEvent writes one event on one line. User names, addresses and
// details can be chosen by whoever signs in, so control characters are
// neutralised before they reach a terminal.
func printEvent(w io.Writer, ev store.AuditEvent, asJSON bool) error {
	if asJSON {
		return writeJSON(w, eventJSON{Seq: ev.Seq, Time: ev.Time.UTC(), Kind: string(ev.Kind), UserID: ev.UserID,
			UserName: ev.UserName, IP: ev.IP, Detail: ev.Detail, Hash: hex.EncodeToString(ev.Hash)})
	}
	_, err := fmt.Fprintf(w, "%s  #%-5d %-18s %-14s %-15s %s\n", ev.Time.Local().Format("2006-01-02 15:04:05"),
		ev.Seq, cell(string(ev.Kind)), cell(ev.UserName), cell(ev.IP), cell(ev.Detail))
	return err
}

func (a *app) auditVerifyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit event was changed, removed or reordered",
		Long: `Walk the whole audit log and check every event's hash chain and signature.
Prints "audit log intact: N events" and exits 0, or names the first event
that does not check out and exits 1.`,
		Example: `  jellyguard audit verify --config /etc/jellyguard/jellyguard.yaml`,
		Args:    positional(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.auditVerify(cmd.Context()) },
	}
}

func (a *app) auditVerify(ctx context.Context) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	n, err := e.audit.Verify(ctx)
	if err != nil {
		return fmt.Errorf("audit log verification failed: %w", err)
	}
	_, err = fmt.Fprintf(a.stdout, "audit log intact: %d events\n", n)
	return err
}
