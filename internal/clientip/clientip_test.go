package clientip

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestResolve(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:f::/48")}
	cases := []struct {
		name, header, peer string
		values             []string
		want               string
	}{
		{"an untrusted peer's header is ignored", XForwardedFor, "192.0.2.7:5000", []string{"198.51.100.1"}, "192.0.2.7"},
		{"a trusted peer names the client", XForwardedFor, "10.1.1.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"from the right, past trusted proxies", XForwardedFor, "10.1.1.1:5000", []string{"203.0.113.66, 198.51.100.1, 10.2.2.2"}, "198.51.100.1"},
		{"a forged left part is not believed", XForwardedFor, "10.1.1.1:5000", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"all trusted: the leftmost", XForwardedFor, "10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"an unparsable entry stops at the hop that wrote it", XForwardedFor, "10.1.1.1:5000", []string{"198.51.100.1, garbage"}, "10.1.1.1"},
		{"no header: the proxy itself", XForwardedFor, "10.1.1.1:5000", nil, "10.1.1.1"},
		{"RFC 7239 for= with IPv6 and port", Forwarded, "[2001:db8:f::1]:443", []string{`for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"RFC 7239 past a trusted hop", Forwarded, "10.1.1.1:5000", []string{`for=198.51.100.9, for=10.9.9.9;by=10.1.1.1`}, "198.51.100.9"},
		{"RFC 7239 unknown", Forwarded, "10.1.1.1:5000", []string{`for=unknown`}, "10.1.1.1"},
		{"the other header is not read", Forwarded, "10.1.1.1:5000", nil, "10.1.1.1"},
		{"a mapped IPv4 peer", XForwardedFor, "[::ffff:192.0.2.7]:5000", nil, "192.0.2.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.values {
				r.Header.Add(c.header, v)
			}
			if c.name == "the other header is not read" {
				r.Header.Set(XForwardedFor, "198.51.100.1")
			}
			if got := New(trusted, c.header).Resolve(r).String(); got != c.want {
				t.Errorf("Resolve = %s, want %s", got, c.want)
			}
		})
	}
	ctx := NewContext(context.Background(), netip.MustParseAddr("192.0.2.1"))
	if String(ctx) != "192.0.2.1" || String(context.Background()) != "" {
		t.Error("the context does not carry the address")
	}
}
