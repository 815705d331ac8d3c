package fake

import (
	"net/http"
	"strings"
	"time"
)

// authInfo is AuthorizationInfo plus the outcome of CustomAuthenticationHandler
// (§2.4, §2.5) for one request.
type authInfo struct {
	creds
	// present: a non-blank token was sent.
	present bool
	// ok: the token is a live session token of an enabled user, or an API key.
	ok       bool
	isAPIKey bool
	user     *user
}

// admin reports the Administrator role claim: an API key, or an admin user.
func (a *authInfo) admin() bool {
	return a.ok && (a.isAPIKey || a.user != nil && a.user.policy.IsAdministrator)
}

// userID is the Jellyfin-UserId claim: all zeros for an API key.
func (a *authInfo) userID() string {
	if a.user == nil {
		return zeroGUID
	}
	return a.user.id
}

// authenticate resolves the request's credentials. Caller holds s.mu.
func (s *Server) authenticate(h http.Header, q query) authInfo {
	a := authInfo{creds: readCreds(h, q, s.credentialRules())}
	a.present = a.hasToken()
	if !a.present {
		return a
	}
	if d := s.deviceByToken(a.token); d != nil {
		s.applyDevice(&a, d)
		a.user = s.userByID(d.userID)
		a.ok = a.user != nil && !a.user.policy.IsDisabled
		return a
	}
	if k := s.apiKeyByToken(a.token); k != nil {
		s.applyAPIKey(&a, k)
		a.ok = true
	}
	return a
}

// applyDevice is the session-token branch of GetAuthorizationInfoFromDictionary:
// empty fields come from the stored device; a different Device or Version
// overwrites it (not for Chromecast); DateLastActivity is refreshed when
// older than three minutes.
func (s *Server) applyDevice(a *authInfo, d *device) {
	if isBlank(a.client) {
		a.client = d.appName
	}
	if isBlank(a.deviceID) {
		a.deviceID = d.deviceID
	}
	update := !strings.Contains(strings.ToLower(a.client), "chromecast")
	if isBlank(a.device) {
		a.device = d.deviceName
	} else if !strings.EqualFold(a.device, d.deviceName) && update {
		d.deviceName = a.device
	}
	if isBlank(a.version) {
		a.version = d.appVersion
	} else if !strings.EqualFold(a.version, d.appVersion) && update {
		d.appVersion = a.version
	}
	if now := s.now(); now.Sub(d.lastActivity) > 3*time.Minute {
		d.lastActivity = now
	}
}

// applyAPIKey is the API-key branch: the client is the key's name and the
// device fields default to the server's own identity.
func (s *Server) applyAPIKey(a *authInfo, k *apiKey) {
	a.isAPIKey = true
	a.client = k.name
	a.token = k.token
	if isBlank(a.deviceID) {
		a.deviceID = s.id
	}
	if isBlank(a.device) {
		a.device = s.cfg.ServerName
	}
	if isBlank(a.version) {
		a.version = s.version
	}
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// policy names the authorization policies of §2.6 the routes use.
type policy int

const (
	polAnonymous policy = iota
	// polDefault is [Authorize]: an API key, or a user who is on the LAN or
	// has EnableRemoteAccess. Parental schedules are not modelled.
	polDefault
	// polElevation is RequiresElevation: the Administrator role only.
	polElevation
	// polDefaultElevation is a class-level [Authorize] plus RequiresElevation.
	polDefaultElevation
	// polFirstTimeSetup is FirstTimeSetupOrIgnoreParentalControl: anyone
	// while the start-up wizard is incomplete, else the default policy.
	polFirstTimeSetup
	// polLocalOrElevation is LocalAccessOrRequiresElevation: any LAN caller,
	// even without a token, or an administrator.
	polLocalOrElevation
)

// authorize is the AuthorizationMiddleware: 0 when the policy passes, else
// 401 for an unauthenticated caller (challenge) or 403 for an authenticated
// one (forbid). Caller holds s.mu.
func (s *Server) authorize(c *call, p policy) int {
	pass := false
	switch p {
	case polAnonymous:
		return 0
	case polDefault:
		pass = s.defaultPolicy(c)
	case polElevation:
		pass = c.auth.admin()
	case polDefaultElevation:
		pass = s.defaultPolicy(c) && c.auth.admin()
	case polFirstTimeSetup:
		pass = !s.cfg.IsStartupWizardCompleted && !s.remoteDenied(c) || s.defaultPolicy(c)
	case polLocalOrElevation:
		pass = isInLocalNetwork(c.peer.ip, &s.netCfg) || c.auth.admin()
	}
	switch {
	case pass:
		return 0
	case c.auth.ok:
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// defaultPolicy is DefaultAuthorizationHandler.
func (s *Server) defaultPolicy(c *call) bool {
	if !c.auth.ok {
		return false
	}
	return c.auth.isAPIKey || !s.remoteDenied(c)
}

// remoteDenied: an authenticated user without EnableRemoteAccess calling
// from outside the LAN.
func (s *Server) remoteDenied(c *call) bool {
	u := c.auth.user
	return c.auth.ok && u != nil && !u.policy.EnableRemoteAccess && !isInLocalNetwork(c.peer.ip, &s.netCfg)
}

// callerUserID is RequestHelpers.GetUserId (§2.5): no userId (or an empty
// one) means the caller; another user's id needs the Administrator role.
func callerUserID(c *call, requested string) (string, error) {
	if requested == "" || requested == zeroGUID {
		return c.auth.userID(), nil
	}
	if requested != c.auth.userID() && !c.auth.admin() {
		return "", securityError("Forbidden")
	}
	return requested, nil
}
