package store

import (
	"context"
	"time"
)

// The state below is short-lived, but several gateway replicas in front of
// one Jellyfin must agree on it: a TV may redeem a Quick Connect secret
// through one replica after its code was authorised through another, a
// brute-force budget must not reset because requests were balanced, and a
// withheld token must be released once however many replicas see the code.
// Each consumer takes the narrow interface it uses, so a shared store can
// replace the embedded one without the consumers changing.

// MaxQuickConnectRequests bounds the Quick Connect requests a store keeps.
// Opening a request is anonymous, so without a bound a flood of them would
// grow the store without limit.
const MaxQuickConnectRequests = 10000

// QuickConnectApproval records who authorised a Quick Connect code through
// the gateway, so the sign-in that redeems it can be judged by the session
// that vouched for it.
type QuickConnectApproval struct {
	UserID   string
	UserName string
	IsAdmin  bool
	// Assurance is how strongly the authorising session was verified when
	// the gateway released it: whether its approval may stand in for a
	// second factor is decided on it.
	Assurance Assurance
	IP        string // the authorising request's client address
	At        time.Time
}

// QuickConnectRequest is a Quick Connect request Jellyfin opened: it links
// the secret a TV redeems to the code a signed-in user authorises. Only the
// secret's SHA-256 is stored: whoever holds the secret can sign in with it
// once the code is authorised.
type QuickConnectRequest struct {
	SecretHash [32]byte
	Code       string // the 6-digit code shown on the TV
	CreatedAt  time.Time
	// ExpiresAt ends the request: at and after it, it is not found and
	// cannot be authorised.
	ExpiresAt time.Time
	// Approval is zero until the code is authorised through the gateway.
	Approval QuickConnectApproval
}

// Authorized reports whether the request was authorised through the
// gateway.
func (r QuickConnectRequest) Authorized() bool { return !r.Approval.At.IsZero() }

// QuickConnectStore keeps Quick Connect requests for the sign-in service:
// the replica that passes /QuickConnect/Initiate, the one that passes the
// authorisation and the one the TV redeems the secret through may differ,
// and the redeeming one must know who authorised the code.
type QuickConnectStore interface {
	// PutQuickConnect inserts or replaces the request with r.SecretHash
	// (every field, Approval included). Expired requests are dropped
	// first; if MaxQuickConnectRequests are still open, the oldest are
	// evicted to make room, those not yet authorised before any that
	// are, so a flood of anonymous requests cannot push out one a user
	// already authorised. A zero CreatedAt is now.
	PutQuickConnect(ctx context.Context, r QuickConnectRequest) error
	// AuthorizeQuickConnect records by as the approval of the newest
	// (by CreatedAt) request with code that is unexpired at now and not
	// yet authorised; false when there is none. Of several calls at once
	// for one request, exactly one succeeds. A zero by.At is now.
	AuthorizeQuickConnect(ctx context.Context, code string, by QuickConnectApproval, now time.Time) (bool, error)
	// QuickConnect returns the request whose secret hashes to secretHash,
	// or ErrNotFound when there is none or it expired at or before now.
	QuickConnect(ctx context.Context, secretHash [32]byte, now time.Time) (QuickConnectRequest, error)
	// DeleteExpiredQuickConnect deletes the requests expired at now and
	// returns how many it deleted.
	DeleteExpiredQuickConnect(ctx context.Context, now time.Time) (int, error)
}

// PendingEnrollment is a TOTP enrollment begun and not yet confirmed: the
// secret shown to the user, waiting for the first code.
type PendingEnrollment struct {
	UserID string
	// Sealed is the secret, sealed by the caller with the data key.
	Sealed []byte
	// ExpiresAt ends the enrollment: at and after it, it is not found.
	ExpiresAt time.Time
}

// EnrollmentStore keeps enrollments in progress for the account pages of
// the sign-in service: the page that shows the QR code and the request that
// confirms the first code may reach different replicas.
type EnrollmentStore interface {
	// PutPendingEnrollment inserts or replaces the user's pending
	// enrollment: beginning again discards the previous secret.
	PutPendingEnrollment(ctx context.Context, p PendingEnrollment) error
	// PendingEnrollment returns the user's pending enrollment, or
	// ErrNotFound when there is none or it expired at or before now.
	PendingEnrollment(ctx context.Context, userID string, now time.Time) (PendingEnrollment, error)
	// DeletePendingEnrollment removes it (no error when absent).
	DeletePendingEnrollment(ctx context.Context, userID string) error
}

// ThrottleStore counts events (sign-in attempts, failures) per key over
// sliding windows for the shield and the sign-in service: an attacker whose
// requests are spread over several replicas must meet one budget, not one
// per replica. Keys are opaque strings chosen by the caller, such as
// "addr:203.0.113.7/32" or "user:alice".
type ThrottleStore interface {
	// AddEvent records one event of key at `at`, kept at least for keep
	// (which must be positive): the longest window the caller will count
	// it in. Events of one key at the same instant are all counted.
	AddEvent(ctx context.Context, key string, at time.Time, keep time.Duration) error
	// CountEvents counts the events of key strictly after since. Events
	// past their keep may already be gone.
	CountEvents(ctx context.Context, key string, since time.Time) (int, error)
	// ResetEvents forgets every event of key (no error when none).
	ResetEvents(ctx context.Context, key string) error
	// SweepEvents deletes the events whose keep ended at or before
	// `before` and returns how many it deleted.
	SweepEvents(ctx context.Context, before time.Time) (int, error)
}

// KnownAddress is an address (a network key such as "203.0.113.0/24",
// chosen by the caller) where a user last signed in successfully at LastAt.
type KnownAddress struct {
	UserFolded string // the user name as jellyfin.FoldName folds it
	AddrKey    string
	LastAt     time.Time
}

// KnownAddressStore remembers where users signed in successfully, for the
// shield: an address that is a user's own does not spend that user's
// failure budget, and one replica must recognise an address another
// replica saw a success from.
type KnownAddressStore interface {
	// RememberAddress records a successful sign-in of userFolded from
	// addrKey at `at`. The newest time is kept: remembering an older one
	// does not move it back.
	RememberAddress(ctx context.Context, userFolded, addrKey string, at time.Time) error
	// AddressKnown reports whether any user signed in from addrKey
	// strictly after since.
	AddressKnown(ctx context.Context, addrKey string, since time.Time) (bool, error)
	// AddressKnownFor reports whether userFolded signed in from addrKey
	// strictly after since.
	AddressKnownFor(ctx context.Context, userFolded, addrKey string, since time.Time) (bool, error)
	// KnownAddresses lists the addresses with a sign-in strictly after
	// since, by user then address, to seed a replica's cache at start.
	KnownAddresses(ctx context.Context, since time.Time) ([]KnownAddress, error)
	// ForgetAddresses deletes the addresses last used at or before
	// `before` and returns how many it deleted.
	ForgetAddresses(ctx context.Context, before time.Time) (int, error)
}

// ChallengeStore keeps withheld Jellyfin tokens waiting for a second factor,
// for the sign-in service: the code may be typed on a page served by
// another replica than the one that withheld the token, and the token must
// be released once.
type ChallengeStore interface {
	// PutChallenge inserts or replaces a challenge.
	PutChallenge(ctx context.Context, c Challenge) error
	// Challenge returns a challenge, or ErrNotFound.
	Challenge(ctx context.Context, id string) (Challenge, error)
	// AddChallengeAttempt counts a failed attempt and returns the new
	// count; concurrent attempts are all counted. ErrNotFound when the
	// challenge is gone.
	AddChallengeAttempt(ctx context.Context, id string) (int, error)
	// TakeChallenge deletes and returns a challenge, or ErrNotFound when
	// another request took it first: a withheld token is released once.
	TakeChallenge(ctx context.Context, id string) (Challenge, error)
	// UserChallenges lists a user's open challenges, oldest first.
	UserChallenges(ctx context.Context, userID string) ([]Challenge, error)
	// ExpiredChallenges lists challenges with ExpiresAt <= now, in the
	// order they expired.
	ExpiredChallenges(ctx context.Context, now time.Time) ([]Challenge, error)
}
