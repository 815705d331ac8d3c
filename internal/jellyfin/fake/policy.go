package fake

import "encoding/json"

// Policy mirrors Jellyfin's UserPolicy (§6). It is both the stored policy and
// its wire form: the JSON names are Jellyfin's. LoginAttemptsBeforeLockout is
// stored as Jellyfin stores it (nil = no lockout) and written as -1 when nil.
type Policy struct {
	IsAdministrator                  bool     `json:"IsAdministrator"`
	IsHidden                         bool     `json:"IsHidden"`
	EnableCollectionManagement       bool     `json:"EnableCollectionManagement"`
	EnableSubtitleManagement         bool     `json:"EnableSubtitleManagement"`
	EnableLyricManagement            bool     `json:"EnableLyricManagement"`
	IsDisabled                       bool     `json:"IsDisabled"`
	MaxParentalRating                *int     `json:"MaxParentalRating,omitempty"`
	MaxParentalSubRating             *int     `json:"MaxParentalSubRating,omitempty"`
	BlockedTags                      []string `json:"BlockedTags"`
	AllowedTags                      []string `json:"AllowedTags"`
	EnableUserPreferenceAccess       bool     `json:"EnableUserPreferenceAccess"`
	AccessSchedules                  []any    `json:"AccessSchedules"`
	BlockUnratedItems                []string `json:"BlockUnratedItems"`
	EnableRemoteControlOfOtherUsers  bool     `json:"EnableRemoteControlOfOtherUsers"`
	EnableSharedDeviceControl        bool     `json:"EnableSharedDeviceControl"`
	EnableRemoteAccess               bool     `json:"EnableRemoteAccess"`
	EnableLiveTvManagement           bool     `json:"EnableLiveTvManagement"`
	EnableLiveTvAccess               bool     `json:"EnableLiveTvAccess"`
	EnableMediaPlayback              bool     `json:"EnableMediaPlayback"`
	EnableAudioPlaybackTranscoding   bool     `json:"EnableAudioPlaybackTranscoding"`
	EnableVideoPlaybackTranscoding   bool     `json:"EnableVideoPlaybackTranscoding"`
	EnablePlaybackRemuxing           bool     `json:"EnablePlaybackRemuxing"`
	ForceRemoteSourceTranscoding     bool     `json:"ForceRemoteSourceTranscoding"`
	EnableContentDeletion            bool     `json:"EnableContentDeletion"`
	EnableContentDeletionFromFolders []string `json:"EnableContentDeletionFromFolders"`
	EnableContentDownloading         bool     `json:"EnableContentDownloading"`
	EnableSyncTranscoding            bool     `json:"EnableSyncTranscoding"`
	EnableMediaConversion            bool     `json:"EnableMediaConversion"`
	EnabledDevices                   []string `json:"EnabledDevices"`
	EnableAllDevices                 bool     `json:"EnableAllDevices"`
	EnabledChannels                  []string `json:"EnabledChannels"`
	EnableAllChannels                bool     `json:"EnableAllChannels"`
	EnabledFolders                   []string `json:"EnabledFolders"`
	EnableAllFolders                 bool     `json:"EnableAllFolders"`
	InvalidLoginAttemptCount         int      `json:"InvalidLoginAttemptCount"`
	LoginAttemptsBeforeLockout       *int     `json:"-"`
	MaxActiveSessions                int      `json:"MaxActiveSessions"`
	EnablePublicSharing              bool     `json:"EnablePublicSharing"`
	BlockedMediaFolders              []string `json:"BlockedMediaFolders"`
	BlockedChannels                  []string `json:"BlockedChannels"`
	RemoteClientBitrateLimit         int      `json:"RemoteClientBitrateLimit"`
	AuthenticationProviderID         string   `json:"AuthenticationProviderId"`
	PasswordResetProviderID          string   `json:"PasswordResetProviderId"`
	SyncPlayAccess                   string   `json:"SyncPlayAccess"`
}

// policyWire is Policy as it travels: LoginAttemptsBeforeLockout is a plain
// int there, -1 meaning "no lockout".
type policyWire struct {
	policyAlias
	LoginAttemptsBeforeLockout int `json:"LoginAttemptsBeforeLockout"`
}

type policyAlias Policy

// MarshalJSON writes the policy the way UserDto.Policy looks in Jellyfin:
// nil slices as [] and a missing lockout limit as -1.
func (p Policy) MarshalJSON() ([]byte, error) {
	w := policyWire{policyAlias: policyAlias(p.normalized()), LoginAttemptsBeforeLockout: -1}
	if p.LoginAttemptsBeforeLockout != nil {
		w.LoginAttemptsBeforeLockout = *p.LoginAttemptsBeforeLockout
	}
	return json.Marshal(w)
}

// normalized replaces nil slices with empty ones, as .NET arrays are never
// null in a stored policy.
func (p Policy) normalized() Policy {
	for _, s := range []*[]string{&p.BlockedTags, &p.AllowedTags, &p.BlockUnratedItems,
		&p.EnableContentDeletionFromFolders, &p.EnabledDevices, &p.EnabledChannels,
		&p.EnabledFolders, &p.BlockedMediaFolders, &p.BlockedChannels} {
		if *s == nil {
			*s = []string{}
		}
	}
	if p.AccessSchedules == nil {
		p.AccessSchedules = []any{}
	}
	return p
}

// newUserPolicy is the policy of a freshly created user
// (UserEntityExtensions.AddDefaultPermissions): hidden, remote access on, no
// lockout limit.
func newUserPolicy() Policy {
	p := defaultPolicyDTO()
	p.EnableLiveTvManagement = false
	return p
}

// defaultPolicyDTO is what the UserPolicy constructor produces; a POST
// /Users/{id}/Policy body is read on top of it, so omitted fields reset to
// these values, as in Jellyfin.
func defaultPolicyDTO() Policy {
	return Policy{
		IsHidden:                       true,
		EnableUserPreferenceAccess:     true,
		EnableSharedDeviceControl:      true,
		EnableRemoteAccess:             true,
		EnableLiveTvManagement:         true,
		EnableLiveTvAccess:             true,
		EnableMediaPlayback:            true,
		EnableAudioPlaybackTranscoding: true,
		EnableVideoPlaybackTranscoding: true,
		EnablePlaybackRemuxing:         true,
		EnableContentDownloading:       true,
		EnableSyncTranscoding:          true,
		EnableMediaConversion:          true,
		EnableAllDevices:               true,
		EnableAllChannels:              true,
		EnableAllFolders:               true,
		EnablePublicSharing:            true,
		AuthenticationProviderID:       DefaultAuthenticationProviderID,
		PasswordResetProviderID:        DefaultPasswordResetProviderID,
		SyncPlayAccess:                 "CreateAndJoinGroups",
	}.normalized()
}

// policyFromWire reads a POST /Users/{id}/Policy body over the DTO defaults
// and maps LoginAttemptsBeforeLockout like UserManager.UpdatePolicyAsync
// (§3.5): -1 → nil, 0 → 3, n → n.
func policyFromWire(body []byte) (Policy, error) {
	def := defaultPolicyDTO()
	def.AuthenticationProviderID, def.PasswordResetProviderID = "", ""
	w := policyWire{policyAlias: policyAlias(def), LoginAttemptsBeforeLockout: -1}
	if err := json.Unmarshal(body, &w); err != nil {
		return Policy{}, err
	}
	p := Policy(w.policyAlias)
	switch n := w.LoginAttemptsBeforeLockout; n {
	case -1:
		p.LoginAttemptsBeforeLockout = nil
	case 0:
		p.LoginAttemptsBeforeLockout = intPtr(3)
	default:
		p.LoginAttemptsBeforeLockout = intPtr(n)
	}
	return p, nil
}

func intPtr(n int) *int { return &n }

// clone returns a deep copy, so snapshots handed to callers cannot alias the
// stored policy.
func (p Policy) clone() Policy {
	c := p
	for _, s := range []*[]string{&c.BlockedTags, &c.AllowedTags, &c.BlockUnratedItems,
		&c.EnableContentDeletionFromFolders, &c.EnabledDevices, &c.EnabledChannels,
		&c.EnabledFolders, &c.BlockedMediaFolders, &c.BlockedChannels} {
		*s = append([]string(nil), (*s)...)
	}
	c.AccessSchedules = append([]any(nil), p.AccessSchedules...)
	if p.LoginAttemptsBeforeLockout != nil {
		c.LoginAttemptsBeforeLockout = intPtr(*p.LoginAttemptsBeforeLockout)
	}
	if p.MaxParentalRating != nil {
		c.MaxParentalRating = intPtr(*p.MaxParentalRating)
	}
	if p.MaxParentalSubRating != nil {
		c.MaxParentalSubRating = intPtr(*p.MaxParentalSubRating)
	}
	return c
}
