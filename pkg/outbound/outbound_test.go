package outbound

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/outbound/outboundtest"
)

// loopbackOnly admits 127.0.0.0/8 as an operator's range, so that a test
// server on 127.0.0.1 stands for a server on an allowed private network.
var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// countingTLSServer is an https test server on 127.0.0.1 that counts the
// connections made to it.
func countingTLSServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts, &conns
}

// trusting trusts the test server's certificate.
func trusting(ts *httptest.Server) Option {
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return WithRootCAs(pool)
}

func get(t *testing.T, c *Client, raw string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

// refusedAtDial asserts that err is the policy's refusal, made by the
// dialler (so on the address the connection was about to reach), with a
// reason that contains want.
func refusedAtDial(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v does not match ErrRefused", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("error %v is not a refusal at dial time", err)
	}
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, want) {
		t.Fatalf("reason of %v does not say %q", err, want)
	}
}

func TestRefusedAtDialTime(t *testing.T) {
	ts, conns := countingTLSServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "secret") })
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	c := New(Policy{}, trusting(ts), WithTimeout(2*time.Second))
	for _, tc := range []struct{ name, url, reason string }{
		{"loopback", ts.URL, "127.0.0.1 is a loopback address"},
		{"loopback elsewhere in 127/8", "https://127.8.9.10:" + itoa(port), "127.8.9.10 is a loopback address"},
		{"IPv4-mapped IPv6 loopback", "https://[::ffff:127.0.0.1]:" + itoa(port), "127.0.0.1 is a loopback address"},
		{"private (RFC 1918)", "https://10.1.2.3/", "10.1.2.3 is a private address"},
		{"private 192.168", "https://192.168.0.1/", "192.168.0.1 is a private address"},
		{"IPv4-mapped IPv6 private", "https://[::ffff:10.0.0.1]/", "10.0.0.1 is a private address"},
		{"link-local", "https://169.254.10.10/", "169.254.10.10 is a link-local address"},
		{"the cloud metadata service", "https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"},
		{"a metadata service in the shared range (Alibaba)", "https://100.100.100.200/latest/meta-data/", "100.100.100.200 is a shared (carrier-grade NAT) address"},
		{"unspecified (which reaches this host)", "https://0.0.0.0:" + itoa(port), "0.0.0.0 is an unspecified address"},
		{"localhost, resolved", "https://localhost:" + itoa(port), "is a loopback address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := get(t, c, tc.url)
			refusedAtDial(t, err, tc.reason)
		})
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the loopback server saw %d connections", n)
	}
}

func TestDialCheckCoversIPv6Forms(t *testing.T) {
	// Checked on the dialler's hook directly: a host without IPv6 could
	// not create the sockets to get that far.
	var p Policy
	for _, tc := range []struct{ address, reason string }{
		{"[::1]:443", "::1 is a loopback address"},
		{"[::ffff:127.0.0.1]:443", "127.0.0.1 is a loopback address"},
		{"[::ffff:169.254.169.254]:80", "169.254.169.254 is a link-local address"},
		{"[fe80::1%eth0]:443", "fe80::1 is a link-local address"},
		{"[fd00:ec2::254]:80", "fd00:ec2::254 is a private (unique local) address"}, // the EC2 metadata service over IPv6
		{"[fc00::5]:443", "private (unique local)"},
		{"[::]:443", "unspecified"},
		{"[ff02::1]:443", "multicast"},
		{"[64:ff9b::7f00:1]:443", "NAT64-translated loopback"},
		{"[2001:db8::1]:443", "documentation"},
		{"[::127.0.0.1]:443", "reserved"}, // IPv4-compatible, deprecated
	} {
		err := p.checkDial("tcp6", tc.address)
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || !strings.Contains(re.Reason, tc.reason) {
			t.Errorf("%s: %v, want a refusal saying %q", tc.address, err, tc.reason)
		}
	}
	for _, address := range []string{"[2606:4700:4700::1111]:443", "[64:ff9b::808:808]:443", "8.8.8.8:443", "93.184.215.14:443"} {
		network := "tcp6"
		if !strings.HasPrefix(address, "[") {
			network = "tcp4"
		}
		if err := p.checkDial(network, address); err != nil {
			t.Errorf("%s: %v, want it admitted", address, err)
		}
	}
}

func TestPolicyKinds(t *testing.T) {
	allow := Policy{AllowPrefixes: []netip.Prefix{
		netip.MustParsePrefix("10.20.0.0/16"),
		netip.MustParsePrefix("::ffff:192.168.7.0/120"), // mapped: the same as 192.168.7.0/24
		netip.MustParsePrefix("0.0.0.0/0"),              // even everything…
	}}
	for _, tc := range []struct {
		policy Policy
		addr   string
		want   string
	}{
		{Policy{}, "1.1.1.1", ""},
		{Policy{}, "172.16.0.1", kindPrivate},
		{Policy{}, "172.32.0.1", ""},
		{Policy{}, "192.0.0.192", kindProtocol}, // Oracle Cloud's metadata service
		{Policy{}, "198.18.0.1", kindBenchmarking},
		{Policy{}, "255.255.255.255", kindBroadcast},
		{Policy{}, "240.0.0.1", kindReserved},
		{Policy{}, "224.0.0.1", kindMulticast},
		{Policy{}, "2002:7f00:1::1", kind6to4},
		{Policy{}, "2001::1", kindProtocol}, // Teredo
		{Policy{DevAllowLoopback: true}, "127.0.0.1", ""},
		{Policy{DevAllowLoopback: true}, "::1", ""},
		{Policy{DevAllowLoopback: true}, "::ffff:127.0.0.1", ""},
		{Policy{DevAllowLoopback: true}, "10.0.0.1", kindPrivate},
		{Policy{DevAllowLoopback: true}, "0.0.0.0", kindUnspecified},
		{Policy{AllowPrefixes: allow.AllowPrefixes[:2]}, "10.20.3.4", ""},
		{Policy{AllowPrefixes: allow.AllowPrefixes[:2]}, "::ffff:10.20.3.4", ""},
		{Policy{AllowPrefixes: allow.AllowPrefixes[:2]}, "10.21.3.4", kindPrivate},
		{Policy{AllowPrefixes: allow.AllowPrefixes[:2]}, "192.168.7.9", ""},
		{Policy{AllowPrefixes: allow.AllowPrefixes[:2]}, "192.168.8.9", kindPrivate},
		{allow, "0.0.0.0", kindUnspecified}, // …but never the unspecified address
		{allow, "224.0.0.251", kindMulticast},
	} {
		c := New(tc.policy) // normalizes the prefixes
		if got := c.policy.refusedKind(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%+v %s: %q, want %q", tc.policy, tc.addr, got, tc.want)
		}
	}
}

func TestAllowedRangeIsReached(t *testing.T) {
	ts, _ := countingTLSServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	c := New(Policy{AllowPrefixes: loopbackOnly}, trusting(ts))
	resp, err := get(t, c, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "hello" {
		t.Fatalf("%q %v", body, err)
	}
	// The default policy does not reach it.
	_, err = get(t, New(Policy{}, trusting(ts)), ts.URL)
	refusedAtDial(t, err, "loopback")
}

func TestRebindingIsCaughtAtDialTime(t *testing.T) {
	// A public-looking name whose DNS answer is 127.0.0.1: nothing about
	// the URL is wrong, only the address it resolves to.
	ts, conns := countingTLSServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "internal") })
	port := itoa(ts.Listener.Addr().(*net.TCPAddr).Port)
	dns := outboundtest.Resolver(map[string][]netip.Addr{
		"rebind.example":   {netip.MustParseAddr("127.0.0.1")},
		"metadata.example": {netip.MustParseAddr("169.254.169.254")},
	})
	c := New(Policy{}, trusting(ts), WithResolver(dns), WithTimeout(2*time.Second))
	if err := c.CheckURL("https://rebind.example:" + port + "/"); err != nil {
		t.Fatalf("the URL on its face: %v", err)
	}
	_, err := get(t, c, "https://rebind.example:"+port+"/")
	refusedAtDial(t, err, "127.0.0.1 is a loopback address")
	_, err = get(t, c, "https://metadata.example/latest/meta-data/")
	refusedAtDial(t, err, "169.254.169.254 is a link-local address")
	if n := conns.Load(); n != 0 {
		t.Fatalf("the loopback server saw %d connections", n)
	}
	// The same resolver, with the range allowed, does reach it: the
	// refusal above was the policy's, on the resolved address.
	allowed := New(Policy{AllowPrefixes: loopbackOnly}, trusting(ts), WithResolver(dns))
	if _, err := get(t, allowed, "https://rebind.example:"+port+"/"); err == nil || errors.Is(err, ErrRefused) {
		// The certificate names 127.0.0.1 and example.com, not
		// rebind.example: a TLS error, past the dialler.
		t.Fatalf("with the range allowed: %v, want a certificate error", err)
	}
	if conns.Load() == 0 {
		t.Fatal("with the range allowed, the server saw no connection")
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Int32
	ts, _ := countingTLSServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/target" {
			followed.Add(1)
			return
		}
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	c := New(Policy{AllowPrefixes: loopbackOnly}, trusting(ts))
	resp, err := get(t, c, ts.URL+"/start")
	var re *RefusedError
	if err == nil || !errors.As(err, &re) || !strings.Contains(re.Reason, "redirect (302") {
		t.Fatalf("got %v %v, want a refused redirect", resp, err)
	}
	// Through the *http.Client handed to libraries too, even when it is
	// told to follow redirects.
	hc := c.HTTPClient()
	hc.CheckRedirect = nil
	if _, err := hc.Get(ts.URL + "/start"); !errors.Is(err, ErrRefused) {
		t.Fatalf("HTTPClient: %v", err)
	}
	if n := followed.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
}

func TestOversizedBodyFails(t *testing.T) {
	const limit = 1000
	ts, _ := countingTLSServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := limit
		if r.URL.Query().Has("over") {
			n++
		}
		if r.URL.Query().Has("chunked") {
			// No Content-Length: the bound is found while reading.
			w.(http.Flusher).Flush()
		} else {
			w.Header().Set("Content-Length", itoa(n))
		}
		_, _ = io.WriteString(w, strings.Repeat("x", n))
	})
	c := New(Policy{AllowPrefixes: loopbackOnly}, trusting(ts), WithMaxBodyBytes(limit))
	for _, q := range []string{"", "chunked"} {
		resp, err := get(t, c, ts.URL+"?"+q)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(resp.Body); err != nil || len(b) != limit {
			t.Fatalf("%s: exactly the limit: %d bytes, %v", q, len(b), err)
		}
	}
	// Announced too large: refused before the body is read.
	if _, err := get(t, c, ts.URL+"?over"); !errors.Is(err, ErrRefused) {
		t.Fatalf("announced oversize: %v", err)
	}
	// Found too large while reading: the read fails, it is not cut short.
	resp, err := get(t, c, ts.URL+"?over&chunked")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, ErrRefused) || len(b) != limit {
		t.Fatalf("read %d bytes, %v; want the limit and a refusal", len(b), err)
	}
}

func TestHTTPIsRefusedUnlessDevelopment(t *testing.T) {
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "plain") }))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()

	// Even where the address is allowed, http is not.
	_, err := get(t, New(Policy{AllowPrefixes: loopbackOnly}), ts.URL)
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != "must use https" {
		t.Fatalf("%v, want http refused", err)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server saw %d connections: http was refused after connecting", n)
	}
	resp, err := get(t, New(Policy{DevAllowLoopback: true}), ts.URL)
	if err != nil {
		t.Fatalf("with the development switch: %v", err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "plain" {
		t.Fatalf("%q", b)
	}
	// The switch admits loopback, not private ranges.
	_, err = get(t, New(Policy{DevAllowLoopback: true}), "http://10.9.8.7/")
	refusedAtDial(t, err, "10.9.8.7 is a private address")
}

func TestNoProxy(t *testing.T) {
	if New(Policy{}).transport.next.Proxy != nil {
		t.Fatal("the transport uses a proxy")
	}
}

func TestTimeoutIsANetworkFailure(t *testing.T) {
	release := make(chan struct{})
	ts, _ := countingTLSServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := New(Policy{AllowPrefixes: loopbackOnly}, trusting(ts), WithTimeout(200*time.Millisecond))
	start := time.Now()
	_, err := get(t, c, ts.URL)
	if err == nil || errors.Is(err, ErrRefused) {
		t.Fatalf("%v, want a timeout that is not a refusal", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestCheckURL(t *testing.T) {
	dev := Policy{DevAllowLoopback: true}
	allow := Policy{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	for _, tc := range []struct {
		policy Policy
		url    string
		reason string // "" when admitted
	}{
		{Policy{}, "https://rp.example/sector.json", ""},
		{Policy{}, "https://rp.example:8443/jwks?v=2", ""},
		{Policy{}, "https://93.184.215.14/jwks", ""},
		{Policy{}, "https://[2606:4700:4700::1111]/jwks", ""},
		{Policy{}, "http://rp.example/sector.json", "must use https"},
		{Policy{}, "ftp://rp.example/sector.json", "must use https"},
		{Policy{}, "/sector.json", "must be an absolute URL"},
		{Policy{}, "https:rp.example", "must be an absolute URL"},
		{Policy{}, "https:///path", "must be an absolute URL"},
		{Policy{}, "not a url", "must be an absolute URL"},
		{Policy{}, "https://user:pass@rp.example/", "must not include a user name or password"},
		{Policy{}, "https://user@rp.example/", "must not include a user name or password"},
		{Policy{}, "https://rp.example/#frag", "must not have a fragment"},
		{Policy{}, "https://rp.example/#", "must not have a fragment"},
		{Policy{}, "https://127.0.0.1/", "names a loopback address (127.0.0.1)"},
		{Policy{}, "https://[::1]/", "names a loopback address (::1)"},
		{Policy{}, "https://[::ffff:127.0.0.1]/", "names a loopback address (127.0.0.1)"},
		{Policy{}, "https://[::ffff:7f00:1]/", "names a loopback address (127.0.0.1)"},
		{Policy{}, "https://10.0.0.5/", "names a private address (10.0.0.5)"},
		{Policy{}, "https://169.254.169.254/latest/meta-data/", "names a link-local address (169.254.169.254)"},
		{Policy{}, "https://[fe80::1%25eth0]/", "names a link-local address (fe80::1)"},
		{Policy{}, "https://[fd00:ec2::254]/", "names a private (unique local) address (fd00:ec2::254)"},
		{Policy{}, "https://0.0.0.0/", "names an unspecified address (0.0.0.0)"},
		{Policy{}, "https://localhost/", "names localhost"},
		{Policy{}, "https://LocalHost./", "names localhost"},
		{Policy{}, "https://app.localhost/", "names localhost"},
		{Policy{}, "https://2130706433/", "neither an IP address in standard form nor a host name"},
		{Policy{}, "https://0x7f000001/", "neither an IP address in standard form nor a host name"},
		{Policy{}, "https://127.1/", "neither an IP address in standard form nor a host name"},
		{Policy{}, "https://0177.0.0.1/", "neither an IP address in standard form nor a host name"},
		{dev, "http://localhost:8080/sector.json", ""},
		{dev, "http://127.0.0.1:8080/sector.json", ""},
		{dev, "https://[::1]:8443/jwks", ""},
		{dev, "http://rp.example/sector.json", ""},
		{dev, "http://10.0.0.5/", "names a private address (10.0.0.5)"},
		{dev, "http://user@localhost/", "must not include a user name or password"},
		{allow, "https://10.20.1.1/jwks", ""},
		{allow, "https://10.21.1.1/jwks", "names a private address (10.21.1.1)"},
		{allow, "http://10.20.1.1/jwks", "must use https"},
	} {
		err := tc.policy.CheckURL(tc.url)
		if tc.reason == "" {
			if err != nil {
				t.Errorf("%+v %q: %v, want it admitted", tc.policy, tc.url, err)
			}
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || !strings.Contains(re.Reason, tc.reason) {
			t.Errorf("%+v %q: %v, want a refusal saying %q", tc.policy, tc.url, err, tc.reason)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
