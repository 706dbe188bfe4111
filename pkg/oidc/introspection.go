package oidc

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"
)

// handleIntrospection is the token introspection endpoint (RFC 7662).
//
// Unlike fosite's own handler, which lets any holder of an access token
// introspect, the caller must authenticate as a confidential client
// (RFC 7662 §2.1 leaves the method to the server), with the method it
// registered for the token endpoint.
func (p *Provider) handleIntrospection(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !parsePostForm(w, r) {
		return
	}
	client, err := p.oauth.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil && p.unavailable(w, r, endpointIntrospection, err) {
		return
	}
	if err != nil && p.throttleClientFailure(w, r) {
		return
	}
	if err != nil || client.IsPublic() {
		writeError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "The token parameter is missing.")
		return
	}
	// token_type_hint is only a hint (RFC 7662 §2.1): the token's own form
	// says what it is. Access tokens, the resource servers' everyday
	// question, are looked up directly; refresh tokens go through fosite.
	var (
		tu fosite.TokenUse = fosite.AccessToken
		ar fosite.Requester
	)
	if strings.HasPrefix(token, prefix("rt")) {
		tu, ar, err = p.oauth.IntrospectToken(ctx, token, fosite.RefreshToken, newSession())
	} else {
		ar, _, err = p.lookupAccessToken(ctx, token)
	}
	// A token the store could not look up is not known to be inactive:
	// "active":false would make resource servers turn valid tokens away.
	if err != nil && p.unavailable(w, r, endpointIntrospection, err) {
		return
	}
	if err != nil {
		// RFC 7662 §2.2: an invalid, expired or revoked token, or one this
		// server does not know, is simply inactive.
		if !errors.Is(err, errInactiveToken) && !errors.Is(err, fosite.ErrRequestUnauthorized) && !errors.Is(err, fosite.ErrInactiveToken) &&
			!errors.Is(err, fosite.ErrTokenExpired) && !errors.Is(err, fosite.ErrNotFound) {
			p.log.WarnContext(ctx, "introspection failed", "error", err.Error())
		}
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	writeJSON(w, http.StatusOK, p.introspectionResponse(tu, ar, client.GetID()))
}

// introspectionResponse is the RFC 7662 §2.2 answer for an active token.
type introspectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss"`
	// Roles is the roles claim of a token granted the scope roles (an
	// empty list for a customer without roles), read from the token's
	// session.
	Roles []string `json:"roles,omitzero"`
}

// The subject is the one the token's client knows (pairwise for a pairwise
// client), so introspection does not undo pairwise subjects. The username
// (the customer's email) goes only to the token's own client and to the
// resource servers the token names in its audience: RFC 7662 §4 leaves to
// the server what a caller may learn, and any confidential client may ask.
func (p *Provider) introspectionResponse(tu fosite.TokenUse, ar fosite.Requester, callerID string) introspectionResponse {
	sess := ar.GetSession()
	tokenClient := ar.GetClient()
	out := introspectionResponse{
		Active:   true,
		Scope:    strings.Join(ar.GetGrantedScopes(), " "),
		ClientID: tokenClient.GetID(),
		Sub:      sess.GetSubject(),
		Aud:      ar.GetGrantedAudience(),
		Iss:      p.issuer,
	}
	if s, ok := sess.(*Session); ok {
		out.Roles = grantedRoles(ar, s)
	}
	if out.Sub != "" && out.Sub != tokenClient.GetID() {
		// A customer's token, not a client-credentials one.
		out.Sub = p.subjectFor(tokenClient, out.Sub)
	}
	if callerID == tokenClient.GetID() || slices.Contains(ar.GetGrantedAudience(), callerID) {
		out.Username = sess.GetUsername()
	}
	if !ar.GetRequestedAt().IsZero() {
		out.Iat = ar.GetRequestedAt().Unix()
	}
	// fosite's own writer reports the access token's expiry for a refresh
	// token too; report each token's own.
	expiry := fosite.AccessToken
	if tu == fosite.RefreshToken {
		expiry = fosite.RefreshToken
	} else {
		out.TokenType = "Bearer" // RFC 6750
	}
	if exp := sess.GetExpiresAt(expiry); !exp.IsZero() {
		out.Exp = exp.Unix()
	}
	return out
}
