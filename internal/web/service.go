package web

import (
	"context"

	"github.com/jellyguard/jellyguard/internal/signin"
)

// The types the pages exchange with the Service. They are signin's own
// types under the names the pages use: signin sits below web in the import
// order (DESIGN §4), so it owns them, and *signin.Service satisfies Service
// without an adapter.
type (
	// Client is who is asking, as the pipeline found out: IP, HTTPS,
	// UserAgent, TrustCookie, DeviceID, and Session, the request's own
	// session the pipeline checked.
	Client = signin.Client
	// Attempt is a sign-in the pages hand to the flow.
	Attempt = signin.Attempt
	// Outcome is what the flow decided.
	Outcome = signin.Outcome
	// ChallengeInfo describes an open challenge: UserName, ExpiresAt,
	// AttemptsLeft.
	ChallengeInfo = signin.ChallengeInfo
	// Account is what the setup page shows: UserID, UserName, Enrolled,
	// Required, GraceUntil (zero for none), RecoveryLeft, TrustedBrowsers,
	// Devices.
	Account = signin.Account
	// BrowserInfo is one trusted browser; Current marks the one asking.
	BrowserInfo = signin.BrowserInfo
	// DeviceInfo is one app or device; State "pending" waits for approval.
	DeviceInfo = signin.DeviceInfo
	// Enrollment is a new authenticator secret: Secret (base32), URI
	// (otpauth://) and QRSVG (the URI as an SVG QR code).
	Enrollment = signin.Enrollment
)

// Errors a Service returns; the pages and the API turn them into messages.
var (
	// ErrBadCode means the code was wrong.
	ErrBadCode = signin.ErrBadCode
	// ErrExpired means the challenge (or enrollment) is gone.
	ErrExpired = signin.ErrExpired
	// ErrThrottled means too many attempts.
	ErrThrottled = signin.ErrThrottled
	// ErrUnauthorized means there is no valid Jellyfin session.
	ErrUnauthorized = signin.ErrUnauthorized
	// ErrCodeRequired means the change needs a current code.
	ErrCodeRequired = signin.ErrCodeRequired
	// ErrNotFound means the device or browser to change is not the user's
	// or no longer exists.
	ErrNotFound = signin.ErrNotFound
)

// Service makes every decision behind the pages; *signin.Service is the
// implementation. The pages only turn HTTP into calls and answers back.
type Service interface {
	// SignIn runs a sign-in through the one flow every door uses: the
	// sign-in page and the challenge page are doors like Jellyfin's own
	// login routes.
	SignIn(ctx context.Context, a Attempt) (Outcome, error)
	// Challenge describes the challenge with the given id.
	Challenge(ctx context.Context, id string) (ChallengeInfo, error)
	// Account describes the session's user.
	Account(ctx context.Context, c Client) (Account, error)
	// BeginTOTP starts an enrollment. A token alone is not enough: code is
	// required when already enrolled, and a first enrollment needs a
	// session that signed in with the password a few minutes ago or the
	// password (signin.ErrPasswordRequired when neither is given,
	// signin.ErrBadPassword when Jellyfin refuses it).
	BeginTOTP(ctx context.Context, c Client, code, password string) (Enrollment, error)
	// ConfirmTOTP finishes an enrollment with its first code and returns the
	// recovery codes, shown once.
	ConfirmTOTP(ctx context.Context, c Client, code string) ([]string, error)
	// RegenerateRecovery replaces the recovery codes.
	RegenerateRecovery(ctx context.Context, c Client, code string) ([]string, error)
	// DisableTOTP removes the authenticator app.
	DisableTOTP(ctx context.Context, c Client, code string) error
	// ApproveDevice lets a pending device sign in.
	ApproveDevice(ctx context.Context, c Client, code, id string) error
	// RevokeDevice removes a device (pending or not).
	RevokeDevice(ctx context.Context, c Client, code, id string) error
	// RevokeBrowser removes a trusted browser.
	RevokeBrowser(ctx context.Context, c Client, code, id string) error
}

var _ Service = (*signin.Service)(nil)
