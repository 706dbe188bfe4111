package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
)

// clientJSON is a client in the metadata names of RFC 7591 §2.
type clientJSON struct {
	ClientID                string            `json:"client_id"`
	ClientSecret            string            `json:"client_secret,omitempty"`
	ClientName              string            `json:"client_name"`
	RedirectURIs            []string          `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string          `json:"post_logout_redirect_uris"`
	GrantTypes              []string          `json:"grant_types"`
	ResponseTypes           []string          `json:"response_types"`
	Scope                   string            `json:"scope"`
	Audience                []string          `json:"audience"`
	TokenEndpointAuthMethod string            `json:"token_endpoint_auth_method"`
	Public                  bool              `json:"public"`
	SkipConsent             bool              `json:"skip_consent"`
	LogoURI                 string            `json:"logo_uri,omitempty"`
	BackchannelLogoutURI    string            `json:"backchannel_logout_uri,omitempty"`
	ApplicationType         string            `json:"application_type,omitempty"`
	LocalizedNames          map[string]string `json:"localized_names,omitempty"`
	ClientURI               string            `json:"client_uri,omitempty"`
	PolicyURI               string            `json:"policy_uri,omitempty"`
	TOSURI                  string            `json:"tos_uri,omitempty"`
	Contacts                []string          `json:"contacts,omitempty"`
	JWKSURI                 string            `json:"jwks_uri,omitempty"`
	SubjectType             string            `json:"subject_type,omitempty"`
	SectorIdentifierURI     string            `json:"sector_identifier_uri,omitempty"`
	DefaultMaxAge           int               `json:"default_max_age,omitempty"`
	RequireAuthTime         bool              `json:"require_auth_time,omitempty"`
	AllowedCORSOrigins      []string          `json:"allowed_cors_origins,omitempty"`
	Admin                   bool              `json:"admin"`
	CreatedAt               time.Time         `json:"created_at"`
	UpdatedAt               time.Time         `json:"updated_at"`
}

func toClientJSON(c storage.Client) clientJSON {
	return clientJSON{
		ClientID:                c.ID,
		ClientName:              c.Name,
		RedirectURIs:            orEmpty(c.RedirectURIs),
		PostLogoutRedirectURIs:  orEmpty(c.PostLogoutRedirectURIs),
		GrantTypes:              orEmpty(c.GrantTypes),
		ResponseTypes:           orEmpty(c.ResponseTypes),
		Scope:                   strings.Join(c.Scopes, " "),
		Audience:                orEmpty(c.Audience),
		TokenEndpointAuthMethod: c.GetTokenEndpointAuthMethod(),
		Public:                  c.Public,
		SkipConsent:             c.SkipConsent,
		LogoURI:                 c.LogoURI,
		BackchannelLogoutURI:    c.BackchannelLogoutURI,
		ApplicationType:         c.ApplicationType,
		LocalizedNames:          c.LocalizedNames,
		ClientURI:               c.ClientURI,
		PolicyURI:               c.PolicyURI,
		TOSURI:                  c.TOSURI,
		Contacts:                c.Contacts,
		JWKSURI:                 c.JWKSURI,
		SubjectType:             c.SubjectType,
		SectorIdentifierURI:     c.SectorIdentifierURI,
		DefaultMaxAge:           c.DefaultMaxAge,
		RequireAuthTime:         c.RequireAuthTime,
		AllowedCORSOrigins:      c.AllowedCORSOrigins,
		Admin:                   c.Admin,
		CreatedAt:               c.CreatedAt,
		UpdatedAt:               c.UpdatedAt,
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// clientRequest is the body of a create or a full update.
type clientRequest struct {
	ClientName              string            `json:"client_name"`
	RedirectURIs            []string          `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string          `json:"post_logout_redirect_uris"`
	GrantTypes              []string          `json:"grant_types"`
	ResponseTypes           []string          `json:"response_types"`
	Scope                   string            `json:"scope"`
	Audience                []string          `json:"audience"`
	TokenEndpointAuthMethod string            `json:"token_endpoint_auth_method"`
	Public                  bool              `json:"public"`
	SkipConsent             bool              `json:"skip_consent"`
	LogoURI                 string            `json:"logo_uri"`
	BackchannelLogoutURI    string            `json:"backchannel_logout_uri"`
	ApplicationType         string            `json:"application_type"`
	LocalizedNames          map[string]string `json:"localized_names"`
	ClientURI               string            `json:"client_uri"`
	PolicyURI               string            `json:"policy_uri"`
	TOSURI                  string            `json:"tos_uri"`
	Contacts                []string          `json:"contacts"`
	JWKS                    json.RawMessage   `json:"jwks"`
	JWKSURI                 string            `json:"jwks_uri"`
	SubjectType             string            `json:"subject_type"`
	SectorIdentifierURI     string            `json:"sector_identifier_uri"`
	DefaultMaxAge           int               `json:"default_max_age"`
	RequireAuthTime         bool              `json:"require_auth_time"`
	AllowedCORSOrigins      []string          `json:"allowed_cors_origins"`
	Admin                   bool              `json:"admin"`
}

func (c clientRequest) spec() clients.Spec {
	return clients.Spec{
		Name:                    c.ClientName,
		RedirectURIs:            c.RedirectURIs,
		PostLogoutRedirectURIs:  c.PostLogoutRedirectURIs,
		GrantTypes:              c.GrantTypes,
		ResponseTypes:           c.ResponseTypes,
		Scopes:                  strings.Fields(c.Scope),
		Audience:                c.Audience,
		Public:                  c.Public,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		SkipConsent:             c.SkipConsent,
		LogoURI:                 c.LogoURI,
		BackchannelLogoutURI:    c.BackchannelLogoutURI,
		ApplicationType:         c.ApplicationType,
		LocalizedNames:          c.LocalizedNames,
		ClientURI:               c.ClientURI,
		PolicyURI:               c.PolicyURI,
		TOSURI:                  c.TOSURI,
		Contacts:                c.Contacts,
		JWKS:                    []byte(c.JWKS),
		JWKSURI:                 c.JWKSURI,
		SubjectType:             c.SubjectType,
		SectorIdentifierURI:     c.SectorIdentifierURI,
		DefaultMaxAge:           c.DefaultMaxAge,
		RequireAuthTime:         c.RequireAuthTime,
		AllowedCORSOrigins:      c.AllowedCORSOrigins,
		Admin:                   c.Admin,
	}
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := parsePage(w, r)
	if !ok {
		return
	}
	cs, err := a.store.ListClients(r.Context(), page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(cs, limit, func(c storage.Client) string { return c.ID }, toClientJSON))
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request) {
	var req clientRequest
	if !decodeBody(w, r, &req) {
		return
	}
	reg, err := a.clients.Create(r.Context(), req.spec())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := toClientJSON(reg.Client)
	out.ClientSecret = reg.Secret
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.LookupClient(r.Context(), mux.Vars(r)["client_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClientJSON(c))
}

func (a *API) updateClient(w http.ResponseWriter, r *http.Request) {
	var req clientRequest
	if !decodeBody(w, r, &req) {
		return
	}
	c, err := a.clients.Update(r.Context(), mux.Vars(r)["client_id"], req.spec())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClientJSON(c))
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request) {
	if err := a.store.DeleteClient(r.Context(), mux.Vars(r)["client_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// clientSecretJSON is the answer to a secret rotation: the new secret,
// shown once.
type clientSecretJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func (a *API) rotateClientSecret(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["client_id"]
	plain, err := a.clients.RotateSecret(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clientSecretJSON{ClientID: id, ClientSecret: plain})
}
