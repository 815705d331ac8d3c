// Package tokens is the gateway's table of Jellyfin access tokens: every token
// a login released through the gateway, every API key and every token resolved
// against Jellyfin, with what the gateway decided about each. It answers, for
// each token a request carries, whether it may reach Jellyfin.
//
// Jellyfin's tokens never expire and are not bound to a device, so the table
// is the only place where the gateway can revoke one, refuse one it never
// released, or tell a stream to stop when its token dies.
package tokens

import (
	"cmp"
	"container/list"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/ratelimit"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
)

// Hash is the SHA-256 of a token: the only form in which the table keys,
// logs and stores tokens.
type Hash [32]byte

// HashOf returns the hash of token.
func HashOf(token string) Hash { return sha256.Sum256([]byte(token)) }

// String returns the hash in hex, the form the CLI shows and accepts.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short returns the first 12 hex digits: enough to tell tokens apart in a
// log line without making the line a lookup key.
func (h Hash) Short() string { return h.String()[:12] }

// ParseHash reads a hash written by String. A unique prefix is resolved by
// the CLI, not here.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("token hash %q: want 64 hex digits", s)
	}
	copy(h[:], b)
	return h, nil
}

// Status is what the gateway decided about a token.
type Status uint8

// Statuses.
const (
	// Unknown: never seen; it must be resolved before it may pass.
	Unknown Status = iota
	// Active: a user session token the gateway released or adopted.
	Active
	// APIKey: a Jellyfin API key (an integration such as Sonarr).
	APIKey
	// Revoked: revoked through the gateway; refused.
	Revoked
	// Invalid: Jellyfin does not know it. It may pass (Jellyfin answers
	// anonymous routes for it, as it would without the gateway).
	Invalid
	// Refused: valid in Jellyfin, refused by policy (strict mode).
	Refused
	// Own: the gateway's own API key; never accepted from a client.
	Own
	// Forbidden: valid in Jellyfin, but Jellyfin answers 403 for its owner
	// from this client (remote access off and the client not on Jellyfin's
	// LAN, or outside the access schedule), so it will not say who the
	// owner is. Refused: every policy is decided on the owner, and some of
	// Jellyfin's routes skip those 403 checks (RequiresElevation looks at
	// the role alone).
	Forbidden
)

var statusNames = [...]string{"unknown", "active", "apikey", "revoked", "invalid", "refused", "own", "forbidden"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", s)
}

// Passes reports whether a request carrying a token of this status may reach
// Jellyfin.
func (s Status) Passes() bool { return s == Active || s == APIKey || s == Invalid }

// Verdict is the answer for one token.
type Verdict struct {
	Hash     Hash
	Status   Status
	UserID   string
	UserName string
	IsAdmin  bool
	// Factor is what vouched for the session at release (store.Token.Factor);
	// "" when no second factor was involved.
	Factor string
	// Assurance is how strongly the session was verified at release.
	Assurance store.Assurance
	// Adopted: the gateway did not release it; it was resolved against
	// Jellyfin and allowed.
	Adopted bool
	// SignedInAt is when the gateway released the session (the stored
	// record's CreatedAt): changing a factor without a current one asks
	// how recently the holder signed in, since a token alone proves
	// nothing. Zero for adopted tokens, which were never seen signing in,
	// and for API keys. How the session signed in is the record's Source.
	SignedInAt time.Time
}

// ErrUnavailable means the token could not be resolved because Jellyfin did
// not answer; the gateway fails closed.
var ErrUnavailable = errors.New("jellyfin unavailable for token resolution")

// ErrResolveLimit means the client asked for too many unknown tokens.
var ErrResolveLimit = errors.New("too many unknown tokens from this address")

// Issued describes a token a login released through the gateway.
type Issued struct {
	UserID, UserName             string
	IsAdmin                      bool
	DeviceID, Client, DeviceName string
	IP                           string
	Source                       string // "login", "quickconnect", "legacy-login"
	Factor                       string // see store.Token.Factor
	Assurance                    store.Assurance
}

// Policy tells the table which users may only use tokens the gateway
// released: once a user has a second factor, a token made behind the
// gateway's back (before installation, or by reaching Jellyfin directly)
// skipped it.
type Policy interface {
	ReleasedOnly(ctx context.Context, userID string) bool
}

// Resolver asks Jellyfin about tokens; *jellyfin.Client implements it.
type Resolver interface {
	UserForToken(ctx context.Context, token, clientIP string) (jellyfin.Owner, error)
	APIKeys(ctx context.Context) ([]jellyfin.APIKey, error)
	Logout(ctx context.Context, token string) error
}

// Options configures a Table.
type Options struct {
	Store    store.Store
	Keys     *secret.Keys
	Audit    *audit.Log
	Resolver Resolver // nil: unknown tokens cannot be resolved (CLI use)
	// OwnKey is the gateway's own Jellyfin API key, refused from clients.
	OwnKey string
	// Strict refuses user tokens the gateway never released.
	Strict bool
	// Policy refuses unreleased tokens of some users even when not strict.
	Policy Policy
	// CacheTTL and NegativeTTL bound how long resolutions are remembered.
	CacheTTL, NegativeTTL time.Duration
	// MaxCached bounds how many resolutions (tokens the gateway did not
	// release, with what Jellyfin said about them) are remembered at once;
	// beyond it the least recently used is forgotten. Released and revoked
	// tokens do not count: they are records, never forgotten.
	// 0: DefaultMaxCached.
	MaxCached int
	// LogoutRetry is the first wait before a failed logout of a revoked
	// token from Jellyfin is tried again; each failure doubles it, up to
	// LogoutRetryMax. 0: DefaultLogoutRetry and DefaultLogoutRetryMax.
	LogoutRetry, LogoutRetryMax time.Duration
	// ResolvePerMinute limits resolutions per client address key.
	ResolvePerMinute int
	// MaxPerUser caps the sessions a user holds through the gateway: a new
	// one logs the least recently used out. 0: no cap.
	MaxPerUser int
	// Idle and Lifetime end released sessions unused that long, or that
	// long after sign-in. 0: never.
	Idle, Lifetime time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
}

type entry struct {
	verdict Verdict
	// expires is zero for tokens the gateway released or revoked: those
	// never need asking again.
	expires time.Time
	created time.Time // sign-in time of a released session (zero otherwise)
	// lastSeen (Unix nanoseconds) is updated without the table lock: it is
	// touched by every request. flushed is the value last written to the
	// store.
	lastSeen atomic.Int64
	flushed  atomic.Int64
	// elem is the entry's place in the table's recency list while it is a
	// cached resolution (see cache.go).
	elem *list.Element
}

func newEntry(v Verdict, expires, lastSeen time.Time) *entry {
	e := &entry{verdict: v, expires: expires}
	e.lastSeen.Store(lastSeen.UnixNano())
	e.flushed.Store(lastSeen.UnixNano())
	return e
}

// Table is the token table. It is safe for concurrent use.
type Table struct {
	opt     Options
	log     *slog.Logger
	now     func() time.Time
	mu      sync.RWMutex
	entries map[Hash]*entry
	flight  singleflight.Group
	limiter *ratelimit.Keyed

	hookMu  sync.Mutex
	onRevok []func(Hash)

	lastChange int64

	// Cached resolutions, most recently used first (see cache.go).
	lruMu     sync.Mutex
	lru       *list.List
	maxCached int

	// Logouts owed to Jellyfin (see logout.go).
	logoutMu                    sync.Mutex
	owed                        map[Hash]*owedLogout
	rescanAt                    time.Time
	logoutRetry, logoutRetryMax time.Duration
	keeping                     atomic.Bool // KeepLogouts runs
}

// New loads the tokens from the store and returns the table.
func New(ctx context.Context, o Options) (*Table, error) {
	t := &Table{opt: o, log: o.Logger, now: o.Now, entries: make(map[Hash]*entry),
		lru: list.New(), maxCached: cmp.Or(o.MaxCached, DefaultMaxCached), owed: make(map[Hash]*owedLogout),
		logoutRetry: cmp.Or(o.LogoutRetry, DefaultLogoutRetry), logoutRetryMax: cmp.Or(o.LogoutRetryMax, DefaultLogoutRetryMax)}
	t.logoutRetryMax = max(t.logoutRetryMax, t.logoutRetry)
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.now == nil {
		t.now = time.Now
	}
	if o.ResolvePerMinute <= 0 {
		t.opt.ResolvePerMinute = 30
	}
	t.limiter = ratelimit.NewKeyed(t.opt.ResolvePerMinute, time.Minute, t.now)
	last, err := o.Store.LastChange(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading change feed: %w", err)
	}
	t.lastChange = last
	if err := t.load(ctx); err != nil {
		return nil, err
	}
	if o.OwnKey != "" {
		t.entries[HashOf(o.OwnKey)] = newEntry(Verdict{Hash: HashOf(o.OwnKey), Status: Own}, time.Time{}, time.Time{})
	}
	return t, nil
}

func (t *Table) load(ctx context.Context) error {
	all, err := t.opt.Store.Tokens(ctx, store.TokenFilter{IncludeRevoked: true})
	if err != nil {
		return fmt.Errorf("loading tokens: %w", err)
	}
	for _, st := range all {
		e := newEntry(verdictOf(st), time.Time{}, st.LastSeenAt)
		if st.Source != "resolved" {
			e.created = st.CreatedAt
		}
		t.entries[st.Hash] = e
	}
	return nil
}

func verdictOf(st store.Token) Verdict {
	v := Verdict{Hash: st.Hash, UserID: st.UserID, UserName: st.UserName, IsAdmin: st.IsAdmin, Status: Active,
		Factor: st.Factor, Assurance: st.Assurance, Adopted: st.Source == "resolved"}
	if !v.Adopted && st.Kind == store.KindSession {
		v.SignedInAt = st.CreatedAt
	}
	switch {
	case st.Revoked():
		v.Status = Revoked
	case !st.LoggedOutAt.IsZero():
		v.Status = Invalid
	case st.Kind == store.KindAPIKey:
		v.Status = APIKey
	}
	return v
}

// OnRevoke registers fn to be called with the hash of every token revoked,
// here or by another process; the gateway closes the token's connections.
func (t *Table) OnRevoke(fn func(Hash)) {
	t.hookMu.Lock()
	t.onRevok = append(t.onRevok, fn)
	t.hookMu.Unlock()
}

// Lookup returns what the table knows about a token without resolving it.
func (t *Table) Lookup(h Hash) (Verdict, bool) {
	e, ok := t.lookup(h)
	if !ok {
		return Verdict{Hash: h}, false
	}
	return e.verdict, true
}

func (t *Table) lookup(h Hash) (*entry, bool) {
	t.mu.RLock()
	e, ok := t.entries[h]
	var expires time.Time
	if ok {
		expires = e.expires
	}
	t.mu.RUnlock()
	if !ok || (!expires.IsZero() && t.now().After(expires)) {
		return nil, false
	}
	if !expires.IsZero() {
		t.used(e)
	}
	return e, true
}

// Check returns the verdict for token, resolving it against Jellyfin once
// (single-flight, cached) when the table does not know it. limitKey is the
// client's address key for the resolution limit; clientIP is passed on to
// Jellyfin so it judges the request from the real client's address.
func (t *Table) Check(ctx context.Context, token, limitKey, clientIP string) (Verdict, error) {
	h := HashOf(token)
	if e, ok := t.lookup(h); ok {
		return t.judge(ctx, h, e), nil
	}
	if t.opt.Resolver == nil {
		return Verdict{Hash: h, Status: Unknown}, ErrUnavailable
	}
	if !t.limiter.Allow(limitKey) {
		return Verdict{Hash: h, Status: Unknown}, ErrResolveLimit
	}
	res, err, _ := t.flight.Do(string(h[:]), func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		// A resolution that finished between the miss above and this call
		// answers: an unknown token costs one question to Jellyfin while
		// its answer is remembered.
		if e, ok := t.lookup(h); ok {
			return t.judge(ctx, h, e), nil
		}
		return t.resolve(ctx, token, h, clientIP)
	})
	if err != nil {
		return Verdict{Hash: h, Status: Unknown}, err
	}
	return res.(Verdict), nil
}

// judge returns the verdict of a token the table knows, applying what
// changed since it was learnt: the user enrolled, or the session outlived
// its limits.
func (t *Table) judge(ctx context.Context, h Hash, e *entry) Verdict {
	t.mu.RLock()
	v := e.verdict
	t.mu.RUnlock()
	if v.Status == Active && v.Adopted && t.refusal(ctx, v.UserID) != "" {
		v.Status = Refused // the user enrolled after this token was adopted
	}
	if v.Status == Active && t.outlived(e) {
		v.Status = Revoked
		t.expire(ctx, h)
	}
	if v.Status == Active || v.Status == APIKey {
		e.seen(t.now())
	}
	return v
}

// seen notes a use of the token. Last-seen times are kept to the minute,
// so most requests only read an atomic.
func (e *entry) seen(now time.Time) {
	if n := now.UnixNano(); n-e.lastSeen.Load() > int64(time.Minute) {
		e.lastSeen.Store(n)
	}
}

func (t *Table) resolve(ctx context.Context, token string, h Hash, clientIP string) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	owner, err := t.opt.Resolver.UserForToken(ctx, token, clientIP)
	switch {
	case err == nil:
		return t.adoptUserToken(ctx, token, h, owner, clientIP)
	case errors.Is(err, jellyfin.ErrNoUser):
		return t.adoptAPIKey(ctx, token, h)
	case errors.Is(err, jellyfin.ErrInvalidToken):
		return t.remember(Verdict{Hash: h, Status: Invalid}, t.opt.NegativeTTL), nil
	case errors.Is(err, jellyfin.ErrForbidden):
		return t.refuseOwnerUnknown(ctx, h, clientIP), nil
	default:
		t.log.Warn("resolving token failed", "token", h.Short(), "err", err)
		return Verdict{Hash: h}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
}

// refuseOwnerUnknown refuses a token Jellyfin knows but answers 403 for
// from this client. Nothing Jellyfin offers ties such a token to its owner:
// /Users/Me is refused, and the API key's listings (/Sessions, /Devices,
// /Auth/Keys) carry no user token, only device ids a client chooses
// itself. A token whose owner is unknown cannot be held to the owner's
// policy, so it is refused rather than guessed at; the refusal is cached
// only briefly, so the token works again once Jellyfin admits its owner
// (from the LAN, or inside the schedule) and can name them.
func (t *Table) refuseOwnerUnknown(ctx context.Context, h Hash, ip string) Verdict {
	t.log.Warn("refused a token whose owner Jellyfin refuses from this address", "token", h.Short(), "ip", ip)
	t.audit(ctx, audit.Event{Kind: audit.TokenRejected, IP: addrOf(ip), Note: "token " + h.Short() + " not issued through the gateway",
		Reason: "Jellyfin refuses its owner from this address, so the owner is unknown"})
	return t.remember(Verdict{Hash: h, Status: Forbidden}, t.opt.NegativeTTL)
}

// remember caches a resolution for ttl. A record of the token that the
// table learnt meanwhile (a login released it while Jellyfin was asked)
// wins over the resolution, and is what it returns.
func (t *Table) remember(v Verdict, ttl time.Duration) Verdict {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.entries[v.Hash]
	if old != nil && !old.cached() {
		return old.verdict
	}
	t.cacheLocked(newEntry(v, now.Add(ttl), now), old)
	return v
}

func (t *Table) adoptUserToken(ctx context.Context, token string, h Hash, o jellyfin.Owner, ip string) (Verdict, error) {
	if e, err := t.loadReleased(ctx, h); err != nil {
		return Verdict{Hash: h}, err
	} else if e != nil {
		t.log.Info("loaded the record of a token the gateway released", "token", h.Short(), "user", o.UserName, "ip", ip)
		return t.judge(ctx, h, e), nil
	}
	v := Verdict{Hash: h, Status: Active, UserID: o.UserID, UserName: o.UserName, IsAdmin: o.IsAdmin, Adopted: true}
	if why := t.refusal(ctx, o.UserID); why != "" {
		v.Status = Refused
		t.log.Warn("refused a token the gateway never issued", "token", h.Short(), "user", o.UserName, "ip", ip, "why", why)
		t.audit(ctx, audit.Event{Kind: audit.TokenRejected, UserID: o.UserID, UserName: o.UserName, IP: addrOf(ip),
			Note: "token " + h.Short() + " not issued through the gateway", Reason: why})
		return t.remember(v, t.opt.CacheTTL), nil
	}
	st := store.Token{Hash: h, Kind: store.KindSession, UserID: o.UserID, UserName: o.UserName,
		IsAdmin: o.IsAdmin, IP: ip, Source: "resolved"}
	if err := t.put(ctx, token, st); err != nil {
		return Verdict{Hash: h}, err
	}
	t.log.Info("adopted a token issued outside the gateway", "token", h.Short(), "user", o.UserName, "ip", ip)
	return t.remember(v, t.opt.CacheTTL), nil
}

// loadReleased looks for a stored record of a token the gateway released
// that this table does not hold (another process released it, or this one
// forgot it), and makes it a record of the table again. Adopting the token
// instead would record it as resolved and lose how it signed in (device,
// sign-in time, factor, assurance), and a user with a second factor would
// be refused a token the gateway released to them. It returns nil when
// there is no such record.
func (t *Table) loadReleased(ctx context.Context, h Hash) (*entry, error) {
	st, err := t.opt.Store.Token(ctx, h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: looking up the token's record: %v", ErrUnavailable, err)
	case st.Source == "resolved":
		return nil, nil
	}
	e := newEntry(verdictOf(st), time.Time{}, st.LastSeenAt)
	e.created = st.CreatedAt
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.entries[h]; old != nil && !old.cached() {
		return old, nil
	} else if old != nil {
		t.lruMu.Lock()
		t.unlinkLocked(old)
		t.lruMu.Unlock()
	}
	t.entries[h] = e
	return e, nil
}

// refusal says why an unreleased token of userID is refused, or "".
func (t *Table) refusal(ctx context.Context, userID string) string {
	switch {
	case t.opt.Strict:
		return "strict"
	case t.opt.Policy != nil && t.opt.Policy.ReleasedOnly(ctx, userID):
		return "the user has a second factor"
	}
	return ""
}

func (t *Table) adoptAPIKey(ctx context.Context, token string, h Hash) (Verdict, error) {
	if t.opt.OwnKey != "" {
		keys, err := t.opt.Resolver.APIKeys(ctx)
		if err != nil {
			return Verdict{Hash: h}, fmt.Errorf("%w: listing API keys: %v", ErrUnavailable, err)
		}
		if !containsKey(keys, token) {
			return t.remember(Verdict{Hash: h, Status: Invalid}, t.opt.NegativeTTL), nil
		}
	}
	if err := t.put(ctx, token, store.Token{Hash: h, Kind: store.KindAPIKey, Source: "resolved"}); err != nil {
		return Verdict{Hash: h}, err
	}
	return t.remember(Verdict{Hash: h, Status: APIKey}, t.opt.CacheTTL), nil
}

func containsKey(keys []jellyfin.APIKey, token string) bool {
	for _, k := range keys {
		if subtle.ConstantTimeCompare([]byte(k.AccessToken), []byte(token)) == 1 {
			return true
		}
	}
	return false
}

// put seals and stores a token record.
func (t *Table) put(ctx context.Context, token string, st store.Token) error {
	sealed, err := t.opt.Keys.Seal([]byte(token), st.Hash[:])
	if err != nil {
		return fmt.Errorf("sealing token: %w", err)
	}
	now := t.now()
	st.Sealed, st.CreatedAt, st.LastSeenAt = sealed, now, now
	if err := t.opt.Store.PutToken(ctx, st); err != nil {
		return fmt.Errorf("storing token: %w", err)
	}
	return nil
}

// Record stores a token a login released through the gateway, together
// with events (the sign-in's audit event) in one transaction: a released
// token is never stored without its event, nor the event without the
// token. If it fails the caller must not release the token.
func (t *Table) Record(ctx context.Context, token string, is Issued, events ...audit.Event) (Hash, error) {
	h := HashOf(token)
	sealed, err := t.opt.Keys.Seal([]byte(token), h[:])
	if err != nil {
		return h, fmt.Errorf("sealing token: %w", err)
	}
	now := t.now()
	st := store.Token{Hash: h, Kind: store.KindSession, UserID: is.UserID, UserName: is.UserName, IsAdmin: is.IsAdmin,
		DeviceID: is.DeviceID, Client: is.Client, DeviceName: is.DeviceName, IP: is.IP, Source: is.Source, Factor: is.Factor,
		Assurance: is.Assurance, Sealed: sealed, CreatedAt: now, LastSeenAt: now}
	put := func(w store.Writer) error { return w.PutToken(ctx, st) }
	if t.opt.Audit != nil {
		err = t.opt.Audit.Commit(ctx, put, events...)
	} else {
		err = put(t.opt.Store)
	}
	if err != nil {
		return h, fmt.Errorf("storing token: %w", err)
	}
	e := newEntry(verdictOf(st), time.Time{}, now)
	e.created = now
	t.mu.Lock()
	t.entries[h] = e
	t.mu.Unlock()
	t.capSessions(ctx, is.UserID, h)
	return h, nil
}

// outlived reports whether a released session passed its idle time or its
// lifetime.
func (t *Table) outlived(e *entry) bool {
	if e.created.IsZero() {
		return false
	}
	now := t.now()
	return (t.opt.Lifetime > 0 && now.Sub(e.created) > t.opt.Lifetime) ||
		(t.opt.Idle > 0 && now.Sub(time.Unix(0, e.lastSeen.Load())) > t.opt.Idle)
}

// expire revokes a session that outlived its limits; the request that
// noticed it is refused at once and the rest happens in the background.
func (t *Table) expire(ctx context.Context, h Hash) {
	t.mu.Lock()
	if e := t.entries[h]; e != nil {
		e.verdict.Status = Revoked
	}
	t.mu.Unlock()
	go func() {
		if _, err := t.Revoke(context.WithoutCancel(ctx), h, "the session limits (idle or lifetime)"); err != nil {
			t.log.Warn("expiring a session failed", "token", h.Short(), "err", err)
		}
	}()
}

// capSessions logs the least recently used sessions of a user out when a
// new one would exceed the cap.
func (t *Table) capSessions(ctx context.Context, userID string, keep Hash) {
	if t.opt.MaxPerUser <= 0 || userID == "" {
		return
	}
	type live struct {
		h    Hash
		seen int64
	}
	var sessions []live
	t.mu.RLock()
	for h, e := range t.entries {
		if h != keep && e.verdict.UserID == userID && e.verdict.Status == Active && !e.created.IsZero() {
			sessions = append(sessions, live{h, e.lastSeen.Load()})
		}
	}
	t.mu.RUnlock()
	excess := len(sessions) + 1 - t.opt.MaxPerUser
	if excess <= 0 {
		return
	}
	slices.SortFunc(sessions, func(a, b live) int { return cmp.Compare(a.seen, b.seen) })
	for _, s := range sessions[:excess] {
		if _, err := t.Revoke(ctx, s.h, "the per-user session cap"); err != nil {
			t.log.Warn("evicting a session failed", "token", s.h.Short(), "err", err)
		}
	}
}

// LoggedOut notes that a token was logged out in Jellyfin by its owner.
func (t *Table) LoggedOut(ctx context.Context, h Hash) {
	t.mu.Lock()
	if e := t.entries[h]; e != nil && e.verdict.Status == Active {
		e.verdict.Status = Invalid
	}
	t.mu.Unlock()
	if err := t.opt.Store.MarkLoggedOut(ctx, h, t.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.log.Warn("recording a logout failed", "token", h.Short(), "err", err)
	}
}

// Revoke revokes a token: the gateway refuses it from now on, its open
// streams and WebSockets are closed, and it is logged out in Jellyfin —
// at once when a Resolver is configured, and otherwise, or if Jellyfin does
// not confirm, by a running gateway, which keeps trying until Jellyfin does
// (see logout.go). The token is returned as stored, with LoggedOutAt set
// when this call logged it out; LogoutError says why it could not.
func (t *Table) Revoke(ctx context.Context, h Hash, by string) (store.Token, error) {
	st, err := t.opt.Store.RevokeToken(ctx, h, t.now())
	if err != nil {
		return st, fmt.Errorf("revoking token %s: %w", h.Short(), err)
	}
	t.markRevoked(h)
	t.audit(ctx, audit.Event{Kind: audit.TokenRevoked, UserID: st.UserID, UserName: st.UserName,
		Note: "token " + h.Short() + " revoked", By: by})
	if st.Kind == store.KindSession && st.LoggedOutAt.IsZero() && t.logout(context.WithoutCancel(ctx), st) == nil {
		st.LoggedOutAt = t.now()
	}
	return st, nil
}

func (t *Table) markRevoked(h Hash) {
	t.mu.Lock()
	e := t.entries[h]
	if e == nil {
		e = newEntry(Verdict{Hash: h}, time.Time{}, time.Time{})
		t.entries[h] = e
	}
	if e.cached() { // a revoked token is a record: never forgotten
		t.lruMu.Lock()
		t.unlinkLocked(e)
		t.lruMu.Unlock()
	}
	e.verdict.Status, e.expires = Revoked, time.Time{}
	t.mu.Unlock()
	t.hookMu.Lock()
	hooks := append([]func(Hash){}, t.onRevok...)
	t.hookMu.Unlock()
	for _, fn := range hooks {
		fn(h)
	}
}

// Logout logs an unrecorded token out of Jellyfin (a token withheld by the
// response guard, for example). Errors are logged, not returned.
func (t *Table) Logout(ctx context.Context, token string) {
	if t.opt.Resolver == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := t.opt.Resolver.Logout(ctx, token); err != nil {
		t.log.Warn("logging a withheld token out of Jellyfin failed", "token", HashOf(token).Short(), "err", err)
	}
}

func (t *Table) audit(ctx context.Context, ev audit.Event) {
	if t.opt.Audit == nil {
		return
	}
	if _, err := t.opt.Audit.Write(ctx, ev); err != nil {
		t.log.Error("writing audit event failed", "kind", ev.Kind, "err", err)
	}
}

// Sync applies changes other processes made (revocations from the CLI),
// writes batched last-seen times and forgets expired resolutions. A running
// gateway calls it every second.
func (t *Table) Sync(ctx context.Context) error {
	changes, err := t.opt.Store.Changes(ctx, t.lastChange)
	if err != nil {
		return fmt.Errorf("reading change feed: %w", err)
	}
	// Every revocation is applied before any logout is tried, and with
	// KeepLogouts running none is tried here: a Jellyfin that hangs must
	// not delay the refusal of the next token.
	var revoked []Hash
	for _, c := range changes {
		t.lastChange = c.Seq
		if c.Kind != store.ChangeTokenRevoked {
			continue
		}
		h, err := ParseHash(c.Key)
		if err != nil {
			t.log.Warn("bad change feed entry", "seq", c.Seq, "err", err)
			continue
		}
		if v, _ := t.Lookup(h); v.Status == Revoked {
			continue
		}
		t.markRevoked(h)
		revoked = append(revoked, h)
	}
	for _, h := range revoked {
		if t.keeping.Load() {
			t.owe(h) // KeepLogouts tries it within a second, off this loop
			continue
		}
		st, err := t.opt.Store.Token(ctx, h)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				t.owe(h) // the logout loop looks again
				t.log.Warn("looking up a revoked token failed", "token", h.Short(), "err", err)
			}
			continue
		}
		// A failure is remembered and retried by KeepLogouts.
		_ = t.logout(ctx, st)
	}
	t.flushLastSeen(ctx)
	if n := t.sweep(t.now()); n > 0 {
		t.log.Debug("forgot expired token resolutions", "count", n)
	}
	return nil
}

func (t *Table) flushLastSeen(ctx context.Context) {
	type touch struct {
		h  Hash
		at time.Time
	}
	var todo []touch
	t.mu.RLock()
	for h, e := range t.entries {
		if seen := e.lastSeen.Load(); seen != e.flushed.Load() {
			e.flushed.Store(seen)
			todo = append(todo, touch{h, time.Unix(0, seen).UTC()})
		}
	}
	t.mu.RUnlock()
	for _, x := range todo {
		if err := t.opt.Store.TouchToken(ctx, x.h, x.at); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.log.Warn("recording last use of a token failed", "token", x.h.Short(), "err", err)
		}
	}
}

// Watch calls Sync every interval until ctx ends.
func (t *Table) Watch(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			t.flushLastSeen(context.WithoutCancel(ctx))
			return
		case <-tick.C:
			if err := t.Sync(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("token table sync failed", "err", err)
			}
		}
	}
}

// addrOf parses a client address for the audit trail (zero when empty).
func addrOf(ip string) netip.Addr {
	a, _ := netip.ParseAddr(ip)
	return a
}
