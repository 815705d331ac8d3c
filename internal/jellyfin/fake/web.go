package fake

import (
	"fmt"
	"net/http"
	"strings"
)

// IndexHTML is the stand-in for jellyfin-web's index.html served at
// /web/index.html and /web/ (§10.1), so gateways that inject into the web
// index have a fixed page to work on.
const IndexHTML = `<!DOCTYPE html><html><head><title>Jellyfin</title></head><body><div id="reactRoot">stand-in</div></body></html>`

// webFile is one file of the stand-in web directory.
type webFile struct {
	ctype string
	body  string
}

// webFiles is the stand-in web directory. Names are case-sensitive, as on
// a Linux file system; the file named like jellyfin-web's bundle lets web
// wrappers that look for main.*.bundle.js recognise the app (clients.md §2).
var webFiles = map[string]webFile{
	"index.html":               {"text/html", IndexHTML},
	"main.jellyfin.bundle.js":  {"text/javascript", "/* jellyfin-web stand-in */\nwindow.jellyfinStandIn = true;\n"},
	"main.jellyfin.bundle.css": {"text/css", "/* jellyfin-web stand-in */\nbody { background: #101010; }\n"},
	"manifest.json":            {"application/json", `{"name":"Jellyfin","short_name":"Jellyfin","start_url":"index.html"}`},
	"config.json":              {"application/json", `{"multiserver":false,"servers":[]}`},
}

// serveWeb is UseDefaultFiles + UseStaticFiles for /web (§10.1), which run
// before authentication, routing and the IP filter: GET/HEAD only; the
// /web segment matches case-insensitively; "/web" gets a 301 to the
// absolute "/web/" URL; "/web/" serves index.html, which carries
// Cache-Control: no-cache; unknown files fall through (to a 404).
func (s *Server) serveWeb(c *call) bool {
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		return false
	}
	n, ok := prefixLenFold(c.path, "/web")
	if !ok || n < len(c.path) && c.path[n] != '/' {
		return false
	}
	sub := c.path[n:]
	if sub == "" {
		s.redirectToSlash(c)
		return true
	}
	name := strings.TrimPrefix(sub, "/")
	if name == "" {
		name = "index.html"
	}
	f, ok := webFiles[name]
	if !ok {
		return false
	}
	h := c.w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", fmt.Sprintf(`"%x"`, contentDate.Unix()^int64(len(f.body))))
	if name == "index.html" {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(c.w, c.r, "", contentDate, strings.NewReader(f.body))
	return true
}

// redirectToSlash is StaticFiles' RedirectToPathWithSlash: 301 to the
// absolute URL built from scheme, host, PathBase, Path + "/" and the query.
func (s *Server) redirectToSlash(c *call) {
	s.mu.Lock()
	base := s.netCfg.BaseURL
	s.mu.Unlock()
	loc := c.peer.scheme + "://" + c.peer.host + base + c.path + "/" + rawQueryString(c.r)
	c.w.Header().Set("Location", loc)
	c.w.WriteHeader(http.StatusMovedPermanently)
}
