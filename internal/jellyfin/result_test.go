package jellyfin

import (
	"encoding/json"
	"testing"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestParseAuthResult(t *testing.T) {
	const pascal = `{"User":{"Name":"alice","ServerId":"s1","Id":"u1","HasPassword":true,"Policy":{"IsAdministrator":true,"IsDisabled":false}},` +
		`"SessionInfo":{"PlayState":{},"RemoteEndPoint":"203.0.113.7","Id":"x","UserId":"u1","UserName":"alice","Client":"Jellyfin Web",` +
		`"DeviceName":"Firefox","DeviceId":"d1","ApplicationVersion":"10.11.11","IsActive":true},"AccessToken":"tok","ServerId":"s1"}`
	const camel = `{"user":{"name":"bob","id":"u2","policy":{"isAdministrator":false}},` +
		`"sessionInfo":{"client":"Findroid","deviceName":"Pixel 8","deviceId":"d2","applicationVersion":"1.1.0"},"accessToken":"tok2","serverId":"s2"}`
	tests := []struct {
		name                               string
		body                               string
		token, server, uid, uname          string
		admin                              bool
		deviceID, deviceName, client, appV string
	}{
		{"PascalCase", pascal, "tok", "s1", "u1", "alice", true, "d1", "Firefox", "Jellyfin Web", "10.11.11"},
		{"camelCase", camel, "tok2", "s2", "u2", "bob", false, "d2", "Pixel 8", "Findroid", "1.1.0"},
		{"no token", `{"User":{"Id":"u"}}`, "", "", "u", "", false, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseAuthResult([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.AccessToken != tt.token || r.ServerID != tt.server || r.User.ID != tt.uid || r.User.Name != tt.uname ||
				r.User.Policy.IsAdministrator != tt.admin || r.SessionInfo.DeviceID != tt.deviceID ||
				r.SessionInfo.DeviceName != tt.deviceName || r.SessionInfo.Client != tt.client ||
				r.SessionInfo.ApplicationVersion != tt.appV {
				t.Errorf("ParseAuthResult = %+v", r)
			}
		})
	}
}

func TestParseAuthResultErrors(t *testing.T) {
	for _, body := range []string{``, `not json`, `[1,2]`, `{"AccessToken":5}`, `Error processing request.`} {
		if _, err := ParseAuthResult([]byte(body)); err == nil {
			t.Errorf("ParseAuthResult(%q) succeeded", body)
		}
	}
}
