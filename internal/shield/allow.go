package shield

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
)

// Resolver resolves host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// AllowList is a list of addresses, networks and host names. Host names
// (a family member's dynamic-DNS name) are resolved again every few
// minutes, so the entry follows the home connection's changing address; a
// failed resolution keeps the previous addresses rather than locking the
// family out.
type AllowList struct {
	static []netip.Prefix
	mu     sync.RWMutex
	names  map[string]*nameState
}

type nameState struct {
	addrs    []netip.Addr
	resolved time.Time
	err      string
	ever     bool
}

// NewAllowList parses entries: IPs, CIDRs or host names.
func NewAllowList(entries []string) (*AllowList, error) {
	l := &AllowList{names: map[string]*nameState{}}
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := ParsePrefix(e); err == nil {
			if a, err := netip.ParseAddr(e); err == nil {
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()) // a single address, not its /64
			}
			l.static = append(l.static, p)
			continue
		}
		if err := config.CheckNetworkOrHost(e); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		l.names[strings.ToLower(e)] = &nameState{}
	}
	return l, nil
}

// Empty reports whether the list has no entries (no restriction).
func (l *AllowList) Empty() bool { return l == nil || len(l.static) == 0 && len(l.names) == 0 }

// Contains reports whether a is allowed by the list.
func (l *AllowList) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l.static {
		if p.Contains(a) {
			return true
		}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, n := range l.names {
		for _, x := range n.addrs {
			if x == a {
				return true
			}
		}
	}
	return false
}

// Resolve resolves every host name once. Names that fail keep their
// previous addresses; the failure is kept for Status.
func (l *AllowList) Resolve(ctx context.Context, r Resolver, now time.Time) {
	l.mu.RLock()
	names := make([]string, 0, len(l.names))
	for n := range l.names {
		names = append(names, n)
	}
	l.mu.RUnlock()
	for _, name := range names {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		addrs, err := r.LookupNetIP(rctx, "ip", name)
		cancel()
		l.mu.Lock()
		st := l.names[name]
		if err != nil || len(addrs) == 0 {
			st.err = fmt.Sprintf("resolving %s: %v", name, err)
			if err == nil {
				st.err = "resolving " + name + ": no addresses"
			}
		} else {
			st.addrs, st.resolved, st.err, st.ever = unmapAll(addrs), now, "", true
		}
		l.mu.Unlock()
	}
}

func unmapAll(as []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, len(as))
	for i, a := range as {
		out[i] = a.Unmap()
	}
	return out
}

// NameStatus tells whether a host name ever resolved — "every detector
// proves it is alive".
type NameStatus struct {
	Name      string
	Addrs     []netip.Addr
	Resolved  time.Time
	LastError string
	Ever      bool
}

// Status lists the host names and what they resolved to.
func (l *AllowList) Status() []NameStatus {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]NameStatus, 0, len(l.names))
	for n, st := range l.names {
		out = append(out, NameStatus{Name: n, Addrs: st.addrs, Resolved: st.resolved, LastError: st.err, Ever: st.ever})
	}
	return out
}
