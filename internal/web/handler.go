package web

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strings"
	"time"
)

// Options configure the pages.
type Options struct {
	// BasePath is Jellyfin's BaseUrl: "" or e.g. "/jellyfin".
	BasePath string
	// ServerName is shown in page headers and titles. Default "Jellyfin".
	ServerName string
	// Issuer is the configured two_factor.issuer, shown when an
	// enrollment does not name its own; "" leaves it to the enrollment
	// (Jellyfin's server name by default).
	Issuer string
	// ClientFrom tells who is asking: the gateway supplies the client
	// address and whether it reached us over HTTPS. Default: the TCP peer
	// and r.TLS.
	ClientFrom func(*http.Request) Client
	// ChallengeCookie is the name of the HttpOnly cookie that binds a
	// challenge to the browser. Default "jg_challenge".
	ChallengeCookie string
	// Logger receives errors the pages cannot show. Default slog.Default().
	Logger *slog.Logger
	// TrustDays is how long a trusted browser skips the challenge, as
	// configured; the pages say so. Default 30.
	TrustDays int
}

// DefaultChallengeCookie is the challenge cookie's name when
// Options.ChallengeCookie is empty.
const DefaultChallengeCookie = "jg_challenge"

const (
	// bodyLimit caps every request body.
	bodyLimit = 16 << 10

	contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

// ChallengeCookieFor returns the cookie that binds challenge id to the
// browser, the way the pages read and clear it: HttpOnly, SameSite=Strict,
// scoped to <base>/jellyguard/, Secure when the client uses HTTPS.
func (o Options) ChallengeCookieFor(id string, secure bool, expires time.Time) *http.Cookie {
	return &http.Cookie{ //nolint:gosec // G124: Secure follows the client's scheme (DESIGN §6); plain-HTTP LAN setups need the cookie too
		Name:     o.challengeCookieName(),
		Value:    id,
		Path:     cleanBase(o.BasePath) + "/jellyguard/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	}
}

func (o Options) challengeCookieName() string {
	if o.ChallengeCookie == "" {
		return DefaultChallengeCookie
	}
	return o.ChallengeCookie
}

// ChallengePath is where the web client is sent to answer a challenge: the
// value of the X-Jellyguard-Challenge header.
func ChallengePath(basePath string) string {
	return cleanBase(basePath) + "/jellyguard/challenge"
}

// SetupPath is the Setup page, where a user whose grace period runs is
// sent after signing in: the value of the X-Jellyguard-Setup header.
func SetupPath(basePath string) string {
	return cleanBase(basePath) + "/jellyguard/setup"
}

// handler serves everything under <base>/jellyguard/.
type handler struct {
	svc    Service
	opts   Options
	base   string // cleaned BasePath
	cookie string // challenge cookie name
	log    *slog.Logger
	mux    *http.ServeMux
	next   http.Handler // CSRF protection around route
}

// Handler returns the pages, API and static files. It accepts request paths
// both with and without the BasePath in front of /jellyguard/.
func Handler(svc Service, opts Options) http.Handler {
	h := &handler{
		svc:    svc,
		opts:   opts,
		base:   cleanBase(opts.BasePath),
		cookie: opts.challengeCookieName(),
		log:    opts.Logger,
	}
	if h.opts.ServerName == "" {
		h.opts.ServerName = "Jellyfin"
	}
	if h.opts.TrustDays <= 0 {
		h.opts.TrustDays = 30
	}
	if h.log == nil {
		h.log = slog.Default()
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.index)
	mux.HandleFunc("GET /challenge", h.showChallenge)
	mux.HandleFunc("POST /challenge", h.submitChallenge)
	mux.HandleFunc("GET /login", h.showLogin)
	mux.HandleFunc("POST /login", h.submitLogin)
	mux.HandleFunc("GET /setup", h.showSetup)
	mux.HandleFunc("GET /static/{file}", serveStatic)
	h.routeAPI(mux)
	h.mux = mux

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(h.crossOrigin))
	h.next = cop.Handler(http.HandlerFunc(h.route))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	rel, ok := h.relPath(r.URL.Path)
	if !ok {
		h.notFound(w, r)
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, bodyLimit)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = rel, ""
	h.next.ServeHTTP(w, r2)
}

// relPath cuts "<base>/jellyguard" or "/jellyguard" from p and returns the
// rest, cleaned and lower-case like the gateway's routing ("/" at least).
func (h *handler) relPath(p string) (string, bool) {
	for _, prefix := range []string{h.base + "/jellyguard", "/jellyguard"} {
		if len(p) < len(prefix) || !strings.EqualFold(p[:len(prefix)], prefix) {
			continue
		}
		rest := p[len(prefix):]
		if rest != "" && rest[0] != '/' {
			continue
		}
		return strings.ToLower(path.Clean("/" + rest)), true
	}
	return "", false
}

// route serves r from the mux, with the pages' own answers for unknown
// paths and methods.
func (h *handler) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := h.mux.Handler(r2); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		h.notFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeAPIError(w, http.StatusMethodNotAllowed, "method_not_allowed", "This address does not take this method.")
		return
	}
	h.message(w, http.StatusMethodNotAllowed, "Not allowed", "This address does not take this kind of request.")
}

// setSecurityHeaders applies the rules every gateway response follows.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// client tells who is asking.
func (h *handler) client(r *http.Request) Client {
	var c Client
	if h.opts.ClientFrom != nil {
		c = h.opts.ClientFrom(r)
	} else {
		c.HTTPS = r.TLS != nil
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			c.IP = ap.Addr().Unmap()
		} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			c.IP, _ = netip.ParseAddr(host)
		}
	}
	if c.UserAgent == "" {
		c.UserAgent = r.UserAgent()
	}
	return c
}

// url returns the public path of rel under <base>/jellyguard/.
func (h *handler) url(rel string) string { return h.base + "/jellyguard/" + rel }

// webURL is jellyfin-web's address.
func (h *handler) webURL() string { return h.base + "/web/" }

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, h.url("setup"), http.StatusSeeOther)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeAPIError(w, http.StatusNotFound, "not_found", "There is nothing here.")
		return
	}
	h.message(w, http.StatusNotFound, "Page not found", "There is nothing at this address.")
}

func (h *handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeAPIError(w, http.StatusForbidden, "cross_origin", "This request came from another site and was refused.")
		return
	}
	h.message(w, http.StatusForbidden, "Request refused",
		"This request came from another site and was refused. Open the page from this server and try again.")
}

// internalError logs err and shows a generic page.
func (h *handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "gateway page failed", "path", r.URL.Path, "err", err)
	h.message(w, http.StatusInternalServerError, "Something went wrong",
		"The server could not finish this request. Try again in a moment.")
}

// message renders the message page with a link back to Jellyfin.
func (h *handler) message(w http.ResponseWriter, status int, title, text string) {
	h.render(w, status, "message.html", messagePage{
		layout: h.layout(title),
		Text:   text,
		Link:   h.webURL(),
	})
}

// render executes page name into a buffer, so that a template error becomes
// a clean 500, and writes it. Pages are never cached: some carry tokens.
func (h *handler) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// cleanBase turns a BaseUrl into "" or "/segment[/segment]" with no
// trailing slash.
func cleanBase(b string) string {
	b = strings.Trim(b, "/")
	if b == "" {
		return ""
	}
	return "/" + b
}
