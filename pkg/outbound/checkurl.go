package outbound

import (
	"net/netip"
	"net/url"
	"strings"
)

// CheckURL checks a client-supplied URL on its face, as registration
// receives it: an absolute https URL (http too under the development
// switch), without a user name, password or fragment, whose host, when it
// is an IP address or localhost, the policy admits. A host name is not
// looked up here: a Client checks the addresses it resolves to when it
// connects, and only that check holds against a name that resolves
// somewhere else later.
//
// A refusal is a *RefusedError whose Reason only describes the URL, so it
// may be shown to whoever supplied it ("sector_identifier_uri: " + Reason).
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Hostname() == "" {
		return refused("must be an absolute URL")
	}
	if err := p.checkScheme(u.Scheme); err != nil {
		return err
	}
	if u.User != nil {
		return refused("must not include a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return refused("must not have a fragment")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if kind := p.refusedKind(a); kind != "" {
			return refused("names %s address (%s)", article(kind), a.WithZone("").Unmap())
		}
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") { // RFC 6761 §6.3
		if p.DevAllowLoopback {
			return nil
		}
		return refused("names localhost")
	}
	if numericLabel(name[strings.LastIndexByte(name, '.')+1:]) {
		// 127.1, 2130706433, 0x7f000001, 0177.0.0.1: not a host name, and
		// some resolvers read it as an address.
		return refused("names %q, which is neither an IP address in standard form nor a host name", host)
	}
	return nil
}

// numericLabel reports whether a host name's last label is a number
// (decimal, or hexadecimal after 0x), which no top-level domain is.
func numericLabel(label string) bool {
	digits := "0123456789"
	if l := strings.ToLower(label); strings.HasPrefix(l, "0x") {
		label, digits = l[2:], "0123456789abcdef"
	}
	if label == "" {
		return false
	}
	for _, c := range label {
		if !strings.ContainsRune(digits, c) {
			return false
		}
	}
	return true
}
