// Package admin is the admin REST API: JSON resources under
// <issuer path>/admin/v1 for clients, customers and their sessions and
// consents, signing keys, registration tokens, and the audit log of
// events. Errors are RFC 9457 problem details; listings are paginated with
// an opaque cursor. Every request needs a bearer access token issued by
// this server that carries the scope gatehouse:admin; what a request
// changes is recorded with the admin client as its actor.
//
// Handlers parse, call the domain (pkg/accounts, pkg/clients, pkg/keys,
// the store) and render; the rules live in those packages.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Scope is the OAuth 2.0 scope an access token must carry to use the API.
// The token's client must also be marked as an admin client by an
// operator (storage.Client.Admin).
const Scope = clients.AdminScope

// PathPrefix is where the API is mounted, under the issuer's path.
const PathPrefix = "/admin/v1"

// TokenVerifier checks a bearer access token. It returns the client the
// token was issued to, its subject (the client itself for the
// client-credentials grant) and its granted scopes, or an error for a
// token that is not active.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (clientID, subject string, scopes []string, err error)
}

// KeyManager is the part of the signing-key manager the API uses.
type KeyManager interface {
	List(ctx context.Context) ([]storage.SigningKey, error)
	Rotate(ctx context.Context, alg string) (storage.SigningKey, error)
	Retire(ctx context.Context, kid string) error
}

// Options are the API's dependencies; all are required except Logger.
type Options struct {
	Store   storage.Store
	Clients *clients.Service
	Keys    KeyManager
	Tokens  TokenVerifier
	// Accounts creates, changes and deletes customers, ends their sessions
	// and revokes their consents, recording the events and telling the
	// clients.
	Accounts *accounts.Service
	// Algorithms are the signing algorithms a rotation may name.
	Algorithms []string
	// Webhooks manages webhook subscriptions.
	Webhooks *webhooks.Service
	// MFA resets customers' second factors (pkg/mfa).
	MFA    MFAResetter
	Logger *slog.Logger
}

// MFAResetter removes every second factor of a customer, recording
// user.mfa.removed; storage.ErrNotFound for an unknown customer.
type MFAResetter interface {
	Reset(ctx context.Context, userID string) error
}

// API serves the admin REST API.
type API struct {
	store    storage.Store
	clients  *clients.Service
	keys     KeyManager
	tokens   TokenVerifier
	accounts *accounts.Service
	algs     []string
	mfa      MFAResetter
	log      *slog.Logger
	webhooks *webhooks.Service
}

// New returns the API over its dependencies.
func New(opts Options) *API {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{
		store: opts.Store, clients: opts.Clients,
		keys: opts.Keys, tokens: opts.Tokens, accounts: opts.Accounts, algs: opts.Algorithms, mfa: opts.MFA, log: log,
		webhooks: opts.Webhooks,
	}
}

// Route is one method and path template the API serves, relative to its
// prefix.
type Route struct {
	Method string
	Path   string
}

type route struct {
	Route
	handle http.HandlerFunc
}

func (a *API) routes() []route {
	r := func(method, path string, h http.HandlerFunc) route {
		return route{Route{method, path}, h}
	}
	return []route{
		r(http.MethodGet, "/clients", a.listClients),
		r(http.MethodPost, "/clients", a.createClient),
		r(http.MethodGet, "/clients/{client_id}", a.getClient),
		r(http.MethodPut, "/clients/{client_id}", a.updateClient),
		r(http.MethodDelete, "/clients/{client_id}", a.deleteClient),
		r(http.MethodPost, "/clients/{client_id}/secret", a.rotateClientSecret),

		r(http.MethodGet, "/customers", a.listCustomers),
		r(http.MethodPost, "/customers", a.createCustomer),
		r(http.MethodPost, "/customers/import", a.importCustomers),
		r(http.MethodGet, "/customers/{customer_id}", a.getCustomer),
		r(http.MethodPatch, "/customers/{customer_id}", a.updateCustomer),
		r(http.MethodDelete, "/customers/{customer_id}", a.deleteCustomer),

		r(http.MethodGet, "/customers/{customer_id}/sessions", a.listSessions),
		r(http.MethodDelete, "/customers/{customer_id}/sessions", a.revokeSessions),
		r(http.MethodDelete, "/customers/{customer_id}/sessions/{sid}", a.revokeSession),

		r(http.MethodDelete, "/customers/{customer_id}/mfa", a.resetMFA),

		r(http.MethodGet, "/customers/{customer_id}/consents", a.listConsents),
		r(http.MethodDelete, "/customers/{customer_id}/consents/{client_id}", a.revokeConsent),

		r(http.MethodGet, "/keys", a.listKeys),
		r(http.MethodPost, "/keys/rotate", a.rotateKey),
		r(http.MethodPost, "/keys/{kid}/retire", a.retireKey),

		r(http.MethodGet, "/registration-tokens", a.listRegistrationTokens),
		r(http.MethodPost, "/registration-tokens", a.createRegistrationToken),
		r(http.MethodDelete, "/registration-tokens/{token_id}", a.deleteRegistrationToken),

		r(http.MethodGet, "/events", a.listEvents),
		r(http.MethodGet, "/webhooks", a.listWebhooks),
		r(http.MethodPost, "/webhooks", a.createWebhook),
		r(http.MethodGet, "/webhooks/{webhook_id}", a.getWebhook),
		r(http.MethodPatch, "/webhooks/{webhook_id}", a.updateWebhook),
		r(http.MethodDelete, "/webhooks/{webhook_id}", a.deleteWebhook),
		r(http.MethodGet, "/webhooks/{webhook_id}/deliveries", a.listWebhookDeliveries),
		r(http.MethodPost, "/webhooks/{webhook_id}/replay", a.replayWebhook),
		r(http.MethodPost, "/webhooks/{webhook_id}/ping", a.pingWebhook),
		r(http.MethodPost, "/webhooks/{webhook_id}/rotate-secret", a.rotateWebhookSecret),

		r(http.MethodGet, "/roles", a.listRoles),
		r(http.MethodPost, "/roles", a.createRole),
		r(http.MethodGet, "/roles/{role_id}", a.getRole),
		r(http.MethodDelete, "/roles/{role_id}", a.deleteRole),
		r(http.MethodGet, "/customers/{customer_id}/roles", a.listCustomerRoles),
		r(http.MethodPost, "/customers/{customer_id}/roles", a.assignCustomerRole),
		r(http.MethodDelete, "/customers/{customer_id}/roles/{role_id}", a.unassignCustomerRole),
		r(http.MethodPost, "/customers/{customer_id}/disable", a.disableCustomer),
		r(http.MethodPost, "/customers/{customer_id}/enable", a.enableCustomer),
		r(http.MethodGet, "/attributes", a.listAttributes),
		r(http.MethodPatch, "/customers/{customer_id}/attributes", a.updateAttributes),
	}
}

// Routes lists what the API serves, for documentation checks.
func (a *API) Routes() []Route {
	var out []Route
	for _, r := range a.routes() {
		out = append(out, r.Route)
	}
	return out
}

// Register mounts the API on the router at prefix (the issuer's path
// followed by PathPrefix). Every route requires an admin token; a path
// under prefix that matches no route answers a 404 or 405 problem.
func (a *API) Register(router *mux.Router, prefix string) {
	sub := router.PathPrefix(prefix).Subrouter()
	sub.Use(a.authenticate)
	paths := map[string][]string{}
	for _, r := range a.routes() {
		sub.HandleFunc(r.Path, r.handle).Methods(r.Method)
		paths[r.Path] = append(paths[r.Path], r.Method)
	}
	// A known path with another method: 405 with Allow.
	for path, methods := range paths {
		allow := strings.Join(methods, ", ")
		sub.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, http.StatusMethodNotAllowed, "The resource does not support this method; see Allow.")
		})
	}
	sub.PathPrefix("/").HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, http.StatusNotFound, "No such resource in the admin API.")
	})
}

// authenticate requires an active access token with Scope (RFC 6750).
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
			writeProblem(w, http.StatusUnauthorized, "A bearer access token with the scope "+Scope+" is required.")
			return
		}
		clientID, subject, scopes, err := a.tokens.VerifyAccessToken(r.Context(), strings.TrimSpace(token))
		if err != nil && outage.Is(err) {
			a.writeError(w, r, err) // no verdict on the token: 503
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin", error="invalid_token"`)
			writeProblem(w, http.StatusUnauthorized, "The access token is invalid, expired or revoked.")
			return
		}
		if !slices.Contains(scopes, Scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin", error="insufficient_scope", scope="`+Scope+`"`)
			writeProblem(w, http.StatusForbidden, "The access token lacks the scope "+Scope+".")
			return
		}
		// Defence in depth: the scope alone is not enough. The client must
		// be one an operator made an admin client, and the token its own
		// (the client-credentials grant, RFC 6749 §4.4), not one a customer
		// got through it: an admin client that also signs customers in
		// must not hand them the admin API.
		c, err := a.store.LookupClient(r.Context(), clientID)
		if err != nil || !c.Admin || subject != clientID {
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				a.writeError(w, r, err)
				return
			}
			a.log.WarnContext(r.Context(), "admin request from a client that is not an admin client", "client_id", clientID)
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin", error="insufficient_scope", scope="`+Scope+`"`)
			writeProblem(w, http.StatusForbidden, "The client is not an admin client; an operator can make it one.")
			return
		}
		a.log.InfoContext(r.Context(), "admin request", "client_id", clientID, "method", r.Method, "route", routeTemplate(r))
		// What the request changes is the admin client's doing.
		ctx := events.WithActor(r.Context(), storage.Actor{Type: storage.ActorClient, ID: clientID})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func routeTemplate(r *http.Request) string {
	if cur := mux.CurrentRoute(r); cur != nil {
		if t, err := cur.GetPathTemplate(); err == nil {
			return t
		}
	}
	return ""
}
