package oidc

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
)

// Metadata is the provider metadata document (OpenID Connect Discovery 1.0
// §3, RFC 8414 §2). Every field states something this server does today.
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgValues  []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgValues     []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	UserinfoSigningAlgValuesSupported          []string `json:"userinfo_signing_alg_values_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	DisplayValuesSupported                     []string `json:"display_values_supported"`
	UILocalesSupported                         []string `json:"ui_locales_supported,omitempty"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	BackchannelLogoutSupported                 bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported          bool     `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSupported                bool     `json:"frontchannel_logout_supported"`
}

// Metadata returns the provider metadata.
func (p *Provider) Metadata() Metadata {
	secretMethods := []string{"client_secret_basic", "client_secret_post"}
	// The algorithms fosite verifies private_key_jwt assertions with.
	assertionAlgs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
	pkce := []string{"S256"}
	if p.pkcePlain {
		pkce = append(pkce, "plain")
	}
	return Metadata{
		Issuer:                            p.issuer,
		AuthorizationEndpoint:             p.issuer + PathAuthorize,
		TokenEndpoint:                     p.issuer + PathToken,
		UserinfoEndpoint:                  p.issuer + PathUserinfo,
		JWKSURI:                           p.issuer + PathJWKS,
		EndSessionEndpoint:                p.issuer + PathEndSession,
		RegistrationEndpoint:              p.registrationEndpoint(),
		IntrospectionEndpoint:             p.issuer + PathIntrospection,
		RevocationEndpoint:                p.issuer + PathRevocation,
		GrantTypesSupported:               append(slices.Clone(p.grantTypes), "implicit"),
		TokenEndpointAuthMethodsSupported: append(secretMethods[:2:2], "private_key_jwt", "none"),
		TokenEndpointAuthSigningAlgValuesSupported: assertionAlgs,
		// RFC 8414 §2: with private_key_jwt listed, the algorithms must be.
		IntrospectionEndpointAuthMethodsSupported: append(secretMethods[:2:2], "private_key_jwt"),
		IntrospectionEndpointAuthSigningAlgValues: assertionAlgs,
		// Public clients revoke their own tokens with no secret (RFC 7009 §2.1).
		RevocationEndpointAuthMethodsSupported:     append(secretMethods[:2:2], "private_key_jwt", "none"),
		RevocationEndpointAuthSigningAlgValues:     assertionAlgs,
		ScopesSupported:                            append([]string{"openid", "profile", "email", "address", "phone", "offline_access", RolesScope}, p.attrs.Scopes()...),
		ResponseTypesSupported:                     []string{"code", "id_token", "id_token token", "code id_token", "code token", "code id_token token"},
		ResponseModesSupported:                     []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:                      []string{"public", "pairwise"},
		IDTokenSigningAlgValuesSupported:           []string{"RS256"},
		UserinfoSigningAlgValuesSupported:          []string{"RS256"},
		CodeChallengeMethodsSupported:              pkce,
		ClaimsSupported:                            supportedClaims(p.attrs),
		ClaimsParameterSupported:                   true,
		RequestParameterSupported:                  false,
		RequestURIParameterSupported:               false,
		ACRValuesSupported:                         acr.Supported(),
		PromptValuesSupported:                      p.promptValues(),
		DisplayValuesSupported:                     []string{"page", "popup", "touch", "wap"},
		UILocalesSupported:                         p.uiLocales,
		AuthorizationResponseISSParameterSupported: true,
		BackchannelLogoutSupported:                 true,
		BackchannelLogoutSessionSupported:          true,
		FrontchannelLogoutSupported:                false,
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

// registrationEndpoint is advertised unless registration is closed.
func (p *Provider) registrationEndpoint() string {
	if p.registration == RegistrationClosed {
		return ""
	}
	return p.issuer + PathRegistration
}
