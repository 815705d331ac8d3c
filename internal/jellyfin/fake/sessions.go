package fake

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// session is an in-memory SessionInfo, keyed by Client+DeviceId (§5).
type session struct {
	key          string
	id           string
	userID       string
	userName     string
	client       string
	deviceID     string
	deviceName   string
	appVersion   string
	remote       string
	lastActivity time.Time
	customName   bool
	caps         capabilities
	sockets      int
}

// capabilities is ClientCapabilities as sessions and devices report it.
type capabilities struct {
	PlayableMediaTypes           []string `json:"PlayableMediaTypes"`
	SupportedCommands            []string `json:"SupportedCommands"`
	SupportsMediaControl         bool     `json:"SupportsMediaControl"`
	SupportsPersistentIdentifier bool     `json:"SupportsPersistentIdentifier"`
	AppStoreURL                  string   `json:"AppStoreUrl,omitempty"`
	IconURL                      string   `json:"IconUrl,omitempty"`
}

// defaultCapabilities is new ClientCapabilities().
func defaultCapabilities() capabilities {
	return capabilities{PlayableMediaTypes: []string{}, SupportedCommands: []string{}, SupportsPersistentIdentifier: true}
}

// logSessionActivity is SessionManager.LogSessionActivity: it finds or
// starts the session of Client+DeviceId and stamps it with the user, the
// client address and the time. Caller holds s.mu.
func (s *Server) logSessionActivity(app, version, deviceID, deviceName, remote string, u *user) (*session, error) {
	for _, f := range []struct{ name, v string }{{"appName", app}, {"appVersion", version}, {"deviceId", deviceID}} {
		if f.v == "" {
			return nil, argumentError("The value cannot be an empty string. (Parameter '" + f.name + "')")
		}
	}
	se := s.sessions[app+deviceID]
	if se == nil {
		se = s.startSession(app, deviceID, deviceName)
	}
	se.userID, se.userName = zeroGUID, ""
	if u != nil {
		se.userID, se.userName = u.id, u.name
	}
	se.remote, se.client, se.appVersion = remote, app, version
	if !se.customName || se.deviceName == "" {
		se.deviceName = deviceName
	}
	now := s.now()
	se.lastActivity = now
	if u != nil && now.Sub(u.lastActivity) > time.Minute {
		u.lastActivity = now
	}
	return se, nil
}

// startSession is CreateSessionInfo.
func (s *Server) startSession(app, deviceID, deviceName string) *session {
	key := app + deviceID
	se := &session{key: key, id: md5GUID(key), client: app, deviceID: deviceID, caps: defaultCapabilities()}
	if deviceName == "" {
		deviceName = "Network Device"
	}
	se.deviceName = deviceName
	if custom := s.deviceNames[deviceID]; custom != "" {
		se.deviceName, se.customName = custom, true
	}
	s.sessions[key] = se
	return se
}

func (s *Server) sortedSessions() []*session {
	out := make([]*session, 0, len(s.sessions))
	for _, se := range s.sessions {
		out = append(out, se)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].lastActivity.Equal(out[j].lastActivity) {
			return out[i].lastActivity.After(out[j].lastActivity)
		}
		return out[i].key < out[j].key
	})
	return out
}

// sessionToken finds the newest live token of the session's user and device.
func (s *Server) sessionToken(se *session) string {
	tok := ""
	for _, d := range s.devices {
		if d.userID == se.userID && d.deviceID == se.deviceID {
			tok = d.token
		}
	}
	return tok
}

// sessionDTO is SessionInfoDto (§3.1).
type sessionDTO struct {
	PlayState             playState    `json:"PlayState"`
	AdditionalUsers       []any        `json:"AdditionalUsers"`
	Capabilities          capabilities `json:"Capabilities"`
	RemoteEndPoint        string       `json:"RemoteEndPoint,omitempty"`
	PlayableMediaTypes    []string     `json:"PlayableMediaTypes"`
	ID                    string       `json:"Id"`
	UserID                string       `json:"UserId"`
	UserName              string       `json:"UserName,omitempty"`
	Client                string       `json:"Client"`
	LastActivityDate      jfTime       `json:"LastActivityDate"`
	LastPlaybackCheckIn   jfTime       `json:"LastPlaybackCheckIn"`
	DeviceName            string       `json:"DeviceName"`
	DeviceID              string       `json:"DeviceId"`
	ApplicationVersion    string       `json:"ApplicationVersion"`
	IsActive              bool         `json:"IsActive"`
	SupportsMediaControl  bool         `json:"SupportsMediaControl"`
	SupportsRemoteControl bool         `json:"SupportsRemoteControl"`
	HasCustomDeviceName   bool         `json:"HasCustomDeviceName"`
	ServerID              string       `json:"ServerId"`
	SupportedCommands     []string     `json:"SupportedCommands"`
}

// playState is PlayerStateInfo of an idle session.
type playState struct {
	CanSeek       bool   `json:"CanSeek"`
	IsPaused      bool   `json:"IsPaused"`
	IsMuted       bool   `json:"IsMuted"`
	RepeatMode    string `json:"RepeatMode"`
	PlaybackOrder string `json:"PlaybackOrder"`
}

func (s *Server) sessionDTO(se *session) sessionDTO {
	return sessionDTO{
		PlayState:       playState{RepeatMode: "RepeatNone", PlaybackOrder: "Default"},
		AdditionalUsers: []any{}, Capabilities: se.caps, RemoteEndPoint: se.remote,
		PlayableMediaTypes: se.caps.PlayableMediaTypes, ID: se.id, UserID: se.userID,
		UserName: se.userName, Client: se.client, LastActivityDate: jfTime(se.lastActivity),
		DeviceName: se.deviceName, DeviceID: se.deviceID, ApplicationVersion: se.appVersion,
		IsActive: true, SupportsMediaControl: se.caps.SupportsMediaControl,
		SupportsRemoteControl: se.sockets > 0, HasCustomDeviceName: se.customName,
		ServerID: s.id, SupportedCommands: se.caps.SupportedCommands,
	}
}

// getSessions is GET /Sessions (§5): administrators and API keys see every
// session; other users their own and those without a user.
func getSessions(s *Server, c *call) (*reply, error) {
	deviceID, _ := c.equery.get("deviceId")
	active, _ := c.equery.get("activeWithinSeconds")
	secs, _ := strconv.Atoi(active)
	out := []sessionDTO{}
	for _, se := range s.sortedSessions() {
		if deviceID != "" && !strings.EqualFold(se.deviceID, deviceID) {
			continue
		}
		if !c.auth.admin() && se.userID != zeroGUID && se.userID != c.auth.userID() {
			continue
		}
		if secs > 0 && se.lastActivity.Before(s.now().Add(-time.Duration(secs)*time.Second)) {
			continue
		}
		out = append(out, s.sessionDTO(se))
	}
	return c.jsonReply(200, out), nil
}

// logout is POST /Sessions/Logout (§5): the caller's token row is deleted
// and the sessions of its DeviceId end; with an API key nothing happens.
func logout(s *Server, c *call) (*reply, error) {
	if d := s.deviceByToken(c.auth.token); d != nil {
		s.logoutDevice(d)
	}
	return noContent(), nil
}

// callerSession is RequestHelpers.GetSession: LogSessionActivity with the
// caller's claims.
func (s *Server) callerSession(c *call) (*session, error) {
	return s.logSessionActivity(c.auth.client, c.auth.version, c.auth.deviceID, c.auth.device, c.ip(), c.auth.user)
}

// postCapabilities is POST /Sessions/Capabilities/Full: the reported
// capabilities replace the session's and are saved for the DeviceId, where
// SupportsPersistentIdentifier (false when omitted) feeds the device rule.
func postCapabilities(s *Server, c *call) (*reply, error) {
	var body struct {
		PlayableMediaTypes           json.RawMessage `json:"PlayableMediaTypes"`
		SupportedCommands            json.RawMessage `json:"SupportedCommands"`
		SupportsMediaControl         bool            `json:"SupportsMediaControl"`
		SupportsPersistentIdentifier bool            `json:"SupportsPersistentIdentifier"`
		AppStoreURL                  string          `json:"AppStoreUrl"`
		IconURL                      string          `json:"IconUrl"`
	}
	if bad := c.bindJSON(&body); bad != nil {
		return bad, nil
	}
	se, err := s.sessionForCapabilities(c)
	if err != nil {
		return nil, err
	}
	se.caps = capabilities{
		PlayableMediaTypes: delimitedList(body.PlayableMediaTypes), SupportedCommands: delimitedList(body.SupportedCommands),
		SupportsMediaControl: body.SupportsMediaControl, SupportsPersistentIdentifier: body.SupportsPersistentIdentifier,
		AppStoreURL: body.AppStoreURL, IconURL: body.IconURL,
	}
	s.caps[se.deviceID] = se.caps
	return noContent(), nil
}

// sessionForCapabilities resolves ?id= or the caller's own session.
func (s *Server) sessionForCapabilities(c *call) (*session, error) {
	id, _ := c.equery.get("id")
	if strings.TrimSpace(id) == "" {
		return s.callerSession(c)
	}
	for _, se := range s.sessions {
		if se.id == id {
			return se, nil
		}
	}
	return nil, notFoundError("Session not found")
}

// delimitedList reads JsonCommaDelimitedCollectionConverter input: an
// array or a comma-separated string.
func delimitedList(raw json.RawMessage) []string {
	out := []string{}
	var arr []string
	if json.Unmarshal(raw, &arr) == nil && arr != nil {
		return arr
	}
	var str string
	if json.Unmarshal(raw, &str) == nil && str != "" {
		for _, p := range strings.Split(str, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// reportActivity serves the playback reports (/Sessions/Playing…): they only
// touch the caller's session here.
func reportActivity(s *Server, c *call) (*reply, error) {
	if _, err := s.callerSession(c); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// deviceInfoDTO is DeviceInfoDto (§5); the access token is not filled in.
type deviceInfoDTO struct {
	Name             string       `json:"Name"`
	CustomName       string       `json:"CustomName,omitempty"`
	ID               string       `json:"Id"`
	LastUserName     string       `json:"LastUserName"`
	AppName          string       `json:"AppName"`
	AppVersion       string       `json:"AppVersion"`
	LastUserID       string       `json:"LastUserId"`
	DateLastActivity jfTime       `json:"DateLastActivity"`
	Capabilities     capabilities `json:"Capabilities"`
	IconURL          string       `json:"IconUrl,omitempty"`
}

// queryResult is QueryResult<T>.
type queryResult[T any] struct {
	Items            []T `json:"Items"`
	TotalRecordCount int `json:"TotalRecordCount"`
	StartIndex       int `json:"StartIndex"`
}

func newQueryResult[T any](items []T) queryResult[T] {
	if items == nil {
		items = []T{}
	}
	return queryResult[T]{Items: items, TotalRecordCount: len(items)}
}

func (s *Server) deviceDTO(d *device) deviceInfoDTO {
	caps, ok := s.caps[d.deviceID]
	if !ok {
		caps = defaultCapabilities()
	}
	name := ""
	if u := s.userByID(d.userID); u != nil {
		name = u.name
	}
	return deviceInfoDTO{
		Name: d.deviceName, CustomName: s.deviceNames[d.deviceID], ID: d.deviceID,
		LastUserName: name, AppName: d.appName, AppVersion: d.appVersion, LastUserID: d.userID,
		DateLastActivity: jfTime(d.lastActivity), Capabilities: caps, IconURL: caps.IconURL,
	}
}

// getDevices is GET /Devices (§5): one entry per token row, newest
// activity first, filtered by the device rule of ?userId (default: caller).
func getDevices(s *Server, c *call) (*reply, error) {
	req, bad := c.optionalGUID("userId")
	if bad != nil {
		return bad, nil
	}
	uid, err := callerUserID(c, req)
	if err != nil {
		return nil, err
	}
	var filter *user
	if uid != zeroGUID {
		if filter = s.userByID(uid); filter == nil {
			return nil, notFoundError("User not found")
		}
	}
	return c.jsonReply(200, newQueryResult(s.deviceDTOs(filter))), nil
}

func (s *Server) deviceDTOs(filter *user) []deviceInfoDTO {
	rows := append([]*device(nil), s.devices...)
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].lastActivity.Equal(rows[j].lastActivity) {
			return rows[i].lastActivity.After(rows[j].lastActivity)
		}
		return rows[i].deviceID < rows[j].deviceID
	})
	var out []deviceInfoDTO
	for _, d := range rows {
		if filter == nil || s.canAccessDevice(filter, d.deviceID) {
			out = append(out, s.deviceDTO(d))
		}
	}
	return out
}

// latestDevice is DeviceManager.GetDevice: the most recently active row.
func (s *Server) latestDevice(id string) *device {
	var best *device
	for _, d := range s.devices {
		if d.deviceID == id && (best == nil || d.lastActivity.After(best.lastActivity)) {
			best = d
		}
	}
	return best
}

// getDeviceInfo is GET /Devices/Info?id=.
func getDeviceInfo(s *Server, c *call) (*reply, error) {
	id, bad := c.requiredQuery("id")
	if bad != nil {
		return bad, nil
	}
	d := s.latestDevice(id)
	if d == nil {
		return problem(404), nil
	}
	return c.jsonReply(200, s.deviceDTO(d)), nil
}

// getDeviceOptions is GET /Devices/Options?id=.
func getDeviceOptions(s *Server, c *call) (*reply, error) {
	id, bad := c.requiredQuery("id")
	if bad != nil {
		return bad, nil
	}
	name, ok := s.deviceNames[id]
	if !ok {
		return problem(404), nil
	}
	return c.jsonReply(200, map[string]any{"Id": 0, "DeviceId": id, "CustomName": name}), nil
}

// postDeviceOptions is POST /Devices/Options?id=: sets the custom name
// sessions of that device show.
func postDeviceOptions(s *Server, c *call) (*reply, error) {
	id, bad := c.requiredQuery("id")
	if bad != nil {
		return bad, nil
	}
	var body struct {
		CustomName string `json:"CustomName"`
	}
	if bad := c.bindJSON(&body); bad != nil {
		return bad, nil
	}
	s.deviceNames[id] = body.CustomName
	for _, se := range s.sessions {
		if se.deviceID == id && body.CustomName != "" {
			se.deviceName, se.customName = body.CustomName, true
		}
	}
	return noContent(), nil
}

// deleteDevice is DELETE /Devices?id= (§5): every token with that DeviceId,
// of any user, is logged out; unknown → 404.
func deleteDevice(s *Server, c *call) (*reply, error) {
	id, bad := c.requiredQuery("id")
	if bad != nil {
		return bad, nil
	}
	if s.latestDevice(id) == nil {
		return problem(404), nil
	}
	var rows []*device
	for _, d := range s.devices {
		if d.deviceID == id {
			rows = append(rows, d)
		}
	}
	for _, d := range rows {
		s.logoutDevice(d)
	}
	return noContent(), nil
}

// authKeyDTO is AuthenticationInfo as GET /Auth/Keys fills it (§5).
type authKeyDTO struct {
	ID               int64  `json:"Id"`
	AccessToken      string `json:"AccessToken"`
	DeviceID         string `json:"DeviceId"`
	AppName          string `json:"AppName"`
	AppVersion       string `json:"AppVersion"`
	DeviceName       string `json:"DeviceName"`
	UserID           string `json:"UserId"`
	IsActive         bool   `json:"IsActive"`
	DateCreated      jfTime `json:"DateCreated"`
	DateLastActivity jfTime `json:"DateLastActivity"`
}

// getKeys is GET /Auth/Keys.
func getKeys(s *Server, c *call) (*reply, error) {
	var out []authKeyDTO
	for _, k := range s.apiKeys {
		out = append(out, authKeyDTO{AccessToken: k.token, AppName: k.name, UserID: zeroGUID, DateCreated: jfTime(k.created)})
	}
	return c.jsonReply(200, newQueryResult(out)), nil
}

// createKey is POST /Auth/Keys?app=: 204 with no body; the new key has to
// be found by its AppName.
func createKey(s *Server, c *call) (*reply, error) {
	app, bad := c.requiredQuery("app")
	if bad != nil {
		return bad, nil
	}
	s.createAPIKey(app)
	return noContent(), nil
}

// revokeKey is DELETE /Auth/Keys/{key}: the path holds the key's value;
// an unknown key is still 204.
func revokeKey(s *Server, c *call) (*reply, error) {
	key := c.params["key"]
	for i, k := range s.apiKeys {
		if k.token == key {
			s.apiKeys = append(s.apiKeys[:i], s.apiKeys[i+1:]...)
			break
		}
	}
	return noContent(), nil
}

// getAuthProviders serves /Auth/Providers and /Auth/PasswordResetProviders.
func getAuthProviders(name, id string) handler {
	return func(s *Server, c *call) (*reply, error) {
		return c.jsonReply(200, []map[string]string{{"Name": name, "Id": id}}), nil
	}
}
