package fake

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// respWriter is the ResponseTime and ResponseCompression middleware pair
// (§1, §10.1). Headers are committed on the first body write, or at the end
// for empty bodies, so that, as in ASP.NET, only responses that actually have
// a body are compressed, and every response gets X-Response-Time-ms.
type respWriter struct {
	w         http.ResponseWriter
	start     time.Time
	canGzip   bool
	status    int
	committed bool
	gz        *gzip.Writer
}

// Header implements http.ResponseWriter.
func (rw *respWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader implements http.ResponseWriter; the status is sent with the
// first write.
func (rw *respWriter) WriteHeader(code int) {
	if !rw.committed && rw.status == 0 {
		rw.status = code
	}
}

// Write implements http.ResponseWriter.
func (rw *respWriter) Write(p []byte) (int, error) {
	if !rw.committed {
		rw.commit(true)
	}
	if rw.gz != nil {
		return rw.gz.Write(p)
	}
	return rw.w.Write(p) //nolint:gosec // the emulator writes what a handler produced; pages it serves are fixed stand-ins
}

// Flush sends what has been written so far.
func (rw *respWriter) Flush() {
	if !rw.committed {
		rw.commit(true)
	}
	if rw.gz != nil {
		_ = rw.gz.Flush()
	}
	_ = http.NewResponseController(rw.w).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (rw *respWriter) Unwrap() http.ResponseWriter { return rw.w }

// commit sets the response-time header, decides on compression and sends
// the status line.
func (rw *respWriter) commit(body bool) {
	rw.committed = true
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	h := rw.w.Header()
	h.Set("X-Response-Time-ms", responseTime(rw.start))
	if body && compressible(h) {
		h.Add("Vary", "Accept-Encoding")
		if rw.canGzip {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			rw.gz = gzip.NewWriter(rw.w)
		}
	}
	rw.w.WriteHeader(rw.status)
}

// finish completes the response.
func (rw *respWriter) finish() {
	if !rw.committed {
		rw.commit(false)
	}
	if rw.gz != nil {
		_ = rw.gz.Close()
	}
}

// responseTime formats elapsed milliseconds like .NET's double.ToString().
func responseTime(start time.Time) string {
	ms := float64(time.Since(start).Nanoseconds()) / 1e6
	return strconv.FormatFloat(ms, 'f', -1, 64)
}

// compressibleTypes is ResponseCompressionDefaults.MimeTypes.
var compressibleTypes = map[string]bool{
	"text/plain": true, "text/css": true, "application/javascript": true,
	"text/javascript": true, "text/html": true, "application/xml": true,
	"text/xml": true, "application/json": true, "text/json": true,
	"application/wasm": true,
}

// compressible is ResponseCompressionProvider.ShouldCompressResponse: a
// listed MIME type, no Content-Range and no existing Content-Encoding.
func compressible(h http.Header) bool {
	if h.Get("Content-Range") != "" || h.Get("Content-Encoding") != "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && compressibleTypes[mt]
}

// acceptsGzip reports whether Accept-Encoding names gzip (or *) with a
// non-zero quality. Brotli, which Jellyfin prefers when offered, is not
// produced; a client that accepts only br gets an identity body.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, q := parseQuality(part)
			if (name == "gzip" || name == "*") && q > 0 {
				return true
			}
		}
	}
	return false
}

// parseQuality splits "name;q=0.5" into a lower-case name and its quality.
func parseQuality(part string) (string, float64) {
	fields := strings.Split(part, ";")
	name := strings.ToLower(strings.TrimSpace(fields[0]))
	q := 1.0
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = x
			}
		}
	}
	return name, q
}

// wantsCamelCase applies MVC's output formatter selection to the Accept
// header (§1): entries are tried by quality; the first one a formatter can
// serve decides. Only `application/json; profile="CamelCase"` (quoted, any
// case) selects the camelCase formatter.
func wantsCamelCase(r *http.Request) bool {
	type entry struct {
		camel, pascal bool
		q             float64
	}
	var entries []entry
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			camel, pascal, q := classifyAccept(part)
			entries = append(entries, entry{camel, pascal, q})
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].q > entries[j].q })
	for _, e := range entries {
		if e.q <= 0 {
			continue
		}
		if e.camel || e.pascal {
			return e.camel
		}
	}
	return false
}

// classifyAccept says which JSON formatter one Accept entry selects.
func classifyAccept(part string) (camel, pascal bool, q float64) {
	fields := strings.Split(part, ";")
	mt := strings.ToLower(strings.TrimSpace(fields[0]))
	q = 1
	var profile string
	extra := false
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "q":
			if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = x
			}
		case "profile":
			profile = strings.TrimSpace(v)
		default:
			extra = true
		}
	}
	if mt == "*/*" || mt == "application/*" {
		return false, true, q
	}
	if mt != "application/json" || extra {
		return false, false, q
	}
	switch {
	case profile == "":
		return false, true, q
	case strings.EqualFold(profile, `"CamelCase"`):
		return true, false, q
	case strings.EqualFold(profile, `"PascalCase"`):
		return false, true, q
	}
	return false, false, q
}

// reply is a finished response, built under the server lock and written
// after it is released.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func newReply(status int, ctype string, body []byte) *reply {
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	return &reply{status: status, header: h, body: body}
}

// noContent is NoContentResult.
func noContent() *reply { return newReply(http.StatusNoContent, "", nil) }

// jsonReply serializes v with the casing the request asked for (§1).
func (c *call) jsonReply(status int, v any) *reply {
	b, err := json.Marshal(v)
	if err != nil {
		return newReply(http.StatusInternalServerError, "text/plain", []byte("Error processing request."))
	}
	ctype := "application/json; charset=utf-8"
	if c.camel {
		if cb, err := camelJSON(b); err == nil {
			b = cb
		}
		ctype = `application/json; profile="CamelCase"; charset=utf-8`
	}
	return newReply(status, ctype, b)
}

// problemTypes are the RFC 9110 links ASP.NET puts in ProblemDetails.
var problemTypes = map[int]string{
	400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
	401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
	403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
	404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
	415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
}

// problem is the ProblemDetails body [ApiController] produces for a bare
// NotFound()/BadRequest() result or a 415.
func problem(status int) *reply {
	return problemReply(map[string]any{
		"type": problemTypes[status], "title": http.StatusText(status),
		"status": status, "traceId": traceID(),
	})
}

// validationProblem is the automatic 400 for failed model binding (§1).
func validationProblem(errs map[string][]string) *reply {
	return problemReply(map[string]any{
		"type": problemTypes[400], "title": "One or more validation errors occurred.",
		"status": 400, "errors": errs, "traceId": traceID(),
	})
}

func problemReply(v map[string]any) *reply {
	b, _ := json.Marshal(v)
	return newReply(v["status"].(int), "application/problem+json; charset=utf-8", b)
}

// traceID is a W3C trace id as ASP.NET writes it into ProblemDetails.
func traceID() string {
	return "00-" + randomHex(16, false) + "-" + randomHex(8, false) + "-00"
}

// writeReply sends a handler's result; an error becomes the ExceptionMiddleware
// response and ERR log line.
func (s *Server) writeReply(c *call, rep *reply, err error) {
	if err != nil {
		s.writeError(c, err)
		return
	}
	for k, v := range rep.header {
		c.w.Header()[k] = v
	}
	if rep.body != nil {
		c.w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	}
	c.w.WriteHeader(rep.status)
	if c.r.Method != http.MethodHead && rep.body != nil {
		_, _ = c.w.Write(rep.body)
	}
}

// writeError is ExceptionMiddleware (§1): text/plain "Error processing
// request." with the mapped status, plus an ERR log line.
func (s *Server) writeError(c *call, err error) {
	var je *jfError
	if !errors.As(err, &je) {
		je = &jfError{http.StatusInternalServerError, "System.Exception", err.Error(), false}
	}
	s.log.exception(je, c.r.Method, c.path)
	body := []byte("Error processing request.")
	c.w.Header().Set("Content-Type", "text/plain")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(je.status)
	_, _ = c.w.Write(body)
}
