package signin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// ChallengeCookie binds a challenge to the browser that started it, so the
// challenge id never travels in a URL.
const ChallengeCookie = "jg_challenge"

// Client is who is asking, as the gateway saw them.
type Client struct {
	IP          netip.Addr
	HTTPS       bool
	UserAgent   string
	TrustCookie string
	DeviceID    string
}

// Release is a session handed to a browser by a gateway page.
type Release struct {
	UserID, UserName, AccessToken, ServerID, DeviceID string
	Cookies                                           []*http.Cookie
}

// ChallengeInfo is what the challenge page shows.
type ChallengeInfo struct {
	UserName     string
	ExpiresAt    time.Time
	AttemptsLeft int
}

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func challengeAAD(id string) []byte { return []byte("challenge:" + id) }

// challenge withholds the token in a new challenge. A user's open
// challenges are capped (each is a live Jellyfin session): the oldest is
// burned to make room.
func (s *Service) challenge(ctx context.Context, a *Attempt, res jellyfin.AuthResult) (Decision, error) {
	s.capChallenges(ctx, res.User.ID)
	now := s.now()
	ch := store.Challenge{ID: device.NewID(), UserID: res.User.ID, UserName: res.User.Name,
		IsAdmin: res.User.Policy.IsAdministrator, DeviceID: a.DeviceID, Client: a.Client, DeviceName: a.Device,
		Version: a.Version, IP: a.IP.String(), ServerID: res.ServerID, Web: a.Web, Source: a.Route,
		CreatedAt: now, ExpiresAt: now.Add(s.tf.ChallengeTTL)}
	sealed, err := s.opt.Keys.Seal([]byte(res.AccessToken), challengeAAD(ch.ID))
	if err != nil {
		s.logoutWithheld(ctx, a, res)
		return Decision{}, fmt.Errorf("sealing withheld token: %w", err)
	}
	ch.Sealed = sealed
	if err := s.opt.Store.PutChallenge(ctx, ch); err != nil {
		s.logoutWithheld(ctx, a, res)
		return Decision{}, fmt.Errorf("storing challenge: %w", err)
	}
	s.record(ctx, store.AuditEvent{Kind: "challenge.issued", UserID: ch.UserID, UserName: ch.UserName, IP: ch.IP,
		Detail: fmt.Sprintf("client %q, device %q", a.Client, a.Device)})
	return Decision{Outcome: OutcomeChallenge, Reason: "challenge", ChallengePath: s.pagePath("challenge"),
		Cookies: []*http.Cookie{s.challengeCookie(ch.ID, ch.ExpiresAt, a.HTTPS)}}, nil
}

func (s *Service) pagePath(page string) string {
	return s.opt.Config.BaseURL + "/jellyguard/" + page
}

func (s *Service) challengeCookie(id string, expires time.Time, https bool) *http.Cookie {
	// Secure whenever the client came over HTTPS; a plain-HTTP gateway on a
	// LAN could not set a Secure cookie at all.
	return &http.Cookie{Name: ChallengeCookie, Value: id, Path: s.opt.Config.BaseURL + "/jellyguard/", //nolint:gosec // see above
		Expires: expires, MaxAge: int(time.Until(expires).Seconds()) + 1, HttpOnly: true, Secure: https,
		SameSite: http.SameSiteStrictMode}
}

func (s *Service) capChallenges(ctx context.Context, userID string) {
	open, err := s.opt.Store.UserChallenges(ctx, userID)
	if err != nil {
		return
	}
	for i := 0; len(open)-i >= s.tf.MaxOpenChallenges; i++ {
		s.burn(ctx, open[i].ID, "too many open sign-ins")
	}
}

// burn ends a challenge and logs its withheld token out.
func (s *Service) burn(ctx context.Context, id, why string) {
	ch, err := s.opt.Store.TakeChallenge(ctx, id)
	if err != nil {
		return
	}
	s.logoutChallenge(ctx, ch)
	s.record(ctx, store.AuditEvent{Kind: "challenge.burned", UserID: ch.UserID, UserName: ch.UserName, IP: ch.IP, Detail: why})
}

func (s *Service) logoutChallenge(ctx context.Context, ch store.Challenge) {
	token, err := s.opt.Keys.Open(ch.Sealed, challengeAAD(ch.ID))
	if err != nil {
		s.log.Error("opening a withheld token failed", "challenge", ch.ID[:8], "err", err)
		return
	}
	if s.opt.Tokens != nil {
		s.opt.Tokens.Logout(ctx, string(token))
	}
}

// sweep expires challenges whose time ran out.
func (s *Service) sweep(ctx context.Context) {
	expired, err := s.opt.Store.ExpiredChallenges(ctx, s.now())
	if err != nil {
		s.log.Warn("listing expired challenges failed", "err", err)
		return
	}
	for _, ch := range expired {
		if taken, err := s.opt.Store.TakeChallenge(ctx, ch.ID); err == nil {
			s.logoutChallenge(ctx, taken)
			s.record(ctx, store.AuditEvent{Kind: "challenge.expired", UserID: ch.UserID, UserName: ch.UserName, IP: ch.IP})
		}
	}
}

// Challenge describes an open challenge for its page.
func (s *Service) Challenge(ctx context.Context, id string) (ChallengeInfo, error) {
	ch, err := s.openChallenge(ctx, id)
	if err != nil {
		return ChallengeInfo{}, err
	}
	return ChallengeInfo{UserName: ch.UserName, ExpiresAt: ch.ExpiresAt, AttemptsLeft: s.tf.ChallengeAttempts - ch.Attempts}, nil
}

func (s *Service) openChallenge(ctx context.Context, id string) (store.Challenge, error) {
	if len(id) != 32 {
		return store.Challenge{}, ErrExpired
	}
	ch, err := s.opt.Store.Challenge(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ch, ErrExpired
	}
	if err != nil {
		return ch, err
	}
	if !s.now().Before(ch.ExpiresAt) {
		s.burn(ctx, id, "expired")
		return ch, ErrExpired
	}
	return ch, nil
}

// CompleteChallenge checks the code for a challenge and, when it is right,
// releases the withheld token exactly once. Wrong codes are counted; the
// challenge burns after the configured number.
func (s *Service) CompleteChallenge(ctx context.Context, id, code string, remember bool, c Client) (Release, error) {
	ch, err := s.openChallenge(ctx, id)
	if err != nil {
		return Release{}, err
	}
	if s.throttled(ch.UserID, c.IP) {
		return Release{}, ErrThrottled
	}
	name, ok, err := s.checkCode(ctx, ch.UserID, code, kindOf(code))
	if err != nil {
		return Release{}, err
	}
	if !ok {
		return Release{}, s.failChallenge(ctx, ch, c)
	}
	ch, err = s.opt.Store.TakeChallenge(ctx, id)
	if err != nil {
		return Release{}, ErrExpired // another request released it first
	}
	return s.release(ctx, ch, name, remember, c)
}

func (s *Service) failChallenge(ctx context.Context, ch store.Challenge, c Client) error {
	n, err := s.opt.Store.AddChallengeAttempt(ctx, ch.ID)
	if err != nil {
		return err
	}
	s.record(ctx, store.AuditEvent{Kind: "challenge.failed", UserID: ch.UserID, UserName: ch.UserName, IP: c.IP.String(),
		Detail: fmt.Sprintf("wrong code (%d of %d)", n, s.tf.ChallengeAttempts)})
	s.failureLine(c.IP, ch.UserName, "bad_code", ch.Client)
	if n >= s.tf.ChallengeAttempts {
		s.burn(ctx, ch.ID, "too many wrong codes")
		return ErrThrottled
	}
	return ErrBadCode
}

// release hands the withheld token out: recorded in the token table as
// verified, and optionally the browser becomes trusted.
func (s *Service) release(ctx context.Context, ch store.Challenge, factorName string, remember bool, c Client) (Release, error) {
	token, err := s.opt.Keys.Open(ch.Sealed, challengeAAD(ch.ID))
	if err != nil {
		return Release{}, fmt.Errorf("opening withheld token: %w", err)
	}
	_, err = s.opt.Tokens.Record(ctx, string(token), tokens.Issued{UserID: ch.UserID, UserName: ch.UserName,
		IsAdmin: ch.IsAdmin, DeviceID: ch.DeviceID, Client: ch.Client, DeviceName: ch.DeviceName, IP: c.IP.String(),
		Source: ch.Source, Factor: factorName})
	if err != nil {
		s.opt.Tokens.Logout(ctx, string(token))
		return Release{}, fmt.Errorf("recording released token: %w", err)
	}
	s.record(ctx, store.AuditEvent{Kind: "challenge.passed", UserID: ch.UserID, UserName: ch.UserName, IP: c.IP.String(),
		Detail: fmt.Sprintf("with %s, client %q, device %q", factorName, ch.Client, ch.DeviceName)})
	rel := Release{UserID: ch.UserID, UserName: ch.UserName, AccessToken: string(token), ServerID: ch.ServerID, DeviceID: ch.DeviceID}
	rel.Cookies = append(rel.Cookies, &http.Cookie{Name: ChallengeCookie, Value: "", Path: s.opt.Config.BaseURL + "/jellyguard/", //nolint:gosec // Secure as the client's scheme allows
		MaxAge: -1, HttpOnly: true, Secure: c.HTTPS, SameSite: http.SameSiteStrictMode})
	if remember {
		if cookie, err := s.trustBrowser(ctx, ch.UserID, ch.DeviceID, c); err == nil {
			rel.Cookies = append(rel.Cookies, cookie)
		} else {
			s.log.Warn("trusting the browser failed", "err", err)
		}
	}
	return rel, nil
}

// trustBrowser creates the server-side record and the cookie of a trusted
// browser.
func (s *Service) trustBrowser(ctx context.Context, userID, deviceID string, c Client) (*http.Cookie, error) {
	now := s.now()
	rec := store.TrustedBrowser{ID: device.NewID(), UserID: userID, DeviceID: deviceID, Nonce: device.NewNonce(),
		IP: c.IP.String(), UserAgent: truncate(c.UserAgent, 200), CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(time.Duration(s.tf.TrustDays) * 24 * time.Hour)}
	if err := s.opt.Store.PutTrustedBrowser(ctx, rec); err != nil {
		return nil, err
	}
	claims := device.Claims{ID: rec.ID, Nonce: rec.Nonce, UserID: userID, DeviceID: deviceID, Expires: rec.ExpiresAt}
	return device.Cookie(device.Encode(s.opt.Keys, claims), rec.ExpiresAt, c.HTTPS, s.cookiePath()), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
