package web

import (
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestStaticFiles(t *testing.T) {
	if len(assets) < 6 {
		t.Fatalf("only %d static files", len(assets))
	}
	for name, a := range assets {
		t.Run(name, func(t *testing.T) {
			want := contentTypes[path.Ext(name)]
			if want == "" {
				t.Fatalf("no content type for %s", name)
			}
			url := assetURL("/jellyfin", name)
			if url != "/jellyfin/jellyguard/static/"+a.hashed || !strings.Contains(a.hashed, "."+a.hash+".") {
				t.Fatalf("url %q", url)
			}
			w := do(t, newFake(), get(url))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", got)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			if w.Body.String() != string(a.data) {
				t.Error("wrong content")
			}

			// The plain name and a stale hash get the current file, revalidated.
			stale := strings.Replace(a.hashed, a.hash, "0123456789ab", 1)
			for _, other := range []string{name, stale} {
				w := do(t, newFake(), get("/jellyfin/jellyguard/static/"+other))
				if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-cache" || w.Body.String() != string(a.data) {
					t.Errorf("%s: status %d, Cache-Control %q", other, w.Code, w.Header().Get("Cache-Control"))
				}
			}

			// Revalidation by ETag.
			r := get(url)
			r.Header.Set("If-None-Match", w.Header().Get("ETag"))
			if w := do(t, newFake(), r); w.Code != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d", w.Code)
			}
		})
	}
	for _, missing := range []string{"nothing.js", "setup.zzzzzzzzzzzz.js", "../templates/layout.html"} {
		if w := do(t, newFake(), get("/jellyfin/jellyguard/static/"+missing)); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d", missing, w.Code)
		}
	}
}

func TestHashedNameFollowsContent(t *testing.T) {
	a := loadAssets(fstest.MapFS{"s/app.js": {Data: []byte("one")}}, "s")
	b := loadAssets(fstest.MapFS{"s/app.js": {Data: []byte("two")}}, "s")
	c := loadAssets(fstest.MapFS{"s/app.js": {Data: []byte("one")}}, "s")
	if a["app.js"].hashed == b["app.js"].hashed {
		t.Error("different content, same name")
	}
	if a["app.js"].hashed != c["app.js"].hashed {
		t.Error("same content, different name")
	}
	if !regexp.MustCompile(`^app\.[0-9a-f]{12}\.js$`).MatchString(a["app.js"].hashed) {
		t.Errorf("name %q", a["app.js"].hashed)
	}
}

func TestUnhashedName(t *testing.T) {
	tests := map[string]string{
		"setup.0123456789ab.js": "setup.js",
		"setup.js":              "setup.js",
		"a.b.0123456789ab.css":  "a.b.css",
		"setup.0123.js":         "setup.0123.js",
		"setup.0123456789AB.js": "setup.0123456789AB.js",
	}
	for in, want := range tests {
		if got := unhashedName(in); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestInjectTag(t *testing.T) {
	want := `<script src="/jellyfin/jellyguard/static/` + assets["inject.js"].hashed + `" defer></script>`
	for _, base := range []string{"/jellyfin", "jellyfin/", "/jellyfin/"} {
		if got := InjectTag(base); got != want {
			t.Errorf("InjectTag(%q) = %s, want %s", base, got, want)
		}
	}
	if got := InjectTag(""); got != `<script src="/jellyguard/static/`+assets["inject.js"].hashed+`" defer></script>` {
		t.Errorf("InjectTag(\"\") = %s", got)
	}
	src := regexp.MustCompile(`src="([^"]+)"`).FindStringSubmatch(InjectTag("/jellyfin"))[1]
	w := do(t, newFake(), get(src))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("inject script: status %d", w.Code)
	}
}

func TestPagesLinkHashedAssets(t *testing.T) {
	body := do(t, newFake(), get("/jellyfin/jellyguard/login")).Body.String()
	for _, name := range []string{"style.css", "login.js", "icon.svg"} {
		if !strings.Contains(body, `"/jellyfin/jellyguard/static/`+assets[name].hashed+`"`) {
			t.Errorf("page does not link %s by its hashed name", name)
		}
	}
}

// TestPagesAreDarkLikeJellyfin: Jellyfin is dark, so the pages are dark
// unless the browser asks for light, and use Jellyfin's accent colour.
func TestPagesAreDarkLikeJellyfin(t *testing.T) {
	css := string(assets["style.css"].data)
	i := strings.Index(css, "@media (prefers-color-scheme: light)")
	if i < 0 {
		t.Fatal("style.css has no light scheme for browsers that ask for it")
	}
	def := css[:i]
	for _, want := range []string{"color-scheme: dark;", "--bg: #101010;", "--accent: #00a4dc;"} {
		if !strings.Contains(def, want) {
			t.Errorf("the default colours lack %q", want)
		}
	}
	if strings.Contains(css, "prefers-color-scheme: dark") {
		t.Error("dark is only one choice among two: it must be the default")
	}
	if light := css[i:]; !strings.Contains(light, "color-scheme: light;") || !strings.Contains(light, "--bg: #f2f2f2;") {
		t.Error("the light scheme does not switch the colours")
	}
	page := do(t, newFake(), get("/jellyfin/jellyguard/login")).Body.String()
	if !strings.Contains(page, `<meta name="color-scheme" content="dark light">`) {
		t.Error("the pages do not tell the browser they prefer dark")
	}
	if !strings.Contains(string(assets["icon.svg"].data), "#00a4dc") {
		t.Error("the icon is not in Jellyfin's accent colour")
	}
}
