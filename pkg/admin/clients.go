package admin

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
)

// clientJSON is a client as the API shows it: the one client shape
// (clients.Metadata), with its translations as localized_names and its
// times.
type clientJSON struct {
	clients.Metadata
	LocalizedNames map[string]string `json:"localized_names,omitzero"`
	clients.Timestamps
}

func toClientJSON(c storage.Client) clientJSON {
	return clientJSON{
		Metadata:       clients.MetadataOf(c),
		LocalizedNames: c.LocalizedNames,
		Timestamps:     clients.Timestamps{CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt},
	}
}

// clientRequest is the body of a create or a full update: the same shape,
// without the members only an answer carries.
type clientRequest struct {
	clients.Metadata
	LocalizedNames map[string]string `json:"localized_names"`
}

// spec returns what the request asks for, or the member it may not send.
func (c clientRequest) spec() (clients.Spec, error) {
	field := c.AnswerOnly()
	if c.ClientID != "" {
		field = "client_id"
	}
	if field != "" {
		return clients.Spec{}, &clients.InvalidError{Field: field, Reason: "is chosen by the server, not the request"}
	}
	c.Metadata.LocalizedNames = c.LocalizedNames
	return c.Metadata.Spec(), nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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
	spec, err := req.spec()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	reg, err := a.clients.Create(r.Context(), spec)
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
	spec, err := req.spec()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.clients.Update(r.Context(), mux.Vars(r)["client_id"], spec)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClientJSON(c))
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request) {
	if err := a.clients.Delete(r.Context(), mux.Vars(r)["client_id"]); err != nil {
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
