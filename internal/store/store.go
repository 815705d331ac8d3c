// Package store is jellyguard's persistent state behind one interface, so an
// embedded SQLite file serves a single gateway and PostgreSQL can serve
// several replicas later without the callers changing.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// TokenKind tells a user session token from a Jellyfin API key.
type TokenKind string

// Token kinds.
const (
	KindSession TokenKind = "session"
	KindAPIKey  TokenKind = "apikey"
)

// Token is one Jellyfin access token the gateway knows. The token itself is
// never stored in clear: Hash (SHA-256) is the lookup key and Sealed holds it
// encrypted with the data key, because logging it out later needs it.
type Token struct {
	Hash       [32]byte
	Kind       TokenKind
	UserID     string // 32-hex Jellyfin user id; empty for API keys
	UserName   string
	IsAdmin    bool
	DeviceID   string
	Client     string
	DeviceName string
	IP         string // client address at sign-in
	// Source says how the gateway learnt the token: "login", "quickconnect",
	// "legacy-login" (released by the gateway) or "resolved" (seen in a
	// request and confirmed by Jellyfin).
	Source string
	// Factor says what vouched for the session when the gateway released
	// it: "" (nothing beyond the password), or the names of the factors,
	// comma-separated ("totp", "recovery", "trusted-browser", "device",
	// "quickconnect", "lan", "grace").
	Factor string
	// Assurance is how strongly the session was verified; what it may do
	// later (approve a Quick Connect code, change a factor) is decided on
	// it. Empty for tokens the gateway adopted without releasing them.
	Assurance   Assurance
	Sealed      []byte
	CreatedAt   time.Time
	LastSeenAt  time.Time
	RevokedAt   time.Time // zero while active
	LoggedOutAt time.Time // zero until logged out in Jellyfin
}

// Assurance says how strongly a session was verified when the gateway
// released it. The levels are ordered: each one vouches for more than the
// one before.
type Assurance string

// Assurance levels, weakest first.
const (
	// AssuranceNone: the gateway did not release the session (adopted).
	AssuranceNone Assurance = ""
	// AssuranceLAN: released by the LAN bypass; no factor was passed.
	AssuranceLAN Assurance = "lan"
	// AssurancePassword: Jellyfin's password only, for a user who needs no
	// second factor (or is in the enrollment grace period).
	AssurancePassword Assurance = "password"
	// AssuranceTwoFactor: a second factor vouched for the sign-in.
	AssuranceTwoFactor Assurance = "two-factor"
	// AssurancePhishingResistant: a factor bound to the origin (a passkey).
	AssurancePhishingResistant Assurance = "phishing-resistant"
)

var assuranceRank = map[Assurance]int{AssuranceLAN: 1, AssurancePassword: 2, AssuranceTwoFactor: 3, AssurancePhishingResistant: 4}

// AtLeast reports whether a vouches for at least as much as b.
func (a Assurance) AtLeast(b Assurance) bool { return assuranceRank[a] >= assuranceRank[b] }

// PassedFactor reports whether a second factor vouched for the session.
func (a Assurance) PassedFactor() bool { return a.AtLeast(AssuranceTwoFactor) }

// Revoked reports whether the token has been revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// TokenFilter selects tokens for listing.
type TokenFilter struct {
	UserID         string // empty: all users
	IncludeRevoked bool
	Limit          int // 0: no limit
}

// Change is one entry of the change feed: a state change another process
// (the CLI, another replica) must apply to its in-memory caches.
type Change struct {
	Seq  int64
	Kind string // e.g. "token.revoked"
	Key  string // e.g. the token hash in hex
	At   time.Time
}

// Change kinds.
const (
	ChangeTokenRevoked = "token.revoked"
)

// AuditEvent is one entry of the hash-chained audit log.
type AuditEvent struct {
	Seq      int64
	Time     time.Time
	Kind     AuditKind
	UserID   string
	UserName string
	IP       string
	Detail   string // free text or JSON, never a secret
	PrevHash []byte // Hash of the previous event; empty for the first
	Hash     []byte
}

// AuditKind names what an audit event records; the audit package holds
// the vocabulary ("signin.success", "ban.added" …).
type AuditKind string

// ChainFunc computes an audit event's Hash from its predecessor's hash and
// its own fields. The store calls it inside the transaction that appends the
// event, so two processes appending at once still form one chain.
type ChainFunc func(prev []byte, ev AuditEvent) []byte

// Writer is what a change committed together with its audit events
// (Store.Audited) may write. Each method does what the Store method of the
// same name does, inside the transaction that appends the events. A Store
// is a Writer too, one transaction per call.
type Writer interface {
	PutToken(ctx context.Context, t Token) error // a released session, with its signin.success
	PutBan(ctx context.Context, b Ban) error     // a ban, with its ban.added
	FactorWriter
}

var _ Writer = Store(nil)

// AuditQuery selects audit events.
type AuditQuery struct {
	AfterSeq int64 // only events with Seq > AfterSeq
	Limit    int   // 0: no limit
	Newest   bool  // the newest Limit events (still returned oldest first)
}

// UserSummary is a user as seen through the tokens the gateway knows.
type UserSummary struct {
	UserID       string
	UserName     string
	IsAdmin      bool
	ActiveTokens int
	LastSeenAt   time.Time
}

// Store is the whole persistent state. Every method is safe for concurrent
// use, and several processes (serve and the CLI) may use one database at once.
type Store interface {
	FactorStore // with ChallengeStore
	ShieldStore
	QuickConnectStore
	EnrollmentStore
	ThrottleStore
	KnownAddressStore

	// PutToken inserts or replaces the token with t.Hash. A stored
	// revocation or logout is kept, and a record the gateway released
	// (Source other than "resolved") is never replaced by a resolved one:
	// a process that did not have the token in memory and resolved it
	// against Jellyfin must not erase how it signed in (device, sign-in
	// time, factor, assurance).
	PutToken(ctx context.Context, t Token) error
	// Token returns the token with the given hash, or ErrNotFound.
	Token(ctx context.Context, hash [32]byte) (Token, error)
	// Tokens lists tokens, newest first.
	Tokens(ctx context.Context, f TokenFilter) ([]Token, error)
	// RevokeToken marks the token revoked at `at` and appends a
	// ChangeTokenRevoked change in the same transaction. Revoking a revoked
	// token is not an error; it returns the stored token. ErrNotFound if absent.
	RevokeToken(ctx context.Context, hash [32]byte, at time.Time) (Token, error)
	// MarkLoggedOut records that the token was logged out in Jellyfin.
	MarkLoggedOut(ctx context.Context, hash [32]byte, at time.Time) error
	// PendingLogouts returns the revoked session tokens that are not yet
	// logged out in Jellyfin, oldest revocation first: the logouts the
	// gateway still owes. API keys are not among them; Jellyfin deletes
	// those only by hand.
	PendingLogouts(ctx context.Context) ([]Token, error)
	// TouchToken updates LastSeenAt (callers batch this; not per request).
	TouchToken(ctx context.Context, hash [32]byte, at time.Time) error
	// Users summarises the users that own known session tokens.
	Users(ctx context.Context) ([]UserSummary, error)

	// Changes returns changes with Seq > after, oldest first.
	Changes(ctx context.Context, after int64) ([]Change, error)
	// LastChange returns the highest change Seq (0 if none).
	LastChange(ctx context.Context) (int64, error)

	// AppendAudit appends ev (Seq, PrevHash and Hash are filled in) and
	// returns the stored event.
	AppendAudit(ctx context.Context, ev AuditEvent, chain ChainFunc) (AuditEvent, error)
	// Audited runs change and appends events (after it, in order) in one
	// transaction, and returns the events as stored. A state change and
	// the audit events that record it commit together or not at all: if
	// change returns an error or an event cannot be appended, nothing of
	// either is stored and the error is returned. change (nil: none) must
	// write only through the Writer it is given (a write through the Store
	// itself would wait for the very transaction change runs in) and do
	// nothing slow, since every other writer waits for it.
	Audited(ctx context.Context, events []AuditEvent, chain ChainFunc, change func(Writer) error) ([]AuditEvent, error)
	// Audit returns events, oldest first.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)

	// Setting returns a stored setting, or ErrNotFound.
	Setting(ctx context.Context, key string) (string, error)
	// PutSetting stores a setting, replacing any previous value.
	PutSetting(ctx context.Context, key, value string) error

	// Close releases the database.
	Close() error
}
