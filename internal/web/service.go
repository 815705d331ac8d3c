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
	// Client is who is asking: IP, HTTPS, UserAgent, TrustCookie (the
	// trusted-browser cookie's value) and DeviceID (the Jellyfin device id
	// the browser uses, if known).
	Client = signin.Client
	// Release is a session the service hands to a browser: UserID,
	// UserName, AccessToken, ServerID, DeviceID, and Cookies to set with it
	// (e.g. the trusted-browser cookie).
	Release = signin.Release
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
	// ErrUnauthorized means there is no valid Jellyfin token.
	ErrUnauthorized = signin.ErrUnauthorized
	// ErrCodeRequired means the change needs a current code.
	ErrCodeRequired = signin.ErrCodeRequired
	// ErrNotFound means the device or browser to change is not the user's
	// or no longer exists.
	ErrNotFound = signin.ErrNotFound
)

// Service makes every decision behind the pages; *signin.Service is the
// implementation.
type Service interface {
	// Challenge describes the challenge with the given id.
	Challenge(ctx context.Context, id string) (ChallengeInfo, error)
	// CompleteChallenge checks a TOTP or recovery code for a challenge and
	// releases the withheld session.
	CompleteChallenge(ctx context.Context, id, code string, remember bool, c Client) (Release, error)
	// PasswordLogin signs in with a password and, when the account needs
	// one, a code.
	PasswordLogin(ctx context.Context, user, password, code string, remember bool, c Client) (Release, error)
	// Account describes the user who owns token.
	Account(ctx context.Context, token string, c Client) (Account, error)
	// BeginTOTP starts an enrollment; code is required when already enrolled.
	BeginTOTP(ctx context.Context, token, code string, c Client) (Enrollment, error)
	// ConfirmTOTP finishes an enrollment with its first code and returns the
	// recovery codes, shown once.
	ConfirmTOTP(ctx context.Context, token, code string, c Client) ([]string, error)
	// RegenerateRecovery replaces the recovery codes.
	RegenerateRecovery(ctx context.Context, token, code string, c Client) ([]string, error)
	// DisableTOTP removes the authenticator app.
	DisableTOTP(ctx context.Context, token, code string, c Client) error
	// ApproveDevice lets a pending device sign in.
	ApproveDevice(ctx context.Context, token, code, id string, c Client) error
	// RevokeDevice removes a device (pending or not).
	RevokeDevice(ctx context.Context, token, id string, c Client) error
	// RevokeBrowser removes a trusted browser.
	RevokeBrowser(ctx context.Context, token, id string, c Client) error
}

var _ Service = (*signin.Service)(nil)
