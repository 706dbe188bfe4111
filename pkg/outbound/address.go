package outbound

import "net/netip"

// Kinds of address that are not public. The first three are never
// reached, whatever the policy.
const (
	kindUnspecified   = "unspecified"
	kindMulticast     = "multicast"
	kindBroadcast     = "broadcast"
	kindLoopback      = "loopback"
	kindPrivate       = "private"
	kindUniqueLocal   = "private (unique local)"
	kindShared        = "shared (carrier-grade NAT)"
	kindLinkLocal     = "link-local"
	kindSiteLocal     = "site-local"
	kindProtocol      = "IETF protocol assignment"
	kindDocumentation = "documentation"
	kindBenchmarking  = "benchmarking"
	kind6to4Relay     = "6to4 relay anycast"
	kind6to4          = "6to4"
	kindLocalNAT64    = "local-use NAT64"
	kindDiscard       = "discard-only"
	kindReserved      = "reserved"
)

// specialRange is a range of the IANA special-purpose address registries
// that is not globally reachable.
type specialRange struct {
	prefix netip.Prefix
	kind   string
}

// specialRanges4 are the IPv4 ranges that are not public.
func specialRanges4() []specialRange {
	return []specialRange{
		{netip.MustParsePrefix("255.255.255.255/32"), kindBroadcast},
		{netip.MustParsePrefix("0.0.0.0/8"), kindUnspecified}, // "this network"
		{netip.MustParsePrefix("10.0.0.0/8"), kindPrivate},
		{netip.MustParsePrefix("100.64.0.0/10"), kindShared},
		{netip.MustParsePrefix("127.0.0.0/8"), kindLoopback},
		{netip.MustParsePrefix("169.254.0.0/16"), kindLinkLocal}, // cloud metadata services among them
		{netip.MustParsePrefix("172.16.0.0/12"), kindPrivate},
		{netip.MustParsePrefix("192.0.0.0/24"), kindProtocol},
		{netip.MustParsePrefix("192.0.2.0/24"), kindDocumentation},
		{netip.MustParsePrefix("192.88.99.0/24"), kind6to4Relay},
		{netip.MustParsePrefix("192.168.0.0/16"), kindPrivate},
		{netip.MustParsePrefix("198.18.0.0/15"), kindBenchmarking},
		{netip.MustParsePrefix("198.51.100.0/24"), kindDocumentation},
		{netip.MustParsePrefix("203.0.113.0/24"), kindDocumentation},
		{netip.MustParsePrefix("224.0.0.0/4"), kindMulticast},
		{netip.MustParsePrefix("240.0.0.0/4"), kindReserved},
	}
}

// specialRanges6 are the IPv6 ranges that are not public, within or beside
// global unicast (2000::/3); everything else outside 2000::/3 is reserved.
func specialRanges6() []specialRange {
	return []specialRange{
		{netip.MustParsePrefix("::/128"), kindUnspecified},
		{netip.MustParsePrefix("::1/128"), kindLoopback},
		{netip.MustParsePrefix("64:ff9b:1::/48"), kindLocalNAT64},
		{netip.MustParsePrefix("100::/64"), kindDiscard},
		{netip.MustParsePrefix("2001:2::/48"), kindBenchmarking},
		{netip.MustParsePrefix("2001::/23"), kindProtocol}, // Teredo, ORCHID and others
		{netip.MustParsePrefix("2001:db8::/32"), kindDocumentation},
		{netip.MustParsePrefix("2002::/16"), kind6to4}, // carries any IPv4 address
		{netip.MustParsePrefix("3fff::/20"), kindDocumentation},
		{netip.MustParsePrefix("fc00::/7"), kindUniqueLocal},
		{netip.MustParsePrefix("fe80::/10"), kindLinkLocal},
		{netip.MustParsePrefix("fec0::/10"), kindSiteLocal},
		{netip.MustParsePrefix("ff00::/8"), kindMulticast},
	}
}

// specialKind names the kind of a, an address without zone and unmapped,
// when it is not public; "" when it is.
func specialKind(a netip.Addr) string {
	if a.Is4() {
		for _, r := range specialRanges4() {
			if r.prefix.Contains(a) {
				return r.kind
			}
		}
		return ""
	}
	// NAT64 (RFC 6052): public or not as the IPv4 address it carries.
	if netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
		b := a.As16()
		if kind := specialKind(netip.AddrFrom4([4]byte(b[12:]))); kind != "" {
			return "NAT64-translated " + kind
		}
		return ""
	}
	for _, r := range specialRanges6() {
		if r.prefix.Contains(a) {
			return r.kind
		}
	}
	if !netip.MustParsePrefix("2000::/3").Contains(a) {
		return kindReserved
	}
	return ""
}
