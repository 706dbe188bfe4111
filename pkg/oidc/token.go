package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/internal/jsonw"
	"github.com/gatehouse-id/gatehouse/storage"
)

// handleToken is the token endpoint (RFC 6749 §3.2).
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// Browser apps (public clients with PKCE) call this endpoint directly:
	// a preflight is answered for any origin, the answer itself is readable
	// only by the client's registered origins.
	allowOrigin(w, r, "POST")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !parsePostForm(w, r) {
		return
	}
	p.restrictOrigin(w, r)
	if name := repeatedParam(r.PostForm); name != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "The "+name+" parameter was sent more than once.")
		return
	}
	// fosite answers an unknown grant type with invalid_request; RFC 6749
	// §5.2 registers unsupported_grant_type for it.
	if gt := r.PostForm.Get("grant_type"); gt != "" && !p.supportsGrant(gt) {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported by this server.")
		return
	}
	// RFC 6749 §5.2: a request that names no client at all failed client
	// authentication (fosite would call it invalid_request).
	if _, _, basic := r.BasicAuth(); !basic && r.PostForm.Get("client_id") == "" && r.PostForm.Get("client_assertion") == "" {
		writeError(w, http.StatusUnauthorized, "invalid_client", "Client authentication is required.")
		return
	}
	oauth := p.oauth
	if r.PostForm.Get("grant_type") == "client_credentials" {
		oauth = p.machine
	}
	session := newSession()
	ar, err := oauth.NewAccessRequest(ctx, r, session)
	if err != nil {
		// fosite reads a failed client lookup as invalid_client and a
		// failed code or refresh-token read as invalid_grant or a server
		// error; the store's mark tells an outage from a verdict.
		if p.unavailable(w, r, endpointToken, err) {
			return
		}
		// The credentials were checked first: a right secret always gets
		// its token; a wrong one over the client's budget gets 429.
		if errors.Is(err, fosite.ErrInvalidClient) && p.throttleClientFailure(w, r) {
			return
		}
		p.writeTokenError(w, r, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("refresh_token") {
		// RFC 6749 §6: the scope asked for on a refresh MUST NOT include
		// any scope not originally granted (fosite v0.49 ignores the
		// parameter). A narrower scope is answered with the original one,
		// which the response's scope member states (§3.3, §5.1): the new
		// refresh token must keep the original scope, and fosite stores
		// both tokens with one.
		for _, scope := range strings.Fields(r.PostForm.Get("scope")) {
			if !ar.GetGrantedScopes().Has(scope) {
				writeError(w, http.StatusBadRequest, "invalid_scope", "The scope "+strconv.Quote(scope)+" was not granted to this refresh token.")
				return
			}
		}
	}
	if gt := ar.GetGrantTypes(); gt.ExactOne("authorization_code") || gt.ExactOne("refresh_token") {
		if err := p.checkCustomer(r, ar); err != nil {
			if !p.unavailable(w, r, endpointToken, err) {
				p.writeTokenError(w, r, err)
			}
			return
		}
	}
	if err := narrowToResources(r.PostForm, ar); err != nil {
		writeFositeError(w, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		// fosite has checked the requested scopes and audience against the
		// client's; the client is the resource owner here (RFC 6749 §4.4),
		// so everything it may ask for and asked for is granted.
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		for _, aud := range ar.GetRequestedAudience() {
			ar.GrantAudience(aud)
		}
		session.Subject = ar.GetClient().GetID()
		// fosite numbers requests with random UUIDs; time-ordered ones keep
		// the store's request-id index append-mostly, so a busy token
		// endpoint writes one index page per batch instead of one per token.
		// (Other grants inherit the ID of the grant they continue.)
		ar.SetID(uuid.Must(uuid.NewV7()).String())
	}
	resp, err := oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		if p.unavailable(w, r, endpointToken, err) {
			return
		}
		if lostRace(err, ar) {
			err = p.revokeRaceWinner(r, ar)
		}
		p.writeTokenError(w, r, err)
		return
	}
	if p.onTokenIssued != nil {
		p.onTokenIssued(ar.GetGrantTypes()[0])
	}
	writeAccessResponse(w, resp)
}

// writeAccessResponse writes a successful token response (RFC 6749 §5.1):
// the members fosite set, in the sorted order encoding/json would give
// them, with Cache-Control: no-store and Pragma: no-cache (§5.1). It does
// what fosite's WriteAccessResponse does without reflection: the answer is
// written on every grant.
func writeAccessResponse(w http.ResponseWriter, resp fosite.AccessResponder) {
	members := resp.ToMap()
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.Sort(names)
	body := make([]byte, 0, 384)
	body = append(body, '{')
	for _, name := range names {
		var err error
		if body, err = jsonw.Value(jsonw.Key(body, name), members[name]); err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", "The token response could not be encoded.")
			return
		}
	}
	body = append(body, '}')
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// lostRace reports whether a token request failed because another request
// used the same code or refresh token at the same moment: the loser's
// conditional invalidation or rotation found it already used, or fosite's
// second read of the code (after its checks) found it invalidated. fosite
// reports the first as a server error for a code, and as a "retry"
// invalid_request for a refresh token; neither is what RFC 6749 §5.2 says
// of a grant that is no longer valid.
func lostRace(err error, ar fosite.AccessRequester) bool {
	if ar.GetGrantTypes().ExactOne("refresh_token") {
		return errors.Is(err, fosite.ErrInvalidRequest) &&
			(errors.Is(err, storage.ErrConflict) || errors.Is(err, fosite.ErrNotFound) || errors.Is(err, fosite.ErrInactiveToken))
	}
	return errors.Is(err, fosite.ErrServerError) &&
		(errors.Is(err, storage.ErrConflict) || errors.Is(err, fosite.ErrInvalidatedAuthorizeCode))
}

// revokeRaceWinner answers the loser of a race for one code or refresh
// token. It is a grant used twice: the loser gets invalid_grant (RFC 6749
// §5.2), and what the winner was issued is revoked (RFC 6749 §4.1.2,
// RFC 9700 §4.14.2), as when the second use comes later. The loser's
// invalidation waited for the winner's transaction, so the winner's tokens
// are committed by now.
func (p *Provider) revokeRaceWinner(r *http.Request, ar fosite.AccessRequester) error {
	ctx := r.Context()
	id := ar.GetID()
	if err := p.store.RevokeAccessToken(ctx, id); err != nil {
		p.log.ErrorContext(ctx, "revoking the access tokens of a grant used twice", "error", err.Error())
	}
	if err := p.store.RevokeRefreshToken(ctx, id); err != nil {
		p.log.ErrorContext(ctx, "revoking the refresh tokens of a grant used twice", "error", err.Error())
	}
	if ar.GetGrantTypes().ExactOne("refresh_token") {
		return fosite.ErrInvalidGrant.WithHint("The refresh token has already been used.")
	}
	return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.")
}

// writeTokenError writes a token endpoint error, logging server faults.
// A refused authorization code's description says why (codeRefusal). The
// request's log line names the error, its description and the client_id.
func (p *Provider) writeTokenError(w http.ResponseWriter, r *http.Request, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.StatusCode() >= 500 {
		p.log.ErrorContext(r.Context(), "token endpoint failed", "error", rfc.ErrorField, "cause", rfc.GetDescription()+" "+rfc.DebugField)
	}
	description := rfc.GetDescription()
	if rfc.ErrorField == fosite.ErrInvalidGrant.ErrorField && r.PostForm.Get("grant_type") == "authorization_code" {
		if why := p.codeRefusal(r.Context(), err, rfc); why != "" {
			description = why
		}
	}
	annotateProtocolError(w, rfc.ErrorField, describe(description), formClientID(r))
	writeError(w, rfc.StatusCode(), rfc.ErrorField, description)
}

// codeRefusal says why an authorization code was refused with
// invalid_grant (RFC 6749 §5.2; RFC 7636 §4.6 for PKCE): unknown, already
// used, expired, issued to another client, another redirect_uri, or a
// code_verifier that does not match. fosite v0.49 gives an unknown or
// expired code only its generic description, and the redirect_uri reason
// in double quotes, which error_description may not hold. "" keeps
// fosite's description (its other PKCE hints name the rule broken).
func (p *Provider) codeRefusal(ctx context.Context, err error, rfc *fosite.RFC6749Error) string {
	hint := rfc.HintField
	switch {
	case errors.Is(err, fosite.ErrTokenExpired) || errors.Is(err, storage.ErrExpired):
		return fmt.Sprintf("The authorization code has expired: a code must be exchanged within %d seconds of its issue.",
			int(p.oauth.Config.GetAuthorizeCodeLifespan(ctx).Seconds()))
	case strings.HasPrefix(hint, "The authorization code has already been used."):
		return "The authorization code has already been used; the tokens issued for it are revoked (RFC 6749 section 4.1.2)."
	case strings.Contains(hint, "Client ID from this request does not match"):
		return "The authorization code was issued to another client."
	case strings.Contains(hint, "redirect_uri"):
		return "The redirect_uri differs from the one of the authorization request (RFC 6749 section 4.1.3)."
	case hint == "The PKCE code challenge did not match the code verifier.":
		return "The code_verifier does not match the code_challenge of the authorization request (RFC 7636 section 4.6)."
	case errors.Is(err, fosite.ErrNotFound):
		return "The authorization code is unknown: this server did not issue it, or it expired and was removed."
	}
	return ""
}
