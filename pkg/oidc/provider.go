// Package oidc is Gatehouse's OAuth 2.0 and OpenID Connect protocol layer:
// the fosite composition and one file per endpoint (discovery, JWKS, token,
// introspection, revocation). It parses a request, asks fosite and the
// store, and writes the protocol's answer; it renders no page and knows
// nothing of how the answer is stored.
package oidc

import (
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"

	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Endpoint paths, relative to the issuer.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathJWKS          = "/.well-known/jwks.json"
	PathToken         = "/oauth2/token"
	PathIntrospection = "/oauth2/introspect"
	PathRevocation    = "/oauth2/revoke"
)

// KeySource is what the protocol layer needs of the signing keys.
type KeySource interface {
	// JWKS returns the JSON of the public JWK Set.
	JWKS(ctx context.Context) ([]byte, error)
}

// Options configure a Provider.
type Options struct {
	// Issuer is the issuer identifier: scheme, host and optional path, no
	// trailing slash.
	Issuer string
	// Store keeps clients and tokens.
	Store storage.Store
	// Keys provides the JWKS.
	Keys KeySource
	// Secrets keys the client-secret hash and the token HMAC.
	Secrets *secret.Keys
	// AccessTokenLifetime is the lifetime of access tokens.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is the lifetime of refresh tokens.
	RefreshTokenLifetime time.Duration
	// AuthorizationCodeLifetime is the lifetime of authorization codes.
	AuthorizationCodeLifetime time.Duration
	// IDTokenLifetime is the lifetime of ID tokens.
	IDTokenLifetime time.Duration
	// OnTokenIssued, when set, is called once for every successful token
	// response with its grant type (for metrics).
	OnTokenIssued func(grantType string)
	// Logger receives server-side errors; nil discards.
	Logger *slog.Logger
}

// Provider serves the protocol endpoints.
type Provider struct {
	issuer        string
	store         storage.Store
	keys          KeySource
	oauth         *fosite.Fosite
	grantTypes    []string // grant types the token endpoint handles
	onTokenIssued func(string)
	log           *slog.Logger
}

// New composes fosite with Gatehouse's store and strategies.
func New(opts Options) (*Provider, error) {
	if opts.Issuer == "" || opts.Store == nil || opts.Keys == nil || opts.Secrets == nil {
		return nil, errors.New("oidc: Issuer, Store, Keys and Secrets are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &fosite.Config{
		AccessTokenLifespan:   opts.AccessTokenLifetime,
		RefreshTokenLifespan:  opts.RefreshTokenLifetime,
		AuthorizeCodeLifespan: opts.AuthorizationCodeLifetime,
		IDTokenLifespan:       opts.IDTokenLifetime,
		GlobalSecret:          opts.Secrets.TokenHMACKey(),
		HMACHasher:            sha512.New512_256,
		TokenEntropy:          32,
		TokenURL:              opts.Issuer + PathToken,
		IDTokenIssuer:         opts.Issuer,
		AccessTokenIssuer:     opts.Issuer,
		// Set every default that fosite would otherwise write into the config
		// on first use, which races under concurrent first requests.
		ScopeStrategy:               fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:    fosite.ExactAudienceMatchingStrategy,
		ClientSecretsHasher:         clientSecretHasher{opts.Secrets},
		JWKSFetcherStrategy:         fosite.NewDefaultJWKSFetcherStrategy(),
		EnforcePKCEForPublicClients: true,
	}
	strategy := &compose.CommonStrategy{
		CoreStrategy: newPrefixedHMACStrategy(&hmac.HMACStrategy{Config: cfg}, cfg),
	}
	provider := compose.Compose(cfg, opts.Store, strategy,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
	)
	f, ok := provider.(*fosite.Fosite)
	if !ok {
		return nil, fmt.Errorf("oidc: unexpected provider type %T", provider)
	}
	return &Provider{
		issuer:        opts.Issuer,
		store:         opts.Store,
		keys:          opts.Keys,
		oauth:         f,
		grantTypes:    []string{"client_credentials"},
		onTokenIssued: opts.OnTokenIssued,
		log:           log,
	}, nil
}

// supportsGrant reports whether the token endpoint handles the grant type.
func (p *Provider) supportsGrant(gt string) bool {
	for _, g := range p.grantTypes {
		if g == gt {
			return true
		}
	}
	return false
}

// clientSecretHasher plugs the keyed client-secret hash into fosite.
type clientSecretHasher struct{ keys *secret.Keys }

// Compare checks a presented secret against the stored hash in constant
// time.
func (h clientSecretHasher) Compare(_ context.Context, hash, data []byte) error {
	if len(hash) == 0 || !h.keys.CompareClientSecret(hash, data) {
		return errors.New("client secret mismatch")
	}
	return nil
}

// Hash returns the keyed hash of a secret.
func (h clientSecretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return h.keys.HashClientSecret(data), nil
}

// tokenPrefix marks Gatehouse's opaque tokens so that secret scanners and
// people can tell them apart: gate_at_… for access tokens, gate_rt_… for
// refresh tokens and gate_ac_… for authorization codes.
const tokenPrefix = "gate_"

// prefixedHMACStrategy is fosite's HMAC token strategy with Gatehouse's
// token prefixes. The storage key is the HMAC signature, which the prefix
// does not change.
type prefixedHMACStrategy struct {
	*oauth2.HMACSHAStrategyUnPrefixed
}

func newPrefixedHMACStrategy(enigma *hmac.HMACStrategy, cfg oauth2.LifespanConfigProvider) *prefixedHMACStrategy {
	return &prefixedHMACStrategy{oauth2.NewHMACSHAStrategyUnPrefixed(enigma, cfg)}
}

func prefix(part string) string { return tokenPrefix + part + "_" }

func addPrefix(token, part string, err error) (string, error) {
	if err != nil || token == "" {
		return token, err
	}
	return prefix(part) + token, nil
}

// GenerateAccessToken returns a new access token.
func (s *prefixedHMACStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := s.HMACSHAStrategyUnPrefixed.GenerateAccessToken(ctx, r)
	t, err = addPrefix(t, "at", err)
	return t, sig, err
}

// ValidateAccessToken checks an access token.
func (s *prefixedHMACStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	return s.HMACSHAStrategyUnPrefixed.ValidateAccessToken(ctx, r, strings.TrimPrefix(token, prefix("at")))
}

// GenerateRefreshToken returns a new refresh token.
func (s *prefixedHMACStrategy) GenerateRefreshToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := s.HMACSHAStrategyUnPrefixed.GenerateRefreshToken(ctx, r)
	t, err = addPrefix(t, "rt", err)
	return t, sig, err
}

// ValidateRefreshToken checks a refresh token.
func (s *prefixedHMACStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	return s.HMACSHAStrategyUnPrefixed.ValidateRefreshToken(ctx, r, strings.TrimPrefix(token, prefix("rt")))
}

// GenerateAuthorizeCode returns a new authorization code.
func (s *prefixedHMACStrategy) GenerateAuthorizeCode(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := s.HMACSHAStrategyUnPrefixed.GenerateAuthorizeCode(ctx, r)
	t, err = addPrefix(t, "ac", err)
	return t, sig, err
}

// ValidateAuthorizeCode checks an authorization code.
func (s *prefixedHMACStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	return s.HMACSHAStrategyUnPrefixed.ValidateAuthorizeCode(ctx, r, strings.TrimPrefix(token, prefix("ac")))
}
