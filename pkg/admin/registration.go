package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/storage"
)

// registrationTokenJSON is an initial access token's metadata; its ID is
// the token's keyed hash, and the token itself appears only in the answer
// to its creation.
type registrationTokenJSON struct {
	ID                 string    `json:"id"`
	InitialAccessToken string    `json:"initial_access_token,omitempty"`
	UsesLeft           int       `json:"uses_left"`
	CreatedAt          time.Time `json:"created_at"`
	ExpiresAt          time.Time `json:"expires_at"`
}

func toRegistrationTokenJSON(t storage.RegistrationToken) registrationTokenJSON {
	return registrationTokenJSON{ID: t.ID, UsesLeft: t.UsesLeft, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}

func (a *API) listRegistrationTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.store.ListRegistrationTokens(r.Context(), time.Now())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, whole(ts, toRegistrationTokenJSON))
}

// registrationTokenRequest asks for a token valid expires_in seconds for
// uses registrations (-1, the default, for unlimited).
type registrationTokenRequest struct {
	ExpiresIn int64 `json:"expires_in"`
	Uses      *int  `json:"uses"`
}

func (a *API) createRegistrationToken(w http.ResponseWriter, r *http.Request) {
	var req registrationTokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	uses := -1
	if req.Uses != nil {
		uses = *req.Uses
	}
	token, t, err := a.clients.NewRegistrationToken(r.Context(), a.store, time.Duration(req.ExpiresIn)*time.Second, uses)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := toRegistrationTokenJSON(t)
	out.InitialAccessToken = token
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) deleteRegistrationToken(w http.ResponseWriter, r *http.Request) {
	if err := a.store.DeleteRegistrationToken(r.Context(), mux.Vars(r)["token_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
