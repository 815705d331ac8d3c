package fake

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// loginBody is AuthenticateUserByName; keys bind case-insensitively and a
// missing Pw is an empty password (§3.1).
type loginBody struct {
	Username *string `json:"Username"`
	Pw       *string `json:"Pw"`
}

// authRequest is AuthenticationRequest.
type authRequest struct {
	userID     string
	username   *string
	password   string
	app        string
	appVersion string
	deviceID   string
	deviceName string
	remote     string
	// enforce selects AuthenticateNewSession (password, disabled, remote
	// checks) over AuthenticateDirect (Quick Connect).
	enforce bool
}

// authenticationResult is AuthenticationResult (§3.1).
type authenticationResult struct {
	User        userDTO    `json:"User"`
	SessionInfo sessionDTO `json:"SessionInfo"`
	AccessToken string     `json:"AccessToken"`
	ServerID    string     `json:"ServerId"`
}

// authenticateByName is POST /Users/AuthenticateByName (§3.1).
func authenticateByName(s *Server, c *call) (*reply, error) {
	var body loginBody
	if bad := c.bindJSON(&body); bad != nil {
		return bad, nil
	}
	return s.login(c, body.Username, deref(body.Pw))
}

// authenticateLegacy is the obsolete POST /Users/{userId}/Authenticate?pw=
// (§3.3): 404 for an unknown user, otherwise AuthenticateByName with the
// user's name.
func authenticateLegacy(s *Server, c *call) (*reply, error) {
	id, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	pw, ok := c.equery.get("pw")
	if !ok || pw == "" {
		return validationProblem(map[string][]string{"pw": {"The pw field is required."}}), nil
	}
	u, err := s.lookupUser(id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return c.jsonReply(404, "User not found"), nil
	}
	name := u.name
	return s.login(c, &name, pw)
}

// login runs SessionManager.AuthenticateNewSession with the request's
// client fields; SecurityExceptions get the "[ip] " prefix Jellyfin adds.
func (s *Server) login(c *call, username *string, pw string) (*reply, error) {
	res, err := s.newSession(authRequest{
		username: username, password: pw, enforce: true,
		app: c.auth.client, appVersion: c.auth.version,
		deviceID: c.auth.deviceID, deviceName: c.auth.device, remote: c.ip(),
	})
	var je *jfError
	if errors.As(err, &je) && je.status == 403 {
		return nil, securityError(fmt.Sprintf("[%s] %s", c.ip(), je.msg))
	}
	if err != nil {
		return nil, err
	}
	return c.jsonReply(200, res), nil
}

// newSession is SessionManager.AuthenticateNewSessionInternal (§3.1, §4.1).
// Caller holds s.mu.
func (s *Server) newSession(req authRequest) (*authenticationResult, error) {
	if err := requireClientFields(req); err != nil {
		return nil, err
	}
	u, err := s.sessionUser(req)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, authError("Invalid username or password entered.")
	}
	if !s.canAccessDevice(u, req.deviceID) {
		return nil, securityError("User is not allowed access from this device.")
	}
	if err := s.checkSessionLimit(u); err != nil {
		return nil, err
	}
	token := s.issueToken(u, req)
	se, err := s.logSessionActivity(req.app, req.appVersion, req.deviceID, req.deviceName, req.remote, u)
	if err != nil {
		return nil, err
	}
	return &authenticationResult{User: s.userDTO(u), SessionInfo: s.sessionDTO(se), AccessToken: token, ServerID: s.id}, nil
}

// requireClientFields: App, DeviceId, DeviceName and AppVersion must be
// non-empty (ArgumentException → 400), before any user lookup.
func requireClientFields(req authRequest) error {
	for _, f := range []struct{ name, v string }{
		{"App", req.app}, {"DeviceId", req.deviceID}, {"DeviceName", req.deviceName}, {"AppVersion", req.appVersion},
	} {
		if f.v == "" {
			return argumentError(fmt.Sprintf("The value cannot be an empty string. (Parameter 'request.%s')", f.name))
		}
	}
	return nil
}

// sessionUser finds the user by id (Quick Connect) or name, then, for a
// password login, runs UserManager.AuthenticateUser.
func (s *Server) sessionUser(req authRequest) (*user, error) {
	var u *user
	if req.userID != "" && req.userID != zeroGUID {
		u = s.userByID(req.userID)
	}
	if u == nil {
		if req.username == nil || strings.TrimSpace(*req.username) == "" {
			return nil, argumentError("Invalid username (Parameter 'name')")
		}
		u = s.userByName(*req.username)
	}
	if !req.enforce {
		return u, nil
	}
	ip, _ := netip.ParseAddr(req.remote)
	return s.verifyUser(*req.username, req.password, ip, true)
}

// verifyUser is UserManager.AuthenticateUser (§3.1 steps 3–9, §3.4, §3.5).
// It returns nil (and no error) for an unknown user or a wrong password,
// which the caller turns into 401; a disabled user or a remote login
// without remote access is a SecurityException (403) whatever the password.
func (s *Server) verifyUser(name, pw string, ip netip.Addr, userSession bool) (*user, error) {
	ipStr := ipText(ip)
	if strings.TrimSpace(name) == "" {
		s.log.line("INF", srcUserManager, fmt.Sprintf("Authentication request without username has been denied (IP: %s).", q(ipStr)))
		return nil, argumentError("Value cannot be null. (Parameter 'username')")
	}
	u := s.userByName(name)
	if u == nil {
		s.log.loginDenied(name, ipStr)
		return nil, nil
	}
	success := checkPassword(u.passwordHash, pw)
	if u.policy.IsDisabled {
		s.log.loginDisabled(name, ipStr)
		return nil, securityError(fmt.Sprintf("The %s account is currently disabled. Please consult with your administrator.", u.name))
	}
	if !u.policy.EnableRemoteAccess && !isInLocalNetwork(ip, &s.netCfg) {
		s.log.loginRemoteForbidden(name, ipStr)
		return nil, securityError("Forbidden.")
	}
	if !success {
		s.recordFailedLogin(u)
		s.log.loginDenied(u.name, ipStr)
		return nil, nil
	}
	if userSession {
		u.lastLogin, u.lastActivity = s.now(), s.now()
	}
	u.invalidLogins = 0
	s.log.loginSucceeded(u.name)
	return u, nil
}

// recordFailedLogin counts a wrong password and locks the account when the
// limit is reached (§3.5). 10.11.11 forgets to persist the lock; the
// emulator implements the intended behaviour and keeps it.
func (s *Server) recordFailedLogin(u *user) {
	u.invalidLogins++
	limit := u.policy.LoginAttemptsBeforeLockout
	if limit != nil && u.invalidLogins >= *limit {
		u.policy.IsDisabled = true
		s.log.lockout(u.name, u.invalidLogins)
	}
}

// canAccessDevice is DeviceManager.CanAccessDevice: all devices, an
// administrator, a listed DeviceId (case-insensitive), or a device whose
// last reported capabilities say it has no persistent identifier.
func (s *Server) canAccessDevice(u *user, deviceID string) bool {
	if u.policy.EnableAllDevices || u.policy.IsAdministrator {
		return true
	}
	for _, d := range u.policy.EnabledDevices {
		if strings.EqualFold(d, deviceID) {
			return true
		}
	}
	caps, ok := s.caps[deviceID]
	return ok && !caps.SupportsPersistentIdentifier
}

// checkSessionLimit: MaxActiveSessions ≥ 1 and the user's live sessions
// already at the limit → 403. Counted before same-device revocation, so a
// user at the limit cannot even log in again from the same device.
func (s *Server) checkSessionLimit(u *user) error {
	n := 0
	for _, se := range s.sessions {
		if se.userID == u.id {
			n++
		}
	}
	limit := u.policy.MaxActiveSessions
	s.log.sessionCount(u.name, n, limit)
	if limit >= 1 && n >= limit {
		return securityError("User is at their maximum number of sessions.")
	}
	return nil
}

// issueToken is GetAuthorizationToken: every token of this user with the
// same DeviceId is logged out, then a new device row and token are made.
func (s *Server) issueToken(u *user, req authRequest) string {
	var old []*device
	for _, d := range s.devices {
		if d.userID == u.id && d.deviceID == req.deviceID {
			old = append(old, d)
		}
	}
	for _, d := range old {
		s.logoutDevice(d)
	}
	s.log.newToken(u.id)
	now := s.now()
	s.nextRowID++
	d := &device{
		rowID: s.nextRowID, token: newGUID(), userID: u.id,
		appName: req.app, appVersion: req.appVersion, deviceName: req.deviceName,
		deviceID: req.deviceID, created: now, lastActivity: now,
	}
	s.devices = append(s.devices, d)
	return d.token
}

// logoutDevice is SessionManager.Logout(Device): the token row goes and
// every session with that DeviceId ends, whoever its user is.
func (s *Server) logoutDevice(d *device) {
	s.log.logout(d.token)
	for i, x := range s.devices {
		if x == d {
			s.devices = append(s.devices[:i], s.devices[i+1:]...)
			break
		}
	}
	for key, se := range s.sessions {
		if strings.EqualFold(se.deviceID, d.deviceID) {
			delete(s.sessions, key)
		}
	}
}

// revokeUserTokens is RevokeUserTokens: every token of the user except
// keep (compared case-insensitively) is logged out.
func (s *Server) revokeUserTokens(userID, keep string) {
	var old []*device
	for _, d := range s.devices {
		if d.userID == userID && !strings.EqualFold(d.token, keep) {
			old = append(old, d)
		}
	}
	for _, d := range old {
		s.logoutDevice(d)
	}
}
