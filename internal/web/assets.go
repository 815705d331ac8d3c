package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

//go:embed templates
var templateFS embed.FS

// hashLen is how many hex digits of the content hash go into a file name.
const hashLen = 12

// asset is one embedded static file.
type asset struct {
	hashed string // "handoff.0123456789ab.js"
	hash   string
	ctype  string
	data   []byte
}

var (
	// assets maps plain names ("handoff.js") to files.
	assets = loadAssets(staticFS, "static")
	// hashedAssets maps hashed names to files.
	hashedAssets = indexHashed(assets)
	// pages are the parsed templates, one set per page.
	pages = parsePages()
)

var contentTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
}

// loadAssets reads the files in dir of fsys and names them by content.
func loadAssets(fsys fs.FS, dir string) map[string]*asset {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		panic("web: reading embedded static files: " + err.Error())
	}
	m := make(map[string]*asset, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			panic("web: reading embedded static file: " + err.Error())
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])[:hashLen]
		ext := path.Ext(name)
		ctype := contentTypes[ext]
		if ctype == "" {
			ctype = mime.TypeByExtension(ext)
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		m[name] = &asset{
			hashed: strings.TrimSuffix(name, ext) + "." + hash + ext,
			hash:   hash,
			ctype:  ctype,
			data:   data,
		}
	}
	return m
}

func indexHashed(m map[string]*asset) map[string]*asset {
	h := make(map[string]*asset, len(m))
	for _, a := range m {
		h[a.hashed] = a
	}
	return h
}

// assetURL is the public, content-hashed address of static file name.
func assetURL(basePath, name string) string {
	a, ok := assets[name]
	if !ok {
		return cleanBase(basePath) + "/jellyguard/static/" + name
	}
	return cleanBase(basePath) + "/jellyguard/static/" + a.hashed
}

// InjectTag returns the script tag the gateway inserts into jellyfin-web's
// index.html, best at the start of <head> so that it runs before the app.
// The script watches the app's sign-in requests and sends the browser to
// the challenge page when a second factor is needed.
func InjectTag(basePath string) string {
	return `<script src="` + html.EscapeString(assetURL(basePath, "inject.js")) + `" defer></script>`
}

// serveStatic serves a static file. The hashed name is cached for a year;
// the plain name, and a hashed name whose hash is stale (another version of
// the gateway linked it), are served with the current content and must be
// revalidated.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	a, immutable := hashedAssets[name], true
	if a == nil {
		a, immutable = assets[unhashedName(name)], false
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", `"`+a.hash+`"`)
	if immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
}

// unhashedName turns "name.<hash>.ext" into "name.ext"; other names are
// returned as they are.
func unhashedName(name string) string {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	i := strings.LastIndexByte(stem, '.')
	if i < 0 || len(stem)-i-1 != hashLen || !isHex(stem[i+1:]) {
		return name
	}
	return stem[:i] + ext
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parsePages parses each page template together with the layout.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{"asset": assetURL}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic("web: listing templates: " + err.Error())
	}
	m := make(map[string]*template.Template, len(names))
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		m[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return m
}
