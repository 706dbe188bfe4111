package oidc

import (
	"net/http"

	"github.com/gorilla/mux"
)

// Register adds the protocol endpoints to the router, under the issuer's
// path (empty for an issuer without one).
func (p *Provider) Register(r *mux.Router, issuerPath string) {
	r.HandleFunc(issuerPath+PathDiscovery, p.handleDiscovery).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(issuerPath+PathJWKS, p.handleJWKS).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(issuerPath+PathToken, p.handleToken)
	r.HandleFunc(issuerPath+PathIntrospection, p.handleIntrospection)
	r.HandleFunc(issuerPath+PathRevocation, p.handleRevocation)
	r.HandleFunc(issuerPath+PathAuthorize, p.handleAuthorize).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(issuerPath+PathResume, p.handleResume).Methods(http.MethodGet)
	r.HandleFunc(issuerPath+PathUserinfo, p.handleUserinfo).Methods(http.MethodGet, http.MethodPost, http.MethodOptions)
	r.HandleFunc(issuerPath+PathEndSession, p.handleEndSession).Methods(http.MethodGet, http.MethodPost)
	if p.registration != RegistrationClosed {
		r.HandleFunc(issuerPath+PathRegistration, p.handleRegistration).Methods(http.MethodPost)
		r.HandleFunc(issuerPath+PathRegistration+"/{client_id}", p.handleClientConfiguration).Methods(http.MethodGet, http.MethodPut, http.MethodDelete)
	}
}
