package audit

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/jellyguard/jellyguard/internal/store"
)

// Kind names what an event records. Every kind the gateway writes is one of
// the constants below: one word for each idea, wherever it is recorded.
type Kind = store.AuditKind

// Event kinds.
const (
	SignInSuccess   Kind = "signin.success" // a session was released
	SignInFailure   Kind = "signin.failure" // a sign-in was refused (Reason says why)
	SignInTravel    Kind = "signin.impossible_travel"
	SignInNewPlace  Kind = "signin.new_place"  // first sign-in from a country or network
	ChallengeIssued Kind = "challenge.issued"  // a token withheld behind a challenge
	ChallengeFailed Kind = "challenge.failed"  // a wrong code on the challenge page
	ChallengeBurned Kind = "challenge.burned"  // ended early; its token logged out
	ChallengeExpire Kind = "challenge.expired" // ran out of time; its token logged out
	DevicePending   Kind = "device.pending"    // a native device waits for approval
	DeviceApproved  Kind = "device.approved"
	DeviceRevoked   Kind = "device.revoked"
	BrowserRevoked  Kind = "browser.revoked"
	FactorEnrolled  Kind = "factor.enrolled"
	FactorDisabled  Kind = "factor.disabled"
	RecoveryRenewed Kind = "recovery.regenerated"
	UserReset       Kind = "user.reset"
	UserRequirement Kind = "user.requirement"
	UserNetworks    Kind = "user.networks"
	BanAdded        Kind = "ban.added"
	BanLifted       Kind = "ban.lifted"
	BanWithheld     Kind = "ban.withheld" // a shared address that would have been banned
	TokenRevoked    Kind = "token.revoked"
	TokenRejected   Kind = "token.rejected"
	TokenWithheld   Kind = "token.withheld"
	ConfigChanged   Kind = "config.changed"
)

// Event is an audit event as the gateway writes it: structured fields, from
// which the stored Detail text is derived, so the same kind always reads the
// same way.
type Event struct {
	Kind     Kind
	UserID   string
	UserName string
	IP       netip.Addr // zero when no client was involved (the command line)
	// Network is the network, in CIDR form, an event about a network
	// rather than one client concerns (a ban); stored where IP would be.
	Network string
	// Door is where a sign-in came in ("login", "login-page" …).
	Door string
	// Client and Device are what the client called itself.
	Client, Device string
	// Factors and Assurance are how a released session was verified.
	Factors   []string
	Assurance string
	// Reason says why something was refused or changed, in the failure
	// line's words where there is one.
	Reason string
	// By is who made an administrator's change.
	By string
	// Note is any further plain-words detail (a device's name, a ban's
	// length).
	Note string
}

// Detail is the event's fields as one line of text, in a fixed order.
func (e Event) Detail() string {
	var parts []string
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+v)
		}
	}
	add("", e.Note)
	add("via ", e.Door)
	if e.Client != "" || e.Device != "" {
		parts = append(parts, fmt.Sprintf("client %q, device %q", e.Client, e.Device))
	}
	add("factors ", strings.Join(e.Factors, "+"))
	add("assurance ", e.Assurance)
	add("reason ", e.Reason)
	add("by ", e.By)
	return strings.Join(parts, ", ")
}

// Stored is the event as the store keeps it.
func (e Event) Stored() store.AuditEvent {
	ev := store.AuditEvent{Kind: e.Kind, UserID: e.UserID, UserName: e.UserName, Detail: e.Detail()}
	switch {
	case e.IP.IsValid():
		ev.IP = e.IP.String()
	case e.Network != "":
		ev.IP = e.Network
	}
	return ev
}

// Write records e; see Record.
func (l *Log) Write(ctx context.Context, e Event) (store.AuditEvent, error) {
	return l.Record(ctx, e.Stored())
}
