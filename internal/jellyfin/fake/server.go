package fake

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Server is the emulator. It is safe for concurrent use: one mutex guards
// all state, and it is never held while a response body, a stream or a
// WebSocket is being written.
type Server struct {
	mu         sync.Mutex
	now        func() time.Time
	log        *jfLogger
	id         string
	version    string
	prec1010   bool
	streamSize int64
	netCfg     NetworkConfig
	cfg        ServerConfig
	branding   brandingConfig

	users     []*user
	devices   []*device // Jellyfin's Devices table: one row per access token
	apiKeys   []*apiKey
	nextRowID int64
	sessions  map[string]*session // keyed by Client+DeviceId
	// deviceNames are DeviceOptions.CustomName values by DeviceId.
	deviceNames map[string]string
	// caps are the last reported capabilities by DeviceId.
	caps map[string]capabilities

	qcRequests   map[string]*qcRequest // by code
	qcAuthorized map[string]qcGrant    // by secret

	requests map[string]int
	items    []*item
	routes   []*route
}

// user is a row of Jellyfin's Users table.
type user struct {
	id            string
	name          string
	passwordHash  string // "" = no password
	policy        Policy
	invalidLogins int
	lastLogin     time.Time
	lastActivity  time.Time
}

// device is a row of the Devices table: an access token bound to a user and
// the client that logged in (§2.4).
type device struct {
	rowID        int64
	token        string
	userID       string
	appName      string
	appVersion   string
	deviceName   string
	deviceID     string
	created      time.Time
	lastActivity time.Time
}

// apiKey is a row of the ApiKeys table (§5).
type apiKey struct {
	rowID   int64
	token   string
	name    string
	created time.Time
}

// brandingConfig is branding.xml.
type brandingConfig struct {
	LoginDisclaimer     string `json:"LoginDisclaimer,omitempty"`
	CustomCSS           string `json:"CustomCss,omitempty"`
	SplashscreenEnabled bool   `json:"SplashscreenEnabled"`
}

// New returns an emulator with no users, no API keys and the fixed demo
// library (§12): one movie library view and three movies.
func New(o Options) *Server {
	s := &Server{
		now:          o.Now,
		id:           newGUID(),
		version:      orDefault(o.Version, "10.11.11"),
		prec1010:     o.Precedence1010,
		streamSize:   o.StreamSize,
		netCfg:       defaultNetworkConfig(),
		sessions:     map[string]*session{},
		deviceNames:  map[string]string{},
		caps:         map[string]capabilities{},
		qcRequests:   map[string]*qcRequest{},
		qcAuthorized: map[string]qcGrant{},
		requests:     map[string]int{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.streamSize <= 0 {
		s.streamSize = DefaultStreamSize
	}
	legacy := o.Legacy == nil || *o.Legacy
	s.cfg = defaultServerConfig(orDefault(o.ServerName, "Jellyfin Emulator"), legacy)
	s.netCfg.BaseURL = normalizeBaseURL(o.BaseURL)
	s.log = newLogger(o.Log, s.now)
	s.items = demoItems(s.now(), s.streamSize)
	s.routes = routeTable()
	return s
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// normalizeBaseURL is NetworkConfiguration.BaseUrl's setter: a leading slash
// is added and a trailing one removed.
func normalizeBaseURL(v string) string {
	if strings.TrimSpace(v) == "" {
		return ""
	}
	if v[0] != '/' {
		v = "/" + v
	}
	return strings.TrimSuffix(v, "/")
}

// credentialRules returns the live credential switches.
func (s *Server) credentialRules() credentialRules {
	return credentialRules{legacy: s.cfg.EnableLegacyAuthorization, prec1010: s.prec1010}
}

// ServerID returns the server's SystemId, the "Id" of /System/Info/Public
// that clients pin a saved server to (§7, §10.2).
func (s *Server) ServerID() string { return s.id }

// AddUser creates a user as Jellyfin's CreateUserAsync does (hidden from the
// login screen, remote access allowed, no lockout limit) and sets its
// password; an empty password makes a password-less user. An administrator
// also gets the rights the start-up wizard gives the first user. AddUser is
// set-up code: it panics if the name is invalid or already taken.
func (s *Server) AddUser(name, password string, admin bool) UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.createUser(name)
	if err != nil {
		panic(fmt.Sprintf("fake: AddUser(%q): %v", name, err))
	}
	u.passwordHash = hashPassword(password)
	if admin {
		u.policy.IsAdministrator = true
		u.policy.EnableContentDeletion = true
		u.policy.EnableRemoteControlOfOtherUsers = true
	}
	return UserInfo{ID: u.id, Name: u.name}
}

// SetHidden sets IsHidden, which only decides whether /Users/Public lists the
// user on the login screen (§6).
func (s *Server) SetHidden(name string, hidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByName(name); u != nil {
		u.policy.IsHidden = hidden
	}
}

// UpdatePolicy edits a user's stored policy directly, like editing the
// database: no LoginAttemptsBeforeLockout mapping and no token revocation
// (POST /Users/{id}/Policy does both).
func (s *Server) UpdatePolicy(name string, fn func(p *Policy)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(name)
	if u == nil {
		return fmt.Errorf("fake: no user %q", name)
	}
	p := u.policy.clone()
	fn(&p)
	u.policy = p
	return nil
}

// User returns a snapshot of the named user (matched case-insensitively).
func (s *Server) User(name string) (UserState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(name)
	if u == nil {
		return UserState{}, false
	}
	p := u.policy.clone()
	p.InvalidLoginAttemptCount = u.invalidLogins
	return UserState{
		ID: u.id, Name: u.name, InvalidLoginAttemptCount: u.invalidLogins,
		IsDisabled: u.policy.IsDisabled, Policy: p,
	}, true
}

// AddAPIKey creates an API key named app, as Dashboard → API Keys does, and
// returns its token. API keys are unscoped administrators (§2.5).
func (s *Server) AddAPIKey(app string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createAPIKey(app).token
}

// TokenValid reports whether token is a live session token or API key, the
// way Jellyfin compares tokens: exactly. It does not look at whether the
// token's user is disabled.
func (s *Server) TokenValid(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deviceByToken(token) != nil || s.apiKeyByToken(token) != nil
}

// Sessions returns the in-memory sessions, most recently active first (§5).
func (s *Server) Sessions() []SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SessionState
	for _, se := range s.sortedSessions() {
		out = append(out, SessionState{
			UserID: se.userID, UserName: se.userName, Client: se.client,
			DeviceID: se.deviceID, DeviceName: se.deviceName,
			RemoteEndPoint: se.remote, Token: s.sessionToken(se),
			LastActivity: se.lastActivity,
		})
	}
	return out
}

// UpdateNetwork edits the network configuration; changes apply to the next
// request (Jellyfin would need a restart for KnownProxies and BaseUrl).
func (s *Server) UpdateNetwork(fn func(n *NetworkConfig)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.netCfg)
	s.netCfg.BaseURL = normalizeBaseURL(s.netCfg.BaseURL)
}

// UpdateServerConfig edits the server configuration (QuickConnectAvailable,
// EnableLegacyAuthorization, IsStartupWizardCompleted, CorsHosts, …).
func (s *Server) UpdateServerConfig(fn func(c *ServerConfig)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.cfg)
}

// Requests counts the requests that reached the emulator and whose routed
// path (after decoding, dot-segment removal, BaseUrl and /emby stripping,
// lower-cased) starts with pathPrefix, compared in lower case. Tests use it
// to prove that the gateway kept a request away from Jellyfin.
func (s *Server) Requests(pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := strings.ToLower(pathPrefix)
	n := 0
	for p, c := range s.requests {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

// count records one request for Requests.
func (s *Server) count(path string) {
	s.mu.Lock()
	s.requests[strings.ToLower(path)]++
	s.mu.Unlock()
}

// Items lists the library items, views first.
func (s *Server) Items() []ItemInfo {
	var out []ItemInfo
	for _, it := range s.items {
		out = append(out, ItemInfo{ID: it.id, Name: it.name, StreamSize: it.streamSize})
	}
	return out
}

// userByName is GetUserByName: case-insensitive on the normalised name.
func (s *Server) userByName(name string) *user {
	want := normalizeUserName(name)
	for _, u := range s.users {
		if normalizeUserName(u.name) == want {
			return u
		}
	}
	return nil
}

// normalizeUserName is ToUpperInvariant as Jellyfin stores NormalizedUsername.
func normalizeUserName(n string) string { return strings.Map(ordinalUpper, n) }

func (s *Server) userByID(id string) *user {
	for _, u := range s.users {
		if u.id == id {
			return u
		}
	}
	return nil
}

// lookupUser is IUserManager.GetUserById, which refuses the empty GUID.
func (s *Server) lookupUser(id string) (*user, error) {
	if id == zeroGUID || id == "" {
		return nil, argumentError("Guid can't be empty (Parameter 'id')")
	}
	return s.userByID(id), nil
}

func (s *Server) sortedUsers() []*user {
	out := append([]*user(nil), s.users...)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.ToLower(out[i].name) < strings.ToLower(out[j].name)
	})
	return out
}

func (s *Server) deviceByToken(token string) *device {
	for _, d := range s.devices {
		if d.token == token {
			return d
		}
	}
	return nil
}

func (s *Server) apiKeyByToken(token string) *apiKey {
	for _, k := range s.apiKeys {
		if k.token == token {
			return k
		}
	}
	return nil
}

func (s *Server) createAPIKey(app string) *apiKey {
	s.nextRowID++
	k := &apiKey{rowID: s.nextRowID, token: newGUID(), name: app, created: s.now()}
	s.apiKeys = append(s.apiKeys, k)
	return k
}
