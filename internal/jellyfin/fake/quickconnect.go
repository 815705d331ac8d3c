package fake

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"time"
)

// qcTimeout is QuickConnectManager.Timeout: requests and authorised secrets
// live ten minutes (§4).
const qcTimeout = 10 * time.Minute

// qcRequest is a pending or authorised QuickConnectResult.
type qcRequest struct {
	Authenticated bool   `json:"Authenticated"`
	Secret        string `json:"Secret"`
	Code          string `json:"Code"`
	DeviceID      string `json:"DeviceId"`
	DeviceName    string `json:"DeviceName"`
	AppName       string `json:"AppName"`
	AppVersion    string `json:"AppVersion"`
	DateAdded     jfTime `json:"DateAdded"`
}

// qcGrant is an authorised secret with the session it minted.
type qcGrant struct {
	at     time.Time
	result *authenticationResult
}

// qcDisabled is the controllers' Unauthorized("Quick connect is disabled").
func qcDisabled(c *call) *reply { return c.jsonReply(401, "Quick connect is disabled") }

// getQuickConnectEnabled is GET /QuickConnect/Enabled.
func getQuickConnectEnabled(s *Server, c *call) (*reply, error) {
	return c.jsonReply(200, s.cfg.QuickConnectAvailable), nil
}

// initiateQuickConnect is POST (and the obsolete GET) /QuickConnect/Initiate:
// the four client fields are required (400) before the enabled check (401).
func initiateQuickConnect(s *Server, c *call) (*reply, error) {
	a := c.auth
	for _, f := range []struct{ name, v string }{
		{"DeviceId", a.deviceID}, {"Device", a.device}, {"Client", a.client}, {"Version", a.version},
	} {
		if f.v == "" {
			return nil, argumentError("The value cannot be an empty string. (Parameter 'authorizationInfo." + f.name + "')")
		}
	}
	if !s.cfg.QuickConnectAvailable {
		return qcDisabled(c), nil
	}
	s.expireQuickConnect()
	r := &qcRequest{
		Secret: randomHex(32, true), Code: quickConnectCode(), DeviceID: a.deviceID,
		DeviceName: a.device, AppName: a.client, AppVersion: a.version, DateAdded: jfTime(s.now()),
	}
	s.qcRequests[r.Code] = r
	return c.jsonReply(200, r), nil
}

// quickConnectCode is GenerateCode: a uniformly scaled number in
// 100000–999999.
func quickConnectCode() string {
	var b [4]byte
	scale := uint32(0xFFFFFFFF)
	for scale == 0xFFFFFFFF {
		_, _ = rand.Read(b[:])
		scale = binary.LittleEndian.Uint32(b[:])
	}
	return strconv.Itoa(100000 + int(900000*(float64(scale)/float64(0xFFFFFFFF))))
}

// getQuickConnectState is GET /QuickConnect/Connect?secret=.
func getQuickConnectState(s *Server, c *call) (*reply, error) {
	secret, bad := c.requiredQuery("secret")
	if bad != nil {
		return bad, nil
	}
	if !s.cfg.QuickConnectAvailable {
		return qcDisabled(c), nil
	}
	s.expireQuickConnect()
	for _, r := range s.qcRequests {
		if r.Secret == secret {
			return c.jsonReply(200, r), nil
		}
	}
	return c.jsonReply(404, "Unknown secret"), nil
}

// authorizeQuickConnect is POST /QuickConnect/Authorize?code=&userId= (§4.1):
// an administrator or API key may name any user; the session is minted with
// AuthenticateDirect.
func authorizeQuickConnect(s *Server, c *call) (*reply, error) {
	code, bad := c.requiredQuery("code")
	if bad != nil {
		return bad, nil
	}
	req, bad := c.optionalGUID("userId")
	if bad != nil {
		return bad, nil
	}
	uid, err := callerUserID(c, req)
	if err != nil {
		return nil, err
	}
	if !s.cfg.QuickConnectAvailable {
		return qcDisabled(c), nil
	}
	if err := s.authorizeRequest(uid, code); err != nil {
		return nil, err
	}
	return c.jsonReply(200, true), nil
}

// authorizeRequest is QuickConnectManager.AuthorizeRequest: unknown code →
// 404, already authorised → 500 (InvalidOperationException is unmapped).
// The request's expiry moves to now+1 min before the session is minted.
func (s *Server) authorizeRequest(userID, code string) error {
	s.expireQuickConnect()
	r := s.qcRequests[code]
	if r == nil {
		return notFoundError("Unable to find request")
	}
	if r.Authenticated {
		return invalidOpError("Request is already authorized")
	}
	r.DateAdded = jfTime(s.now().Add(time.Minute))
	res, err := s.newSession(authRequest{
		userID: userID, deviceID: r.DeviceID, deviceName: r.DeviceName,
		app: r.AppName, appVersion: r.AppVersion,
	})
	if err != nil {
		return err
	}
	s.qcAuthorized[r.Secret] = qcGrant{at: s.now(), result: res}
	r.Authenticated = true
	return nil
}

// authenticateWithQuickConnect is POST /Users/AuthenticateWithQuickConnect
// (§3.2): the authorised result, as often as asked, for ten minutes.
func authenticateWithQuickConnect(s *Server, c *call) (*reply, error) {
	var body struct {
		Secret *string `json:"Secret"`
	}
	if bad := c.bindJSON(&body); bad != nil {
		return bad, nil
	}
	if body.Secret == nil {
		return validationProblem(map[string][]string{"Secret": {"The Secret field is required."}}), nil
	}
	if !s.cfg.QuickConnectAvailable {
		return nil, authError("Quick connect is not active on this server")
	}
	s.expireQuickConnect()
	g, ok := s.qcAuthorized[*body.Secret]
	if !ok {
		return nil, notFoundError("Unable to find request")
	}
	return c.jsonReply(200, g.result), nil
}

// expireQuickConnect is ExpireRequests.
func (s *Server) expireQuickConnect() {
	min := s.now().Add(-qcTimeout)
	for code, r := range s.qcRequests {
		if time.Time(r.DateAdded).Before(min) {
			delete(s.qcRequests, code)
		}
	}
	for secret, g := range s.qcAuthorized {
		if g.at.Before(min) {
			delete(s.qcAuthorized, secret)
		}
	}
}
