package signin

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// Door is where a sign-in came in. Every door turns HTTP into an Attempt
// and the Outcome back into HTTP; everything between is the one flow.
type Door string

// Doors.
const (
	DoorLogin        Door = "login"        // AuthenticateByName, in any spelling
	DoorLegacy       Door = "legacy-login" // /Users/{id}/Authenticate?pw=
	DoorQuickConnect Door = "quickconnect" // AuthenticateWithQuickConnect
	DoorPage         Door = "login-page"   // the gateway's own sign-in page
	DoorChallenge    Door = "challenge"    // an answer on the challenge page
)

// asksJellyfin reports whether the door sends a password to Jellyfin (its
// answer times are what refusals are paced to).
func (d Door) asksJellyfin() bool { return d == DoorLogin || d == DoorLegacy || d == DoorPage }

// Client is who is asking, as the pipeline found out: the address it
// resolved (through trusted proxies only), the scheme, and what the client
// says about itself.
type Client struct {
	IP          netip.Addr
	HTTPS       bool
	UserAgent   string
	TrustCookie string // the trusted-browser cookie, if any
	DeviceID    string // the Jellyfin device id
	App         string // the Jellyfin client name ("Jellyfin Web", "Findroid" …)
	DeviceName  string
	Version     string
	// Web: the request came from jellyfin-web with the gateway's script,
	// which can follow a challenge to the challenge page.
	Web bool
	// Session is the request's own session as the pipeline checked it
	// (the gateway's pages and API act for its user); zero for none.
	Session tokens.Verdict
}

// Attempt is one sign-in as a door read it.
type Attempt struct {
	Door     Door
	UserName string // as typed (password doors)
	// UserRef is the user id from the legacy route's path, in whatever
	// spelling the client used.
	UserRef  string
	Password string // as typed; the flow may split a code off it
	// Code is a code given apart from the password (the sign-in page, a
	// challenge answer).
	Code        string
	ChallengeID string // DoorChallenge
	QCSecret    string // DoorQuickConnect
	// Remember asks to trust this browser after a factor passed.
	Remember bool
	Client   Client
	// Authenticate asks Jellyfin with the password the flow decided to
	// forward. It returns ErrCredentials when Jellyfin refused (401, 403,
	// 404: all answered alike), and any other error for an answer the door
	// passes on as it is. Nil for DoorChallenge.
	Authenticate func(ctx context.Context, password string) (jellyfin.AuthResult, error)
}

// ErrCredentials is what Authenticate returns when Jellyfin refused the
// credentials: a wrong password, an unknown user, a disabled or locked-out
// account, a user without remote access. Every one of them is answered like
// a wrong password.
var ErrCredentials = errors.New("jellyfin refused the credentials")

// CredentialsError carries the status Jellyfin refused with, for the
// failure line the administrator reads; clients never see it.
type CredentialsError struct{ Status int }

func (e *CredentialsError) Error() string { return ErrCredentials.Error() }
func (e *CredentialsError) Unwrap() error { return ErrCredentials }

// Action is what becomes of a sign-in.
type Action uint8

// Actions.
const (
	// Refuse: answered exactly like a wrong password; a token Jellyfin
	// issued is logged out.
	Refuse Action = iota
	// Release: the session goes to the client, recorded with how it was
	// verified.
	Release
	// Challenge: the token is withheld until the challenge page is
	// answered (jellyfin-web only).
	Challenge
	// Pending: refused for now; the device waits for the user's approval.
	Pending
)

var actionNames = [...]string{"refuse", "release", "challenge", "pending"}

func (a Action) String() string { return actionNames[a] }

// Refusal says why a sign-in was refused. Clients never see it — every
// refusal looks the same to them — but the failure line, the audit trail
// and the tests do.
type Refusal uint8

// Refusals.
const (
	RefuseNone         Refusal = iota
	RefuseAddress              // banned, block-listed, outside allow_only, a refused country
	RefuseThrottled            // the shield held the attempt back
	RefuseCredentials          // Jellyfin refused the password
	RefuseNetwork              // outside the user's (or administrators') networks
	RefuseFactorNeeded         // a second factor is needed and none was given
	RefuseBadCode              // the code given was wrong
	RefuseNotEnrolled          // a second factor is required and none is enrolled
	RefuseTravel               // impossible travel and no second factor to vouch
	RefuseQuickConnect         // Quick Connect not approved by a verified session
	RefuseExpired              // the challenge is gone
)

var refusalReasons = [...]string{"", "address", "throttled", "invalid_credentials", "network", "second_factor",
	"bad_code", "not_enrolled", "impossible_travel", "quickconnect", "expired"}

// Reason is the refusal's word in the documented failure line.
func (r Refusal) Reason() string { return refusalReasons[r] }

// afterPassword reports whether the refusal came after Jellyfin accepted
// the password: Jellyfin's lockout counter did not move, so the user
// name's failure budget is not charged.
func (r Refusal) afterPassword() bool {
	switch r {
	case RefuseNetwork, RefuseFactorNeeded, RefuseBadCode, RefuseNotEnrolled, RefuseTravel, RefuseQuickConnect:
		return true
	}
	return false
}

// Outcome is what the flow decided, for the door to turn into HTTP.
type Outcome struct {
	Action  Action
	Refusal Refusal
	// Session is the released (Release) session; for a proxied login the
	// door passes Jellyfin's own answer on instead.
	Session jellyfin.AuthResult
	// Factors and Assurance are how a released session was verified.
	Factors   []string
	Assurance store.Assurance
	// Cookies go on the answer (trusted browser, challenge).
	Cookies []*http.Cookie
	// ChallengePath is where jellyfin-web answers a Challenge.
	ChallengePath string
	// AttemptsLeft is what a challenge answered with a wrong code has left
	// (0: it burned).
	AttemptsLeft int
}

// Released reports whether the session goes to the client.
func (o Outcome) Released() bool { return o.Action == Release }
