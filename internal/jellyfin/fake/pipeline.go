package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds the request bodies the emulator reads.
const maxBody = 1 << 20

// call is one request on its way through the pipeline.
type call struct {
	w *respWriter
	r *http.Request
	// path is HttpRequest.Path inside the BaseUrl; after the legacy
	// rewrite it is the routed path.
	path    string
	peer    peer
	isLocal bool
	camel   bool
	// query is what authentication reads; equery is what endpoints read,
	// after QueryStringDecodingMiddleware.
	query  query
	equery query
	auth   authInfo
	params map[string]string
	body   []byte
}

// ip is the normalised client IP as Jellyfin records it (§8).
func (c *call) ip() string { return ipText(c.peer.ip) }

// ServeHTTP runs Jellyfin's middleware pipeline (Startup.Configure) in order:
// Kestrel path normalisation, BaseUrl redirection and mapping, forwarded
// headers, response time and compression, CORS, the legacy /emby rewrite,
// static /web files, authentication, routing and authorization, the IP
// access check, the WebSocket handler and finally the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	raw := rawTarget(r)
	path, err := kestrelPath(raw)
	if err != nil {
		s.count(raw)
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	base := s.netCfg.BaseURL
	s.mu.Unlock()
	if loc, ok := baseRedirect(path, base); ok {
		s.count(path)
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
		return
	}
	inner, ok := mapBase(path, base)
	if !ok {
		s.count(path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	rw := &respWriter{w: w, start: start}
	defer rw.finish()
	s.pipeline(s.newCall(rw, r, inner))
}

// newCall resolves the client address and response options.
func (s *Server) newCall(rw *respWriter, r *http.Request, path string) *call {
	s.mu.Lock()
	p := forwardedPeer(r, &s.netCfg)
	s.mu.Unlock()
	c := &call{w: rw, r: r, path: path, peer: p, camel: wantsCamelCase(r)}
	if local, ok := localAddr(r); ok {
		c.isLocal = local.Unmap() == p.ip.Unmap()
	} else {
		c.isLocal = !p.ip.IsValid()
	}
	rw.canGzip = acceptsGzip(r) && p.scheme != "https" && r.Method != http.MethodHead
	return c
}

func (s *Server) pipeline(c *call) {
	routed, trimErr := legacyTrim(c.path)
	if trimErr != nil {
		s.count(c.path)
	} else {
		s.count(routed)
	}
	if s.handleCORS(c) {
		return
	}
	if trimErr != nil {
		s.writeError(c, trimErr)
		return
	}
	c.path = routed
	if s.serveWeb(c) {
		return
	}
	c.query = parseQuery(c.r.URL.RawQuery)
	c.equery = decodeEncodedQuery(c.query)
	m := s.matchRoute(c.r.Method, routed)
	if !s.admit(c, m) {
		return
	}
	if isWebSocketRequest(c.r) {
		s.serveWebSocket(c)
		return
	}
	if m.route == nil {
		notRouted(c, m)
		return
	}
	c.params = m.params
	s.invoke(c, m.route)
}

// admit runs authentication, authorization (401/403 with empty bodies) and
// the IP access check (503, §7); it reports whether the request goes on.
func (s *Server) admit(c *call, m match) bool {
	s.mu.Lock()
	c.auth = s.authenticate(c.r.Header, c.query)
	status := 0
	if m.route != nil {
		status = s.authorize(c, m.route.policy)
	}
	reason := ""
	if status == 0 && !c.isLocal {
		reason = accessPolicy(c.peer.ip, &s.netCfg)
	}
	s.mu.Unlock()
	switch {
	case status != 0:
		c.w.WriteHeader(status)
		return false
	case reason != "":
		s.log.ipBlocked(c.path, c.ip(), reason)
		c.w.WriteHeader(http.StatusServiceUnavailable)
		return false
	}
	return true
}

// notRouted answers a path no endpoint serves: 405 with Allow when only the
// method is wrong, else 404; both with empty bodies.
func notRouted(c *call, m match) {
	if len(m.allow) > 0 {
		c.w.Header().Set("Allow", strings.Join(m.allow, ", "))
		c.w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	c.w.WriteHeader(http.StatusNotFound)
}

// invoke runs the endpoint: raw handlers without the lock, others under it
// with the body read beforehand and the reply written afterwards.
func (s *Server) invoke(c *call, r *route) {
	if r.raw != nil {
		r.raw(s, c)
		return
	}
	c.body, _ = io.ReadAll(io.LimitReader(c.r.Body, maxBody))
	s.mu.Lock()
	rep, err := r.h(s, c)
	s.mu.Unlock()
	s.writeReply(c, rep, err)
}

// handleCORS is UseCors with Jellyfin's policy (CorsHosts "*" → any origin,
// any method, any header, no credentials). A preflight always ends here
// with 204; other requests only gain the headers.
func (s *Server) handleCORS(c *call) bool {
	origin := c.r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	s.mu.Lock()
	hosts := append([]string(nil), s.cfg.CorsHosts...)
	s.mu.Unlock()
	h := c.w.Header()
	anyOrigin := len(hosts) == 0 || len(hosts) == 1 && hosts[0] == "*"
	allowed := anyOrigin || containsFold(hosts, origin)
	if allowed && anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	reqMethod := c.r.Header.Get("Access-Control-Request-Method")
	if c.r.Method != http.MethodOptions || reqMethod == "" {
		return false
	}
	if allowed {
		h.Set("Access-Control-Allow-Methods", reqMethod)
		if rh := c.r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
	}
	c.w.WriteHeader(http.StatusNoContent)
	return true
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// isWebSocketRequest is ASP.NET's IsWebSocketRequest.
func isWebSocketRequest(r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("Sec-WebSocket-Key") == "" {
		return false
	}
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// decodeEncodedQuery is QueryStringDecodingMiddleware: a query that arrived
// fully percent-encoded ("?ApiKey%3Dabc%26x%3D1") is one key with an empty
// value; it is split again for the endpoints (authentication has already
// read the original).
func decodeEncodedQuery(q query) query {
	if q.count() != 1 {
		return q
	}
	var name string
	for k := range q.vals {
		if v, _ := q.get(k); v != "" {
			return q
		}
		name = q.names[k]
	}
	if !strings.Contains(name, "=") {
		return q
	}
	out := query{vals: map[string][]string{}, names: map[string]string{}}
	for _, pair := range strings.Split(name, "&") {
		k, v, hasEq := strings.Cut(pair, "=")
		key := strings.Map(ordinalUpper, k)
		if _, dup := out.vals[key]; dup && !hasEq {
			continue
		}
		out.vals[key] = append(out.vals[key], v)
		out.names[key] = k
	}
	return out
}

// checkJSONBody applies [FromBody] binding rules: a JSON media type (else
// 415) and a non-empty body (else 400).
func (c *call) checkJSONBody() *reply {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || !(mt == "application/json" || mt == "text/json" ||
		strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return problem(http.StatusUnsupportedMediaType)
	}
	if len(bytes.TrimSpace(c.body)) == 0 {
		return validationProblem(map[string][]string{"": {"A non-empty request body is required."}})
	}
	return nil
}

// bindJSON reads the request body into v; property names match
// case-insensitively, as in Jellyfin.
func (c *call) bindJSON(v any) *reply {
	if bad := c.checkJSONBody(); bad != nil {
		return bad
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return validationProblem(map[string][]string{"$": {err.Error()}, "request": {"The request field is required."}})
	}
	return nil
}

// guidParam binds a required Guid route value (400 when malformed).
func (c *call) guidParam(name string) (string, *reply) {
	v := c.params[name]
	id, ok := parseGUID(v)
	if !ok {
		return "", validationProblem(map[string][]string{name: {"The value '" + v + "' is not valid."}})
	}
	return id, nil
}

// optionalGUID binds an optional Guid query value; "" when absent.
func (c *call) optionalGUID(name string) (string, *reply) {
	v, _ := c.equery.get(name)
	if v == "" {
		return "", nil
	}
	id, ok := parseGUID(v)
	if !ok {
		return "", validationProblem(map[string][]string{name: {"The value '" + v + "' is not valid."}})
	}
	return id, nil
}

// requiredQuery binds a [FromQuery, Required] string.
func (c *call) requiredQuery(name string) (string, *reply) {
	v, _ := c.equery.get(name)
	if v == "" {
		return "", validationProblem(map[string][]string{name: {"The " + name + " field is required."}})
	}
	return v, nil
}

// boolQuery binds an optional bool query value.
func (c *call) boolQuery(name string) (*bool, *reply) {
	v, _ := c.equery.get(name)
	switch {
	case v == "":
		return nil, nil
	case strings.EqualFold(v, "true"):
		t := true
		return &t, nil
	case strings.EqualFold(v, "false"):
		f := false
		return &f, nil
	}
	return nil, validationProblem(map[string][]string{name: {"The value '" + v + "' is not valid."}})
}
