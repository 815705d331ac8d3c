package fake

import (
	"crypto/sha256"
	_ "embed" // the stand-in app script
	"fmt"
	"net/http"
	"strings"
)

// IndexHTML is the stand-in for jellyfin-web's index.html served at
// /web/index.html and /web/ (§10.1), so gateways that inject into the web
// index have a fixed page to work on. Like the real file it loads its
// script with defer from <head>, and it keeps a </head> for injection. The
// page is a small stand-in of the app: a status line, a sign-out link, the
// login form and an error line; standin.js gives it jellyfin-web's
// behaviour.
const IndexHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Jellyfin</title>
<link rel="stylesheet" href="main.jellyfin.bundle.css">
<script src="standin.js" defer></script>
</head>
<body>
<div id="reactRoot">
<h1>Jellyfin</h1>
<p id="status" role="status"></p>
<a id="signOut" href="index.html" hidden>Sign out</a>
<form id="loginForm" hidden>
<label for="username">User</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="login" type="submit">Sign In</button>
</form>
<p id="error" role="alert" hidden></p>
</div>
</body>
</html>
`

// standInJS is the stand-in app's script, served at /web/standin.js: on
// load it checks the token saved in localStorage "jellyfin_credentials"
// (§10.2), and its login form sends jellyfin-web's own sign-in fetch and
// stores the answer the same way (§10.3).
//
//go:embed standin.js
var standInJS string

// standInCSS styles the stand-in page (the bundle's stylesheet).
const standInCSS = `/* jellyfin-web stand-in */
[hidden] { display: none !important; }
body { background: #101010; color: #eee; font: 16px/1.4 system-ui, sans-serif; margin: 0; }
#reactRoot { max-width: 22em; margin: 3em auto; padding: 0 1em; }
form { display: grid; gap: .5em; }
input, button { font: inherit; padding: .5em; }
#error { color: #f66; }
`

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
	"standin.js":               {"text/javascript", standInJS},
	"main.jellyfin.bundle.js":  {"text/javascript", "/* jellyfin-web stand-in */\nwindow.jellyfinStandIn = true;\n"},
	"main.jellyfin.bundle.css": {"text/css", standInCSS},
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
	sum := sha256.Sum256([]byte(f.body))
	h.Set("ETag", fmt.Sprintf(`"%x"`, sum[:8]))
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
