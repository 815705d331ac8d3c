package gateway_test

import (
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

// edgeEnv protects media, hides the login screen's user list outside the
// LAN, and lets tests speak for any address through the trusted proxy.
func edgeEnv(t *testing.T) *testutil.Env {
	t.Helper()
	return testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Shield.ProtectMedia = true
		c.Shield.HidePublicUsers = true
		c.Shield.LAN = []string{"192.168.1.0/24"}
	}})
}

func getFrom(t *testing.T, e *testutil.Env, ip, rawPath, token string) (int, string) {
	t.Helper()
	req := e.RawRequest("GET", rawPath, nil)
	req.Header.Set("X-Forwarded-For", ip)
	if token != "" {
		req.Header.Set("Authorization", `MediaBrowser Token="`+token+`"`)
	}
	resp := e.Do(req)
	defer func() { _ = resp.Body.Close() }()
	b := make([]byte, 256)
	n, _ := resp.Body.Read(b)
	return resp.StatusCode, string(b[:n])
}

func TestProtectedMediaNeedsATokenOrARecentSession(t *testing.T) {
	e := edgeEnv(t)
	it := firstItem(t, e)
	stream := "/Videos/" + it.ID + "/stream?static=true"
	image := "/Items/" + it.ID + "/Images/Primary"
	const stranger, phone = "203.0.113.5", "198.51.100.20"
	for _, p := range []string{stream, image} {
		if s, _ := getFrom(t, e, stranger, p, ""); s != 403 {
			t.Fatalf("token-less %s from a stranger: %d, want 403", p, s)
		}
	}
	// jellyfin-web puts the token in the URL.
	tok := loginVia(t, e, phone, "alice")
	if s, _ := getFrom(t, e, stranger, image+"?ApiKey="+tok, ""); s != 200 {
		t.Fatalf("image with ApiKey: %d", s)
	}
	// Swiftfin and Findroid fetch images and streams with no token, from
	// the address where their session signed in.
	for _, p := range []string{image, stream} {
		req := e.RawRequest("GET", p, nil)
		req.Header.Set("X-Forwarded-For", phone)
		req.Header.Set("Range", "bytes=0-1023")
		resp := e.Do(req)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 206 {
			t.Fatalf("token-less %s from the session's address: %d", p, resp.StatusCode)
		}
	}
	// An unknown token does not open the gate (a fresh address: the one
	// above became a session's address when alice's token was used there).
	if s, _ := getFrom(t, e, "203.0.113.6", image+"?ApiKey="+strings.Repeat("1", 32), ""); s != 403 {
		t.Fatalf("image with an unknown token: %d", s)
	}
	// HLS: playlist (authenticated in Jellyfin) → variant → segment, all by URL.
	status, master := getFrom(t, e, stranger, "/Videos/"+it.ID+"/master.m3u8?MediaSourceId="+it.ID+"&ApiKey="+tok, "")
	if status != 200 {
		t.Fatalf("master playlist: %d", status)
	}
	status, media := e.Get("/Videos/"+it.ID+"/"+firstURI(master), "")
	if status != 200 {
		t.Fatalf("variant: %d", status)
	}
	if status, _ := e.Get("/Videos/"+it.ID+"/"+firstURI(media), ""); status != 200 {
		t.Fatalf("segment: %d", status)
	}
}

func loginVia(t *testing.T, e *testutil.Env, ip, user string) string {
	t.Helper()
	req := e.RawRequest("POST", "/Users/AuthenticateByName", strings.NewReader(`{"Username":"`+user+`","Pw":"`+e.Passwords[user]+`"}`))
	req.Header.Set("Authorization", testutil.AuthHeader(user+"-"+ip, ""))
	req.Header.Set("X-Forwarded-For", ip)
	return decodeToken(t, e.Do(req))
}

func TestPublicUsersHiddenOutsideTheLAN(t *testing.T) {
	e := edgeEnv(t)
	e.Fake.SetHidden("alice", false)
	if _, body := getFrom(t, e, "203.0.113.5", "/Users/Public", ""); body != "[]" {
		t.Fatalf("outside the LAN: %q", body)
	}
	if _, body := getFrom(t, e, "192.168.1.20", "/users/public", ""); !strings.Contains(body, "alice") {
		t.Fatalf("on the LAN: %q", body)
	}
}

func TestLANOnlyRoutesRefusedFromOutside(t *testing.T) {
	e := edgeEnv(t)
	for _, path := range []string{"/System/Restart", "/emby/system/restart", "/web/%2e%2e/System/Restart"} {
		req := e.RawRequest("POST", path, nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.5")
		resp := e.Do(req)
		_ = resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("anonymous %s from outside: %d", path, resp.StatusCode)
		}
	}
	if n := e.Fake.Requests("/system/restart"); n != 0 {
		t.Fatalf("%d restart requests reached Jellyfin", n)
	}
	admin := loginVia(t, e, "203.0.113.5", "admin")
	req := e.RawRequest("POST", "/System/Restart", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.5")
	req.Header.Set("Authorization", `MediaBrowser Token="`+admin+`"`)
	resp := e.Do(req)
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("an administrator's restart: %d", resp.StatusCode)
	}
}
