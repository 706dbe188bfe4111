package server

import (
	"log/slog"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
)

// WithOutboundOptions adds options to the client that fetches URLs clients
// supply (sector identifiers, JWK Sets, back-channel logout). Tests use it
// to resolve host names themselves (outbound.WithResolver); the policy
// still comes from the configuration.
func WithOutboundOptions(opts ...outbound.Option) Option {
	return func(o *options) { o.outbound = append(o.outbound, opts...) }
}

// newOutbound builds the client that fetches URLs clients supply, with the
// ranges the configuration admits; it warns when the development switch
// lets it reach loopback addresses over http.
func newOutbound(cfg config.Config, log *slog.Logger, opts ...outbound.Option) (*outbound.Client, error) {
	allow, err := cfg.OutboundAllowPrefixes()
	if err != nil {
		return nil, err
	}
	if cfg.DevAllowLoopbackURLs {
		log.Warn("GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS is on: client metadata may name http and loopback URLs, and the server fetches them. This is for development only; never turn it on in production.")
	}
	return outbound.New(outbound.Policy{AllowPrefixes: allow, DevAllowLoopback: cfg.DevAllowLoopbackURLs}, opts...), nil
}
