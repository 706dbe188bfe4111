package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/secret"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/pkg/oidc"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// mountAdmin mounts the admin REST API at <issuer path>/admin/v1. Its
// bearer tokens are this server's own access tokens, checked by provider.
func mountAdmin(router *mux.Router, base string, store *gormstore.Store, services *Services,
	provider *oidc.Provider, log *slog.Logger) {
	api := admin.New(admin.Options{
		Store:      store,
		Clients:    services.Clients,
		Accounts:   services.Accounts,
		Webhooks:   services.Webhooks,
		Keys:       services.Keys,
		Tokens:     provider,
		Algorithms: keys.Algorithms(),
		MFA:        services.MFA,
		Logger:     log,
	})
	api.Register(router, base+admin.PathPrefix)
}

// maxImportBytes bounds the body of the admin API's bulk import. The
// import reads it as a stream, one batch at a time, so memory does not
// grow with it; the bound only stops an upload without end.
const maxImportBytes = 4 << 30

// adminImportPath is the bulk import's path under the issuer's.
const adminImportPath = admin.PathPrefix + "/customers/import"

// bodyLimits returns the body limit of each request: maxImportBytes for
// a POST to importPath, max for everything else.
func bodyLimits(max int64, importPath string) func(*http.Request) int64 {
	return func(r *http.Request) int64 {
		if r.Method == http.MethodPost && r.URL.Path == importPath {
			return maxImportBytes
		}
		return max
	}
}

// newClientService returns the client service with the configuration's
// rules, recording its events with sink; NewServices builds it for the
// server and the command line alike, so a client is held to the same
// rules whichever way it comes.
func newClientService(cfg config.Config, store clients.Store, secrets *secret.Keys, sink events.Sink) *clients.Service {
	return clients.NewService(store, secrets, clients.Options{
		Events:          sink,
		ReservedScopes:  cfg.ReservedScopeList(),
		CheckFetchedURL: outboundURLCheck(cfg),

		AllowHTTPPageURLs: cfg.DevAllowLoopbackURLs,
	})
}

// outboundURLCheck applies the configuration's outbound policy to a URL
// the server will fetch or post to, on its face; a refusal is an error
// saying why.
func outboundURLCheck(cfg config.Config) func(raw string) error {
	// Validate has refused malformed ranges already.
	allow, _ := cfg.OutboundAllowPrefixes()
	policy := outbound.Policy{AllowPrefixes: allow, DevAllowLoopback: cfg.DevAllowLoopbackURLs}
	return func(raw string) error {
		var refused *outbound.RefusedError
		if err := policy.CheckURL(raw); errors.As(err, &refused) {
			return errors.New(refused.Reason)
		} else if err != nil {
			return err
		}
		return nil
	}
}
