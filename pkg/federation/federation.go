// Package federation signs customers in with an account they already have at
// an upstream identity provider (Google, Facebook, GitHub, Apple, or any
// OpenID provider, another Gatehouse included) and links such accounts to
// Gatehouse customers.
//
// It holds the part every provider shares: the Connector interface, the flow
// (Begin sends the browser to the provider with a fresh state, nonce and PKCE
// verifier kept server-side; Finish checks the callback's state and error
// parameter, exchanges the code through the provider's connector, and
// resolves the upstream account to a customer) and the linking rules. Each
// provider kind is a small sub-package (google, facebook, github, apple,
// oidc) that wraps its github.com/markbates/goth provider behind Connector;
// the map from kind to constructor lives in the composition root, so this
// package imports no provider.
//
// goth's gothic package is not used: it keeps a package-level cookie store
// configured in init() and a global provider map, and reuses a state taken
// from the request. Providers are built and called directly, each with its
// own *http.Client.
package federation

import (
	"context"
	"errors"
	"net/url"
	"regexp"
)

// AMRFederated is the authentication method reference of a sign-in at an
// upstream identity provider (RFC 8176 §2: "fed").
const AMRFederated = "fed"

// Connector signs a customer in at one upstream identity provider. A
// connector keeps no per-sign-in state: what a sign-in needs between Begin
// and Finish is returned by Begin, stored by the flow, and handed back to
// Finish. Implementations must be safe for concurrent use.
type Connector interface {
	// Begin returns the provider's authorization URL for a sign-in with the
	// given state, and the provider session to keep until the callback.
	// Connectors whose provider supports them put a.Nonce and the S256 PKCE
	// challenge of a.CodeVerifier into the URL.
	Begin(ctx context.Context, a Auth) (authURL, session string, err error)
	// Finish exchanges the callback's authorization code for the customer's
	// account at the provider. It does NOT check the state or the callback's
	// error parameter: the flow did that before calling it. It checks the
	// nonce wherever it sent one.
	Finish(ctx context.Context, a Auth, session string, callback url.Values) (UpstreamIdentity, error)
	// AuthOrigin returns the origin (scheme://host[:port]) of the
	// provider's authorization endpoint, or "" when it is not known. The
	// pages whose forms lead there allow it as a form target: browsers
	// apply a page's form-action policy to the redirect that follows a form.
	AuthOrigin() string
}

// Auth are the per-sign-in secrets of one authorization request.
type Auth struct {
	// State is the state parameter.
	State string
	// Nonce binds an ID token to the request (OpenID Connect Core §3.1.2.1).
	Nonce string
	// CodeVerifier is the PKCE verifier (RFC 7636); its S256 challenge goes
	// in the authorization URL.
	CodeVerifier string
	// Reauthenticate says the app asked for a fresh sign-in (prompt=login,
	// OpenID Connect Core §3.1.2.1): connectors whose provider can be asked
	// to authenticate the customer again, rather than reuse its own session,
	// ask it to.
	Reauthenticate bool
	// MaxAge is the app's max_age, in seconds, or "" for none: connectors of
	// OpenID providers pass it on, so the provider's own session is no
	// older than the app allows.
	MaxAge string
}

// UpstreamIdentity is the customer's account as the provider describes it.
type UpstreamIdentity struct {
	// Subject is the provider's stable identifier of the account; never
	// empty.
	Subject string
	// Email is the address the provider reported, or "".
	Email string
	// EmailVerified says the provider asserts that the customer controls
	// Email. Whether Gatehouse believes it is the provider's TrustEmail.
	EmailVerified bool
	// Profile claims (OpenID Connect Core §5.1), each possibly empty.
	Name       string
	GivenName  string
	FamilyName string
	Picture    string
	Locale     string
}

// Provider is one configured upstream identity provider.
type Provider struct {
	// ID names the provider in URLs (/login/{id}/callback), in the
	// identities table and in ID tokens ("idp"): lower-case letters, digits
	// and dashes, at most 32 characters. It must never change once accounts
	// are linked.
	ID string
	// Name is shown to customers ("Continue with Google").
	Name string
	// TrustEmail makes the provider's EmailVerified count: a new customer's
	// email is then marked verified, and auto-linking may use it.
	TrustEmail bool
	// Connector talks to the provider.
	Connector Connector
}

// validID is the form of a provider ID.
func validID(id string) bool {
	return providerIDPattern().MatchString(id)
}

func providerIDPattern() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
}

// Errors of the flow. Callers test them with errors.Is and show the
// customer a message for each; the detail is logged, never shown.
var (
	// ErrUnknownProvider means no enabled provider has the ID.
	ErrUnknownProvider = errors.New("federation: unknown provider")
	// ErrState means the callback matched no sign-in this browser started:
	// an unknown, used or expired state, another browser's, another
	// provider's, or a link started by another customer.
	ErrState = errors.New("federation: the callback matches no sign-in in progress")
	// ErrCancelled means the customer said no at the provider.
	ErrCancelled = errors.New("federation: the sign-in was cancelled at the provider")
	// ErrUpstream means the provider answered with an error or with
	// something that cannot be used.
	ErrUpstream = errors.New("federation: the provider failed")
	// ErrLinkedElsewhere means the upstream account is linked to another
	// customer, or the customer already has another account at that
	// provider.
	ErrLinkedElsewhere = errors.New("federation: the account is linked to another customer")
	// ErrLastMethod means unlinking would leave the customer no way to sign
	// in.
	ErrLastMethod = errors.New("federation: the last way to sign in cannot be removed")
	// ErrLinkMismatch means a pending link was confirmed by signing in as
	// another customer than the one whose email the provider reported.
	ErrLinkMismatch = errors.New("federation: signed in as another customer than the link was for")
	// ErrSignUpClosed means the upstream account has no customer and
	// first sign-ins may not create one (Options.NoSignUp).
	ErrSignUpClosed = errors.New("federation: no customer has the upstream account and sign-up is closed")
)
