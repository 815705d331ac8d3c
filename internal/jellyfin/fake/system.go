package fake

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
)

// publicSystemInfo is PublicSystemInfo (§7).
type publicSystemInfo struct {
	LocalAddress           string `json:"LocalAddress"`
	ServerName             string `json:"ServerName"`
	Version                string `json:"Version"`
	ProductName            string `json:"ProductName"`
	OperatingSystem        string `json:"OperatingSystem"`
	ID                     string `json:"Id"`
	StartupWizardCompleted bool   `json:"StartupWizardCompleted"`
}

// systemInfo is SystemInfo: the public part plus server details.
type systemInfo struct {
	publicSystemInfo
	OperatingSystemDisplayName string              `json:"OperatingSystemDisplayName"`
	PackageName                string              `json:"PackageName"`
	HasPendingRestart          bool                `json:"HasPendingRestart"`
	IsShuttingDown             bool                `json:"IsShuttingDown"`
	SupportsLibraryMonitor     bool                `json:"SupportsLibraryMonitor"`
	WebSocketPortNumber        int                 `json:"WebSocketPortNumber"`
	CompletedInstallations     []any               `json:"CompletedInstallations"`
	CanSelfRestart             bool                `json:"CanSelfRestart"`
	CanLaunchWebBrowser        bool                `json:"CanLaunchWebBrowser"`
	ProgramDataPath            string              `json:"ProgramDataPath"`
	WebPath                    string              `json:"WebPath"`
	ItemsByNamePath            string              `json:"ItemsByNamePath"`
	CachePath                  string              `json:"CachePath"`
	LogPath                    string              `json:"LogPath"`
	InternalMetadataPath       string              `json:"InternalMetadataPath"`
	TranscodingTempPath        string              `json:"TranscodingTempPath"`
	CastReceiverApplications   []map[string]string `json:"CastReceiverApplications"`
	HasUpdateAvailable         bool                `json:"HasUpdateAvailable"`
	EncoderLocation            string              `json:"EncoderLocation"`
	SystemArchitecture         string              `json:"SystemArchitecture"`
}

// publicInfo builds PublicSystemInfo. LocalAddress is the address the
// request arrived on (Jellyfin's bind address), including the BaseUrl.
func (s *Server) publicInfo(c *call) publicSystemInfo {
	return publicSystemInfo{
		LocalAddress: s.localAddress(c), ServerName: s.cfg.ServerName, Version: s.version,
		ProductName: "Jellyfin Server", ID: s.id,
		StartupWizardCompleted: s.cfg.IsStartupWizardCompleted,
	}
}

func (s *Server) localAddress(c *call) string {
	if s.netCfg.EnablePublishedServerURIByRequest {
		return c.peer.scheme + "://" + c.peer.host + s.netCfg.BaseURL
	}
	host := "127.0.0.1:8096"
	if a, ok := c.r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		host = a.String()
	}
	return "http://" + host + s.netCfg.BaseURL
}

// getPublicSystemInfo is GET /System/Info/Public (anonymous).
func getPublicSystemInfo(s *Server, c *call) (*reply, error) {
	return c.jsonReply(200, s.publicInfo(c)), nil
}

// getSystemInfo is GET /System/Info: 200 for any valid token, which is how
// jellyfin-web checks a stored token at start-up (§7, §10.2).
func getSystemInfo(s *Server, c *call) (*reply, error) {
	return c.jsonReply(200, systemInfo{
		publicSystemInfo: s.publicInfo(c), SupportsLibraryMonitor: true,
		WebSocketPortNumber: s.netCfg.InternalHTTPPort, CompletedInstallations: []any{},
		CanSelfRestart: true, ProgramDataPath: "/config", WebPath: "/jellyfin/jellyfin-web",
		ItemsByNamePath: "/config/metadata", CachePath: "/cache", LogPath: "/config/log",
		InternalMetadataPath: "/config/metadata", TranscodingTempPath: "/cache/transcodes",
		CastReceiverApplications: []map[string]string{
			{"Id": "F007D354", "Name": "Stable"}, {"Id": "6F511C87", "Name": "Unstable"},
		},
		EncoderLocation: "System", SystemArchitecture: "X64",
	}), nil
}

// ping is GET/POST /System/Ping: the product name as a JSON string.
func ping(s *Server, c *call) (*reply, error) {
	return c.jsonReply(200, "Jellyfin Server"), nil
}

// health is the /health check endpoint.
func health(s *Server, c *call) (*reply, error) {
	return newReply(200, "text/plain", []byte("Healthy")), nil
}

// getUtcTime is GET /GetUtcTime.
func getUtcTime(s *Server, c *call) (*reply, error) {
	now := jfTime(s.now())
	return c.jsonReply(200, map[string]jfTime{"RequestReceptionTime": now, "ResponseTransmissionTime": now}), nil
}

// getEndpointInfo is GET /System/Endpoint.
func getEndpointInfo(s *Server, c *call) (*reply, error) {
	return c.jsonReply(200, map[string]bool{
		"IsLocal": c.isLocal, "IsInNetwork": isInLocalNetwork(c.peer.ip, &s.netCfg),
	}), nil
}

// restart is POST /System/Restart (LAN or administrator, §2.6); the
// emulator only answers.
func restart(s *Server, c *call) (*reply, error) { return noContent(), nil }

// getConfiguration is GET /System/Configuration: any authenticated user (§7).
func getConfiguration(s *Server, c *call) (*reply, error) {
	return c.jsonReply(200, s.cfg), nil
}

// postConfiguration is POST /System/Configuration (administrators): the body
// is the whole object.
func postConfiguration(s *Server, c *call) (*reply, error) {
	cfg := defaultServerConfig(s.cfg.ServerName, true)
	if bad := c.bindJSONInto(&cfg); bad != nil {
		return bad, nil
	}
	s.cfg = cfg
	return noContent(), nil
}

// getNamedConfiguration is GET /System/Configuration/{key}; "network" is the
// one that matters here (§7), "branding" is also known.
func getNamedConfiguration(s *Server, c *call) (*reply, error) {
	switch strings.ToLower(c.params["key"]) {
	case "network":
		return c.jsonReply(200, s.netCfg), nil
	case "branding":
		return c.jsonReply(200, s.branding), nil
	}
	return nil, notFoundError("Configuration with key " + c.params["key"] + " not found.")
}

// postNamedConfiguration is POST /System/Configuration/{key}.
func postNamedConfiguration(s *Server, c *call) (*reply, error) {
	switch strings.ToLower(c.params["key"]) {
	case "network":
		n := defaultNetworkConfig()
		if bad := c.bindJSONInto(&n); bad != nil {
			return bad, nil
		}
		n.BaseURL = normalizeBaseURL(n.BaseURL)
		s.netCfg = n
		return noContent(), nil
	case "branding":
		var b brandingConfig
		if bad := c.bindJSONInto(&b); bad != nil {
			return bad, nil
		}
		s.branding = b
		return noContent(), nil
	}
	return nil, notFoundError("Configuration with key " + c.params["key"] + " not found.")
}

// bindJSONInto reads a body over existing defaults, as System.Text.Json
// fills a freshly constructed object.
func (c *call) bindJSONInto(v any) *reply {
	if bad := c.checkJSONBody(); bad != nil {
		return bad
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return validationProblem(map[string][]string{"$": {err.Error()}})
	}
	return nil
}

// getBranding is GET /Branding/Configuration (anonymous; the login page
// renders LoginDisclaimer).
func getBranding(s *Server, c *call) (*reply, error) {
	return c.jsonReply(200, s.branding), nil
}

// getBrandingCSS is GET /Branding/Css(.css): 204 when none is configured.
func getBrandingCSS(s *Server, c *call) (*reply, error) {
	if s.branding.CustomCSS == "" {
		return noContent(), nil
	}
	return newReply(200, "text/css", []byte(s.branding.CustomCSS)), nil
}
