package jellyfin

import (
	"encoding/json"
	"fmt"
)

// AuthResult is the part of Jellyfin's AuthenticationResult the gateway
// needs to decide a login: whose session it is (the User.Id Jellyfin
// answered with, never the name the client sent) and which device holds it.
type AuthResult struct {
	AccessToken string   `json:"AccessToken"`
	ServerID    string   `json:"ServerId"`
	User        AuthUser `json:"User"`
	SessionInfo struct {
		DeviceID           string `json:"DeviceId"`
		DeviceName         string `json:"DeviceName"`
		Client             string `json:"Client"`
		ApplicationVersion string `json:"ApplicationVersion"`
	} `json:"SessionInfo"`
}

// AuthUser is the user a login answer names: who signed in.
type AuthUser struct {
	ID     string `json:"Id"`
	Name   string `json:"Name"`
	Policy struct {
		IsAdministrator bool `json:"IsAdministrator"`
	} `json:"Policy"`
}

// ParseAuthResult decodes a login response. Jellyfin answers in PascalCase,
// or camelCase when the client asked for it; both decode, because
// encoding/json matches names ignoring case.
func ParseAuthResult(body []byte) (AuthResult, error) {
	var r AuthResult
	if err := json.Unmarshal(body, &r); err != nil {
		return AuthResult{}, fmt.Errorf("decode jellyfin authentication result: %w", err)
	}
	return r, nil
}
