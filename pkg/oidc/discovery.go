package oidc

import (
	"encoding/json"
	"net/http"
)

// Metadata is the provider metadata document (OpenID Connect Discovery 1.0
// §3, RFC 8414 §2). Every field states something this server does today.
type Metadata struct {
	Issuer                                    string   `json:"issuer"`
	JWKSURI                                   string   `json:"jwks_uri"`
	TokenEndpoint                             string   `json:"token_endpoint"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	GrantTypesSupported                       []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
}

// Metadata returns the provider metadata.
func (p *Provider) Metadata() Metadata {
	secretMethods := []string{"client_secret_basic", "client_secret_post"}
	return Metadata{
		Issuer:                            p.issuer,
		JWKSURI:                           p.issuer + PathJWKS,
		TokenEndpoint:                     p.issuer + PathToken,
		IntrospectionEndpoint:             p.issuer + PathIntrospection,
		RevocationEndpoint:                p.issuer + PathRevocation,
		GrantTypesSupported:               p.grantTypes,
		TokenEndpointAuthMethodsSupported: secretMethods,
		IntrospectionEndpointAuthMethodsSupported: secretMethods,
		// Public clients revoke their own tokens with no secret (RFC 7009 §2.1).
		RevocationEndpointAuthMethodsSupported: append(secretMethods[:2:2], "none"),
	}
}

// handleDiscovery serves the metadata document.
func (p *Provider) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(p.Metadata())
}

// handleJWKS serves the public signing keys (RFC 7517 §5).
func (p *Provider) handleJWKS(w http.ResponseWriter, r *http.Request) {
	jwks, err := p.keys.JWKS(r.Context())
	if err != nil {
		p.log.ErrorContext(r.Context(), "jwks failed", "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The signing keys cannot be read right now.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Short: a client that meets an unknown kid refetches anyway.
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(jwks)
}
