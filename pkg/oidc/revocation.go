package oidc

import (
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/internal/outage"
)

// handleRevocation is the token revocation endpoint (RFC 7009). Revoking a
// refresh token or an access token revokes the whole grant it belongs to
// (RFC 7009 §2.1 allows it, and RFC 9700 §4.14 recommends it).
func (p *Provider) handleRevocation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	allowOrigin(w, r, "POST")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !parsePostForm(w, r) {
		return
	}
	p.restrictOrigin(w, r)
	// RFC 7009 §2.1 requires client authentication, and RFC 6749 §5.2
	// calls a request without any invalid_client (fosite would say
	// invalid_request).
	if _, _, basic := r.BasicAuth(); !basic && r.PostForm.Get("client_id") == "" && r.PostForm.Get("client_assertion") == "" {
		writeError(w, http.StatusUnauthorized, "invalid_client", "Client authentication is required.")
		return
	}
	if r.PostForm.Get("token") == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "The token parameter is missing.")
		return
	}
	err := p.oauth.NewRevocationRequest(ctx, r)
	switch {
	case p.unavailable(w, r, endpointRevocation, err):
		// Client authentication could not read the client.
	case err == nil:
		// RFC 7009 §2.2: 200 whether or not the token was valid.
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, fosite.ErrInvalidClient):
		if p.throttleClientFailure(w, r) {
			return
		}
		writeError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
	case errors.Is(err, fosite.ErrUnauthorizedClient):
		// RFC 7009 §2.1: a token issued to another client is refused.
		writeError(w, http.StatusBadRequest, "unauthorized_client", "The token was not issued to this client.")
	case errors.Is(err, fosite.ErrTemporarilyUnavailable):
		// fosite answers so when the store failed to find the token
		// (its cause is not kept): RFC 7009 §2.2.1 lets the client retry.
		p.outage.Report(ctx, endpointRevocation, err)
		outage.SetRetryAfter(w)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The token could not be revoked; try again shortly.")
	default:
		rfc := fosite.ErrorToRFC6749Error(err)
		if rfc.StatusCode() >= 500 {
			p.log.ErrorContext(ctx, "revocation failed", "error", err.Error())
		}
		writeFositeError(w, err)
	}
}
