package fake

import (
	"io"
	"time"
)

// DefaultStreamSize is the size of every generated video stream when
// Options.StreamSize is zero: 1 GiB, large enough that a proxy which buffers
// whole bodies, or loses its place on a seek, shows up in tests.
const DefaultStreamSize int64 = 1 << 30

// Default provider ids Jellyfin stores in every user's policy (§5, §6); a
// policy update without them is rejected with 400.
const (
	DefaultAuthenticationProviderID = "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider"
	DefaultPasswordResetProviderID  = "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider"
)

// Options configure an emulator. The zero value is a 10.11.11 server with
// legacy authorization on, no BaseUrl and 1 GiB streams.
type Options struct {
	// ServerName is the friendly name shown by /System/Info/Public; default
	// "Jellyfin Emulator".
	ServerName string
	// Version is the reported server version; default "10.11.11".
	Version string
	// Legacy is the initial EnableLegacyAuthorization switch (§2.2); nil
	// means true, the 10.11 default.
	Legacy *bool
	// Precedence1010 emulates 10.10.x credential handling: X-Emby-Authorization
	// is read before Authorization and every token source is always on.
	Precedence1010 bool
	// BaseURL is the initial network BaseUrl (§1), for example "/jellyfin".
	BaseURL string
	// StreamSize is the byte length of every generated video stream; zero
	// means DefaultStreamSize.
	StreamSize int64
	// Log receives log lines in Jellyfin's file format (§3.4); nil discards them.
	Log io.Writer
	// Now is the clock used for tokens, sessions, lockout windows and Quick
	// Connect expiry; nil means time.Now.
	Now func() time.Time
}

// NetworkConfig mirrors Jellyfin's network.xml (§7, §8). The JSON names are
// Jellyfin's, so GET/POST /System/Configuration/network round-trips it.
// Unlike Jellyfin, which reads KnownProxies and BaseUrl once at start-up, the
// emulator applies every change at once so tests need no restart.
type NetworkConfig struct {
	BaseURL                           string   `json:"BaseUrl"`
	EnableHTTPS                       bool     `json:"EnableHttps"`
	RequireHTTPS                      bool     `json:"RequireHttps"`
	CertificatePath                   string   `json:"CertificatePath"`
	CertificatePassword               string   `json:"CertificatePassword"`
	InternalHTTPPort                  int      `json:"InternalHttpPort"`
	InternalHTTPSPort                 int      `json:"InternalHttpsPort"`
	PublicHTTPPort                    int      `json:"PublicHttpPort"`
	PublicHTTPSPort                   int      `json:"PublicHttpsPort"`
	AutoDiscovery                     bool     `json:"AutoDiscovery"`
	EnableUPnP                        bool     `json:"EnableUPnP"`
	EnableIPv4                        bool     `json:"EnableIPv4"`
	EnableIPv6                        bool     `json:"EnableIPv6"`
	EnableRemoteAccess                bool     `json:"EnableRemoteAccess"`
	LocalNetworkSubnets               []string `json:"LocalNetworkSubnets"`
	LocalNetworkAddresses             []string `json:"LocalNetworkAddresses"`
	KnownProxies                      []string `json:"KnownProxies"`
	IgnoreVirtualInterfaces           bool     `json:"IgnoreVirtualInterfaces"`
	VirtualInterfaceNames             []string `json:"VirtualInterfaceNames"`
	EnablePublishedServerURIByRequest bool     `json:"EnablePublishedServerUriByRequest"`
	PublishedServerURIBySubnet        []string `json:"PublishedServerUriBySubnet"`
	RemoteIPFilter                    []string `json:"RemoteIPFilter"`
	IsRemoteIPFilterBlacklist         bool     `json:"IsRemoteIPFilterBlacklist"`
}

// defaultNetworkConfig returns Jellyfin's NetworkConfiguration defaults.
func defaultNetworkConfig() NetworkConfig {
	return NetworkConfig{
		InternalHTTPPort:           8096,
		InternalHTTPSPort:          8920,
		PublicHTTPPort:             8096,
		PublicHTTPSPort:            8920,
		AutoDiscovery:              true,
		EnableIPv4:                 true,
		EnableRemoteAccess:         true,
		LocalNetworkSubnets:        []string{},
		LocalNetworkAddresses:      []string{},
		KnownProxies:               []string{},
		IgnoreVirtualInterfaces:    true,
		VirtualInterfaceNames:      []string{"veth"},
		PublishedServerURIBySubnet: []string{},
		RemoteIPFilter:             []string{},
	}
}

// ServerConfig mirrors the security-relevant part of Jellyfin's
// ServerConfiguration (§7), with Jellyfin's JSON names.
type ServerConfig struct {
	ServerName                 string   `json:"ServerName"`
	UICulture                  string   `json:"UICulture"`
	IsStartupWizardCompleted   bool     `json:"IsStartupWizardCompleted"`
	QuickConnectAvailable      bool     `json:"QuickConnectAvailable"`
	EnableLegacyAuthorization  bool     `json:"EnableLegacyAuthorization"`
	CorsHosts                  []string `json:"CorsHosts"`
	EnableMetrics              bool     `json:"EnableMetrics"`
	InactiveSessionThreshold   int      `json:"InactiveSessionThreshold"`
	EnableSlowResponseWarning  bool     `json:"EnableSlowResponseWarning"`
	SlowResponseThresholdMs    int64    `json:"SlowResponseThresholdMs"`
	LogFileRetentionDays       int      `json:"LogFileRetentionDays"`
	ActivityLogRetentionDays   int      `json:"ActivityLogRetentionDays"`
	PreferredMetadataLanguage  string   `json:"PreferredMetadataLanguage"`
	MetadataCountryCode        string   `json:"MetadataCountryCode"`
	LibraryMonitorDelay        int      `json:"LibraryMonitorDelay"`
	EnableCaseSensitiveItemIDs bool     `json:"EnableCaseSensitiveItemIds"`
}

// defaultServerConfig returns the configuration of a 10.11 server whose
// start-up wizard has been completed.
func defaultServerConfig(name string, legacy bool) ServerConfig {
	return ServerConfig{
		ServerName:                 name,
		UICulture:                  "en-US",
		IsStartupWizardCompleted:   true,
		QuickConnectAvailable:      true,
		EnableLegacyAuthorization:  legacy,
		CorsHosts:                  []string{"*"},
		EnableSlowResponseWarning:  true,
		SlowResponseThresholdMs:    500,
		LogFileRetentionDays:       3,
		ActivityLogRetentionDays:   30,
		PreferredMetadataLanguage:  "en",
		MetadataCountryCode:        "US",
		LibraryMonitorDelay:        60,
		EnableCaseSensitiveItemIDs: true,
	}
}

// UserInfo identifies a user created with AddUser.
type UserInfo struct {
	ID   string
	Name string
}

// UserState is a snapshot of a user record, for tests that check what a
// login or policy change did to it.
type UserState struct {
	ID                       string
	Name                     string
	InvalidLoginAttemptCount int
	IsDisabled               bool
	Policy                   Policy
}

// SessionState is a snapshot of one in-memory session (§5). Token is the
// live access token of the session's user and device, if there is one.
type SessionState struct {
	UserID         string
	UserName       string
	Client         string
	DeviceID       string
	DeviceName     string
	RemoteEndPoint string
	Token          string
	LastActivity   time.Time
}

// ItemInfo describes one library item of the emulator's fixed content.
type ItemInfo struct {
	ID         string
	Name       string
	StreamSize int64
}

// DemoUser is one of the accounts NewDemo creates, with its password.
type DemoUser struct {
	Name     string
	Password string
	Admin    bool
}
