package config

import (
	"fmt"
	"net"
	"net/url"
)

// Warnings returns what is valid but probably not what the operator meant,
// for the server to log at start-up.
func (c Config) Warnings() []string {
	var out []string
	iss, err := url.Parse(c.Issuer)
	if err != nil || !isLoopbackName(iss.Hostname()) {
		return out
	}
	// On a developer's machine the issuer names the very server that
	// listens: a port that differs means discovery announces endpoints
	// nothing answers on (unless a proxy forwards them).
	issPort := iss.Port()
	if issPort == "" {
		issPort = map[string]string{"http": "80", "https": "443"}[iss.Scheme]
	}
	_, listenPort, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil || listenPort == issPort || listenPort == "0" {
		return out
	}
	return append(out, fmt.Sprintf(
		"GATEHOUSE_HTTP_ADDR listens on port %s, but GATEHOUSE_ISSUER is %s: discovery announces endpoints on port %s, where nothing of this server answers. Set GATEHOUSE_ISSUER=%s://%s or GATEHOUSE_HTTP_ADDR=:%s (unless a proxy forwards port %s).",
		listenPort, c.Issuer, issPort, iss.Scheme, net.JoinHostPort(iss.Hostname(), listenPort), issPort, issPort))
}
