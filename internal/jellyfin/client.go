package jellyfin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Version is the gateway's version, sent to Jellyfin in the device fields of
// its API key header so that its calls are recognisable in Jellyfin's
// device and activity lists.
const Version = "0.1.0"

// Device fields the client sends with the API key.
const (
	clientName     = "jellyguard"
	clientDeviceID = "jellyguard-gateway"
)

// maxBody bounds every response body read into memory: Jellyfin's answers
// to these calls are small, and an upstream that misbehaves must not
// exhaust the gateway.
const maxBody = 1 << 20

// Errors callers branch on. They are wrapped with the method, path and
// status; the token is never part of an error.
var (
	// ErrInvalidToken: Jellyfin answered 401, it does not know the token.
	ErrInvalidToken = errors.New("jellyfin rejected the token")
	// ErrNoUser: /Users/Me answered 400, the token is an API key.
	ErrNoUser = errors.New("token has no user (an API key)")
	// ErrForbidden: Jellyfin answered 403. On an authenticated call the
	// token is valid but its owner may not do this from here: remote
	// access off and the client not on Jellyfin's LAN, outside the access
	// schedule, or not an administrator. (A disabled user's token fails
	// authentication, 401; only a login answers 403 for it.)
	ErrForbidden = errors.New("jellyfin refused the request")
	// ErrNoAPIKey: the call needs the gateway's API key and none is set.
	ErrNoAPIKey = errors.New("no Jellyfin API key configured")
	// ErrNotFound: Jellyfin answered 404 (an unknown device, for instance).
	ErrNotFound = errors.New("jellyfin has no such object")
)

// Client calls the Jellyfin behind the gateway, for the few things the
// gateway and its CLI need to ask: who owns a token, which API keys exist,
// how Jellyfin's network is configured, and to end sessions.
type Client struct {
	base   *url.URL
	apiKey string
	hc     *http.Client
}

// NewClient returns a client for the Jellyfin at baseURL (its BaseUrl
// included, e.g. http://127.0.0.1:8096/jellyfin). apiKey may be empty; calls
// that need it then fail with ErrNoAPIKey. A nil hc gets a client with 10 s
// timeouts that does not follow redirects: a redirect from Jellyfin means a
// wrong BaseUrl, and following it could carry the key elsewhere.
func NewClient(baseURL *url.URL, apiKey string, hc *http.Client) *Client {
	if hc == nil {
		hc = defaultHTTPClient()
	}
	b := *baseURL
	b.Path = strings.TrimSuffix(b.Path, "/")
	b.RawPath = ""
	b.RawQuery, b.Fragment = "", ""
	return &Client{base: &b, apiKey: apiKey, hc: hc}
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 10 * time.Second
	return &http.Client{
		Transport: t,
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// PublicInfo is Jellyfin's anonymous /System/Info/Public answer: the server
// Id that clients pin a saved server to, and whether setup is finished.
type PublicInfo struct {
	ServerName             string `json:"ServerName"`
	Version                string `json:"Version"`
	ProductName            string `json:"ProductName"`
	ID                     string `json:"Id"`
	StartupWizardCompleted bool   `json:"StartupWizardCompleted"`
	LocalAddress           string `json:"LocalAddress"`
}

// PublicInfo asks GET /System/Info/Public, with no credentials.
func (c *Client) PublicInfo(ctx context.Context) (PublicInfo, error) {
	var info PublicInfo
	err := c.do(ctx, call{method: http.MethodGet, path: "/System/Info/Public", out: &info})
	return info, err
}

// Owner is the user a token belongs to.
type Owner struct {
	UserID   string
	UserName string
	IsAdmin  bool
}

// UserForToken asks GET /Users/Me as the token's owner. It sends only
// `Authorization: MediaBrowser Token="…"` (device fields would overwrite
// the token's device record in Jellyfin) and, when clientIP is set,
// X-Forwarded-For so Jellyfin applies its remote-access rules to the real
// client. ErrInvalidToken, ErrNoUser (an API key) and ErrForbidden tell the
// outcomes apart; with ErrForbidden the token is valid but Jellyfin does not
// say whose it is.
func (c *Client) UserForToken(ctx context.Context, token, clientIP string) (Owner, error) {
	if isBlank(token) {
		return Owner{}, fmt.Errorf("jellyfin GET /Users/Me: empty token: %w", ErrInvalidToken)
	}
	var u userDTO
	cl := call{method: http.MethodGet, path: "/Users/Me", auth: tokenHeader(token), out: &u, on400: ErrNoUser}
	if clientIP != "" {
		cl.forwardedFor = clientIP
	}
	if err := c.do(ctx, cl); err != nil {
		return Owner{}, err
	}
	return Owner{UserID: u.ID, UserName: u.Name, IsAdmin: u.Policy.IsAdministrator}, nil
}

// APIKey is one key from Dashboard → API Keys.
type APIKey struct {
	AccessToken string
	AppName     string
	DateCreated time.Time
}

// APIKeys lists Jellyfin's API keys (GET /Auth/Keys with the API key), so
// the gateway can tell a key from a user token without asking per token.
func (c *Client) APIKeys(ctx context.Context) ([]APIKey, error) {
	var res struct {
		Items []struct {
			AccessToken string `json:"AccessToken"`
			AppName     string `json:"AppName"`
			DateCreated jfTime `json:"DateCreated"`
		} `json:"Items"`
	}
	if err := c.doWithKey(ctx, call{method: http.MethodGet, path: "/Auth/Keys", out: &res}); err != nil {
		return nil, err
	}
	keys := make([]APIKey, 0, len(res.Items))
	for _, it := range res.Items {
		keys = append(keys, APIKey{AccessToken: it.AccessToken, AppName: it.AppName, DateCreated: it.DateCreated.Time})
	}
	return keys, nil
}

// Logout ends a token's session (POST /Sessions/Logout as the token), for
// withheld tokens whose challenge expired and for revocations. A 401 means
// the token is already gone, which is the goal, so it is not an error.
func (c *Client) Logout(ctx context.Context, token string) error {
	if isBlank(token) {
		return errors.New("jellyfin POST /Sessions/Logout: no token to log out")
	}
	err := c.do(ctx, call{method: http.MethodPost, path: "/Sessions/Logout", auth: tokenHeader(token)})
	if errors.Is(err, ErrInvalidToken) {
		return nil
	}
	return err
}

// NetworkConfig is the part of Jellyfin's network configuration the gateway
// checks: its BaseUrl, whether it trusts the gateway's X-Forwarded-For, and
// what it calls local.
type NetworkConfig struct {
	BaseURL             string   `json:"BaseUrl"`
	KnownProxies        []string `json:"KnownProxies"`
	LocalNetworkSubnets []string `json:"LocalNetworkSubnets"`
	EnableRemoteAccess  bool     `json:"EnableRemoteAccess"`
}

// NetworkConfig reads GET /System/Configuration/network with the API key.
func (c *Client) NetworkConfig(ctx context.Context) (NetworkConfig, error) {
	var nc NetworkConfig
	err := c.doWithKey(ctx, call{method: http.MethodGet, path: "/System/Configuration/network", out: &nc})
	return nc, err
}

// User is a Jellyfin user as the gateway's console and CLI show it.
type User struct {
	ID              string
	Name            string
	IsAdministrator bool
	IsDisabled      bool
	LastLoginDate   time.Time
}

// Users lists Jellyfin's users (GET /Users with the API key).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var dtos []userDTO
	if err := c.doWithKey(ctx, call{method: http.MethodGet, path: "/Users", out: &dtos}); err != nil {
		return nil, err
	}
	users := make([]User, 0, len(dtos))
	for _, u := range dtos {
		users = append(users, User{
			ID: u.ID, Name: u.Name, IsAdministrator: u.Policy.IsAdministrator,
			IsDisabled: u.Policy.IsDisabled, LastLoginDate: u.LastLoginDate.Time,
		})
	}
	return users, nil
}

// DeleteDevice logs out every token of a device, for any user
// (DELETE /Devices?id= with the API key). It is the only way Jellyfin
// offers to end another client's session.
func (c *Client) DeleteDevice(ctx context.Context, deviceID string) error {
	if deviceID == "" {
		return errors.New("jellyfin DELETE /Devices: empty device id")
	}
	q := url.Values{"id": {deviceID}}
	return c.doWithKey(ctx, call{method: http.MethodDelete, path: "/Devices", query: q})
}

// userDTO is the part of Jellyfin's UserDto the client reads.
type userDTO struct {
	ID            string `json:"Id"`
	Name          string `json:"Name"`
	LastLoginDate jfTime `json:"LastLoginDate"`
	Policy        struct {
		IsAdministrator bool `json:"IsAdministrator"`
		IsDisabled      bool `json:"IsDisabled"`
	} `json:"Policy"`
}

// tokenHeader is the Authorization value that presents a token and nothing
// else.
func tokenHeader(token string) string {
	var sb strings.Builder
	sb.WriteString("MediaBrowser ")
	writeField(&sb, "Token", token)
	return sb.String()
}

// call is one request to Jellyfin.
type call struct {
	method, path string
	query        url.Values
	auth         string // Authorization header value, "" for none
	forwardedFor string
	body         any   // JSON request body; nil for none
	out          any   // JSON destination; nil to discard the body
	on400        error // the error a 400 means, if it means something
}

// Identity is the client a sign-in is made for: Jellyfin records the
// session under it.
type Identity struct{ Client, Device, DeviceID, Version string }

// AuthenticateByName signs a user in with a password, as the client id
// (the gateway's own sign-in page does this for people without the
// Jellyfin UI). ErrInvalidToken means a wrong name or password, as for any
// 401.
func (c *Client) AuthenticateByName(ctx context.Context, user, password string, id Identity, clientIP string) (AuthResult, error) {
	var raw json.RawMessage
	err := c.do(ctx, call{method: http.MethodPost, path: "/Users/AuthenticateByName",
		auth:         AuthHeader(id.Client, id.Device, id.DeviceID, id.Version, ""),
		forwardedFor: clientIP, body: map[string]string{"Username": user, "Pw": password}, out: &raw})
	if err != nil {
		return AuthResult{}, err
	}
	return ParseAuthResult(raw)
}

// doWithKey makes the call with the gateway's API key.
func (c *Client) doWithKey(ctx context.Context, cl call) error {
	if c.apiKey == "" {
		return fmt.Errorf("jellyfin %s %s: %w", cl.method, cl.path, ErrNoAPIKey)
	}
	cl.auth = AuthHeader(clientName, clientName, clientDeviceID, Version, c.apiKey)
	return c.do(ctx, cl)
}

// do sends the call and decodes a 2xx answer into cl.out.
func (c *Client) do(ctx context.Context, cl call) error {
	req, err := c.newRequest(ctx, cl)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("jellyfin %s %s: %w", cl.method, cl.path, redactURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := readLimited(resp.Body)
	if err != nil {
		return fmt.Errorf("jellyfin %s %s: read response: %w", cl.method, cl.path, err)
	}
	if err := statusError(resp.StatusCode, cl.on400); err != nil {
		return fmt.Errorf("jellyfin %s %s: status %d: %w", cl.method, cl.path, resp.StatusCode, err)
	}
	if cl.out == nil {
		return nil
	}
	if err := json.Unmarshal(body, cl.out); err != nil {
		return fmt.Errorf("jellyfin %s %s: decode response: %w", cl.method, cl.path, err)
	}
	return nil
}

// newRequest builds the HTTP request for a call.
func (c *Client) newRequest(ctx context.Context, cl call) (*http.Request, error) {
	u := c.base.JoinPath(cl.path)
	u.RawQuery = cl.query.Encode()
	var body io.Reader
	if cl.body != nil {
		data, err := json.Marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("jellyfin %s %s: encode body: %w", cl.method, cl.path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("jellyfin %s %s: build request: %w", cl.method, cl.path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", clientName+"/"+Version)
	if cl.auth != "" {
		req.Header.Set("Authorization", cl.auth)
	}
	if cl.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", cl.forwardedFor)
	}
	return req, nil
}

// readLimited reads at most maxBody bytes and fails beyond.
func readLimited(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("response body over %d bytes", maxBody)
	}
	return body, nil
}

// statusError maps a status code to the error callers branch on; nil for
// 2xx.
func statusError(code int, on400 error) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized:
		return ErrInvalidToken
	case code == http.StatusForbidden:
		return ErrForbidden
	case code == http.StatusNotFound:
		return ErrNotFound
	case code == http.StatusBadRequest && on400 != nil:
		return on400
	}
	return errors.New("unexpected status")
}

// redactURLError keeps the cause of a transport error but drops the URL,
// which url.Error would print; the query may hold a device id and, in a
// caller's custom transport, anything else.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
