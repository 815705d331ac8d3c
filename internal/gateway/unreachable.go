package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/jellyguard/jellyguard/internal/web"
)

// unreachableError is the "error" of the JSON answer, for apps and scripts
// that tell failures apart by a stable word.
const unreachableError = "jellyfin_unreachable"

// unreachableMessages say, per status, why Jellyfin gave no answer. They
// speak to whoever is watching — a family member on a TV as much as the
// administrator — so they say what happened and what helps, and leave the
// details to the gateway's log.
var unreachableMessages = map[int]string{
	http.StatusBadGateway: "Jellyfin is unreachable: the gateway could not connect to it. " +
		"It may be stopped or restarting; try again in a minute.",
	http.StatusServiceUnavailable: "Jellyfin is unreachable: it is not ready to answer. " +
		"It may be starting up or busy; try again in a minute.",
	http.StatusGatewayTimeout: "Jellyfin is unreachable: it did not start answering in time. " +
		"It may be overloaded or stuck; try again in a minute.",
}

// answerFormat is what kind of body a client reads.
type answerFormat int

const (
	formatText answerFormat = iota
	formatHTML
	formatJSON
)

// preferredFormat reads Accept: a browser loading a page asks for HTML,
// Jellyfin's apps and scripts for JSON; anything else (or nothing) gets
// plain text. Quality values decide between HTML and JSON; a bare */*
// chooses neither.
func preferredFormat(accept string) answerFormat {
	best, bestQ := formatText, 0.0
	for _, part := range strings.Split(accept, ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		f := formatText
		switch {
		case mediaType == "text/html", mediaType == "application/xhtml+xml":
			f = formatHTML
		case mediaType == "application/json", strings.HasSuffix(mediaType, "+json"):
			f = formatJSON
		}
		if f != formatText && q > bestQ {
			best, bestQ = f, q
		}
	}
	return best
}

// writeUnreachable answers a request Jellyfin gave no answer to, with
// status (502, 503 or 504) and a body in the form the client reads, so no
// client is left with an empty error it cannot explain.
func writeUnreachable(w http.ResponseWriter, r *http.Request, status int) {
	if unreachableMessages[status] == "" {
		status = http.StatusBadGateway
	}
	a := newUnreachable(r.Header.Get("Accept"), status)
	a.setHeaders(w.Header())
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

// unreachable is the body of an answer saying Jellyfin is unreachable.
type unreachable struct {
	format answerFormat
	body   []byte
}

func newUnreachable(accept string, status int) unreachable {
	a := unreachable{format: preferredFormat(accept)}
	msg := unreachableMessages[status]
	switch a.format {
	case formatHTML:
		a.body = web.UnreachablePage(msg)
	case formatJSON:
		b, _ := json.Marshal(struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{unreachableError, msg})
		a.body = append(b, '\n')
	default:
		a.body = []byte(msg + "\n")
	}
	return a
}

// setHeaders describes the body in h, dropping what described another.
func (a unreachable) setHeaders(h http.Header) {
	for _, k := range []string{"Content-Encoding", "Content-Range", "Accept-Ranges", "Etag", "Last-Modified", "Transfer-Encoding"} {
		h.Del(k)
	}
	switch a.format {
	case formatHTML:
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	case formatJSON:
		h.Set("Content-Type", "application/json; charset=utf-8")
	default:
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// upstreamStatus is the status for a request the transport could not get
// an answer to: 504 when Jellyfin took too long (the header timeout, a
// dial timeout), 502 when it could not be reached or broke off.
func upstreamStatus(err error) int {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// fillEmptyFailure gives an empty 502, 503 or 504 from upstream (a
// Jellyfin starting up, a proxy in front of it with nothing behind) the
// unreachable answer, so the client learns what happened. It reports
// whether it did.
func fillEmptyFailure(resp *http.Response) bool {
	if unreachableMessages[resp.StatusCode] == "" || resp.Request.Method == http.MethodHead || !emptyBody(resp) {
		return false
	}
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	a := newUnreachable(resp.Request.Header.Get("Accept"), resp.StatusCode)
	a.setHeaders(resp.Header)
	resp.Body = io.NopCloser(bytes.NewReader(a.body))
	resp.ContentLength = int64(len(a.body))
	resp.TransferEncoding = nil
	return true
}

// emptyBody reports whether resp has no body. A body of unknown length is
// peeked at (an error answer is short, and the read ends with the
// request); what was read is put back.
func emptyBody(resp *http.Response) bool {
	switch {
	case resp.ContentLength == 0 || resp.Body == nil || resp.Body == http.NoBody:
		return true
	case resp.ContentLength > 0:
		return false
	}
	br := bufio.NewReaderSize(resp.Body, 16)
	_, err := br.Peek(1)
	resp.Body = struct {
		io.Reader
		io.Closer
	}{br, resp.Body}
	return errors.Is(err, io.EOF)
}
