package jellyfin

import "strings"

// Class is what a request path is to Jellyfin, so that gateway rules match a
// meaning rather than a spelling: a rule on the raw string can be bypassed
// with `/EMBY//users/authenticatebyname`.
type Class uint8

// Route classes. ClassAPI, the zero value, is the safe default: Jellyfin
// wants a token there.
const (
	ClassAPI                   Class = iota // everything else (needs a token in Jellyfin)
	ClassGateway                            // <base>/jellyguard and below: the gateway's own pages and API
	ClassLogin                              // /Users/AuthenticateByName
	ClassLoginQuickConnect                  // /Users/AuthenticateWithQuickConnect
	ClassLoginLegacy                        // /Users/{id}/Authenticate
	ClassQuickConnectAuthorize              // /QuickConnect/Authorize
	ClassQuickConnect                       // /QuickConnect/Enabled, Initiate, Connect
	ClassLogout                             // /Sessions/Logout
	ClassAPIKeys                            // /Auth/Keys and below
	ClassWebIndex                           // /web, /web/, /web/index.html
	ClassWeb                                // other /web/* static files
	ClassMedia                              // images, streams, HLS segments, subtitles, attachments Jellyfin serves without a token (GET/HEAD)
	ClassAnonymous                          // other routes Jellyfin serves without a token, and the root
	ClassLocalOnly                          // /System/Restart: Jellyfin lets LAN callers do it with no token
	ClassOutsideBase                        // a BaseUrl is set and the path is outside it: Jellyfin only redirects
)

var classNames = [...]string{
	ClassAPI:                   "api",
	ClassGateway:               "gateway",
	ClassLogin:                 "login",
	ClassLoginQuickConnect:     "login-quickconnect",
	ClassLoginLegacy:           "login-legacy",
	ClassQuickConnectAuthorize: "quickconnect-authorize",
	ClassQuickConnect:          "quickconnect",
	ClassLogout:                "logout",
	ClassAPIKeys:               "api-keys",
	ClassWebIndex:              "web-index",
	ClassWeb:                   "web",
	ClassMedia:                 "media",
	ClassAnonymous:             "anonymous",
	ClassLocalOnly:             "local-only",
	ClassOutsideBase:           "outside-base",
}

// String returns a short lower-case name for logs, metrics and rules.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// IsLogin reports whether a request of this class can hand out a Jellyfin
// session, which the gateway must intercept.
func (c Class) IsLogin() bool {
	return c == ClassLogin || c == ClassLoginQuickConnect || c == ClassLoginLegacy
}

// rank orders classes by how much a misfiled request could cost, for
// choosing between two readings of an ambiguous path: a possible login wins
// over everything, a token-guarded route over an anonymous one.
func (c Class) rank() int {
	switch c {
	case ClassLogin, ClassLoginQuickConnect, ClassLoginLegacy:
		return 10
	case ClassQuickConnectAuthorize:
		return 9
	case ClassAPIKeys, ClassLocalOnly:
		return 8
	case ClassLogout:
		return 7
	case ClassAPI:
		return 6
	case ClassQuickConnect:
		return 5
	case ClassWebIndex:
		return 4
	case ClassGateway:
		return 3
	case ClassWeb:
		return 2
	case ClassMedia, ClassAnonymous:
		return 1
	}
	return 0
}

// Route is a classified request path.
type Route struct {
	Class Class
	// Path is the normalised path: decoded, dot segments removed, BaseUrl and
	// one /emby or /mediabrowser segment cut, duplicate slashes collapsed,
	// lower-case, no trailing slash ("/" for the root). For ClassOutsideBase
	// it is the whole path.
	Path string
	// UserID is the {id} of ClassLoginLegacy, decoded, in its original case.
	UserID string
}

// Classify files a request the way Jellyfin would route it. It takes the
// method, the escaped path as the client sent it (r.URL.EscapedPath()) and
// Jellyfin's BaseUrl ("" or e.g. "/jellyfin", leading and trailing slashes
// optional). The gateway forwards the path unchanged; Classify only decides
// which rules apply.
//
// Normalisation follows Kestrel and Jellyfin: one percent-decoding, then
// dot segments, then BaseUrl, then one /emby or /mediabrowser segment (which
// Jellyfin cuts and then decodes again). It is deliberately broader where
// that is safe: it also collapses duplicate slashes, folds a few non-ASCII
// letters onto ASCII ones, removes dot segments that appear after the
// second decoding, and reads an encoded slash (%2F, which Kestrel leaves
// encoded) both ways, keeping the more guarded class. No spelling that
// Jellyfin routes to a login escapes the login classes.
func Classify(method, escapedPath, baseURL string) Route {
	base := baseSegments(baseURL)
	decoded := normalizeView(escapedPath, base, true)
	r := decoded.route(method)
	if !decoded.sawSlash {
		return r
	}
	literal := normalizeView(escapedPath, base, false).route(method)
	if literal.Class.rank() > r.Class.rank() {
		r.Class, r.UserID = literal.Class, literal.UserID
	}
	return r
}

// NormalizePath returns Route.Path for escapedPath and whether the path is
// inside baseURL, for rules and logs that need the path without a class.
func NormalizePath(escapedPath, baseURL string) (path string, insideBase bool) {
	v := normalizeView(escapedPath, baseSegments(baseURL), true)
	return foldPath(v.path), v.inside
}

// view is a path normalised one way.
type view struct {
	path     string // normalised, original case
	inside   bool   // inside BaseUrl
	gateway  bool   // <base>/jellyguard or below
	sawSlash bool   // an encoded slash was decoded or kept
}

// normalizeView normalises escaped against the BaseUrl segments. With
// decodeSlash an encoded slash becomes a separator after the dot segments
// are gone (the broad reading); without, it stays "%2F", as Jellyfin sees it.
func normalizeView(escaped string, base []string, decodeSlash bool) view {
	var v view
	p := cleanPath(ensureSlash(escaped), decodeSlash, &v.sawSlash)
	rest, inside := cutBase(p, base)
	if !inside {
		v.path = trimTrailingSlash(p)
		return v
	}
	v.inside = true
	first, after := nextSegment(rest)
	switch {
	case foldEqual(first, "jellyguard"):
		v.gateway = true
	case foldEqual(first, "emby"), foldEqual(first, "mediabrowser"):
		// Jellyfin assigns the rest back to Request.Path through PathString's
		// implicit conversion, which percent-decodes it a second time.
		rest = cleanPath(ensureSlash(after), decodeSlash, &v.sawSlash)
	}
	v.path = trimTrailingSlash(ensureSlash(rest))
	return v
}

// route classifies a normalised view.
func (v view) route(method string) Route {
	r := Route{Path: foldPath(v.path)}
	switch {
	case !v.inside:
		r.Class = ClassOutsideBase
	case v.gateway:
		r.Class = ClassGateway
	default:
		var buf [maxSegments + 1]string
		r.Class = matchClass(method, splitPath(buf[:0], r.Path))
		if r.Class == ClassLoginLegacy {
			r.UserID = splitPath(buf[:0], v.path)[1]
		}
	}
	return r
}

// baseSegments turns a BaseUrl into folded segments; none for no base.
func baseSegments(baseURL string) []string {
	var segs []string
	for s := range strings.SplitSeq(foldPath(baseURL), "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

// cutBase removes the base segments from the front of p, whole segments
// only (/jellyfinx is not under /jellyfin), and returns the rest ("" or a
// path starting with "/").
func cutBase(p string, base []string) (string, bool) {
	for _, b := range base {
		first, rest := nextSegment(p)
		if !strings.HasPrefix(p, "/") || !foldEqual(first, b) {
			return p, false
		}
		p = rest
	}
	return p, true
}

// nextSegment splits "/first/rest..." into "first" and "/rest...".
func nextSegment(p string) (first, rest string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// maxSegments is the length of Jellyfin's longest anonymous route; longer
// paths are plain API paths.
const maxSegments = 11

// splitPath appends the segments of a normalised path to buf; the root has
// none. Past maxSegments it stops, leaving one segment more than any route
// has.
func splitPath(buf []string, p string) []string {
	for p != "" && p != "/" && len(buf) <= maxSegments {
		var first string
		first, p = nextSegment(p)
		buf = append(buf, first)
	}
	return buf
}

func ensureSlash(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
}

func trimTrailingSlash(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}
