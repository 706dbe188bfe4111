package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/storage"
)

// sessionJSON is a browser session. Its public identifier is the sid that
// ID tokens carry; the cookie's hash is never shown.
type sessionJSON struct {
	SID        string    `json:"sid"`
	AuthTime   time.Time `json:"auth_time"`
	AMR        []string  `json:"amr"`
	ACR        string    `json:"acr,omitempty"`
	IDP        string    `json:"idp,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func toSessionJSON(s storage.BrowserSession) sessionJSON {
	return sessionJSON{
		SID: s.SID, AuthTime: s.AuthTime, AMR: orEmpty(s.AMR), ACR: s.ACR, IDP: s.IDP,
		CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
	}
}

// customerExists writes a 404 problem and returns false when there is no
// such customer, so that listing an unknown customer's sessions is not an
// empty list.
func (a *API) customerExists(w http.ResponseWriter, r *http.Request, id string) bool {
	if _, err := a.store.GetUser(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return false
	}
	return true
}

func (a *API) listSessions(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["customer_id"]
	if !a.customerExists(w, r, id) {
		return
	}
	ss, err := a.store.ListSessionsByUser(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, whole(ss, toSessionJSON))
}

// revokeSessions ends every browser session of the customer. Tokens
// already issued stay valid until they expire or are revoked.
func (a *API) revokeSessions(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["customer_id"]
	if !a.customerExists(w, r, id) {
		return
	}
	if _, err := a.accounts.EndSessionsOf(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) revokeSession(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	ss, err := a.store.ListSessionsByUser(r.Context(), vars["customer_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	for _, s := range ss {
		if s.SID == vars["sid"] {
			if _, _, err := a.accounts.EndSession(r.Context(), s.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				a.writeError(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeProblem(w, http.StatusNotFound, "The customer has no session with this sid.")
}
