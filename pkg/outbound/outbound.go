// Package outbound is the one HTTP client for fetching URLs that clients
// supply: a sector_identifier_uri, a jwks_uri, a backchannel_logout_uri
// (and, later, webhook URLs). Such a URL is chosen by whoever registers a
// client, so fetching it must not let them reach what only the server can:
// its loopback interface, the private network it sits in, a cloud metadata
// service (server-side request forgery).
//
// The client therefore
//   - connects only to public addresses, checked when the connection is
//     made, on the address the host name resolved to (so a name that
//     resolves to 127.0.0.1, or is re-pointed there after a check, is
//     refused all the same), and ignores the environment's proxy, which
//     would connect on its behalf;
//   - speaks https only;
//   - follows no redirect: a 3xx answer is an error;
//   - reads at most a bounded number of bytes of an answer, and gives up
//     after a bounded time.
//
// A Policy widens that: ranges an operator admits (GATEHOUSE_OUTBOUND_ALLOW_CIDRS)
// and, for local development only, http and loopback addresses
// (GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS). Policy.CheckURL applies the same
// rules to a URL on its face, for registration time.
//
// Operator-configured URLs (an upstream identity provider) are not fetched
// through this package: they keep a client that honours the proxy
// environment (pkg/federation).
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Defaults of a Client's limits.
const (
	// DefaultTimeout bounds a whole exchange: connecting, TLS, the request,
	// the answer and reading its body.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBodyBytes bounds an answer's body.
	DefaultMaxBodyBytes = 1 << 20
)

// dialTimeout bounds connecting, within the whole exchange's timeout.
const dialTimeout = 5 * time.Second

// ErrRefused is what every refusal by the policy matches with errors.Is:
// a scheme other than https, an address that is not public, a redirect, an
// answer that is too large. Any other error is a failure of the network or
// of the other side.
var ErrRefused = errors.New("outbound: refused by policy")

// RefusedError is a refusal by the policy; it matches ErrRefused. Reason
// says what was refused and why, for the log.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "outbound request refused: " + e.Reason }

// Is makes a RefusedError match ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// Policy says what a Client may reach beyond public https URLs.
type Policy struct {
	// AllowPrefixes are address ranges reached although they are not public
	// (config.Config.OutboundAllowPrefixes). The unspecified address and
	// multicast are never reached, whatever a range says.
	AllowPrefixes []netip.Prefix
	// DevAllowLoopback admits http URLs and loopback addresses
	// (GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS). For local development only.
	DevAllowLoopback bool
}

// Option changes a Client's limits.
type Option func(*options)

type options struct {
	timeout  time.Duration
	maxBody  int64
	rootCAs  *x509.CertPool
	resolver *net.Resolver
}

// WithTimeout bounds a whole exchange, body included (DefaultTimeout when
// not given or not positive).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxBodyBytes bounds an answer's body (DefaultMaxBodyBytes when not
// given or not positive). Reading past it is an error, not a truncation.
func WithMaxBodyBytes(n int64) Option { return func(o *options) { o.maxBody = n } }

// WithRootCAs trusts these certificate authorities instead of the system's
// (tests, and servers behind a private authority in an allowed range).
func WithRootCAs(pool *x509.CertPool) Option { return func(o *options) { o.rootCAs = pool } }

// WithResolver looks host names up with r instead of the system's resolver
// (tests: outboundtest.Resolver). The addresses it answers are checked like
// any others.
func WithResolver(r *net.Resolver) Option { return func(o *options) { o.resolver = r } }

// Client fetches client-supplied URLs under a Policy. It is safe for
// concurrent use.
type Client struct {
	policy    Policy
	transport *guard
	timeout   time.Duration
}

// New returns a Client that applies p.
func New(p Policy, opts ...Option) *Client {
	o := options{timeout: DefaultTimeout, maxBody: DefaultMaxBodyBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if o.maxBody <= 0 {
		o.maxBody = DefaultMaxBodyBytes
	}
	p.AllowPrefixes = normalize(p.AllowPrefixes)
	dialer := &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: 30 * time.Second,
		Resolver:  o.resolver,
		// Called for every address the host name resolved to, before
		// connecting: the check is on the address actually dialled.
		ControlContext: func(_ context.Context, network, address string, _ syscall.RawConn) error {
			return p.checkDial(network, address)
		},
	}
	transport := &http.Transport{
		// Never a proxy: it would connect on the client's behalf, to
		// addresses the dialer never sees.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.rootCAs},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           20,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
		TLSHandshakeTimeout:    dialTimeout,
		ResponseHeaderTimeout:  o.timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Client{
		policy:    p,
		transport: &guard{policy: p, next: transport, maxBody: o.maxBody},
		timeout:   o.timeout,
	}
}

// Policy returns the client's policy.
func (c *Client) Policy() Policy { return c.policy }

// CheckURL is c.Policy().CheckURL.
func (c *Client) CheckURL(raw string) error { return c.policy.CheckURL(raw) }

// HTTPClient returns an *http.Client for libraries that want one (fosite's
// JWKS fetcher). Every request it makes goes through the policy: the
// scheme, the addresses, redirects and the body's size are checked by its
// transport, whatever the caller sets on the copy it gets (its Timeout may
// be shortened).
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{
		Transport: c.transport,
		Timeout:   c.timeout,
		// The transport already turns a 3xx into an error; this is only so
		// that nothing can follow one.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return refused("redirect to %s not followed", req.URL.Redacted())
		},
	}
}

// Do sends a request under the policy. A refusal matches ErrRefused; a
// 3xx answer is such an error. The body of a returned answer fails with an
// ErrRefused error once it exceeds the size bound.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	return c.HTTPClient().Do(req)
}

// CloseIdleConnections closes the connections kept for reuse.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// guard is the transport: the scheme before anything is sent, the status
// and the size of the answer after.
type guard struct {
	policy  Policy
	next    *http.Transport
	maxBody int64
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.policy.checkScheme(req.URL.Scheme); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		to := resp.Header.Get("Location")
		if len(to) > 200 {
			to = to[:200] + "…"
		}
		return nil, refused("the answer is a redirect (%d to %q), which is not followed", resp.StatusCode, to)
	}
	if resp.ContentLength > g.maxBody {
		resp.Body.Close()
		return nil, refused("the answer's body is %d bytes, more than the %d allowed", resp.ContentLength, g.maxBody)
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: g.maxBody, max: g.maxBody}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// pool.
func (g *guard) CloseIdleConnections() { g.next.CloseIdleConnections() }

// boundedBody fails once more than max bytes are read.
type boundedBody struct {
	io.ReadCloser
	left, max int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = -1
		return n, b.tooLarge()
	}
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) tooLarge() error {
	return refused("the answer's body is longer than the %d bytes allowed", b.max)
}

// checkScheme admits https, and http under the development switch.
func (p Policy) checkScheme(scheme string) error {
	switch strings.ToLower(scheme) {
	case "https":
		return nil
	case "http":
		if p.DevAllowLoopback {
			return nil
		}
		return refused("must use https")
	default:
		return refused("must use https, not %q", scheme)
	}
}

// checkDial is the dialer's hook: address is the ip:port about to be
// connected to.
func (p Policy) checkDial(network, address string) error {
	if network != "tcp4" && network != "tcp6" {
		return refused("network %q is not tcp", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused("cannot read the dialled address %q", address)
	}
	if kind := p.refusedKind(ap.Addr()); kind != "" {
		return refused("%s is %s address", ap.Addr().WithZone("").Unmap(), article(kind))
	}
	return nil
}

// refusedKind names what makes a not admissible ("loopback", "private",
// …), or returns "" when the policy admits a.
func (p Policy) refusedKind(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	if !a.IsValid() {
		return "invalid"
	}
	kind := specialKind(a)
	if kind == kindUnspecified || kind == kindMulticast || kind == kindBroadcast {
		return kind // never a server, whatever the policy says
	}
	if kind == kindLoopback && p.DevAllowLoopback {
		return ""
	}
	for _, allowed := range p.AllowPrefixes {
		if allowed.Contains(a) {
			return ""
		}
	}
	return kind
}

// normalize unmaps IPv4-mapped IPv6 prefixes (::ffff:10.0.0.0/104 is
// 10.0.0.0/8), since addresses are compared unmapped, and drops invalid
// ones.
func normalize(prefixes []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, pfx := range prefixes {
		if !pfx.IsValid() {
			continue
		}
		addr := pfx.Addr().WithZone("")
		if addr.Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(addr.Unmap(), pfx.Bits()-96)
		}
		out = append(out, pfx.Masked())
	}
	return slices.Clip(out)
}

// article prefixes a kind with "a" or "an".
func article(kind string) string {
	if strings.ContainsRune("aeiouAEIOU", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}
