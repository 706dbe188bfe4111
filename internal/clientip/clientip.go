// Package clientip finds the address of the client behind a request: the
// TCP peer's, or, when the peer is a trusted reverse proxy, the one its
// forwarding header names (walked from the right, past every trusted
// proxy). The server's middleware resolves it once per request and puts it
// in the request's context, where handlers read it.
package clientip

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Headers a trusted proxy may name the client in.
const (
	// XForwardedFor is the de facto standard X-Forwarded-For list.
	XForwardedFor = "X-Forwarded-For"
	// Forwarded is RFC 7239's header; its for= parameters are read.
	Forwarded = "Forwarded"
)

// Resolver finds client addresses.
type Resolver struct {
	trusted []netip.Prefix
	header  string
}

// New returns a Resolver that believes header (XForwardedFor or Forwarded)
// only from peers in trusted. Only that header is read: a proxy that sets
// one passes the other through as the client sent it.
func New(trusted []netip.Prefix, header string) *Resolver {
	if !strings.EqualFold(header, Forwarded) {
		header = XForwardedFor
	} else {
		header = Forwarded
	}
	return &Resolver{trusted: trusted, header: header}
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client's address; the zero Addr when even the peer's
// cannot be parsed.
func (r *Resolver) Resolve(req *http.Request) netip.Addr {
	peer := parseHostPort(req.RemoteAddr)
	if !peer.IsValid() || len(r.trusted) == 0 || !r.isTrusted(peer) {
		return peer
	}
	hops := req.Header.Values(r.header)
	client := peer
	// From the right: each entry was added by the hop to its right; stop
	// at the first that is not a trusted proxy. An entry that does not
	// parse ("unknown", an obfuscated name) ends the walk at the last
	// trusted hop, whose word it was.
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			var a netip.Addr
			if r.header == Forwarded {
				a = forwardedFor(entries[j])
			} else {
				a = parseHostPort(strings.TrimSpace(entries[j]))
			}
			if !a.IsValid() {
				return client
			}
			client = a
			if !r.isTrusted(a) {
				return a
			}
		}
	}
	return client
}

// forwardedFor returns the address of one RFC 7239 forwarded-element's
// for= parameter (§5.2: an IPv4 address, or a quoted "[IPv6]" with an
// optional port).
func forwardedFor(element string) netip.Addr {
	for _, pair := range strings.Split(element, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(name, "for") {
			continue
		}
		return parseHostPort(strings.Trim(value, `"`))
	}
	return netip.Addr{}
}

// parseHostPort parses "addr", "addr:port", "[v6]" or "[v6]:port".
func parseHostPort(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

type contextKey struct{}

// NewContext returns ctx carrying the client's address.
func NewContext(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, contextKey{}, a)
}

// FromContext returns the client's address the middleware put in ctx.
func FromContext(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(contextKey{}).(netip.Addr)
	return a, ok && a.IsValid()
}

// String returns the client's address in ctx as text, "" when unknown.
func String(ctx context.Context) string {
	if a, ok := FromContext(ctx); ok {
		return a.String()
	}
	return ""
}
