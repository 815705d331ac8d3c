package gateway

import (
	"net/netip"
	"testing"
)

func TestTrafficSamplerSeesOneAddressDominating(t *testing.T) {
	s := newTrafficSampler()
	proxy, other := netip.MustParseAddr("172.17.0.1"), netip.MustParseAddr("203.0.113.4")
	for range 32 * 100 {
		s.observe(proxy)
	}
	st := s.status()
	if st.Sampled != 100 || st.TopAddr != "172.17.0.1" || st.TopShare != 1 || !st.TopPrivate {
		t.Fatalf("status %+v", st)
	}
	for range 32 * 100 {
		s.observe(other)
	}
	if st := s.status(); st.TopShare > 0.51 {
		t.Fatalf("two addresses: share %v", st.TopShare)
	}
}
