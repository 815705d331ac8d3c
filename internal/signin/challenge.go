package signin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
)

// ChallengeCookie binds a challenge to the browser that started it, so the
// challenge id never travels in a URL.
const ChallengeCookie = "jg_challenge"

// ChallengeInfo is what the challenge page shows.
type ChallengeInfo struct {
	UserName     string
	ExpiresAt    time.Time
	AttemptsLeft int
}

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func challengeAAD(id string) []byte { return []byte("challenge:" + id) }

// challenge withholds the token in a new challenge that the challenge page
// answers. A user's open challenges are capped (each is a live Jellyfin
// session): the oldest is burned to make room.
func (s *Service) challenge(ctx context.Context, f *flight) (Outcome, error) {
	res, a := f.res, f.a
	s.capChallenges(ctx, res.User.ID)
	now := s.now()
	ch := store.Challenge{ID: device.NewID(), UserID: res.User.ID, UserName: res.User.Name,
		IsAdmin: res.User.Policy.IsAdministrator, DeviceID: a.Client.DeviceID, Client: a.Client.App,
		DeviceName: a.Client.DeviceName, Version: a.Client.Version, IP: a.Client.IP.String(), ServerID: res.ServerID,
		Web: a.Client.Web, Source: string(a.Door), CreatedAt: now, ExpiresAt: now.Add(s.tf.ChallengeTTL)}
	sealed, err := s.opt.Keys.Seal([]byte(res.AccessToken), challengeAAD(ch.ID))
	if err != nil {
		s.logoutWithheld(ctx, f)
		return Outcome{}, fmt.Errorf("sealing withheld token: %w", err)
	}
	ch.Sealed = sealed
	if err := s.opt.Store.PutChallenge(ctx, ch); err != nil {
		s.logoutWithheld(ctx, f)
		return Outcome{}, fmt.Errorf("storing challenge: %w", err)
	}
	s.record(ctx, audit.Event{Kind: audit.ChallengeIssued, UserID: ch.UserID, UserName: ch.UserName, IP: a.Client.IP,
		Door: string(a.Door), Client: a.Client.App, Device: a.Client.DeviceName})
	return Outcome{Action: Challenge, ChallengePath: s.pagePath("challenge"),
		Cookies: []*http.Cookie{s.challengeCookie(ch.ID, ch.ExpiresAt, a.Client.HTTPS)}}, nil
}

// withheldResult is the sign-in a challenge holds, as Jellyfin answered it.
func (s *Service) withheldResult(ch store.Challenge) (jellyfin.AuthResult, error) {
	token, err := s.opt.Keys.Open(ch.Sealed, challengeAAD(ch.ID))
	if err != nil {
		return jellyfin.AuthResult{}, fmt.Errorf("opening withheld token: %w", err)
	}
	var res jellyfin.AuthResult
	res.AccessToken, res.ServerID = string(token), ch.ServerID
	res.User.ID, res.User.Name, res.User.Policy.IsAdministrator = ch.UserID, ch.UserName, ch.IsAdmin
	res.SessionInfo.DeviceID, res.SessionInfo.Client, res.SessionInfo.DeviceName = ch.DeviceID, ch.Client, ch.DeviceName
	return res, nil
}

func (s *Service) pagePath(page string) string {
	return s.opt.Config.BaseURL + "/jellyguard/" + page
}

// challengeCookie binds challenge id to the browser; an empty id clears
// the cookie.
func (s *Service) challengeCookie(id string, expires time.Time, https bool) *http.Cookie {
	// Secure whenever the client came over HTTPS; a plain-HTTP gateway on a
	// LAN could not set a Secure cookie at all.
	c := &http.Cookie{Name: ChallengeCookie, Value: id, Path: s.opt.Config.BaseURL + "/jellyguard/", //nolint:gosec // see above
		Expires: expires, HttpOnly: true, Secure: https, SameSite: http.SameSiteStrictMode}
	if c.MaxAge = int(time.Until(expires).Seconds()) + 1; id == "" {
		c.MaxAge = -1
	}
	return c
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
	s.record(ctx, audit.Event{Kind: audit.ChallengeBurned, UserID: ch.UserID, UserName: ch.UserName, Reason: why})
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
			s.record(ctx, audit.Event{Kind: audit.ChallengeExpire, UserID: ch.UserID, UserName: ch.UserName})
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

// failChallenge counts a wrong code and returns the attempts left; the
// challenge burns after the configured number.
func (s *Service) failChallenge(ctx context.Context, ch store.Challenge, c Client) int {
	n, err := s.opt.Store.AddChallengeAttempt(ctx, ch.ID)
	if err != nil {
		s.log.Warn("counting a wrong code failed", "err", err)
		return 0
	}
	s.record(ctx, audit.Event{Kind: audit.ChallengeFailed, UserID: ch.UserID, UserName: ch.UserName, IP: c.IP,
		Note: fmt.Sprintf("wrong code (%d of %d)", n, s.tf.ChallengeAttempts)})
	if n >= s.tf.ChallengeAttempts {
		s.burn(ctx, ch.ID, "too many wrong codes")
		return 0
	}
	return s.tf.ChallengeAttempts - n
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
