package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/federation/apple"
	"github.com/gatehouse-id/gatehouse/pkg/federation/facebook"
	"github.com/gatehouse-id/gatehouse/pkg/federation/github"
	"github.com/gatehouse-id/gatehouse/pkg/federation/google"
	"github.com/gatehouse-id/gatehouse/pkg/federation/oidc"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/ui"
	"github.com/gatehouse-id/gatehouse/storage"
)

// upstreamTimeout bounds every call to an upstream identity provider.
const upstreamTimeout = 10 * time.Second

// Option changes how New assembles a server.
type Option func(*options)

// options are what the Options set.
type options struct {
	upstreamTransport http.RoundTripper
	outbound          []outbound.Option
	outageLogEvery    time.Duration
	mfaClock          func() time.Time
	selfServiceClock  func() time.Time
}

// WithUpstreamTransport sends every call to an upstream identity provider
// through rt, instead of a transport that honours the proxy environment and
// the system's certificate authorities. Tests use it to reach fake
// providers; the clients keep their timeout.
func WithUpstreamTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.upstreamTransport = rt }
}

// connectorSettings is what a connector factory gets: one provider's
// settings, its callback URL, and the HTTP client it must use.
type connectorSettings struct {
	provider    config.SocialProvider
	callbackURL string
	client      *http.Client
}

// connectorFactory opens one kind of provider's connector.
type connectorFactory func(s connectorSettings) (federation.Connector, error)

// connectorFactories maps each provider kind to its package's Open; this is
// the only place that knows the provider packages.
func connectorFactories() map[string]connectorFactory {
	return map[string]connectorFactory{
		config.SocialGoogle: func(s connectorSettings) (federation.Connector, error) {
			return google.Open(google.Config{
				ClientID: s.provider.ClientID, ClientSecret: s.provider.ClientSecret,
				CallbackURL: s.callbackURL, Scopes: s.provider.Scopes, HTTPClient: s.client,
			})
		},
		config.SocialFacebook: func(s connectorSettings) (federation.Connector, error) {
			return facebook.Open(facebook.Config{
				ClientID: s.provider.ClientID, ClientSecret: s.provider.ClientSecret,
				CallbackURL: s.callbackURL, Scopes: s.provider.Scopes, HTTPClient: s.client,
			})
		},
		config.SocialGitHub: func(s connectorSettings) (federation.Connector, error) {
			return github.Open(github.Config{
				ClientID: s.provider.ClientID, ClientSecret: s.provider.ClientSecret,
				CallbackURL: s.callbackURL, Scopes: s.provider.Scopes, HTTPClient: s.client,
			})
		},
		config.SocialApple: func(s connectorSettings) (federation.Connector, error) {
			key, err := os.ReadFile(s.provider.PrivateKeyFile)
			if err != nil {
				return nil, fmt.Errorf("GATEHOUSE_APPLE_PRIVATE_KEY_FILE: %w", err)
			}
			return apple.Open(apple.Config{
				ClientID: s.provider.ClientID, TeamID: s.provider.TeamID, KeyID: s.provider.KeyID,
				PrivateKey: string(key), CallbackURL: s.callbackURL, Scopes: s.provider.Scopes, HTTPClient: s.client,
			})
		},
		config.SocialOIDC: func(s connectorSettings) (federation.Connector, error) {
			return oidc.Open(oidc.Config{
				Issuer: s.provider.Issuer, ClientID: s.provider.ClientID, ClientSecret: s.provider.ClientSecret,
				CallbackURL: s.callbackURL, Scopes: s.provider.Scopes, HTTPClient: s.client,
			})
		},
	}
}

// newFederation builds the sign-in with upstream providers that cfg
// enables. Each provider gets an HTTP client of its own with a timeout, on
// a transport shared by all of them. With no provider enabled the service
// still serves the account page's links.
func newFederation(cfg config.Config, store storage.Store, sink events.Sink, log *slog.Logger, o options) (*federation.Service, error) {
	transport := o.upstreamTransport
	if transport == nil {
		transport = federation.NewTransport()
	}
	factories := connectorFactories()
	var providers []federation.Provider
	for _, p := range cfg.SocialProviders() {
		open, ok := factories[p.Kind]
		if !ok {
			return nil, fmt.Errorf("social login: no connector for provider kind %q", p.Kind)
		}
		conn, err := open(connectorSettings{
			provider:    p,
			callbackURL: cfg.Issuer + ui.FederationCallbackPath(p.Kind),
			client:      federation.NewHTTPClient(upstreamTimeout, transport),
		})
		if err != nil {
			return nil, fmt.Errorf("social login with %s: %w", p.Name, err)
		}
		providers = append(providers, federation.Provider{ID: p.Kind, Name: p.Name, TrustEmail: p.TrustEmail, Connector: conn})
	}
	return federation.New(federation.Options{
		Store:                 store,
		Providers:             providers,
		AutoLinkVerifiedEmail: cfg.AutoLinkVerifiedEmail,
		NoSignUp:              !cfg.FederationSignUp,
		Logger:                log,
		Events:                sink,
	})
}
