// Package outbound is the one door for requests the gateway makes to
// addresses an administrator typed (blocklist feeds today; webhooks and
// OIDC discovery later). It refuses private, loopback, link-local and other
// special addresses unless explicitly allowed, checking the address that is
// actually dialed, so a name that resolves (or re-resolves) to an internal
// address cannot turn the gateway into a door into the LAN.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrForbidden is returned for a target the guard refuses.
var ErrForbidden = errors.New("outbound address not allowed")

// Allowed reports whether a is a public unicast address.
func Allowed(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() &&
		!a.IsLinkLocalUnicast() && !a.IsMulticast() && !a.IsUnspecified() && !cgnat.Contains(a)
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Client returns an HTTP client whose every connection is checked; with
// allowPrivate, internal targets are allowed too (feeds on the LAN).
func Client(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbidden, address)
			}
			if !Allowed(ap.Addr()) {
				return fmt.Errorf("%w: %s is not a public address", ErrForbidden, ap.Addr())
			}
			return nil
		}
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return CheckURL(req.URL)
		},
	}
}

// CheckURL refuses URLs that are not http(s) or carry credentials.
func CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrForbidden, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: credentials in the URL", ErrForbidden)
	}
	return nil
}
