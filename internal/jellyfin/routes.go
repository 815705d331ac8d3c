package jellyfin

import "strings"

// The route tables below come from the [Http*] attributes of Jellyfin
// 10.11.11's controllers (UserController, QuickConnectController,
// SessionController, ApiKeyController, SystemController, BrandingController,
// TimeSyncController, ImageController, VideosController, AudioController,
// HlsSegmentController, SubtitleController, VideoAttachmentsController,
// LiveTvController, PluginsController) and Startup.cs (/web, /health).

// matchClass files the segments of a normalised, lower-case path that is
// inside the BaseUrl and outside the gateway.
func matchClass(method string, segs []string) Class {
	if len(segs) == 0 {
		return ClassAnonymous
	}
	if c := matchUsers(segs); c != ClassAPI {
		return c
	}
	if c := matchSessionAndKeys(segs); c != ClassAPI {
		return c
	}
	if c := matchWeb(segs); c != ClassAPI {
		return c
	}
	if c := matchAnonymous(segs); c != ClassAPI {
		return c
	}
	if isRead(method) && isMedia(segs) {
		return ClassMedia
	}
	if isRead(method) && pathIs(segs, "branding", "splashscreen") {
		return ClassAnonymous
	}
	return ClassAPI
}

// isRead reports GET or HEAD, the only methods of Jellyfin's anonymous media
// routes (ASP.NET compares methods ignoring case).
func isRead(method string) bool {
	return strings.EqualFold(method, "GET") || strings.EqualFold(method, "HEAD")
}

// matchUsers files the login routes, which Jellyfin serves to any method
// the gateway cares about, and the anonymous /Users routes.
func matchUsers(segs []string) Class {
	switch {
	case pathIs(segs, "users", "authenticatebyname"):
		return ClassLogin
	case pathIs(segs, "users", "authenticatewithquickconnect"):
		return ClassLoginQuickConnect
	case len(segs) == 3 && segs[0] == "users" && segs[1] != "" && segs[2] == "authenticate":
		return ClassLoginLegacy
	case pathIs(segs, "users", "public"), pathIs(segs, "users", "forgotpassword"),
		pathIs(segs, "users", "forgotpassword", "pin"):
		return ClassAnonymous
	}
	return ClassAPI
}

// matchSessionAndKeys files Quick Connect, logout, API keys and restart.
func matchSessionAndKeys(segs []string) Class {
	switch {
	case pathIs(segs, "quickconnect", "authorize"):
		return ClassQuickConnectAuthorize
	case pathIs(segs, "quickconnect", "enabled"), pathIs(segs, "quickconnect", "initiate"),
		pathIs(segs, "quickconnect", "connect"):
		return ClassQuickConnect
	case pathIs(segs, "sessions", "logout"):
		return ClassLogout
	case len(segs) >= 2 && segs[0] == "auth" && segs[1] == "keys":
		return ClassAPIKeys
	case pathIs(segs, "system", "restart"):
		return ClassLocalOnly
	}
	return ClassAPI
}

// matchWeb files the web client's files.
func matchWeb(segs []string) Class {
	switch {
	case segs[0] != "web":
		return ClassAPI
	case len(segs) == 1, pathIs(segs, "web", "index.html"):
		return ClassWebIndex
	}
	return ClassWeb
}

// matchAnonymous files the other routes Jellyfin serves without a token.
func matchAnonymous(segs []string) Class {
	switch {
	case pathIs(segs, "system", "info", "public"), pathIs(segs, "system", "ping"),
		pathIs(segs, "getutctime"), pathIs(segs, "health"),
		pathIs(segs, "branding", "configuration"), pathIs(segs, "branding", "css"),
		pathIs(segs, "branding", "css.css"):
		return ClassAnonymous
	}
	return ClassAPI
}

// isMedia reports the anonymous image, stream, segment, subtitle and
// attachment routes.
func isMedia(segs []string) bool {
	switch segs[0] {
	case "items", "artists", "genres", "musicgenres", "persons", "studios", "users":
		return isImage(segs)
	case "userimage":
		return len(segs) == 1
	case "plugins":
		return len(segs) == 4 && segs[3] == "image"
	case "videos":
		return isStream(segs) || isVideoSegment(segs) || isSubtitle(segs) || isAttachment(segs)
	case "audio":
		return isStream(segs) || isAudioSegment(segs)
	case "livetv":
		return isLiveStream(segs)
	}
	return false
}

// isImage: /{kind}/{id}/Images/{type}[/{index}], and for items also the
// eleven-segment form with tag, format, sizes and counts.
func isImage(segs []string) bool {
	if len(segs) < 4 || segs[2] != "images" {
		return false
	}
	return len(segs) == 4 || len(segs) == 5 || segs[0] == "items" && len(segs) == 11
}

// isStream: /{Videos|Audio}/{id}/stream[.{container}].
func isStream(segs []string) bool {
	return len(segs) == 3 && (segs[2] == "stream" || isDotted(segs[2], "stream."))
}

// isVideoSegment: /Videos/{id}/hls/{playlistId}/{segmentId}.{container};
// /Videos/{id}/hls/{playlistId}/stream.m3u8 is a different route that wants
// a token.
func isVideoSegment(segs []string) bool {
	if len(segs) != 5 || segs[2] != "hls" || segs[4] == "stream.m3u8" {
		return false
	}
	dot := strings.LastIndexByte(segs[4], '.')
	return dot > 0 && dot < len(segs[4])-1
}

// isAudioSegment: /Audio/{id}/hls/{segmentId}/stream.mp3|aac.
func isAudioSegment(segs []string) bool {
	return len(segs) == 5 && segs[2] == "hls" && (segs[4] == "stream.mp3" || segs[4] == "stream.aac")
}

// isSubtitle: /Videos/{id}/{mediaSourceId}/Subtitles/{index}[/{ticks}]/Stream.{format}.
func isSubtitle(segs []string) bool {
	n := len(segs)
	return (n == 6 || n == 7) && segs[3] == "subtitles" && isDotted(segs[n-1], "stream.")
}

// isAttachment: /Videos/{id}/{mediaSourceId}/Attachments/{index}.
func isAttachment(segs []string) bool {
	return len(segs) == 5 && segs[3] == "attachments"
}

// isLiveStream: /LiveTv/LiveRecordings/{id}/stream and
// /LiveTv/LiveStreamFiles/{id}/stream.{container}.
func isLiveStream(segs []string) bool {
	if len(segs) != 4 {
		return false
	}
	return segs[1] == "liverecordings" && segs[3] == "stream" ||
		segs[1] == "livestreamfiles" && isDotted(segs[3], "stream.")
}

// isDotted reports a segment made of prefix and a non-empty rest, like
// ASP.NET's complex segment "stream.{container}".
func isDotted(seg, prefix string) bool {
	return len(seg) > len(prefix) && strings.HasPrefix(seg, prefix)
}

// pathIs reports whether segs are exactly want.
func pathIs(segs []string, want ...string) bool {
	if len(segs) != len(want) {
		return false
	}
	for i := range want {
		if segs[i] != want[i] {
			return false
		}
	}
	return true
}
