// Package clients registers and manages OAuth 2.0 clients: it checks a
// client's metadata, generates its id and secret, and stores only the
// secret's keyed hash. The command line, and later the admin API and the
// registration endpoint, all create clients through it, so the rules live
// in one place.
package clients

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/safetext"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Grant types a client may be registered for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantImplicit          = "implicit"
)

// AdminScope is the scope of the admin API. Only an operator can give it,
// and only to a client it marks as an admin client (Spec.Admin).
const AdminScope = "gatehouse:admin"

// DefaultGrantTypes are used when a registration names none.
var defaultGrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}

// secretBytes is the entropy of a generated client secret: 256 bits.
const secretBytes = 32

// Spec is what a caller asks for when registering a client.
type Spec struct {
	Name                    string
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	GrantTypes              []string
	Scopes                  []string
	Audience                []string
	Public                  bool
	TokenEndpointAuthMethod string
	SkipConsent             bool
	LogoURI                 string
	BackchannelLogoutURI    string
	// ResponseTypes, when set, are the response types the client asked for;
	// otherwise they follow from the grant types.
	ResponseTypes               []string
	ApplicationType             string
	LocalizedNames              map[string]string
	ClientURI                   string
	PolicyURI                   string
	TOSURI                      string
	Contacts                    []string
	JWKS                        []byte
	JWKSURI                     string
	TokenEndpointAuthSigningAlg string
	SubjectType                 string
	SectorIdentifierURI         string
	IDTokenSignedResponseAlg    string
	UserinfoSignedResponseAlg   string
	DefaultMaxAge               int
	RequireAuthTime             bool
	// DefaultACRValues are the authentication context classes asked for
	// when a request names none (default_acr_values).
	DefaultACRValues []string
	// RequireMFA makes every sign-in to the client use a second factor;
	// an operator's setting.
	RequireMFA bool
	// AllowedCORSOrigins are origins (scheme://host[:port]) whose browser
	// scripts may read the client's token answers; empty means those of the
	// redirect URIs.
	AllowedCORSOrigins []string
	// Admin marks a client an operator allows to use the admin API: it gets
	// the scope AdminScope and the client_credentials grant. Only an
	// operator (the command line, the admin API) may set it.
	Admin bool
	// Dynamic marks a request made by the client itself, through the
	// registration endpoint (RFC 7591) or its configuration endpoint
	// (RFC 7592): a new client gets a registration access token to manage
	// itself, and neither may ask for a reserved scope or Admin.
	Dynamic bool
	// AccessTokenFormat is storage.AccessTokenOpaque (the default, also
	// when empty) or storage.AccessTokenJWT, which needs at least one
	// Audience: an RFC 9068 token names its resource servers.
	AccessTokenFormat string
}

// Registered is a newly created client with its secret in clear. The secret
// is shown once and never stored.
type Registered struct {
	Client storage.Client
	Secret string // empty for public clients
	// RegistrationAccessToken manages a dynamically registered client
	// (RFC 7592); shown once, stored only as a keyed hash.
	RegistrationAccessToken string
}

// InvalidError says which field of a Spec is wrong and why.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Options are the rules a Service applies besides the built-in ones.
type Options struct {
	// ReservedScopes are scopes, besides AdminScope, that only an operator
	// may give a client.
	ReservedScopes []string
	// CheckFetchedURL, when set, vets the URLs of a client's metadata that
	// the server itself fetches or posts to (jwks_uri,
	// backchannel_logout_uri, sector_identifier_uri); nil accepts any
	// absolute http(s) URL. pkg/outbound supplies the production check.
	CheckFetchedURL func(raw string) error
	// AllowHTTPPageURLs admits http for the URLs the hosted pages show or
	// link (logo_uri, client_uri, policy_uri, tos_uri): the development
	// switch (dev_allow_loopback_urls). Off, they must be https; clients
	// stored before the rule keep loading, and must meet it when updated.
	AllowHTTPPageURLs bool
	// Events records client.created, client.updated and client.deleted in
	// the transaction of each change; nil records nothing (tests only:
	// the server and the command line build the service with
	// pkg/server.NewServices).
	Events events.Sink
}

// Store is what the service needs of the store.
type Store interface {
	storage.ClientStore
	storage.Transactor
}

// Service creates, changes and deletes clients, each change in one
// transaction with its event.
type Service struct {
	store    Store
	secrets  *secret.Keys
	reserved []string
	checkURL func(string) error
	events   events.Sink
	// httpPageURLs is Options.AllowHTTPPageURLs.
	httpPageURLs bool
}

// NewService returns a Service over the store.
func NewService(store Store, secrets *secret.Keys, opts Options) *Service {
	return &Service{
		store: store, secrets: secrets,
		reserved: append([]string{AdminScope}, opts.ReservedScopes...),
		checkURL: opts.CheckFetchedURL,
		events:   events.SinkOr(opts.Events),

		httpPageURLs: opts.AllowHTTPPageURLs,
	}
}

// record records an event of the type about the client.
func (s *Service) record(ctx context.Context, typ string, c storage.Client, rotated bool) error {
	return s.events.Record(ctx, events.New(ctx, typ, c.ID, events.ClientData{ClientID: c.ID, ClientName: c.Name, SecretRotated: rotated}))
}

// IsReserved reports whether only an operator may give a client scope.
func (s *Service) IsReserved(scope string) bool { return slices.Contains(s.reserved, scope) }

// NewRegistrationToken mints an initial access token for the registration
// endpoint, valid for expiresIn and uses registrations (-1: unlimited). The
// token is returned once; the store keeps its keyed hash.
func (s *Service) NewRegistrationToken(ctx context.Context, tokens storage.RegistrationTokenStore, expiresIn time.Duration, uses int) (string, storage.RegistrationToken, error) {
	if expiresIn <= 0 {
		return "", storage.RegistrationToken{}, &InvalidError{"expires_in", "must be positive"}
	}
	if uses == 0 || uses < -1 {
		return "", storage.RegistrationToken{}, &InvalidError{"uses", "must be a positive number, or -1 for unlimited"}
	}
	token := secret.NewRandomString(secretBytes)
	now := time.Now().UTC()
	t := storage.RegistrationToken{ID: s.RegistrationTokenID(token), UsesLeft: uses, CreatedAt: now, ExpiresAt: now.Add(expiresIn)}
	if err := tokens.CreateRegistrationToken(ctx, t); err != nil {
		return "", storage.RegistrationToken{}, fmt.Errorf("create registration token: %w", err)
	}
	return token, t, nil
}

// RegistrationTokenID is the stored form of an initial access token.
func (s *Service) RegistrationTokenID(token string) string {
	return hex.EncodeToString(s.secrets.HashClientSecret([]byte(token)))
}

// Create validates spec, generates the client's id and secret, and stores
// the client, recording client.created in the same transaction. A client
// registering itself (spec.Dynamic, RFC 7591) is the event's actor.
func (s *Service) Create(ctx context.Context, spec Spec) (Registered, error) {
	c, err := s.build(spec)
	if err != nil {
		return Registered{}, err
	}
	if spec.Dynamic {
		if err := s.checkReserved(c, nil); err != nil {
			return Registered{}, err
		}
		if err := checkJWTAudience(c); err != nil {
			return Registered{}, err
		}
	}
	c.ID = secret.NewRandomString(18)
	var plain string
	if usesSecret(c.TokenEndpointAuthMethod) {
		plain = secret.NewRandomString(secretBytes)
		c.SecretHash = s.secrets.HashClientSecret([]byte(plain))
	}
	var rat string
	if spec.Dynamic {
		rat = secret.NewRandomString(secretBytes)
		c.RegistrationAccessTokenHash = s.secrets.HashClientSecret([]byte(rat))
	}
	if spec.Dynamic {
		ctx = events.WithActor(ctx, storage.Actor{Type: storage.ActorClient, ID: c.ID})
	}
	var stored storage.Client
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateClient(ctx, c); err != nil {
			return fmt.Errorf("create client: %w", err)
		}
		var err error
		if stored, err = s.store.LookupClient(ctx, c.ID); err != nil {
			return fmt.Errorf("read back client: %w", err)
		}
		return s.record(ctx, events.ClientCreated, stored, false)
	})
	if err != nil {
		return Registered{}, err
	}
	return Registered{Client: stored, Secret: plain, RegistrationAccessToken: rat}, nil
}

// checkReserved refuses, for a request the client made itself, a reserved
// scope or the admin mark that old (the client as it was, nil for a new
// one) did not already have from an operator.
func (s *Service) checkReserved(c storage.Client, old *storage.Client) error {
	if c.Admin && (old == nil || !old.Admin) {
		return &InvalidError{"scope", "only an operator can make an admin client"}
	}
	for _, sc := range c.Scopes {
		if s.IsReserved(sc) && (old == nil || !slices.Contains(old.Scopes, sc)) {
			return &InvalidError{"scope", fmt.Sprintf("%q is reserved: only an operator can give it", sc)}
		}
	}
	return nil
}

// build turns a Spec into a client, applying defaults and the rules of
// RFC 6749, RFC 7591 §2, RFC 8252 and OpenID Connect Dynamic Client
// Registration §2. Every way of registering or changing a client (the
// registration endpoint, the admin API, the command line) passes here.
func (s *Service) build(spec Spec) (storage.Client, error) {
	if err := checkSizes(spec); err != nil {
		return storage.Client{}, err
	}
	grants := spec.GrantTypes
	switch {
	case len(grants) == 0 && spec.Admin:
		grants = []string{GrantClientCredentials} // an operator's script
	case len(grants) == 0:
		grants = defaultGrantTypes
	}
	if spec.Admin && !slices.Contains(grants, GrantClientCredentials) {
		grants = append(slices.Clone(grants), GrantClientCredentials)
	}
	grants = dedupe(grants)
	appType := spec.ApplicationType
	switch appType {
	case "", "web":
		appType = "web"
	case "native":
	default:
		return storage.Client{}, &InvalidError{"application_type", "must be web or native"}
	}
	for _, g := range grants {
		if !slices.Contains([]string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantImplicit}, g) {
			return storage.Client{}, &InvalidError{"grant_type", fmt.Sprintf("unknown grant type %q", g)}
		}
	}
	method := spec.TokenEndpointAuthMethod
	switch {
	case method == "" && spec.Public:
		method = storage.AuthMethodNone
	case method == "":
		method = storage.AuthMethodClientSecretBasic
	}
	switch method {
	case storage.AuthMethodClientSecretBasic, storage.AuthMethodClientSecretPost:
		if spec.Public {
			return storage.Client{}, &InvalidError{"token_endpoint_auth_method", "a public client has no secret; use none"}
		}
	case storage.AuthMethodNone:
		if !spec.Public {
			return storage.Client{}, &InvalidError{"token_endpoint_auth_method", "none is only for public clients"}
		}
	case storage.AuthMethodPrivateKeyJWT:
		if spec.Public {
			return storage.Client{}, &InvalidError{"token_endpoint_auth_method", "a public client has no keys; use none"}
		}
		if (len(spec.JWKS) == 0) == (spec.JWKSURI == "") {
			return storage.Client{}, &InvalidError{"jwks", "private_key_jwt needs exactly one of jwks and jwks_uri"}
		}
	default:
		return storage.Client{}, &InvalidError{"token_endpoint_auth_method", fmt.Sprintf("unsupported method %q", method)}
	}
	if spec.Public && slices.Contains(grants, GrantClientCredentials) {
		return storage.Client{}, &InvalidError{"grant_type", "a public client cannot use client_credentials"}
	}
	needsRedirect := slices.Contains(grants, GrantAuthorizationCode) || slices.Contains(grants, GrantImplicit)
	if needsRedirect && len(spec.RedirectURIs) == 0 {
		return storage.Client{}, &InvalidError{"redirect_uri", "required for the authorization_code and implicit grants"}
	}
	for _, u := range spec.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return storage.Client{}, &InvalidError{"redirect_uri", err.Error()}
		}
		if err := checkAppRedirect(u, appType, slices.Contains(grants, GrantImplicit)); err != nil {
			return storage.Client{}, &InvalidError{"redirect_uri", err.Error()}
		}
	}
	for _, u := range spec.PostLogoutRedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return storage.Client{}, &InvalidError{"post_logout_redirect_uri", err.Error()}
		}
	}
	scopes := dedupe(spec.Scopes)
	if len(scopes) == 0 && needsRedirect {
		scopes = []string{"openid", "profile", "email", "address", "phone", "offline_access", "roles"}
	}
	if spec.Admin && !slices.Contains(scopes, AdminScope) {
		scopes = append(scopes, AdminScope)
	}
	for _, sc := range scopes {
		if !validScope(sc) {
			return storage.Client{}, &InvalidError{"scope", fmt.Sprintf("%q is not a valid scope token (RFC 6749 §3.3)", sc)}
		}
	}
	for field, u := range map[string]string{
		"logo_uri": spec.LogoURI, "backchannel_logout_uri": spec.BackchannelLogoutURI, "client_uri": spec.ClientURI,
		"policy_uri": spec.PolicyURI, "tos_uri": spec.TOSURI, "jwks_uri": spec.JWKSURI,
	} {
		if u == "" {
			continue
		}
		if parsed, err := url.Parse(u); err != nil || !parsed.IsAbs() || parsed.Fragment != "" || (parsed.Scheme != "https" && parsed.Scheme != "http") {
			return storage.Client{}, &InvalidError{field, fmt.Sprintf("%q is not an absolute http(s) URL without a fragment", u)}
		}
	}
	// The pages show the logo to customers and link the others: over
	// https only, or the page loads and links something anyone on the
	// network can change (RFC 7591 §5).
	for field, u := range map[string]string{
		"logo_uri": spec.LogoURI, "client_uri": spec.ClientURI, "policy_uri": spec.PolicyURI, "tos_uri": spec.TOSURI,
	} {
		if u == "" || s.httpPageURLs {
			continue
		}
		if parsed, _ := url.Parse(u); parsed.Scheme != "https" {
			return storage.Client{}, &InvalidError{field, fmt.Sprintf("%q must use https (http only with dev_allow_loopback_urls)", u)}
		}
	}
	// The server itself fetches these, or posts to them: they must pass
	// the outbound rules (https, a public host), or the server becomes a
	// proxy into its own network.
	for field, u := range map[string]string{
		"jwks_uri": spec.JWKSURI, "backchannel_logout_uri": spec.BackchannelLogoutURI, "sector_identifier_uri": spec.SectorIdentifierURI,
	} {
		if u == "" || s.checkURL == nil {
			continue
		}
		if err := s.checkURL(u); err != nil {
			return storage.Client{}, &InvalidError{field, err.Error()}
		}
	}
	for _, o := range spec.AllowedCORSOrigins {
		if err := checkOrigin(o); err != nil {
			return storage.Client{}, &InvalidError{"allowed_cors_origins", err.Error()}
		}
	}
	if len(spec.JWKS) > 0 && spec.JWKSURI != "" {
		return storage.Client{}, &InvalidError{"jwks", "jwks and jwks_uri must not both be set"}
	}
	// The response types each grant allows at the authorization endpoint
	// (OAuth 2.0 Multiple Response Type Encoding Practices §3; OpenID
	// Connect Core §3.2, §3.3).
	code, implicit := slices.Contains(grants, GrantAuthorizationCode), slices.Contains(grants, GrantImplicit)
	if len(spec.JWKS) > 0 {
		if err := checkJWKS(spec.JWKS); err != nil {
			return storage.Client{}, &InvalidError{"jwks", err.Error()}
		}
	}
	switch spec.SubjectType {
	case "", "public":
		if spec.SectorIdentifierURI != "" {
			return storage.Client{}, &InvalidError{"sector_identifier_uri", "only for pairwise subject identifiers"}
		}
	case "pairwise":
		// OpenID Connect Core §8.1: without a sector_identifier_uri the
		// sector is the redirect URIs' one host.
		if spec.SectorIdentifierURI == "" {
			hosts := map[string]bool{}
			for _, u := range spec.RedirectURIs {
				if parsed, err := url.Parse(u); err == nil {
					hosts[parsed.Host] = true
				}
			}
			if len(hosts) > 1 {
				return storage.Client{}, &InvalidError{"sector_identifier_uri", "required when the redirect URIs have more than one host"}
			}
		}
	default:
		return storage.Client{}, &InvalidError{"subject_type", fmt.Sprintf("%q is not supported; use public or pairwise", spec.SubjectType)}
	}
	switch spec.IDTokenSignedResponseAlg {
	case "", "RS256":
	default:
		return storage.Client{}, &InvalidError{"id_token_signed_response_alg", fmt.Sprintf("%q is not supported; use RS256", spec.IDTokenSignedResponseAlg)}
	}
	switch spec.UserinfoSignedResponseAlg {
	case "", "RS256":
	default:
		return storage.Client{}, &InvalidError{"userinfo_signed_response_alg", fmt.Sprintf("%q is not supported; use RS256", spec.UserinfoSignedResponseAlg)}
	}
	switch spec.TokenEndpointAuthSigningAlg {
	case "", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512":
	default:
		return storage.Client{}, &InvalidError{"token_endpoint_auth_signing_alg", fmt.Sprintf("%q is not supported", spec.TokenEndpointAuthSigningAlg)}
	}
	format := spec.AccessTokenFormat
	switch format {
	case "", storage.AccessTokenOpaque:
		format = ""
	case storage.AccessTokenJWT:
	default:
		return storage.Client{}, &InvalidError{"access_token_format", fmt.Sprintf("%q is not supported; use opaque or jwt", spec.AccessTokenFormat)}
	}
	if spec.DefaultMaxAge < 0 {
		return storage.Client{}, &InvalidError{"default_max_age", "must not be negative"}
	}
	for _, v := range spec.DefaultACRValues {
		if !slices.Contains(acr.Supported(), v) {
			return storage.Client{}, &InvalidError{"default_acr_values", fmt.Sprintf("%q is not one of acr_values_supported", v)}
		}
	}
	var responseTypes []string
	if code {
		responseTypes = append(responseTypes, "code")
	}
	if implicit {
		responseTypes = append(responseTypes, "id_token", "id_token token")
	}
	if code && implicit {
		responseTypes = append(responseTypes, "code id_token", "code token", "code id_token token")
	}
	if len(spec.ResponseTypes) > 0 {
		// RFC 7591 §2.1: the response types must be ones the grant types
		// allow; keep just those the client asked for.
		for _, rt := range spec.ResponseTypes {
			if !slices.Contains(responseTypes, normalizeResponseType(rt)) {
				return storage.Client{}, &InvalidError{"response_types", fmt.Sprintf("%q does not match the grant types %v", rt, grants)}
			}
		}
		responseTypes = nil
		for _, rt := range spec.ResponseTypes {
			responseTypes = append(responseTypes, normalizeResponseType(rt))
		}
	}
	c := storage.Client{
		Name:                    strings.TrimSpace(spec.Name),
		RedirectURIs:            dedupe(spec.RedirectURIs),
		PostLogoutRedirectURIs:  dedupe(spec.PostLogoutRedirectURIs),
		GrantTypes:              grants,
		ResponseTypes:           responseTypes,
		Scopes:                  scopes,
		Audience:                dedupe(spec.Audience),
		Public:                  spec.Public,
		TokenEndpointAuthMethod: method,
		SkipConsent:             spec.SkipConsent,
		LogoURI:                 spec.LogoURI,
		BackchannelLogoutURI:    spec.BackchannelLogoutURI,

		ApplicationType:             appType,
		LocalizedNames:              spec.LocalizedNames,
		ClientURI:                   spec.ClientURI,
		PolicyURI:                   spec.PolicyURI,
		TOSURI:                      spec.TOSURI,
		Contacts:                    spec.Contacts,
		JWKS:                        spec.JWKS,
		JWKSURI:                     spec.JWKSURI,
		TokenEndpointAuthSigningAlg: spec.TokenEndpointAuthSigningAlg,
		SubjectType:                 spec.SubjectType,
		SectorIdentifierURI:         spec.SectorIdentifierURI,
		IDTokenSignedResponseAlg:    spec.IDTokenSignedResponseAlg,
		UserinfoSignedResponseAlg:   spec.UserinfoSignedResponseAlg,
		DefaultMaxAge:               spec.DefaultMaxAge,
		RequireAuthTime:             spec.RequireAuthTime,
		DefaultACRValues:            dedupe(spec.DefaultACRValues),
		RequireMFA:                  spec.RequireMFA,
		AllowedCORSOrigins:          dedupe(spec.AllowedCORSOrigins),
		Admin:                       spec.Admin,
		AccessTokenFormat:           format,
	}
	if !spec.Dynamic {
		// A client's own request cannot name audiences: Create and
		// replace check it against what an operator gave.
		if err := checkJWTAudience(c); err != nil {
			return storage.Client{}, err
		}
	}
	return c, nil
}

// checkJWTAudience refuses JWT access tokens to a client without an
// audience: an RFC 9068 token must name the resource servers that accept
// it (RFC 9068 §3, aud), and only an operator gives a client audiences.
func checkJWTAudience(c storage.Client) error {
	if c.IssuesJWTAccessTokens() && len(c.Audience) == 0 {
		return &InvalidError{"access_token_format", "jwt needs at least one audience (an operator registers them)"}
	}
	return nil
}

// checkOrigin accepts a web origin as browsers send it (RFC 6454 §6.2):
// https, or http on a loopback address, a host, an optional port, nothing
// after.
func checkOrigin(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "/") {
		return fmt.Errorf("%q is not an origin such as https://app.example.com", raw)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && IsLoopbackHost(u.Hostname())) {
		return fmt.Errorf("%q: an origin uses https, or http on a loopback address", raw)
	}
	return nil
}

// Limits of client metadata (docs/flows.md, "Registering clients"): far
// above what an app needs, far below what would let one registration fill
// the database or a consent page.
const (
	maxNameRunes      = 200  // client_name and each client_name#<tag>
	maxURIRunes       = 2000 // every URI
	maxURIs           = 50   // redirect_uris, post_logout_redirect_uris
	maxListItems      = 50   // scope, audience, contacts, grant and response types, localized names
	maxItemRunes      = 320  // a scope token, a contact, an audience, a language tag
	maxJWKSBytes      = 32 << 10
	maxSigningAlgRune = 20
)

// checkSizes refuses metadata over the limits, or with a control character
// in any string (PostgreSQL cannot store NUL; the rest forge log lines and
// pages). It runs before any other rule, so no rule works on such input.
func checkSizes(spec Spec) error {
	one := func(field, v string, max int) error {
		if err := safetext.Check(v, max, false); err != nil {
			return &InvalidError{field, err.Error()}
		}
		return nil
	}
	list := func(field string, vs []string, maxItems, max int) error {
		if len(vs) > maxItems {
			return &InvalidError{field, fmt.Sprintf("has more than %d entries", maxItems)}
		}
		for _, v := range vs {
			if err := one(field, v, max); err != nil {
				return err
			}
		}
		return nil
	}
	if len(spec.LocalizedNames) > maxListItems {
		return &InvalidError{"client_name", fmt.Sprintf("has more than %d translations", maxListItems)}
	}
	for tag, name := range spec.LocalizedNames {
		if err := one("client_name#"+tag, tag, maxItemRunes); err != nil {
			return err
		}
		if err := one("client_name#"+tag, name, maxNameRunes); err != nil {
			return err
		}
	}
	if len(spec.JWKS) > maxJWKSBytes {
		return &InvalidError{"jwks", fmt.Sprintf("is larger than %d bytes", maxJWKSBytes)}
	}
	for _, err := range []error{
		one("client_name", spec.Name, maxNameRunes),
		list("redirect_uri", spec.RedirectURIs, maxURIs, maxURIRunes),
		list("post_logout_redirect_uri", spec.PostLogoutRedirectURIs, maxURIs, maxURIRunes),
		list("grant_type", spec.GrantTypes, maxListItems, maxItemRunes),
		list("response_types", spec.ResponseTypes, maxListItems, maxItemRunes),
		list("scope", spec.Scopes, maxListItems, maxItemRunes),
		list("audience", spec.Audience, maxListItems, maxURIRunes),
		list("contacts", spec.Contacts, maxListItems, maxItemRunes),
		list("allowed_cors_origins", spec.AllowedCORSOrigins, maxURIs, maxURIRunes),
		one("logo_uri", spec.LogoURI, maxURIRunes),
		one("client_uri", spec.ClientURI, maxURIRunes),
		one("policy_uri", spec.PolicyURI, maxURIRunes),
		one("tos_uri", spec.TOSURI, maxURIRunes),
		one("jwks_uri", spec.JWKSURI, maxURIRunes),
		one("backchannel_logout_uri", spec.BackchannelLogoutURI, maxURIRunes),
		one("sector_identifier_uri", spec.SectorIdentifierURI, maxURIRunes),
		one("application_type", spec.ApplicationType, maxSigningAlgRune),
		one("token_endpoint_auth_method", spec.TokenEndpointAuthMethod, maxItemRunes),
		one("subject_type", spec.SubjectType, maxSigningAlgRune),
		one("access_token_format", spec.AccessTokenFormat, maxSigningAlgRune),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkAppRedirect applies the rules that depend on the kind of app
// (OpenID Connect Dynamic Client Registration §2, application_type): a
// web client using the implicit grant redirects over https and not to
// localhost; a native app uses a private-use scheme or http on a loopback
// address (RFC 8252 §7.1, §7.3), not https, which is a web app's.
func checkAppRedirect(raw, appType string, implicit bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	switch {
	case appType == "web" && implicit && (u.Scheme != "https" || IsLoopbackHost(u.Hostname())):
		return fmt.Errorf("%q: a web client using the implicit flow must use https and not localhost", raw)
	case appType == "native" && u.Scheme == "https":
		return fmt.Errorf("%q: a native client uses a custom scheme or http on a loopback address", raw)
	}
	return nil
}

// IsLoopbackHost reports whether host names the loopback interface.
func IsLoopbackHost(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1" || host == "[::1]"
}

// AllowsAnyLoopbackPort reports whether the client may use a loopback
// redirect URI with a port other than the registered one. RFC 8252 §7.3
// gives native apps this, since they open whatever port is free; a public
// client (a native or browser app without a secret, PKCE required) gets it
// too, as RFC 8252 §8.4 treats such apps alike. A confidential web client
// must match exactly (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3).
func AllowsAnyLoopbackPort(c storage.Client) bool {
	return c.ApplicationType == "native" || c.Public
}

// checkRedirectURI applies RFC 6749 §3.1.2: absolute, no fragment; and
// RFC 8252 §7 for native apps: https, http only on loopback, or a private-use
// scheme.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not contain a fragment", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return fmt.Errorf("%q: http is allowed only for localhost, 127.0.0.1 and [::1]", raw)
		}
	default:
		// A private-use URI scheme of a native app (RFC 8252 §7.1) must
		// contain a period, as reverse domain names do.
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: a custom scheme must be a reverse domain name such as com.example.app", raw)
		}
	}
	return nil
}

// validScope checks RFC 6749 §3.3's scope-token grammar.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

func dedupe(in []string) []string {
	var out []string
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// IsInvalid reports whether err is a validation error.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// normalizeResponseType orders a response type's values the way the
// client's list is written ("code id_token token"), since their order does
// not matter (OAuth 2.0 Multiple Response Type Encoding Practices §2).
func normalizeResponseType(rt string) string {
	parts := strings.Fields(rt)
	order := map[string]int{"code": 0, "id_token": 1, "token": 2}
	slices.SortFunc(parts, func(a, b string) int { return order[a] - order[b] })
	return strings.Join(parts, " ")
}

// checkJWKS checks that a JWK Set parses and holds only public keys.
func checkJWKS(raw []byte) error {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return fmt.Errorf("not a JWK Set: %v", err)
	}
	if len(set.Keys) == 0 {
		return errors.New("the JWK Set has no keys")
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return errors.New("the JWK Set must hold public keys only")
		}
	}
	return nil
}

// Update validates spec as a replacement of the client's metadata and
// stores it, keeping the client's id, secret and registration token, and
// records client.updated in the same transaction. A change the rules
// refuse changes and records nothing.
func (s *Service) Update(ctx context.Context, id string, spec Spec) (storage.Client, error) {
	c, err := s.build(spec)
	if err != nil {
		return storage.Client{}, err
	}
	var updated storage.Client
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.UpdateClient(ctx, id, func(old storage.Client) (storage.Client, error) {
			return s.replace(c, old, spec.Dynamic)
		}); err != nil {
			return err
		}
		var err error
		if updated, err = s.store.LookupClient(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, events.ClientUpdated, updated, false)
	})
	if err != nil {
		return storage.Client{}, err
	}
	return updated, nil
}

// Delete removes the client and every token issued to it, and records
// client.deleted, in one transaction; an unknown client is
// storage.ErrNotFound.
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.LookupClient(ctx, id)
		if err != nil {
			return err
		}
		if err := s.store.DeleteClient(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, events.ClientDeleted, c, false)
	})
}

// replace returns c, the new metadata, as the replacement of old, or the
// rule it breaks.
func (s *Service) replace(c, old storage.Client, dynamic bool) (storage.Client, error) {
	if old.Public != c.Public {
		return old, &InvalidError{"token_endpoint_auth_method", "a client cannot change between public and confidential"}
	}
	if dynamic {
		// RFC 7592 §2.2: the client replaces its metadata, but what an
		// operator gave it stays the operator's to give.
		c.Admin, c.SkipConsent, c.Audience, c.RequireMFA = old.Admin, old.SkipConsent, old.Audience, old.RequireMFA
		if err := s.checkReserved(c, &old); err != nil {
			return old, err
		}
		if err := checkJWTAudience(c); err != nil {
			return old, err
		}
	}
	c.ID, c.SecretHash, c.RegistrationAccessTokenHash = old.ID, old.SecretHash, old.RegistrationAccessTokenHash
	return c, nil
}

// CheckRegistrationToken reports, in constant time, whether token manages
// the client.
func (s *Service) CheckRegistrationToken(c storage.Client, token string) bool {
	return len(c.RegistrationAccessTokenHash) > 0 && s.secrets.CompareClientSecret(c.RegistrationAccessTokenHash, []byte(token))
}

// CheckSecret reports, in constant time, whether secret is the client's.
func (s *Service) CheckSecret(c storage.Client, secret string) bool {
	return len(c.SecretHash) > 0 && s.secrets.CompareClientSecret(c.SecretHash, []byte(secret))
}

// usesSecret reports whether clients of the authentication method have a
// secret.
func usesSecret(method string) bool {
	return method == storage.AuthMethodClientSecretBasic || method == storage.AuthMethodClientSecretPost
}

// Sector returns the pairwise sector of a client (OpenID Connect Core
// §8.1): the host of its sector_identifier_uri, or of its redirect URIs.
func Sector(c storage.Client) string {
	raw := c.SectorIdentifierURI
	if raw == "" && len(c.RedirectURIs) > 0 {
		raw = c.RedirectURIs[0]
	}
	u, err := url.Parse(raw)
	if err != nil {
		return c.ID
	}
	return u.Host
}

// SpecOf returns the Spec that describes an existing client, so a caller can
// change some of its metadata and Update it with the rest unchanged.
func SpecOf(c storage.Client) Spec { return MetadataOf(c).Spec() }
