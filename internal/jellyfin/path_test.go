package jellyfin

import "testing"

func TestClassifyBypassTable(t *testing.T) {
	tests := []struct {
		method, path, base string
		want               Class
	}{
		// Spellings of the login route.
		{"POST", "/Users/AuthenticateByName", "", ClassLogin},
		{"POST", "/users/authenticatebyname", "", ClassLogin},
		{"POST", "/Users/authenticatebyname", "", ClassLogin},
		{"POST", "/emby/Users/AuthenticateByName", "", ClassLogin},
		{"POST", "/EMBY/users/authenticatebyname", "", ClassLogin},
		{"POST", "/MediaBrowser/USERS/AuthenticateByName/", "", ClassLogin},
		{"POST", "/web/%2e%2e/Users/AuthenticateByName", "", ClassLogin},
		{"POST", "/web/%2E%2E/Users/AuthenticateByName", "", ClassLogin},
		{"POST", "/%55sers/AuthenticateByName", "", ClassLogin},
		{"POST", "/Users/Authenticate%42yName", "", ClassLogin},
		{"POST", "//Users//AuthenticateByName", "", ClassLogin},
		{"POST", "/Users/./AuthenticateByName", "", ClassLogin},
		{"POST", "/x/../Users/AuthenticateByName", "", ClassLogin},
		{"POST", "/../../Users/AuthenticateByName", "", ClassLogin},
		{"POST", "/Users/AuthenticateByName/.", "", ClassLogin},
		{"POST", "/Users/AuthenticateByName//..", "", ClassLogin},
		{"POST", "/Users/x/%2e%2e/AuthenticateByName", "", ClassLogin},
		{"POST", "/Users/AuthenticateByName%3Fx=1", "", ClassAPI}, // a decoded "?" is part of the segment
		{"POST", "/jellyfin/Users/AuthenticateByName", "/jellyfin", ClassLogin},
		{"POST", "/JELLYFIN/emby/users/authenticatebyname", "/jellyfin", ClassLogin},
		{"POST", "/jellyfin/Users/AuthenticateByName", "jellyfin/", ClassLogin},
		{"POST", "/%6Aellyfin/Users/AuthenticateByName", "/jellyfin", ClassLogin},
		{"POST", "/Users/AuthenticateByName", "/jellyfin", ClassOutsideBase},
		{"POST", "/jellyfinx/Users/AuthenticateByName", "/jellyfin", ClassOutsideBase},
		{"POST", "/emby/jellyfin/Users/AuthenticateByName", "/jellyfin", ClassOutsideBase},
		{"POST", "/Users%2FAuthenticateByName", "", ClassLogin},
		{"POST", "/users%2fauthenticatebyname", "", ClassLogin},
		{"POST", "/emby%2FUsers/AuthenticateByName", "", ClassLogin},
		// Kestrel removes dot segments before it would decode %2F: the
		// segment holding %2F is dropped whole.
		{"POST", "/x%2Fy/../Users/AuthenticateByName", "", ClassLogin},
		// Jellyfin decodes again what follows /emby or /mediabrowser.
		{"POST", "/emby/%2555sers/AuthenticateByName", "", ClassLogin},
		{"POST", "/mediabrowser/Users/Authenticate%2542yName", "", ClassLogin},
		{"POST", "/jellyfin/emby/%2555sers/AuthenticateByName", "/jellyfin", ClassLogin},
		// Without that prefix nothing is decoded twice.
		{"POST", "/%252e%252e/Users/AuthenticateByName", "", ClassAPI},
		{"POST", "/%2555sers/AuthenticateByName", "", ClassAPI},
		{"POST", "/Users/AuthenticateByName%00", "", ClassAPI},
		// Letters that some case-insensitive comparison folds onto ASCII.
		{"POST", "/U%C5%BFers/AuthenticateByName", "", ClassLogin},
		{"POST", "/Users/Authent%C4%B1cateByName", "", ClassLogin},
		{"PUT", "/Users/AuthenticateByName", "", ClassLogin},
		{"GET", "/Users/AuthenticateByName", "", ClassLogin},
		{"DELETE", "/Users/AuthenticateByName", "", ClassLogin},

		// The other sensitive routes.
		{"POST", "/Users/AuthenticateWithQuickConnect", "", ClassLoginQuickConnect},
		{"POST", "/emby/users/authenticatewithquickconnect/", "", ClassLoginQuickConnect},
		{"POST", "/Users/abc123/Authenticate", "", ClassLoginLegacy},
		{"POST", "/Users/%2e/abc123/./Authenticate", "", ClassLoginLegacy},
		{"POST", "/QuickConnect/Authorize", "", ClassQuickConnectAuthorize},
		{"POST", "/quickconnect/authorize/", "", ClassQuickConnectAuthorize},
		{"POST", "/QuickConnect%2FAuthorize", "", ClassQuickConnectAuthorize},
		{"POST", "/emby/QuickConnect/%2541uthorize", "", ClassQuickConnectAuthorize},
		{"GET", "/QuickConnect/Enabled", "", ClassQuickConnect},
		{"POST", "/QuickConnect/Initiate", "", ClassQuickConnect},
		{"GET", "/QuickConnect/Connect", "", ClassQuickConnect},
		{"POST", "/Sessions/Logout", "", ClassLogout},
		{"GET", "/Auth/Keys", "", ClassAPIKeys},
		{"DELETE", "/Auth/Keys/xyz", "", ClassAPIKeys},
		{"POST", "/System/Restart", "", ClassLocalOnly},
		{"POST", "/mediabrowser/system/restart", "", ClassLocalOnly},

		// Web client.
		{"GET", "/web", "", ClassWebIndex},
		{"GET", "/web/", "", ClassWebIndex},
		{"GET", "/web/index.html", "", ClassWebIndex},
		{"GET", "/WEB/Index.HTML", "", ClassWebIndex},
		{"GET", "/emby/web/index.html", "", ClassWebIndex},
		{"GET", "/web/main.bundle.js", "", ClassWeb},
		{"GET", "/web/ConfigurationPage", "", ClassWeb},

		// Media: anonymous for GET and HEAD only.
		{"GET", "/Items/1/Images/Primary", "", ClassMedia},
		{"HEAD", "/Items/1/Images/Primary", "", ClassMedia},
		{"POST", "/Items/1/Images/Primary", "", ClassAPI},
		{"DELETE", "/Items/1/Images/Primary/0", "", ClassAPI},
		{"GET", "/Items/1/Images/Primary/0", "", ClassMedia},
		{"GET", "/Items/1/Images/Primary/0/tag/png/100/100/0/0", "", ClassMedia},
		{"GET", "/Items/1/Images", "", ClassAPI},
		{"GET", "/Users/1/Images/Primary", "", ClassMedia},
		{"POST", "/Users/1/Images/Primary", "", ClassAPI},
		{"GET", "/Artists/Abba/Images/Primary/0", "", ClassMedia},
		{"GET", "/MusicGenres/Rock/Images/Primary", "", ClassMedia},
		{"GET", "/UserImage", "", ClassMedia},
		{"GET", "/Plugins/abc/1.0/Image", "", ClassMedia},
		{"GET", "/Videos/1/stream.mkv", "", ClassMedia},
		{"GET", "/videos/1/STREAM", "", ClassMedia},
		{"HEAD", "/Audio/1/stream", "", ClassMedia},
		{"POST", "/Videos/1/stream", "", ClassAPI},
		{"GET", "/Videos/1/stream.", "", ClassAPI},
		{"GET", "/Videos/1/hls/p/0.ts", "", ClassMedia},
		{"GET", "/Videos/1/hls/p/stream.m3u8", "", ClassAPI},
		{"GET", "/Videos/1/hls1/main/0.ts", "", ClassAPI},
		{"GET", "/Videos/1/master.m3u8", "", ClassAPI},
		{"GET", "/Audio/1/hls/3/stream.aac", "", ClassMedia},
		{"GET", "/Videos/1/ms/Subtitles/0/Stream.srt", "", ClassMedia},
		{"GET", "/Videos/1/ms/Subtitles/0/1000/Stream.vtt", "", ClassMedia},
		{"GET", "/Videos/1/ms/Subtitles/0/subtitles.m3u8", "", ClassAPI},
		{"GET", "/Videos/1/ms/Attachments/0", "", ClassMedia},
		{"GET", "/LiveTv/LiveRecordings/1/stream", "", ClassMedia},
		{"GET", "/LiveTv/LiveStreamFiles/1/stream.ts", "", ClassMedia},

		// Other anonymous routes, and the API.
		{"GET", "/System/Info/Public", "", ClassAnonymous},
		{"GET", "/system/info/public/", "", ClassAnonymous},
		{"GET", "/System/Info", "", ClassAPI},
		{"GET", "/System/Ping", "", ClassAnonymous},
		{"GET", "/GetUtcTime", "", ClassAnonymous},
		{"GET", "/health", "", ClassAnonymous},
		{"GET", "/Branding/Css.css", "", ClassAnonymous},
		{"GET", "/Branding/Splashscreen", "", ClassAnonymous},
		{"POST", "/Branding/Splashscreen", "", ClassAPI},
		{"GET", "/Users/Public", "", ClassAnonymous},
		{"POST", "/Users/ForgotPassword/Pin", "", ClassAnonymous},
		{"GET", "/", "", ClassAnonymous},
		{"GET", "", "", ClassAnonymous},
		{"GET", "/jellyfin", "/jellyfin", ClassAnonymous},
		{"GET", "/jellyfin/", "/jellyfin", ClassAnonymous},
		{"GET", "/Users", "", ClassAPI},
		{"GET", "/Users/Me", "", ClassAPI},
		{"GET", "/socket", "", ClassAPI},

		// The gateway's own prefix.
		{"GET", "/jellyguard/x", "", ClassGateway},
		{"GET", "/jellyguard", "", ClassGateway},
		{"GET", "/JellyGuard/challenge", "", ClassGateway},
		{"GET", "/jellyguardx", "", ClassAPI},
		{"GET", "/jellyfin/jellyguard/x", "/jellyfin", ClassGateway},
		{"GET", "/jellyguard/x", "/jellyfin", ClassOutsideBase},
		{"GET", "/emby/jellyguard/x", "", ClassAPI},
		{"POST", "/jellyguard/../Users/AuthenticateByName", "", ClassLogin},
		{"POST", "/jellyguard%2F..%2FUsers/AuthenticateByName", "", ClassLogin},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.base+" "+tt.path, func(t *testing.T) {
			if got := Classify(tt.method, tt.path, tt.base); got.Class != tt.want {
				t.Errorf("Classify(%s, %q, %q) = %v (path %q), want %v", tt.method, tt.path, tt.base, got.Class, got.Path, tt.want)
			}
		})
	}
}

func TestClassifyRoute(t *testing.T) {
	tests := []struct {
		path, base string
		want       Route
	}{
		{"/Users/abc123/Authenticate", "", Route{ClassLoginLegacy, "/users/abc123/authenticate", "abc123"}},
		{"/emby/Users/ABC%31/Authenticate", "", Route{ClassLoginLegacy, "/users/abc1/authenticate", "ABC1"}},
		{"/jellyfin/Users/AuthenticateByName/", "/jellyfin", Route{ClassLogin, "/users/authenticatebyname", ""}},
		{"/Other/Path", "/jellyfin", Route{ClassOutsideBase, "/other/path", ""}},
		{"/a//b/../c/", "", Route{ClassAPI, "/a/c", ""}},
		{"/", "", Route{ClassAnonymous, "/", ""}},
	}
	for _, tt := range tests {
		if got := Classify("POST", tt.path, tt.base); got != tt.want {
			t.Errorf("Classify(%q, %q) = %+v, want %+v", tt.path, tt.base, got, tt.want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		path, base string
		want       string
		inside     bool
	}{
		{"/Users/AuthenticateByName", "", "/users/authenticatebyname", true},
		{"/%252e%252e/x", "", "/%2e%2e/x", true},
		{"/a/%2e%2e/%2e%2e/%2e/b", "", "/b", true},
		{"/Items%2F1", "", "/items/1", true},
		{"/x%2F..%2Fy", "", "/y", true},
		{"/bad%zz%4", "", "/bad%zz%4", true},
		{"/jellyfin", "/jellyfin/", "/", true},
		{"/Jellyfin/Web/", "jellyfin", "/web", true},
		{"/jellyfinx/web", "/jellyfin", "/jellyfinx/web", false},
		{"/a/b", "/a/b", "/", true},
		{"/a/b/c", "/a/b/", "/c", true},
		{"/a/c", "/a/b", "/a/c", false},
		{"/x", "/", "/x", true},
		{"/emby", "", "/", true},
		{"/emby/", "", "/", true},
		{"/embyx/a", "", "/embyx/a", true},
		{"/emby/emby/a", "", "/emby/a", true},
		{"/a\x00b", "", "/a%00b", true},
		{"/\u212Aelvin", "", "/kelvin", true},
	}
	for _, tt := range tests {
		got, inside := NormalizePath(tt.path, tt.base)
		if got != tt.want || inside != tt.inside {
			t.Errorf("NormalizePath(%q, %q) = %q, %v; want %q, %v", tt.path, tt.base, got, inside, tt.want, tt.inside)
		}
	}
}

func TestClassString(t *testing.T) {
	for c := ClassAPI; c <= ClassOutsideBase; c++ {
		if s := c.String(); s == "" || s == "unknown" {
			t.Errorf("Class(%d) has no name", c)
		}
	}
	if Class(200).String() != "unknown" {
		t.Error("out-of-range class should be unknown")
	}
	for c := ClassAPI; c <= ClassOutsideBase; c++ {
		want := c == ClassLogin || c == ClassLoginQuickConnect || c == ClassLoginLegacy
		if c.IsLogin() != want {
			t.Errorf("%v.IsLogin() = %v", c, !want)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Classify("GET", "/Items/0123456789abcdef0123456789abcdef/Images/Primary", "")
	}
}
