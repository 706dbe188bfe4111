package oidc

import (
	"context"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
)

// fositeConfig is fosite's configuration with the getters Gatehouse answers
// differently.
type fositeConfig struct {
	*fosite.Config
	tokenURLs []string
}

// GetTokenURLs lists the audiences a private_key_jwt client assertion may
// name: the token endpoint (OpenID Connect Core §9), the issuer, or the
// introspection and revocation endpoints the assertion is also used at
// (RFC 7523 §3: any value that identifies this authorization server; an
// assertion is used once, whatever its audience).
func (c *fositeConfig) GetTokenURLs(context.Context) []string { return c.tokenURLs }

// composeFosite does what compose.Compose does, for a configuration that is
// not a bare *fosite.Config: it builds the provider and sorts each
// factory's handler into the lists fosite consults.
func composeFosite(cfg *fositeConfig, store, strategy any, factories ...compose.Factory) *fosite.Fosite {
	f := fosite.NewOAuth2Provider(store.(fosite.Storage), cfg)
	for _, factory := range factories {
		res := factory(cfg, store, strategy)
		if h, ok := res.(fosite.AuthorizeEndpointHandler); ok {
			cfg.AuthorizeEndpointHandlers.Append(h)
		}
		if h, ok := res.(fosite.TokenEndpointHandler); ok {
			cfg.TokenEndpointHandlers.Append(h)
		}
		if h, ok := res.(fosite.TokenIntrospector); ok {
			cfg.TokenIntrospectionHandlers.Append(h)
		}
		if h, ok := res.(fosite.RevocationHandler); ok {
			cfg.RevocationHandlers.Append(h)
		}
	}
	return f
}
