package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
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
}

func (a *app) auditTailCommand() *cobra.Command {
	var o auditTailOptions
	c := &cobra.Command{
		Use:   "tail",
		Short: "Print the newest audit events, and optionally follow new ones",
		Long: `Print the newest audit events, oldest first. With --follow, keep printing
events as they are recorded (checked every second) until Ctrl-C. This works
while the gateway runs.

With --json each event is one line of JSON (JSON Lines), ready for jq or a
log shipper.`,
		Example: `  jellyguard audit tail
  jellyguard audit tail -n 100
  jellyguard audit tail --follow --json | jq 'select(.kind == "signin.failure")'`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.n < 1 {
				return usagef("-n must be at least 1")
			}
			return a.auditTail(cmd.Context(), o)
		},
	}
	c.Flags().IntVarP(&o.n, "lines", "n", 20, "number of events to print")
	c.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new events until interrupted")
	c.Flags().BoolVar(&o.json, "json", false, "print one JSON object per event")
	return c
}

func (a *app) auditTail(ctx context.Context, o auditTailOptions) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	events, err := e.audit.Tail(ctx, o.n)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	show := eventPrinter(a.stdout, o.json)
	if err := show(events); err != nil {
		return err
	}
	if !o.follow {
		return nil
	}
	var last int64
	if len(events) > 0 {
		last = events[len(events)-1].Seq
	}
	return follow(ctx, e.audit, last, show)
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

// eventPrinter returns the function that prints a batch of events in the
// chosen format.
func eventPrinter(w io.Writer, asJSON bool) func([]store.AuditEvent) error {
	return func(events []store.AuditEvent) error {
		for _, ev := range events {
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
