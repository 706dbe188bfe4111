package federation

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// NewTransport returns the transport for calls to identity providers: it
// goes through the proxy the environment names (HTTPS_PROXY, HTTP_PROXY,
// NO_PROXY, read once per process by http.ProxyFromEnvironment) and trusts
// the system's certificate authorities, which on Linux includes the files
// SSL_CERT_FILE and SSL_CERT_DIR name. TLS 1.2 is the minimum.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          50,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// NewHTTPClient returns a client whose every request, redirects and body
// included, ends after timeout. It uses transport, or NewTransport() when
// transport is nil.
func NewHTTPClient(timeout time.Duration, transport http.RoundTripper) *http.Client {
	if transport == nil {
		transport = NewTransport()
	}
	return &http.Client{Timeout: timeout, Transport: transport}
}
