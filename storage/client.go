package storage

import (
	"encoding/json"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
)

// Token endpoint authentication methods (OpenID Connect Core §9, RFC 7591 §2).
const (
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodPrivateKeyJWT     = "private_key_jwt"
	AuthMethodNone              = "none"
)

// Client is an OAuth 2.0 client (a relying party or a machine client).
//
// Client implements fosite.Client, fosite.OpenIDConnectClient and
// fosite.ResponseModeClient so that fosite can use it directly.
type Client struct {
	// ID is the client_id: random, URL-safe and unique.
	ID string
	// SecretHash is the keyed hash of the client secret (see
	// pkg/secret.Hasher); empty for public clients. The secret itself is
	// never stored.
	SecretHash []byte
	// Name is the human-readable client_name shown on consent pages.
	Name string
	// RedirectURIs must match a redirect_uri exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs must match a post_logout_redirect_uri exactly.
	PostLogoutRedirectURIs []string
	// GrantTypes the client may use, e.g. "authorization_code".
	GrantTypes []string
	// ResponseTypes the client may request at the authorization endpoint.
	ResponseTypes []string
	// Scopes the client may request.
	Scopes []string
	// Audience values the client may request.
	Audience []string
	// Public clients have no secret and must use PKCE.
	Public bool
	// TokenEndpointAuthMethod is one of the AuthMethod constants.
	TokenEndpointAuthMethod string
	// SkipConsent marks a first-party client whose users are not asked for
	// consent.
	SkipConsent bool
	// LogoURI is shown on the consent page.
	LogoURI string
	// BackchannelLogoutURI receives logout tokens when a customer's session
	// ends (OpenID Connect Back-Channel Logout 1.0).
	BackchannelLogoutURI string
	// Registration metadata (RFC 7591 §2, OpenID Connect Dynamic Client
	// Registration 1.0 §2).
	ApplicationType             string            // "web" (default) or "native"
	LocalizedNames              map[string]string // client_name#<tag>, by BCP 47 tag
	ClientURI                   string
	PolicyURI                   string
	TOSURI                      string
	Contacts                    []string
	JWKS                        []byte // the client's public JWK Set, for private_key_jwt
	JWKSURI                     string // where the client publishes its JWK Set
	TokenEndpointAuthSigningAlg string
	SubjectType                 string // "public" (default) or "pairwise"
	SectorIdentifierURI         string
	IDTokenSignedResponseAlg    string
	UserinfoSignedResponseAlg   string
	DefaultMaxAge               int // seconds; 0 means none
	RequireAuthTime             bool
	// DefaultACRValues are the authentication context classes asked for
	// when a request names none (OpenID Connect Dynamic Client
	// Registration §2 default_acr_values).
	DefaultACRValues []string
	// RequireMFA makes every sign-in to this client use a second factor
	// (Gatehouse's require_mfa), whatever the server's policy.
	RequireMFA bool
	// AllowedCORSOrigins are the web origins whose browser scripts may read
	// the token, revocation and userinfo endpoints' answers for this client;
	// when empty, the origins of its redirect URIs. See CORSOrigins.
	AllowedCORSOrigins []string
	// Admin marks a client an operator allows to use the admin API. The
	// admin API requires it besides the scope gatehouse:admin in the token,
	// so a scope obtained some other way is not enough.
	Admin bool
	// RegistrationAccessTokenHash is the keyed hash of the token that
	// manages the client through the configuration endpoint (RFC 7592);
	// empty for clients not registered dynamically.
	RegistrationAccessTokenHash []byte
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
	// AccessTokenFormat is the form of the access tokens issued to the
	// client: AccessTokenOpaque (also when empty) or AccessTokenJWT
	// (RFC 9068).
	AccessTokenFormat string
}

// Access token formats (Client.AccessTokenFormat).
const (
	// AccessTokenOpaque is a random token that only introspection and
	// userinfo can read: revoked at once.
	AccessTokenOpaque = "opaque"
	// AccessTokenJWT is an RFC 9068 JWT signed with the server's keys:
	// resource servers verify it offline, so it stays valid there until
	// it expires, whatever is revoked.
	AccessTokenJWT = "jwt"
)

// IssuesJWTAccessTokens reports whether the client's access tokens are
// RFC 9068 JWTs.
func (c *Client) IssuesJWTAccessTokens() bool { return c.AccessTokenFormat == AccessTokenJWT }

var (
	_ fosite.Client              = (*Client)(nil)
	_ fosite.OpenIDConnectClient = (*Client)(nil)
	_ fosite.ResponseModeClient  = (*Client)(nil)
)

// CORSOrigins returns the origins allowed to read the client's answers in
// a browser: AllowedCORSOrigins, or else those of its redirect URIs.
func (c *Client) CORSOrigins() []string {
	if len(c.AllowedCORSOrigins) > 0 {
		return c.AllowedCORSOrigins
	}
	return WebOrigins(c.RedirectURIs)
}

// WebOrigins returns the origins (scheme://host[:port]) of the http(s)
// URIs among uris.
func WebOrigins(uris []string) []string {
	var out []string
	for _, raw := range uris {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// GetID returns the client_id.
func (c *Client) GetID() string { return c.ID }

// GetHashedSecret returns the keyed hash of the client secret.
func (c *Client) GetHashedSecret() []byte { return c.SecretHash }

// GetRedirectURIs returns the registered redirect URIs.
func (c *Client) GetRedirectURIs() []string { return c.RedirectURIs }

// GetGrantTypes returns the allowed grant types.
func (c *Client) GetGrantTypes() fosite.Arguments { return c.GrantTypes }

// GetResponseTypes returns the allowed response types.
func (c *Client) GetResponseTypes() fosite.Arguments { return c.ResponseTypes }

// GetScopes returns the scopes the client may request.
func (c *Client) GetScopes() fosite.Arguments { return c.Scopes }

// IsPublic reports whether the client has no secret.
func (c *Client) IsPublic() bool { return c.Public }

// GetAudience returns the audiences the client may request.
func (c *Client) GetAudience() fosite.Arguments { return c.Audience }

// GetRequestURIs returns no request URIs: request objects are not supported.
func (c *Client) GetRequestURIs() []string { return nil }

// GetJSONWebKeys returns the client's registered JWK Set, or nil. A set
// that does not parse is treated as none.
func (c *Client) GetJSONWebKeys() *jose.JSONWebKeySet {
	if len(c.JWKS) == 0 {
		return nil
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.JWKS, &set); err != nil {
		return nil
	}
	return SigningKeysOf(&set)
}

// SigningKeysOf marks the keys of a client's JWK Set that say nothing of
// their use as signing keys: "use" is optional (RFC 7517 §4.2), and a
// client registers its keys for its assertions, but fosite looks only at
// keys with use "sig". Keys for another use stay as they are.
func SigningKeysOf(set *jose.JSONWebKeySet) *jose.JSONWebKeySet {
	if set == nil {
		return nil
	}
	for i := range set.Keys {
		if set.Keys[i].Use == "" {
			set.Keys[i].Use = "sig"
		}
	}
	return set
}

// GetJSONWebKeysURI returns where the client publishes its JWK Set.
func (c *Client) GetJSONWebKeysURI() string { return c.JWKSURI }

// GetRequestObjectSigningAlgorithm returns "": request objects are not
// supported.
func (c *Client) GetRequestObjectSigningAlgorithm() string { return "" }

// GetTokenEndpointAuthMethod returns the registered authentication method,
// defaulting to client_secret_basic for confidential clients and none for
// public ones (RFC 7591 §2).
func (c *Client) GetTokenEndpointAuthMethod() string {
	switch {
	case c.TokenEndpointAuthMethod != "":
		return c.TokenEndpointAuthMethod
	case c.Public:
		return AuthMethodNone
	default:
		return AuthMethodClientSecretBasic
	}
}

// GetTokenEndpointAuthSigningAlgorithm returns the registered algorithm of
// private_key_jwt assertions, RS256 by default (OpenID Connect Dynamic
// Client Registration §2).
func (c *Client) GetTokenEndpointAuthSigningAlgorithm() string {
	if c.TokenEndpointAuthSigningAlg != "" {
		return c.TokenEndpointAuthSigningAlg
	}
	return "RS256"
}

// GetResponseModes returns the response modes every client may use.
func (c *Client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{
		fosite.ResponseModeDefault,
		fosite.ResponseModeQuery,
		fosite.ResponseModeFragment,
		fosite.ResponseModeFormPost,
	}
}
