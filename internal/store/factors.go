package store

import (
	"context"
	"time"
)

// The records behind the second factor: enrolled factors, the per-user 2FA
// policy, withheld tokens waiting for a code (challenges), trusted browsers
// and devices waiting for (or holding) an approval. Secrets are sealed by the
// caller; recovery codes are stored only as slow hashes.

// TOTP is a user's TOTP enrollment.
type TOTP struct {
	UserID   string
	UserName string
	// Sealed is the secret, sealed with the data key (AAD: "totp:"+UserID).
	Sealed []byte
	// Confirmed is false between "begin" and the first correct code.
	Confirmed   bool
	CreatedAt   time.Time
	ConfirmedAt time.Time
}

// RecoveryCode is one single-use recovery code, stored as a slow hash.
type RecoveryCode struct {
	ID     int64
	UserID string
	// Hint is the code's first two characters, so a check hashes one
	// candidate instead of ten.
	Hint   string
	Hash   string // PHC-format argon2id
	UsedAt time.Time
}

// Requirement is an administrator's 2FA decision for one user.
type Requirement string

// Requirements.
const (
	RequireDefault Requirement = ""        // follow the global policy
	RequireAlways  Requirement = "require" // must use a second factor
	RequireNever   Requirement = "exempt"  // never asked for one
)

// Account is what the gateway keeps about a Jellyfin user for 2FA: the name
// (to decide whether to split "password;code" before Jellyfin has answered)
// and the administrator's requirement.
type Account struct {
	UserID      string
	UserName    string // as Jellyfin spells it
	NameFolded  string // jellyfin.FoldName(UserName), the lookup key for names
	IsAdmin     bool
	Requirement Requirement
	// FirstSeenAt starts the enrollment grace period.
	FirstSeenAt time.Time
	UpdatedAt   time.Time
}

// Challenge is a withheld Jellyfin token waiting for a second factor.
type Challenge struct {
	ID         string // random, 32 hex
	UserID     string
	UserName   string
	IsAdmin    bool
	DeviceID   string
	Client     string
	DeviceName string
	Version    string
	IP         string
	ServerID   string
	Web        bool   // asked for by the web client (a page can answer it)
	Source     string // "login", "legacy-login", "quickconnect"
	// Sealed is the withheld token (AAD: "challenge:"+ID).
	Sealed    []byte
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TrustedBrowser is a browser that passed a challenge and may skip the next
// ones until it expires or is revoked.
type TrustedBrowser struct {
	ID         string // random, 32 hex; in the cookie
	UserID     string
	DeviceID   string // jellyfin-web's device id the cookie is bound to
	Nonce      []byte // rotated on every use; the cookie carries the current one
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
}

// DeviceState is where a native device stands.
type DeviceState string

// Device states.
const (
	DevicePending  DeviceState = "pending"  // signed in with a right password, could not answer a challenge
	DeviceApproved DeviceState = "approved" // approved; its next sign-in passes
	DeviceActive   DeviceState = "active"   // signed in after approval; trust lives in its token
	DeviceRevoked  DeviceState = "revoked"
)

// Device is a native client of a user that cannot answer a challenge.
type Device struct {
	ID         string // random, 32 hex
	UserID     string
	UserName   string
	DeviceID   string // the client's DeviceId (not a secret)
	Client     string
	DeviceName string
	IP         string // address of the sign-in attempt
	State      DeviceState
	CreatedAt  time.Time
	ApprovedAt time.Time
	// ExpiresAt bounds a pending entry, and an approval until it is used.
	ExpiresAt time.Time
	TokenHash [32]byte // the token released after approval
}

// FactorWriter is what a factor change (an enrollment, new recovery
// codes, a factor disabled, a reset) writes in the transaction that
// records its audit event: the change commits whole or not at all.
type FactorWriter interface {
	PutTOTP(ctx context.Context, t TOTP) error
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	DeleteTOTP(ctx context.Context, userID string) error
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes []RecoveryCode) error
	// DeletePendingEnrollment: the enrollment a confirmation completes.
	DeletePendingEnrollment(ctx context.Context, userID string) error
	ResetUser(ctx context.Context, userID string) error
}

// FactorStore is the part of the store the second factor needs. Every
// method is safe for concurrent use by several processes.
type FactorStore interface {
	ChallengeStore

	// PutAccount inserts or updates an account (keeps FirstSeenAt).
	PutAccount(ctx context.Context, a Account) error
	// Account returns the account of userID, or ErrNotFound.
	Account(ctx context.Context, userID string) (Account, error)
	// AccountByName finds an account by its folded name (jellyfin.FoldName), or ErrNotFound.
	AccountByName(ctx context.Context, folded string) (Account, error)
	// Accounts lists all accounts by name.
	Accounts(ctx context.Context) ([]Account, error)

	// PutTOTP inserts or replaces a user's TOTP enrollment.
	PutTOTP(ctx context.Context, t TOTP) error
	// TOTP returns a user's enrollment, or ErrNotFound.
	TOTP(ctx context.Context, userID string) (TOTP, error)
	// DeleteTOTP removes it (no error when absent).
	DeleteTOTP(ctx context.Context, userID string) error
	// UseTOTPStep records that a user used the TOTP time step; false when
	// that step (or a later one) was used already: codes are never
	// accepted twice.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)

	// ReplaceRecoveryCodes deletes a user's codes and stores new ones.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes []RecoveryCode) error
	// RecoveryCodes lists a user's codes (used ones included).
	RecoveryCodes(ctx context.Context, userID string) ([]RecoveryCode, error)
	// UseRecoveryCode marks a code used; false when it was used already.
	UseRecoveryCode(ctx context.Context, id int64, at time.Time) (bool, error)

	// PutTrustedBrowser inserts or replaces a trusted browser.
	PutTrustedBrowser(ctx context.Context, b TrustedBrowser) error
	// TrustedBrowser returns one, or ErrNotFound.
	TrustedBrowser(ctx context.Context, id string) (TrustedBrowser, error)
	// TrustedBrowsers lists a user's browsers, newest first.
	TrustedBrowsers(ctx context.Context, userID string) ([]TrustedBrowser, error)
	// RotateTrustedBrowser replaces the nonce if it still equals old;
	// false when another request rotated it first (a replayed cookie).
	RotateTrustedBrowser(ctx context.Context, id string, old, next []byte, at time.Time) (bool, error)
	// RevokeTrustedBrowser marks it revoked.
	RevokeTrustedBrowser(ctx context.Context, id string, at time.Time) error

	// PutDevice inserts or replaces a device.
	PutDevice(ctx context.Context, d Device) error
	// Device returns one, or ErrNotFound.
	Device(ctx context.Context, id string) (Device, error)
	// Devices lists a user's devices, newest first.
	Devices(ctx context.Context, userID string) ([]Device, error)

	// ResetUser deletes everything second-factor of a user: TOTP, a
	// pending enrollment, recovery codes, challenges, trusted browsers and
	// devices (break glass).
	ResetUser(ctx context.Context, userID string) error
}
