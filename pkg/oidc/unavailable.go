package oidc

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/outage"
)

// Endpoint names for the outage metric and log.
const (
	endpointToken         = "token"
	endpointIntrospection = "introspection"
	endpointRevocation    = "revocation"
	endpointUserinfo      = "userinfo"
	endpointAuthorize     = "authorize"
	endpointRegistration  = "registration"
	endpointEndSession    = "end_session"
)

// unavailable answers a protocol request that failed because the store
// could not answer (storage.ErrUnavailable, found through fosite's
// wrapping), and reports whether it did; the caller then stops. Such a
// failure is no verdict on the client, the grant or the token, so it is
// never invalid_client, invalid_grant or an inactive token: the answer is
// 503 with the registered code temporarily_unavailable (RFC 6749 §4.1.2.1,
// §11.4; §5.2 registers no code for a server that cannot answer now) and
// Retry-After (RFC 9110 §15.6.4, §10.2.3).
func (p *Provider) unavailable(w http.ResponseWriter, r *http.Request, endpoint string, err error) bool {
	if err == nil || !outage.Is(err) {
		return false
	}
	p.outage.Report(r.Context(), endpoint, err)
	outage.SetRetryAfter(w)
	writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The server cannot answer for a moment; try again shortly.")
	return true
}

// unavailablePage is unavailable for a browser: the localized "try again
// in a moment" page, with 503 and Retry-After. A redirect to the client
// would tell the app the request failed for good.
func (p *Provider) unavailablePage(w http.ResponseWriter, r *http.Request, endpoint string, err error) bool {
	if err == nil || !outage.Is(err) {
		return false
	}
	p.outage.Report(r.Context(), endpoint, err)
	outage.SetRetryAfter(w)
	p.pages.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	return true
}
