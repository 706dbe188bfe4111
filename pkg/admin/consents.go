package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/storage"
)

// consentJSON is what a customer allowed a client.
type consentJSON struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toConsentJSON(c storage.Consent) consentJSON {
	return consentJSON{ClientID: c.ClientID, Scopes: orEmpty(c.Scopes), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (a *API) listConsents(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["customer_id"]
	if !a.customerExists(w, r, id) {
		return
	}
	cs, err := a.store.ListConsents(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, whole(cs, toConsentJSON))
}

// revokeConsent removes the consent and revokes the tokens the client holds
// for the customer, so that the client must ask again.
func (a *API) revokeConsent(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	if err := a.accounts.RevokeConsent(r.Context(), vars["customer_id"], vars["client_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
