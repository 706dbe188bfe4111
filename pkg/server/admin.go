package server

import (
	"log/slog"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/pkg/oidc"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// mountAdmin mounts the admin REST API at <issuer path>/admin/v1. Its
// bearer tokens are this server's own access tokens, checked by provider.
func mountAdmin(router *mux.Router, base string, store *gormstore.Store, secrets *secret.Keys, km *keys.Manager,
	people *identity.Service, provider *oidc.Provider, log *slog.Logger) {
	api := admin.New(admin.Options{
		Store:      store,
		Clients:    clients.NewService(store, secrets),
		Identity:   people,
		Keys:       km,
		Tokens:     provider,
		Logout:     provider,
		Algorithms: keys.Algorithms(),
		Logger:     log,
	})
	api.Register(router, base+admin.PathPrefix)
}
