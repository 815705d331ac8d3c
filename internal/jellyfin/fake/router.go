package fake

import (
	"sort"
	"strings"
)

// handler serves an endpoint while s.mu is held and returns the response to
// send once the lock is released.
type handler func(s *Server, c *call) (*reply, error)

// rawHandler serves an endpoint without the lock and writes its own
// response (streams, images, large bodies).
type rawHandler func(s *Server, c *call)

// route is one endpoint: an HTTP method, an attribute-route template, the
// authorization policy and the handler.
type route struct {
	method string
	segs   []segPattern
	policy policy
	h      handler
	raw    rawHandler
}

// segPattern is one template segment: literal text and {parameters}.
type segPattern struct {
	parts []segPart
	rank  int // 1 literal, 2 complex, 3 parameter (ASP.NET route precedence)
}

type segPart struct {
	lit   string
	param string
}

func newRoute(method, template string, p policy) *route {
	rt := &route{method: method, policy: p}
	for _, s := range tokenize(template) {
		rt.segs = append(rt.segs, parseSegment(s))
	}
	return rt
}

func rt(method, template string, p policy, h handler) *route {
	r := newRoute(method, template, p)
	r.h = h
	return r
}

func rawRoute(method, template string, p policy, h rawHandler) *route {
	r := newRoute(method, template, p)
	r.raw = h
	return r
}

// parseSegment splits "stream.{container}" into parts.
func parseSegment(s string) segPattern {
	var parts []segPart
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			parts = append(parts, segPart{lit: s})
			break
		}
		if i > 0 {
			parts = append(parts, segPart{lit: s[:i]})
		}
		j := strings.IndexByte(s, '}')
		parts = append(parts, segPart{param: s[i+1 : j]})
		s = s[j+1:]
	}
	rank := 2
	switch {
	case len(parts) == 1 && parts[0].param == "":
		rank = 1
	case len(parts) == 1:
		rank = 3
	}
	return segPattern{parts: parts, rank: rank}
}

// tokenize is ASP.NET's FastPathTokenizer: segments between slashes, with
// empty segments kept except one trailing empty segment, so "/a/" matches
// "a" but "//a" and "/a//b" do not match "a" or "a/b".
func tokenize(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	return segs
}

// matchPath binds the route template to the request segments.
func (r *route) matchPath(segs []string) (map[string]string, bool) {
	if len(segs) != len(r.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, sp := range r.segs {
		if !matchParts(sp.parts, segs[i], params) {
			return nil, false
		}
	}
	return params, true
}

// matchParts matches one segment; literals compare case-insensitively
// (ordinal), parameters must be non-empty, and a parameter followed by a
// literal takes everything up to the literal's last occurrence, as ASP.NET
// matches complex segments from the right.
func matchParts(parts []segPart, s string, params map[string]string) bool {
	if len(parts) == 0 {
		return s == ""
	}
	p := parts[0]
	if p.param == "" {
		n, ok := prefixLenFold(s, p.lit)
		return ok && matchParts(parts[1:], s[n:], params)
	}
	if len(parts) == 1 {
		params[p.param] = s
		return s != ""
	}
	next := parts[1].lit
	for i := len(s) - len(next); i > 0; i-- {
		if ordinalEqualFold(s[i:i+len(next)], next) && matchParts(parts[1:], s[i:], params) {
			params[p.param] = s[:i]
			return true
		}
	}
	return false
}

// precedes orders two matching routes: at the first segment where they
// differ, the more specific kind wins.
func (r *route) precedes(o *route) bool {
	for i := range r.segs {
		if r.segs[i].rank != o.segs[i].rank {
			return r.segs[i].rank < o.segs[i].rank
		}
	}
	return false
}

// match is the endpoint routing result.
type match struct {
	route  *route
	params map[string]string
	// allow lists the methods of routes whose path matched when none had
	// the request's method (→ 405).
	allow []string
}

// matchRoute selects the endpoint for method and the routed path.
func (s *Server) matchRoute(method, path string) match {
	segs := tokenize(path)
	var m match
	seen := map[string]bool{}
	for _, r := range s.routes {
		params, ok := r.matchPath(segs)
		if !ok {
			continue
		}
		if !seen[r.method] {
			seen[r.method] = true
			m.allow = append(m.allow, r.method)
		}
		if r.method == method && (m.route == nil || r.precedes(m.route)) {
			m.route, m.params = r, params
		}
	}
	if m.route != nil {
		m.allow = nil
	}
	sort.Strings(m.allow)
	return m
}

// routeTable lists the emulated endpoints with their 10.11.11 policies.
func routeTable() []*route {
	var all []*route
	for _, group := range [][]*route{systemRoutes(), userRoutes(), sessionRoutes(), contentRoutes()} {
		all = append(all, group...)
	}
	return all
}

// systemRoutes are §7 and the anonymous server endpoints of §12.
func systemRoutes() []*route {
	return []*route{
		rt("GET", "/System/Info/Public", polAnonymous, getPublicSystemInfo),
		rt("GET", "/System/Info", polFirstTimeSetup, getSystemInfo),
		rt("GET", "/System/Ping", polAnonymous, ping),
		rt("POST", "/System/Ping", polAnonymous, ping),
		rt("POST", "/System/Restart", polLocalOrElevation, restart),
		rt("POST", "/System/Shutdown", polElevation, restart),
		rt("GET", "/System/Endpoint", polDefault, getEndpointInfo),
		rt("GET", "/System/Configuration", polDefault, getConfiguration),
		rt("POST", "/System/Configuration", polDefaultElevation, postConfiguration),
		rt("GET", "/System/Configuration/{key}", polDefault, getNamedConfiguration),
		rt("POST", "/System/Configuration/{key}", polDefaultElevation, postNamedConfiguration),
		rt("GET", "/GetUtcTime", polAnonymous, getUtcTime),
		rt("GET", "/health", polAnonymous, health),
		rt("GET", "/Branding/Configuration", polAnonymous, getBranding),
		rt("GET", "/Branding/Css", polAnonymous, getBrandingCSS),
		rt("GET", "/Branding/Css.css", polAnonymous, getBrandingCSS),
	}
}

// userRoutes are §3, §4 and §6.
func userRoutes() []*route {
	return []*route{
		rt("GET", "/Users", polDefault, getUsers),
		rt("GET", "/Users/Public", polAnonymous, getPublicUsers),
		rt("GET", "/Users/Me", polDefault, getMe),
		rt("GET", "/Users/{userId}", polDefault, getUser),
		rt("DELETE", "/Users/{userId}", polElevation, deleteUser),
		rt("POST", "/Users/New", polElevation, createUserByName),
		rt("POST", "/Users/{userId}/Policy", polElevation, updateUserPolicy),
		rt("POST", "/Users/Password", polDefault, updatePassword),
		rt("POST", "/Users/{userId}/Password", polDefault, updatePasswordLegacy),
		rt("POST", "/Users/AuthenticateByName", polAnonymous, authenticateByName),
		rt("POST", "/Users/AuthenticateWithQuickConnect", polAnonymous, authenticateWithQuickConnect),
		rt("POST", "/Users/{userId}/Authenticate", polAnonymous, authenticateLegacy),
		rt("GET", "/QuickConnect/Enabled", polAnonymous, getQuickConnectEnabled),
		rt("POST", "/QuickConnect/Initiate", polAnonymous, initiateQuickConnect),
		rt("GET", "/QuickConnect/Initiate", polAnonymous, initiateQuickConnect),
		rt("GET", "/QuickConnect/Connect", polAnonymous, getQuickConnectState),
		rt("POST", "/QuickConnect/Authorize", polDefault, authorizeQuickConnect),
	}
}

// sessionRoutes are §5.
func sessionRoutes() []*route {
	return []*route{
		rt("GET", "/Sessions", polDefault, getSessions),
		rt("POST", "/Sessions/Logout", polDefault, logout),
		rt("POST", "/Sessions/Capabilities/Full", polDefault, postCapabilities),
		rt("POST", "/Sessions/Playing", polDefault, reportActivity),
		rt("POST", "/Sessions/Playing/Progress", polDefault, reportActivity),
		rt("POST", "/Sessions/Playing/Stopped", polDefault, reportActivity),
		rt("POST", "/Sessions/Playing/Ping", polDefault, reportActivity),
		rt("GET", "/Devices", polElevation, getDevices),
		rt("GET", "/Devices/Info", polElevation, getDeviceInfo),
		rt("GET", "/Devices/Options", polElevation, getDeviceOptions),
		rt("POST", "/Devices/Options", polElevation, postDeviceOptions),
		rt("DELETE", "/Devices", polElevation, deleteDevice),
		rt("GET", "/Auth/Keys", polElevation, getKeys),
		rt("POST", "/Auth/Keys", polElevation, createKey),
		rt("DELETE", "/Auth/Keys/{key}", polElevation, revokeKey),
		rt("GET", "/Auth/Providers", polElevation,
			getAuthProviders("Default", DefaultAuthenticationProviderID)),
		rt("GET", "/Auth/PasswordResetProviders", polElevation,
			getAuthProviders("Default", DefaultPasswordResetProviderID)),
	}
}

// contentRoutes are the library, image, stream and HLS endpoints of §12.
func contentRoutes() []*route {
	routes := []*route{
		rt("GET", "/Items", polDefault, getItems),
		rt("GET", "/Users/{userId}/Items", polDefault, getItemsLegacy),
		rt("GET", "/Items/{itemId}", polDefault, getItem),
		rt("GET", "/Users/{userId}/Items/{itemId}", polDefault, getItemLegacy),
		rt("GET", "/UserViews", polDefault, getUserViews),
		rt("GET", "/Users/{userId}/Views", polDefault, getUserViewsLegacy),
		rt("GET", "/Items/{itemId}/PlaybackInfo", polDefault, playbackInfo),
		rt("POST", "/Items/{itemId}/PlaybackInfo", polDefault, playbackInfo),
		rt("GET", "/Videos/{itemId}/master.m3u8", polDefault, masterPlaylist),
		rt("HEAD", "/Videos/{itemId}/master.m3u8", polDefault, masterPlaylist),
		rt("GET", "/Videos/{itemId}/main.m3u8", polDefault, mainPlaylist),
		rt("GET", "/Videos/{itemId}/hls1/{playlistId}/{segmentId}.{container}", polDefault, hlsSegment),
		rt("GET", "/Videos/{itemId}/hls/{playlistId}/{segmentId}.{container}", polAnonymous, hlsSegment),
	}
	for _, m := range []string{"GET", "HEAD"} {
		routes = append(routes,
			rawRoute(m, "/Items/{itemId}/Images/{imageType}", polAnonymous, serveImage),
			rawRoute(m, "/Items/{itemId}/Images/{imageType}/{imageIndex}", polAnonymous, serveImage),
			rawRoute(m, "/Videos/{itemId}/stream", polAnonymous, serveStream),
			rawRoute(m, "/Videos/{itemId}/stream.{container}", polAnonymous, serveStream),
		)
	}
	return routes
}
