package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/storage"
)

// keyJSON is a signing key's public metadata; private parts are never
// shown.
type keyJSON struct {
	KID           string          `json:"kid"`
	Alg           string          `json:"alg"`
	State         string          `json:"state"`
	PublicJWK     json.RawMessage `json:"public_jwk,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	DeactivatedAt *time.Time      `json:"deactivated_at,omitempty"`
	RetiredAt     *time.Time      `json:"retired_at,omitempty"`
}

func toKeyJSON(k storage.SigningKey) keyJSON {
	out := keyJSON{KID: k.ID, Alg: k.Algorithm, State: string(k.State), CreatedAt: k.CreatedAt}
	if json.Valid(k.PublicJWK) {
		out.PublicJWK = k.PublicJWK
	}
	if !k.DeactivatedAt.IsZero() {
		t := k.DeactivatedAt
		out.DeactivatedAt = &t
	}
	if !k.RetiredAt.IsZero() {
		t := k.RetiredAt
		out.RetiredAt = &t
	}
	return out
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	ks, err := a.keys.List(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, whole(ks, toKeyJSON))
}

// rotateRequest names the algorithm whose active key is replaced.
type rotateRequest struct {
	Alg string `json:"alg"`
}

// rotateKey makes a new active key of the algorithm; the previous one stays
// published until it is retired.
func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	var req rotateRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !slices.Contains(a.algs, req.Alg) {
		writeFieldProblem(w, http.StatusBadRequest, "alg", "alg must be one of "+strings.Join(a.algs, ", ")+".")
		return
	}
	k, err := a.keys.Rotate(r.Context(), req.Alg)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toKeyJSON(k))
}

// retireKey removes a published key from the JWKS and erases its private
// part; the active key cannot be retired (409).
func (a *API) retireKey(w http.ResponseWriter, r *http.Request) {
	if err := a.keys.Retire(r.Context(), mux.Vars(r)["kid"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
