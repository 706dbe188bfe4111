// Package oidc is Gatehouse's OAuth 2.0 and OpenID Connect protocol layer:
// the fosite composition and one file per endpoint (discovery, JWKS, token,
// introspection, revocation). It parses a request, asks fosite and the
// store, and writes the protocol's answer; it renders no page and knows
// nothing of how the answer is stored.
package oidc

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/hashicorp/go-retryablehttp"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"
	"github.com/ory/fosite/token/jwt"

	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Endpoint paths, relative to the issuer.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathJWKS          = "/.well-known/jwks.json"
	PathToken         = "/oauth2/token"
	PathIntrospection = "/oauth2/introspect"
	PathRevocation    = "/oauth2/revoke"
	PathAuthorize     = "/oauth2/auth"
	PathResume        = "/oauth2/auth/resume"
	PathUserinfo      = "/userinfo"
	PathEndSession    = "/oauth2/logout"
)

// KeySource is what the protocol layer needs of the signing keys.
type KeySource interface {
	// JWKS returns the JSON of the public JWK Set.
	JWKS(ctx context.Context) ([]byte, error)
	// Active returns the signing key of an algorithm.
	Active(ctx context.Context, alg string) (keys.Key, error)
	// VerificationKey returns a published public key by kid, with its
	// algorithm.
	VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, string, bool)
}

// Pages renders what a person sees when the protocol has to answer a
// browser itself rather than redirect to a client.
type Pages interface {
	// Error shows a friendly error page with the message's ID.
	Error(w http.ResponseWriter, r *http.Request, status int, messageID string)
	// LogoutConfirm asks whether to sign out; the form posts hidden back.
	// formActions are origins the answer to the form may redirect to (the
	// app's, when it is sent back there after signing out).
	LogoutConfirm(w http.ResponseWriter, r *http.Request, clientName string, hidden map[string]string, formActions ...string)
	// LoggedOut says the customer is signed out.
	LoggedOut(w http.ResponseWriter, r *http.Request)
	// RequestRefused explains, with status 400, why an authorization
	// request is refused on a page instead of at the app: messageID's
	// words filled with data ("ClientID", "ClientName", "Param"), and the
	// redirect URI it sent ("RedirectURI") as text, never as a link.
	RequestRefused(w http.ResponseWriter, r *http.Request, messageID string, data map[string]string)
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
	// Sessions reads the customer's browser session.
	Sessions *session.Manager
	// Pages renders the pages the protocol shows itself.
	Pages Pages
	// LoginPath and ConsentPath are where the authorization endpoint sends
	// the browser to sign in and to consent; "?auth=ID" is appended.
	LoginPath   string
	ConsentPath string
	// PKCEAllowPlain accepts code_challenge_method=plain.
	PKCEAllowPlain bool
	// Outbound fetches the URLs that clients supply: sector_identifier_uri,
	// jwks_uri, backchannel_logout_uri. nil means outbound.New with the
	// default policy (public https addresses only).
	Outbound *outbound.Client
	// UILocales are the languages of the hosted pages, for discovery.
	UILocales []string
	// Clients registers clients for the registration endpoint.
	Clients *clients.Service
	// RegistrationPolicy says who may register clients: RegistrationClosed,
	// RegistrationInitialAccessToken (the default) or RegistrationOpen.
	RegistrationPolicy string
	// Throttle limits failed client authentications per client_id and
	// registrations per client address; nil for none.
	Throttle *ratelimit.Limiter
	// Outage counts and logs the answers given because the store could
	// not answer; nil for none.
	Outage *outage.Reporter
	// ACR turns a request's acr_values, claims, prompt and max_age, its
	// client's require_mfa and default_acr_values, and the MFA policy into
	// the class the sign-in must reach (the same rules as the sign-in
	// pages').
	ACR acr.Rules
	// SignUpPath is the sign-up page, where prompt=create sends the
	// browser ("?auth=ID" appended); "" when sign-up is off, and then
	// create is not among prompt_values_supported and is refused.
	SignUpPath string
	// Attributes are the declared customer attributes: those with a
	// scope are released as claims of their names to clients granted it,
	// and discovery lists the scopes and claims. nil declares none.
	Attributes *attributes.Set
}

// Provider serves the protocol endpoints.
type Provider struct {
	issuer        string
	store         storage.Store
	keys          KeySource
	oauth         *fosite.Fosite
	machine       *fosite.Fosite // client_credentials only
	grantTypes    []string       // grant types the token endpoint handles
	onTokenIssued func(string)
	log           *slog.Logger
	sessions      *session.Manager
	pages         Pages
	loginPath     string
	consentPath   string
	signUpPath    string
	pkcePlain     bool
	outbound      *outbound.Client
	uiLocales     []string
	clients       *clients.Service
	secrets       *secret.Keys
	registration  string
	throttle      *ratelimit.Limiter
	outage        *outage.Reporter
	acr           acr.Rules
	access        *tokenStrategy // the access tokens' strategy, for lookups
	attrs         *attributes.Set
}

// New composes fosite with Gatehouse's store and strategies.
func New(opts Options) (*Provider, error) {
	if opts.Issuer == "" || opts.Store == nil || opts.Keys == nil || opts.Secrets == nil || opts.Sessions == nil || opts.Pages == nil {
		return nil, errors.New("oidc: Issuer, Store, Keys, Secrets, Sessions and Pages are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := opts.Outbound
	if out == nil {
		out = outbound.New(outbound.Policy{})
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
		ScopeStrategy:            fosite.ExactScopeStrategy,
		AudienceMatchingStrategy: fosite.ExactAudienceMatchingStrategy,
		ClientSecretsHasher:      clientSecretHasher{opts.Secrets},
		// Fetches private_key_jwt clients' jwks_uri: cached, refetched when
		// an assertion names an unknown kid, through the outbound client.
		JWKSFetcherStrategy:         signingKeysFetcher{fosite.NewDefaultJWKSFetcherStrategy(fosite.JWKSFetcherWithHTTPClient(jwksHTTPClient(out)))},
		EnforcePKCEForPublicClients: true,
		// RFC 7636 §4.2: S256 unless plain is explicitly allowed.
		EnablePKCEPlainChallengeMethod: opts.PKCEAllowPlain,
		// Neither state (RFC 6749 §4.1.1) nor nonce (OpenID Connect Core
		// §3.1.2.1) has a length rule; fosite's default demands 8
		// characters of both. Its authorization endpoint treats any value
		// below 1 as that default, so 1 is the least it can be told; a
		// missing state is handled before fosite sees it (absentState).
		MinParameterEntropy: 1,
		// Refresh tokens only for offline_access (OpenID Connect Core §11).
		RefreshTokenScopes: []string{"offline_access"},
		// Keep the redirect_uri in the stored code so the token endpoint can
		// check it (RFC 6749 §4.1.3).
		SanitationWhiteList:  []string{"code", "redirect_uri", "nonce", "claims"},
		FormPostHTMLTemplate: formPostTemplate,
	}
	keyGetter := func(ctx context.Context) (interface{}, error) {
		k, err := opts.Keys.Active(ctx, keys.RS256)
		if err != nil {
			return nil, err
		}
		return k.JOSE(), nil
	}
	// New fails only for a size below 1.
	verified, _ := lru.New[[sha256.Size]byte, verifiedJWT](maxVerifiedJWTs)
	sealed, err := newSealedAccessTokens(opts.Secrets.SealedTokenKey())
	if err != nil {
		return nil, err
	}
	// fosite and the token lookups see sealed access tokens through the
	// store (sealed.go).
	store := &sealingStore{Store: opts.Store, sealed: sealed}
	access := &tokenStrategy{
		sealed:               sealed,
		prefixedHMACStrategy: newPrefixedHMACStrategy(&hmac.HMACStrategy{Config: cfg}, cfg),
		jwt: &jwtAccessTokens{issuer: opts.Issuer, keys: opts.Keys, verified: verified, subject: func(c fosite.Client, userID string) string {
			return subjectOf(opts.Secrets, c, userID)
		}},
	}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               access,
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, cfg),
		Signer:                     &jwt.DefaultSigner{GetPrivateKey: keyGetter},
	}
	// Order matters: the OpenID Connect and PKCE handlers read the code the
	// explicit handler issued, and the OpenID refresh handler the scopes the
	// refresh handler granted.
	// The client-credentials grant gets a fosite of its own with only its
	// handler: fosite asks every token handler in turn, and each one that
	// declines records a stack trace, which cost the busiest grant a sixth of
	// its CPU time.
	tokenURLs := []string{opts.Issuer + PathToken, opts.Issuer, opts.Issuer + PathIntrospection, opts.Issuer + PathRevocation}
	machineCfg := *cfg
	machine := composeFosite(&fositeConfig{Config: &machineCfg, tokenURLs: tokenURLs}, store, strategy,
		compose.OAuth2ClientCredentialsGrantFactory,
	)
	f := composeFosite(&fositeConfig{Config: cfg, tokenURLs: tokenURLs}, store, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2AuthorizeImplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectImplicitFactory,
		compose.OpenIDConnectHybridFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	)
	// Every failure to authenticate a client is invalid_client (RFC 6749
	// §5.2): fosite passes some assertion failures through unwrapped (an
	// expired client_assertion becomes a bare error, a 500) and calls a
	// replayed one jti_known, which is not a registered code.
	machineCfg.ClientAuthenticationStrategy = clientAuthentication(machine.DefaultClientAuthenticationStrategy)
	cfg.ClientAuthenticationStrategy = clientAuthentication(f.DefaultClientAuthenticationStrategy)
	policy := opts.RegistrationPolicy
	switch policy {
	case "":
		policy = RegistrationInitialAccessToken
	case RegistrationClosed, RegistrationInitialAccessToken, RegistrationOpen:
	default:
		return nil, fmt.Errorf("oidc: unknown registration policy %q", policy)
	}
	if opts.Clients == nil {
		opts.Clients = clients.NewService(opts.Store, opts.Secrets, clients.Options{})
	}
	return &Provider{
		issuer:        opts.Issuer,
		store:         store,
		keys:          opts.Keys,
		oauth:         f,
		machine:       machine,
		grantTypes:    []string{"authorization_code", "refresh_token", "client_credentials"},
		onTokenIssued: opts.OnTokenIssued,
		log:           log,
		sessions:      opts.Sessions,
		pages:         opts.Pages,
		loginPath:     opts.LoginPath,
		consentPath:   opts.ConsentPath,
		signUpPath:    opts.SignUpPath,
		pkcePlain:     opts.PKCEAllowPlain,
		outbound:      out,
		uiLocales:     opts.UILocales,
		clients:       opts.Clients,
		secrets:       opts.Secrets,
		registration:  policy,
		throttle:      opts.Throttle,
		outage:        opts.Outage,
		acr:           opts.ACR,
		access:        access,
		attrs:         opts.Attributes,
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
// token prefixes, and time-ordered access tokens (see timeOrderedTokens).
type prefixedHMACStrategy struct {
	*oauth2.HMACSHAStrategyUnPrefixed
	access *timeOrderedTokens
}

func newPrefixedHMACStrategy(enigma *hmac.HMACStrategy, cfg *fosite.Config) *prefixedHMACStrategy {
	return &prefixedHMACStrategy{
		HMACSHAStrategyUnPrefixed: oauth2.NewHMACSHAStrategyUnPrefixed(enigma, cfg),
		access:                    &timeOrderedTokens{secret: cfg.GlobalSecret, hasher: cfg.HMACHasher},
	}
}

func prefix(part string) string { return tokenPrefix + part + "_" }

func addPrefix(token, part string, err error) (string, error) {
	if err != nil || token == "" {
		return token, err
	}
	return prefix(part) + token, nil
}

// GenerateAccessToken returns a new access token and its storage key.
func (s *prefixedHMACStrategy) GenerateAccessToken(_ context.Context, _ fosite.Requester) (string, string, error) {
	t, key, err := s.access.generate(time.Now())
	t, err = addPrefix(t, "at", err)
	return t, key, err
}

// AccessTokenSignature returns an access token's storage key.
func (s *prefixedHMACStrategy) AccessTokenSignature(_ context.Context, token string) string {
	return s.access.storageKey(strings.TrimPrefix(token, prefix("at")))
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

// jwksHTTPClient fetches clients' JWK Sets through the outbound client (its
// address, scheme, redirect and size rules): one retry, none after a
// refusal by the outbound policy, short timeouts.
func jwksHTTPClient(out *outbound.Client) *retryablehttp.Client {
	c := retryablehttp.NewClient()
	c.HTTPClient = out.HTTPClient()
	c.HTTPClient.Timeout = 5 * time.Second
	c.RetryMax = 1
	c.RetryWaitMin = 100 * time.Millisecond
	c.RetryWaitMax = time.Second
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if errors.Is(err, outbound.ErrRefused) {
			return false, err
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	c.Logger = nil
	return c
}

// clientAuthentication wraps fosite's client authentication so that every
// failure is invalid_client.
// signingKeysFetcher fetches a client's jwks_uri and marks its keys without
// a "use" as signing keys (storage.SigningKeysOf).
type signingKeysFetcher struct{ fosite.JWKSFetcherStrategy }

// Resolve fetches the JWK Set, from fosite's cache where it may.
func (f signingKeysFetcher) Resolve(ctx context.Context, location string, ignoreCache bool) (*jose.JSONWebKeySet, error) {
	set, err := f.JWKSFetcherStrategy.Resolve(ctx, location, ignoreCache)
	if err != nil {
		return nil, err
	}
	// fosite caches the set it returned: mark a copy.
	marked := &jose.JSONWebKeySet{Keys: slices.Clone(set.Keys)}
	return storage.SigningKeysOf(marked), nil
}

func clientAuthentication(inner fosite.ClientAuthenticationStrategy) fosite.ClientAuthenticationStrategy {
	return func(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
		c, err := inner(ctx, r, form)
		if err == nil {
			return c, nil
		}
		var rfc *fosite.RFC6749Error
		switch {
		case errors.Is(err, fosite.ErrJTIKnown):
			return nil, fosite.ErrInvalidClient.WithHint("The client_assertion was already used.").WithWrap(err)
		case !errors.As(err, &rfc):
			return nil, fosite.ErrInvalidClient.WithHint("The client_assertion is not valid.").WithWrap(err)
		case errors.Is(err, fosite.ErrInvalidRequest) && form.Get("client_assertion") != "":
			// fosite calls an assertion it cannot check (no key for its kid
			// and algorithm) invalid_request; the client failed to
			// authenticate (RFC 6749 §5.2, RFC 7523 §3.2).
			return nil, fosite.ErrInvalidClient.WithHint("The client_assertion could not be verified.").WithWrap(err)
		}
		return nil, err
	}
}

// promptValues are the prompt values the authorization endpoint accepts
// (discovery's prompt_values_supported): create only while sign-up is on.
func (p *Provider) promptValues() []string {
	return promptValues(p.signUpPath != "")
}

func promptValues(signUp bool) []string {
	v := []string{"none", "login", "consent", "select_account"}
	if signUp {
		v = append(v, "create")
	}
	return v
}
