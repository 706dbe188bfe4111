package config

import (
	"fmt"
	"net/netip"
)

// ReservedScopeList returns ReservedScopes as a list.
func (c Config) ReservedScopeList() []string { return splitScopes(c.ReservedScopes) }

// OutboundAllowPrefixes returns OutboundAllowCIDRs parsed. Validate
// reports a malformed entry; here it is an error too.
func (c Config) OutboundAllowPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("GATEHOUSE_OUTBOUND_ALLOW_CIDRS", c.OutboundAllowCIDRs)
}

// TrustedProxyPrefixes returns TrustedProxies parsed. A bare address counts
// as a range of one.
func (c Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("GATEHOUSE_TRUSTED_PROXIES", c.TrustedProxies)
}

// parsePrefixes parses a list of CIDR ranges or single addresses.
func parsePrefixes(env, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range splitScopes(s) {
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is neither an address range (10.0.0.0/8) nor an address", env, item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
