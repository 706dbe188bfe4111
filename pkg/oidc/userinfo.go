package oidc

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/storage"
)

// handleUserinfo is the UserInfo endpoint (OpenID Connect Core §5.3), for
// GET and POST, with the access token in the Authorization header or, for
// POST, the form body (RFC 6750 §2.1, §2.2).
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// Until the token names the client, any origin may ask and read an
	// error; the claims are readable only by the client's own origins.
	allowOrigin(w, r, "GET, POST")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	token, inBody := "", ""
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err == nil {
			inBody = r.PostForm.Get("access_token")
		}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(value)
		}
		// RFC 6750 §2: a client MUST NOT use more than one method to send
		// the token; §3.1 calls that invalid_request.
		if inBody != "" {
			p.bearerError(w, http.StatusBadRequest, "invalid_request", "The access token was sent more than one way.")
			return
		}
	} else {
		token = inBody
	}
	if token == "" {
		// RFC 6750 §3.1: no credentials, no error code.
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		writeJSON(w, http.StatusUnauthorized, protocolError{Error: "invalid_token", Description: "An access token is required."})
		return
	}
	// Only access tokens: a refresh token is for the authorization server
	// alone (RFC 6749 §1.5) and never a bearer token here.
	ar, sess, err := p.lookupAccessToken(ctx, token)
	if err != nil && p.unavailable(w, r, endpointUserinfo, err) {
		return
	}
	if err != nil {
		p.bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
		return
	}
	if !ar.GetGrantedScopes().Has("openid") {
		p.bearerError(w, http.StatusForbidden, "insufficient_scope", "The access token was not granted the openid scope.")
		return
	}
	// The claims may be a moment old when another replica changed the
	// customer (token_cache_ttl, as for a revocation); a disabled or
	// deleted customer's tokens are revoked, which the look-up above sees.
	user, err := p.store.GetUserRecent(ctx, sess.Subject)
	if err != nil && p.unavailable(w, r, endpointUserinfo, err) {
		return
	}
	if err != nil {
		// The customer is gone: the token speaks for nobody.
		p.bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token's subject no longer exists.")
		return
	}
	if c, ok := ar.GetClient().(*storage.Client); !ok || !slices.Contains(c.CORSOrigins(), r.Header.Get("Origin")) {
		w.Header().Del("Access-Control-Allow-Origin")
	}
	claims := userClaims(user, ar.GetGrantedScopes(), ar.GetGrantedScopes(), sess.UserinfoClaims, p.attrs)
	claims["sub"] = p.subjectFor(ar.GetClient(), user.ID)
	if roles := grantedRoles(ar, sess); roles != nil {
		claims[rolesClaim] = roles
	}
	// A client registered with userinfo_signed_response_alg gets the claims
	// as a signed JWT with iss and aud (OpenID Connect Core §5.3.2).
	if c, ok := ar.GetClient().(*storage.Client); ok && c.UserinfoSignedResponseAlg == "RS256" {
		claims["iss"] = p.issuer
		claims["aud"] = c.ID
		signed, err := p.signJWT(ctx, claims, "")
		if err != nil {
			p.log.ErrorContext(ctx, "signing userinfo", "error", err.Error())
			writeError(w, http.StatusInternalServerError, "server_error", "The claims could not be signed.")
			return
		}
		w.Header().Set("Content-Type", "application/jwt")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(signed))
		return
	}
	writeJSON(w, http.StatusOK, claims)
}

// bearerError answers with RFC 6750 §3's challenge.
func (p *Provider) bearerError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`", error_description="`+description+`"`)
	writeJSON(w, status, protocolError{Error: code, Description: description})
}

// restrictOrigin keeps the Access-Control-Allow-Origin that allowOrigin
// set only when the request's origin is one the calling client registered
// (storage.Client.CORSOrigins), so that no other site's script can read
// the answer. A preflight names no client, so it is answered for any
// origin; the decision is made here, on the request itself. The client is
// the one named by HTTP Basic authentication or by client_id; a request
// naming neither (a bare assertion) is not readable by scripts.
func (p *Provider) restrictOrigin(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	id, _, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: the client_id is form-encoded inside Basic.
		if dec, err := url.QueryUnescape(id); err == nil {
			id = dec
		}
	} else {
		id = r.PostForm.Get("client_id")
	}
	if id != "" {
		if fc, err := p.store.GetClient(r.Context(), id); err == nil {
			if c, ok := fc.(*storage.Client); ok && slices.Contains(c.CORSOrigins(), origin) {
				return
			}
		}
	}
	w.Header().Del("Access-Control-Allow-Origin")
}

// allowOrigin answers a browser app's CORS request for the request's
// origin, for the endpoint's methods. The token or client credential is in
// the request, never a cookie, so credentials are not allowed; the
// WWW-Authenticate challenge of an error is readable by the app.
func allowOrigin(w http.ResponseWriter, r *http.Request, methods string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
	h.Set("Access-Control-Max-Age", "600")
}
