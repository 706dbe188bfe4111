package clients

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Metadata is a client as JSON speaks it, in the member names of RFC 7591
// §2 and §3.2.1, RFC 7592 §3, OpenID Connect Dynamic Client Registration
// 1.0 §2 and Back-Channel Logout 1.0 §2.2, plus Gatehouse's own members
// (audience, public, skip_consent, allowed_cors_origins, admin). The
// registration endpoint, the admin API and the command line all read and
// write clients in this one shape; Spec turns it into what the rules take.
//
// The list members of a client read from the store are never null, so
// every view shows them; members written only in answers are omitted when
// zero. The stored form is storage/gormstore's own, so that a change here
// never rewrites the database.
type Metadata struct {
	// Written in answers only.
	ClientID                string `json:"client_id,omitzero"`
	ClientSecret            string `json:"client_secret,omitzero"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at,omitzero"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitzero"`
	RegistrationAccessToken string `json:"registration_access_token,omitzero"`
	RegistrationClientURI   string `json:"registration_client_uri,omitzero"`

	RedirectURIs                []string        `json:"redirect_uris,omitzero"`
	TokenEndpointAuthMethod     string          `json:"token_endpoint_auth_method,omitzero"`
	TokenEndpointAuthSigningAlg string          `json:"token_endpoint_auth_signing_alg,omitzero"`
	GrantTypes                  []string        `json:"grant_types,omitzero"`
	ResponseTypes               []string        `json:"response_types,omitzero"`
	ClientName                  string          `json:"client_name,omitzero"`
	ClientURI                   string          `json:"client_uri,omitzero"`
	LogoURI                     string          `json:"logo_uri,omitzero"`
	Scope                       string          `json:"scope"`
	Contacts                    []string        `json:"contacts,omitzero"`
	TOSURI                      string          `json:"tos_uri,omitzero"`
	PolicyURI                   string          `json:"policy_uri,omitzero"`
	JWKSURI                     string          `json:"jwks_uri,omitzero"`
	JWKS                        json.RawMessage `json:"jwks,omitzero"`
	ApplicationType             string          `json:"application_type,omitzero"`
	SubjectType                 string          `json:"subject_type,omitzero"`
	SectorIdentifierURI         string          `json:"sector_identifier_uri,omitzero"`
	IDTokenSignedResponseAlg    string          `json:"id_token_signed_response_alg,omitzero"`
	UserinfoSignedResponseAlg   string          `json:"userinfo_signed_response_alg,omitzero"`
	RequestObjectSigningAlg     string          `json:"request_object_signing_alg,omitzero"`
	DefaultMaxAge               int             `json:"default_max_age,omitzero"`
	DefaultACRValues            []string        `json:"default_acr_values,omitzero"`
	RequireAuthTime             bool            `json:"require_auth_time,omitzero"`
	PostLogoutRedirectURIs      []string        `json:"post_logout_redirect_uris,omitzero"`
	BackchannelLogoutURI        string          `json:"backchannel_logout_uri,omitzero"`

	// Gatehouse's members. Only an operator sets audience, skip_consent and
	// admin (see Service.Create for requests a client makes itself).
	Audience           []string `json:"audience,omitzero"`
	Public             bool     `json:"public"`
	SkipConsent        bool     `json:"skip_consent"`
	AllowedCORSOrigins []string `json:"allowed_cors_origins,omitzero"`
	Admin              bool     `json:"admin"`
	// RequireMFA makes every sign-in to the client use a second factor
	// (docs/mfa.md).
	RequireMFA bool `json:"require_mfa,omitzero"`
	// AccessTokenFormat is opaque (the default) or jwt (RFC 9068 access
	// tokens, which need an audience).
	AccessTokenFormat string `json:"access_token_format,omitzero"`

	// LocalizedNames are the client_name#<tag> members (RFC 7591 §2.2),
	// by BCP 47 tag. Each view writes them its own way: registration as
	// client_name#<tag> members, the admin API as localized_names.
	LocalizedNames map[string]string `json:"-"`
}

// MetadataOf returns a stored client's metadata. Secrets and registration
// URIs are left for the caller that may show them.
func MetadataOf(c storage.Client) Metadata {
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	md := Metadata{
		ClientID:                  c.ID,
		ClientIDIssuedAt:          c.CreatedAt.Unix(),
		RedirectURIs:              orEmpty(c.RedirectURIs),
		TokenEndpointAuthMethod:   c.GetTokenEndpointAuthMethod(),
		GrantTypes:                orEmpty(c.GrantTypes),
		ResponseTypes:             orEmpty(c.ResponseTypes),
		ClientName:                c.Name,
		ClientURI:                 c.ClientURI,
		LogoURI:                   c.LogoURI,
		Scope:                     strings.Join(c.Scopes, " "),
		Contacts:                  c.Contacts,
		TOSURI:                    c.TOSURI,
		PolicyURI:                 c.PolicyURI,
		JWKSURI:                   c.JWKSURI,
		JWKS:                      c.JWKS,
		ApplicationType:           c.ApplicationType,
		SubjectType:               c.SubjectType,
		SectorIdentifierURI:       c.SectorIdentifierURI,
		IDTokenSignedResponseAlg:  c.IDTokenSignedResponseAlg,
		UserinfoSignedResponseAlg: c.UserinfoSignedResponseAlg,
		DefaultMaxAge:             c.DefaultMaxAge,
		DefaultACRValues:          c.DefaultACRValues,
		RequireMFA:                c.RequireMFA,
		RequireAuthTime:           c.RequireAuthTime,
		PostLogoutRedirectURIs:    orEmpty(c.PostLogoutRedirectURIs),
		BackchannelLogoutURI:      c.BackchannelLogoutURI,
		Audience:                  orEmpty(c.Audience),
		Public:                    c.Public,
		SkipConsent:               c.SkipConsent,
		AllowedCORSOrigins:        c.AllowedCORSOrigins,
		Admin:                     c.Admin,
		LocalizedNames:            c.LocalizedNames,
		AccessTokenFormat:         c.AccessTokenFormat,
	}
	if md.AccessTokenFormat == "" {
		md.AccessTokenFormat = storage.AccessTokenOpaque
	}
	if md.ApplicationType == "" {
		md.ApplicationType = "web"
	}
	if md.SubjectType == "" {
		md.SubjectType = "public"
	}
	if md.IDTokenSignedResponseAlg == "" {
		md.IDTokenSignedResponseAlg = "RS256"
	}
	if c.GetTokenEndpointAuthMethod() == storage.AuthMethodPrivateKeyJWT {
		md.TokenEndpointAuthSigningAlg = c.GetTokenEndpointAuthSigningAlgorithm()
	}
	return md
}

// Spec returns what the metadata asks for, for Create or Update. A client
// is public when it says so or authenticates with none.
func (m Metadata) Spec() Spec {
	return Spec{
		Name:                        m.ClientName,
		RedirectURIs:                m.RedirectURIs,
		PostLogoutRedirectURIs:      m.PostLogoutRedirectURIs,
		GrantTypes:                  m.GrantTypes,
		ResponseTypes:               m.ResponseTypes,
		Scopes:                      strings.Fields(m.Scope),
		Audience:                    m.Audience,
		Public:                      m.Public || m.TokenEndpointAuthMethod == storage.AuthMethodNone,
		TokenEndpointAuthMethod:     m.TokenEndpointAuthMethod,
		SkipConsent:                 m.SkipConsent,
		LogoURI:                     m.LogoURI,
		BackchannelLogoutURI:        m.BackchannelLogoutURI,
		ApplicationType:             m.ApplicationType,
		LocalizedNames:              m.LocalizedNames,
		ClientURI:                   m.ClientURI,
		PolicyURI:                   m.PolicyURI,
		TOSURI:                      m.TOSURI,
		Contacts:                    m.Contacts,
		JWKS:                        []byte(m.JWKS),
		JWKSURI:                     m.JWKSURI,
		TokenEndpointAuthSigningAlg: m.TokenEndpointAuthSigningAlg,
		SubjectType:                 m.SubjectType,
		SectorIdentifierURI:         m.SectorIdentifierURI,
		IDTokenSignedResponseAlg:    m.IDTokenSignedResponseAlg,
		UserinfoSignedResponseAlg:   m.UserinfoSignedResponseAlg,
		DefaultMaxAge:               m.DefaultMaxAge,
		DefaultACRValues:            m.DefaultACRValues,
		RequireMFA:                  m.RequireMFA,
		RequireAuthTime:             m.RequireAuthTime,
		AllowedCORSOrigins:          m.AllowedCORSOrigins,
		Admin:                       m.Admin,
		AccessTokenFormat:           m.AccessTokenFormat,
	}
}

// AnswerOnly names a member of m that only an answer carries (a client
// does not choose its id, secret or registration URIs), or "".
func (m Metadata) AnswerOnly() string {
	switch {
	case m.ClientSecret != "":
		return "client_secret"
	case m.ClientIDIssuedAt != 0:
		return "client_id_issued_at"
	case m.ClientSecretExpiresAt != nil:
		return "client_secret_expires_at"
	case m.RegistrationAccessToken != "":
		return "registration_access_token"
	case m.RegistrationClientURI != "":
		return "registration_client_uri"
	}
	return ""
}

// OperatorOnly names a member of m that only an operator may set (a client
// registering itself may not skip consent, name audiences or make itself
// an admin client), or "".
func (m Metadata) OperatorOnly() string {
	switch {
	case m.Admin:
		return "admin"
	case m.SkipConsent:
		return "skip_consent"
	case m.RequireMFA:
		return "require_mfa"
	case len(m.Audience) > 0:
		return "audience"
	}
	return ""
}

// Timestamps are a stored client's creation and last change, for the
// views that show them.
type Timestamps struct {
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
