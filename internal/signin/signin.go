// Package signin decides what happens to a sign-in after Jellyfin accepted
// the password: release the token, withhold it behind a challenge, or refuse
// it the way a wrong password is refused. It owns the second factor's
// records (enrollment, recovery codes, challenges, trusted browsers, devices)
// and the policy that says who needs one.
//
// 2FA is decided on the user id in Jellyfin's answer, never on the name the
// client typed; the name is used only to decide, before Jellyfin answers,
// whether "password;code" is to be split.
package signin

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/factor/slowhash"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/ratelimit"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// Errors the pages show in plain words.
var (
	ErrBadCode      = errors.New("that code is not right")
	ErrExpired      = errors.New("this sign-in has expired; please sign in again")
	ErrThrottled    = errors.New("too many attempts; wait a minute and try again")
	ErrUnauthorized = errors.New("sign in to Jellyfin first")
	ErrCodeRequired = errors.New("a current code is needed for this")
	ErrNotFound     = errors.New("not found")
)

// Admission is the network policy every door asks, whichever it is: the
// shield (throttles, bans, allow lists, the user's own networks) with the
// block lists and the geo policy.
type Admission interface {
	// Refused reports whether an address may not sign in at all: banned,
	// block-listed, outside allow_only, or in a refused country.
	Refused(a netip.Addr) bool
	// Allow decides whether an attempt may reach Jellyfin (throttles and
	// the user name's failure budget); an error holds it back.
	Allow(ctx context.Context, l shield.Login) error
	// Failed and Succeeded tell the shield how an attempt ended.
	Failed(ctx context.Context, l shield.Login)
	Succeeded(l shield.Login)
	// UserAllowed reports whether the user may sign in from a (their own
	// networks; administrators' networks), and why not.
	UserAllowed(userID string, admin bool, a netip.Addr) (bool, string)
	// Travel judges a sign-in Jellyfin accepted against the user's last
	// place (auditing impossible travel and new places); true means only
	// a fresh factor may vouch for it.
	Travel(ctx context.Context, userID, userName string, a netip.Addr) bool
	// RememberPlace stores a released sign-in's place as the user's last.
	RememberPlace(ctx context.Context, userID string, a netip.Addr)
}

// Failure is one failed sign-in, for the documented failure line.
type Failure struct {
	IP                           netip.Addr
	User, Reason, Client, Device string
}

// Options are the service's dependencies.
type Options struct {
	Config    *config.Config
	Store     store.Store
	Keys      *secret.Keys
	Audit     *audit.Log
	Tokens    *tokens.Table
	Jellyfin  *jellyfin.Client // the sign-in page's password check, the first enrollment's password check, names for the legacy route's user ids
	Admission Admission        // nil: admits everyone (admin commands, which sign nobody in)
	Hasher    *slowhash.Hasher // nil: one with concurrency 2
	// FailureLine writes the documented sign-in failure line; nil: none.
	FailureLine func(Failure)
	Logger      *slog.Logger
	Now         func() time.Time
}

// Service is the sign-in service: the one flow every door goes through, and
// the second factor's records behind the pages. Create it with New.
type Service struct {
	opt  Options
	tf   config.TwoFactorConfig
	log  *slog.Logger
	now  func() time.Time
	hash *slowhash.Hasher
	pace *pacer

	userLimit *ratelimit.Window // code attempts per user
	ipLimit   *ratelimit.Window // code attempts per address
	notices   *ratelimit.Window // pending-device notices per user

	mu       sync.Mutex
	enrolled map[string]enrolledEntry // ReleasedOnly cache
	names    idNames                  // legacy route ids → names
	issuers  issuerCache              // Jellyfin's server name, the default issuer
}

type enrolledEntry struct {
	yes     bool
	checked time.Time
}

// New returns the service.
func New(o Options) *Service {
	s := &Service{opt: o, tf: o.Config.TwoFactor, log: o.Logger, now: o.Now, hash: o.Hasher, pace: newPacer(3 * time.Second),
		enrolled: map[string]enrolledEntry{}}
	if s.opt.Admission == nil {
		s.opt.Admission = openAdmission{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hash == nil {
		s.hash = slowhash.New(2)
	}
	s.userLimit = ratelimit.NewWindow(10, time.Minute, s.now)
	s.ipLimit = ratelimit.NewWindow(30, time.Minute, s.now)
	s.notices = ratelimit.NewWindow(3, time.Hour, s.now)
	return s
}

// ReleasedOnly reports whether userID has a second factor, so that tokens
// the gateway did not release are refused for them (tokens.Policy). It is
// asked on every request of an adopted token, so answers are cached for a
// few seconds; changes made here invalidate the cache at once.
func (s *Service) ReleasedOnly(ctx context.Context, userID string) bool {
	now := s.now()
	s.mu.Lock()
	e, ok := s.enrolled[userID]
	s.mu.Unlock()
	if ok && now.Sub(e.checked) < 10*time.Second {
		return e.yes
	}
	yes := s.isEnrolled(ctx, userID)
	s.mu.Lock()
	s.enrolled[userID] = enrolledEntry{yes: yes, checked: now}
	s.mu.Unlock()
	return yes
}

func (s *Service) forgetEnrollment(userID string) {
	s.mu.Lock()
	delete(s.enrolled, userID)
	s.mu.Unlock()
}

// isEnrolled reports whether the user has any confirmed factor: an
// authenticator, or recovery codes left. Every factor kind added later
// answers here too, so "tokens the gateway did not release are refused for
// enrolled users" holds for each of them.
func (s *Service) isEnrolled(ctx context.Context, userID string) bool {
	if t, err := s.opt.Store.TOTP(ctx, userID); err == nil && t.Confirmed {
		return true
	}
	codes, err := s.opt.Store.RecoveryCodes(ctx, userID)
	if err != nil {
		return false
	}
	for _, c := range codes {
		if c.UsedAt.IsZero() {
			return true
		}
	}
	return false
}

// need says whether a user must pass a second factor, and whether they can.
type need struct {
	required bool
	enrolled bool
	grace    bool // required, not enrolled, still in the grace period
	account  store.Account
}

func (s *Service) needOf(ctx context.Context, userID string, isAdmin bool) need {
	acct, _ := s.opt.Store.Account(ctx, userID)
	n := need{enrolled: s.isEnrolled(ctx, userID), account: acct}
	switch {
	case acct.Requirement == store.RequireNever:
		n.required = false
	case n.enrolled, acct.Requirement == store.RequireAlways, s.tf.Require == "all":
		n.required = true
	case s.tf.Require == "admins" && isAdmin:
		n.required = true
	}
	if n.required && !n.enrolled {
		first := acct.FirstSeenAt
		if first.IsZero() {
			first = s.now()
		}
		n.grace = s.now().Before(first.Add(s.tf.GracePeriod))
	}
	return n
}

// touchAccount keeps the account's name and admin flag current (a rename
// in Jellyfin must move the "password;code" lookup with it).
func (s *Service) touchAccount(ctx context.Context, userID, name string, isAdmin bool) {
	acct, err := s.opt.Store.Account(ctx, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("reading account failed", "user", name, "err", err)
		return
	}
	if err == nil && acct.UserName == name && acct.NameFolded == Fold(name) && acct.IsAdmin == isAdmin {
		return
	}
	now := s.now()
	acct.UserID, acct.UserName, acct.NameFolded, acct.IsAdmin, acct.UpdatedAt = userID, name, Fold(name), isAdmin, now
	if acct.FirstSeenAt.IsZero() {
		acct.FirstSeenAt = now
	}
	if err := s.opt.Store.PutAccount(ctx, acct); err != nil {
		s.log.Warn("storing account failed", "user", name, "err", err)
	}
}

// Fold is how Jellyfin compares user names (jellyfin.FoldName); the
// accounts are looked up by it.
func Fold(name string) string { return jellyfin.FoldName(name) }

func (s *Service) onLAN(a netip.Addr) bool {
	for _, p := range s.opt.Config.BypassNetworks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Service) failureLine(f Failure) {
	if s.opt.FailureLine != nil {
		s.opt.FailureLine(f)
	}
}

func (s *Service) record(ctx context.Context, ev audit.Event) {
	if s.opt.Audit == nil {
		return
	}
	if _, err := s.opt.Audit.Write(context.WithoutCancel(ctx), ev); err != nil {
		s.log.Error("writing audit event failed", "kind", ev.Kind, "err", err)
	}
}

// openAdmission admits everyone: the admin commands' service signs nobody
// in.
type openAdmission struct{}

func (openAdmission) Refused(netip.Addr) bool                                 { return false }
func (openAdmission) Allow(context.Context, shield.Login) error               { return nil }
func (openAdmission) Failed(context.Context, shield.Login)                    {}
func (openAdmission) Succeeded(shield.Login)                                  {}
func (openAdmission) UserAllowed(string, bool, netip.Addr) (bool, string)     { return true, "" }
func (openAdmission) Travel(context.Context, string, string, netip.Addr) bool { return false }
func (openAdmission) RememberPlace(context.Context, string, netip.Addr)       {}

// Run sweeps expired challenges (logging their withheld tokens out) until
// ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.sweep(ctx)
		}
	}
}
