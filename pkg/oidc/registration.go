package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/internal/strictjson"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Registration policies (who may use the registration endpoint).
const (
	RegistrationClosed             = "closed"
	RegistrationInitialAccessToken = "initial-access-token"
	RegistrationOpen               = "open"
)

// PathRegistration is the registration endpoint; a client's configuration
// endpoint is below it.
const PathRegistration = "/oauth2/register"

// registrationMetadata is a client's metadata as registration speaks it
// (RFC 7591 §2, OpenID Connect Dynamic Client Registration 1.0 §2).
type registrationMetadata struct {
	RedirectURIs                []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod     string          `json:"token_endpoint_auth_method,omitempty"`
	TokenEndpointAuthSigningAlg string          `json:"token_endpoint_auth_signing_alg,omitempty"`
	GrantTypes                  []string        `json:"grant_types,omitempty"`
	ResponseTypes               []string        `json:"response_types,omitempty"`
	ClientName                  string          `json:"client_name,omitempty"`
	ClientURI                   string          `json:"client_uri,omitempty"`
	LogoURI                     string          `json:"logo_uri,omitempty"`
	Scope                       string          `json:"scope,omitempty"`
	Contacts                    []string        `json:"contacts,omitempty"`
	TOSURI                      string          `json:"tos_uri,omitempty"`
	PolicyURI                   string          `json:"policy_uri,omitempty"`
	JWKSURI                     string          `json:"jwks_uri,omitempty"`
	JWKS                        json.RawMessage `json:"jwks,omitempty"`
	ApplicationType             string          `json:"application_type,omitempty"`
	SubjectType                 string          `json:"subject_type,omitempty"`
	SectorIdentifierURI         string          `json:"sector_identifier_uri,omitempty"`
	IDTokenSignedResponseAlg    string          `json:"id_token_signed_response_alg,omitempty"`
	UserinfoSignedResponseAlg   string          `json:"userinfo_signed_response_alg,omitempty"`
	RequestObjectSigningAlg     string          `json:"request_object_signing_alg,omitempty"`
	DefaultMaxAge               int             `json:"default_max_age,omitempty"`
	RequireAuthTime             bool            `json:"require_auth_time,omitempty"`
	PostLogoutRedirectURIs      []string        `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI        string          `json:"backchannel_logout_uri,omitempty"`
	// AllowedCORSOrigins is Gatehouse's own member (as Ory Hydra's): the
	// origins of browser apps that call the token endpoint.
	AllowedCORSOrigins []string `json:"allowed_cors_origins,omitempty"`
	// Sent back only.
	ClientID                string `json:"client_id,omitempty"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri,omitempty"`

	// localizedNames are the client_name#<tag> members, sent back with the
	// rest (RFC 7591 §2.2).
	localizedNames map[string]string
}

// MarshalJSON writes the metadata with its client_name#<tag> members.
func (m registrationMetadata) MarshalJSON() ([]byte, error) {
	type plain registrationMetadata
	raw, err := json.Marshal(plain(m))
	if err != nil || len(m.localizedNames) == 0 {
		return raw, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	for tag, name := range m.localizedNames {
		v, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		all["client_name#"+tag] = v
	}
	return json.Marshal(all)
}

// registrationError is RFC 7591 §3.2.2's error answer.
func registrationError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, protocolError{Error: code, Description: description})
}

// handleRegistration is the registration endpoint (RFC 7591 §3).
func (p *Provider) handleRegistration(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !p.allowRegistration(w, r) {
		return
	}
	if p.registration == RegistrationInitialAccessToken {
		token := bearerToken(r)
		if token == "" || p.store.UseRegistrationToken(ctx, p.clients.RegistrationTokenID(token), time.Now()) != nil {
			p.bearerError(w, http.StatusUnauthorized, "invalid_token", "A valid initial access token is required.")
			return
		}
	}
	md, localized, ok := decodeMetadata(w, r)
	if !ok {
		return
	}
	spec, err := specFromMetadata(md, localized)
	if err == nil {
		err = p.checkSectorIdentifier(ctx, spec)
	}
	if err != nil {
		p.writeMetadataError(w, err)
		return
	}
	reg, err := p.clients.Create(ctx, spec)
	if err != nil {
		p.writeMetadataError(w, err)
		return
	}
	out := p.metadataOf(reg.Client)
	out.ClientSecret = reg.Secret
	out.RegistrationAccessToken = reg.RegistrationAccessToken
	writeJSON(w, http.StatusCreated, out)
}

// handleClientConfiguration is a client's configuration endpoint
// (RFC 7592): read, replace or delete the client with its registration
// access token.
func (p *Provider) handleClientConfiguration(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := mux.Vars(r)["client_id"]
	c, err := p.store.LookupClient(ctx, id)
	// RFC 7592 §2: an unknown client and a wrong token look the same.
	if err != nil || !p.clients.CheckRegistrationToken(c, bearerToken(r)) {
		p.bearerError(w, http.StatusUnauthorized, "invalid_token", "The registration access token is invalid.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, p.metadataOf(c))
	case http.MethodDelete:
		if err := p.store.DeleteClient(ctx, id); err != nil {
			p.log.ErrorContext(ctx, "deleting a registered client", "error", err.Error())
			writeError(w, http.StatusInternalServerError, "server_error", "The client could not be deleted.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		md, localized, ok := decodeMetadata(w, r)
		if !ok {
			return
		}
		// RFC 7592 §2.2: the request names the client, and a secret, if
		// sent, must be the current one.
		if md.ClientID != id {
			registrationError(w, "invalid_client_metadata", "client_id must be the client's own.")
			return
		}
		if md.ClientSecret != "" && !p.clients.CheckSecret(c, md.ClientSecret) {
			registrationError(w, "invalid_client_metadata", "client_secret does not match the client's.")
			return
		}
		spec, err := specFromMetadata(md, localized)
		if err == nil {
			err = p.checkSectorIdentifier(ctx, spec)
		}
		if err != nil {
			p.writeMetadataError(w, err)
			return
		}
		updated, err := p.clients.Update(ctx, id, spec)
		if err != nil {
			p.writeMetadataError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, p.metadataOf(updated))
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "Use GET, PUT or DELETE.")
	}
}

// decodeMetadata reads a JSON metadata document, with client_name#<tag>
// members collected separately. The body must be application/json and
// exactly one JSON object without a member named twice (RFC 7591 §3.1).
func decodeMetadata(w http.ResponseWriter, r *http.Request) (registrationMetadata, map[string]string, bool) {
	var md registrationMetadata
	if !strictjson.IsJSONContentType(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request", "The body must be application/json (RFC 7591 §3.1).")
		return md, nil, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if errBodyTooLarge(err) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request", "The request body is too large.")
			return md, nil, false
		}
		registrationError(w, "invalid_client_metadata", "The body could not be read.")
		return md, nil, false
	}
	var raw map[string]json.RawMessage
	if err := strictjson.Decode(body, &raw, false); err != nil {
		registrationError(w, "invalid_client_metadata", "The body is not one JSON object: "+err.Error()+".")
		return md, nil, false
	}
	// Member names are case-sensitive (RFC 8259 §4), but encoding/json
	// would read "Scope" or "SCOPE" as scope, the last one winning, where
	// another parser of the same body reads only "scope". A member not
	// named exactly as ours is metadata we do not understand, and ignored
	// (RFC 7591 §2).
	known := body
	for k := range raw {
		if !isMetadataMember(k) {
			exact := make(map[string]json.RawMessage, len(raw))
			for k, v := range raw {
				if isMetadataMember(k) {
					exact[k] = v
				}
			}
			if known, err = json.Marshal(exact); err != nil {
				registrationError(w, "invalid_client_metadata", "The body could not be read.")
				return md, nil, false
			}
			break
		}
	}
	if err := json.Unmarshal(known, &md); err != nil {
		registrationError(w, "invalid_client_metadata", "A member has the wrong type: "+err.Error())
		return md, nil, false
	}
	localized := map[string]string{}
	for k, v := range raw {
		tag, ok := strings.CutPrefix(k, "client_name#")
		if !ok || tag == "" {
			continue
		}
		var name string
		if err := json.Unmarshal(v, &name); err != nil {
			registrationError(w, "invalid_client_metadata", k+" must be a string.")
			return md, nil, false
		}
		localized[tag] = name
	}
	return md, localized, true
}

// isMetadataMember reports whether name is exactly the JSON name of a
// registrationMetadata field.
func isMetadataMember(name string) bool {
	t := reflect.TypeFor[registrationMetadata]()
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag != "" && tag == name {
			return true
		}
	}
	return false
}

// specFromMetadata applies the registration defaults and the rules that the
// registration endpoint adds to those of every client (RFC 7591 §2, OpenID
// Connect Dynamic Client Registration §2).
func specFromMetadata(md registrationMetadata, localized map[string]string) (clients.Spec, error) {
	bad := func(field, reason string) error { return &clients.InvalidError{Field: field, Reason: reason} }
	method := md.TokenEndpointAuthMethod
	if method == "" {
		method = storage.AuthMethodClientSecretBasic
	}
	grants, responses := md.GrantTypes, md.ResponseTypes
	switch {
	case len(grants) == 0 && len(responses) == 0:
		grants, responses = []string{clients.GrantAuthorizationCode}, []string{"code"}
	case len(grants) == 0:
		for _, rt := range responses {
			for _, part := range strings.Fields(rt) {
				g := clients.GrantImplicit
				if part == "code" {
					g = clients.GrantAuthorizationCode
				}
				if !slices.Contains(grants, g) {
					grants = append(grants, g)
				}
			}
		}
	}
	// The rules every client follows, whoever registers it, are
	// pkg/clients'; these are the registration endpoint's own.
	switch {
	case md.SubjectType != "" && md.SubjectType != "public" && md.SubjectType != "pairwise":
		return clients.Spec{}, bad("subject_type", "must be public or pairwise")
	case md.RequestObjectSigningAlg != "":
		return clients.Spec{}, bad("request_object_signing_alg", "request objects are not supported")
	}
	return clients.Spec{
		Name:                        md.ClientName,
		RedirectURIs:                md.RedirectURIs,
		PostLogoutRedirectURIs:      md.PostLogoutRedirectURIs,
		GrantTypes:                  grants,
		ResponseTypes:               responses,
		Scopes:                      strings.Fields(md.Scope),
		Public:                      method == storage.AuthMethodNone,
		TokenEndpointAuthMethod:     method,
		LogoURI:                     md.LogoURI,
		BackchannelLogoutURI:        md.BackchannelLogoutURI,
		ApplicationType:             md.ApplicationType,
		LocalizedNames:              localized,
		ClientURI:                   md.ClientURI,
		PolicyURI:                   md.PolicyURI,
		TOSURI:                      md.TOSURI,
		Contacts:                    md.Contacts,
		JWKS:                        md.JWKS,
		JWKSURI:                     md.JWKSURI,
		TokenEndpointAuthSigningAlg: md.TokenEndpointAuthSigningAlg,
		SubjectType:                 md.SubjectType,
		SectorIdentifierURI:         md.SectorIdentifierURI,
		IDTokenSignedResponseAlg:    md.IDTokenSignedResponseAlg,
		UserinfoSignedResponseAlg:   md.UserinfoSignedResponseAlg,
		DefaultMaxAge:               md.DefaultMaxAge,
		RequireAuthTime:             md.RequireAuthTime,
		AllowedCORSOrigins:          md.AllowedCORSOrigins,
		// Asked by the client itself: no reserved scope (RFC 7591 §2 lets
		// the server refuse or replace a scope it will not give).
		Dynamic: true,
	}, nil
}

// writeMetadataError answers a refused registration with the registered
// code: invalid_redirect_uri for a redirect URI, invalid_client_metadata
// for everything else, naming the field.
func (p *Provider) writeMetadataError(w http.ResponseWriter, err error) {
	var ie *clients.InvalidError
	if !errors.As(err, &ie) {
		p.log.Error("registering a client", "error", err.Error())
		writeError(w, http.StatusInternalServerError, "server_error", "The client could not be stored.")
		return
	}
	code := "invalid_client_metadata"
	if ie.Field == "redirect_uri" {
		code = "invalid_redirect_uri"
	}
	field := ie.Field
	if field == "redirect_uri" || field == "post_logout_redirect_uri" || field == "grant_type" {
		field += "s"
	}
	registrationError(w, code, field+": "+ie.Reason)
}

// metadataOf is a client's metadata as registration reports it.
func (p *Provider) metadataOf(c storage.Client) registrationMetadata {
	zero := int64(0)
	md := registrationMetadata{
		ClientID:                  c.ID,
		ClientIDIssuedAt:          c.CreatedAt.Unix(),
		ClientSecretExpiresAt:     &zero,
		RegistrationClientURI:     p.issuer + PathRegistration + "/" + url.PathEscape(c.ID),
		RedirectURIs:              c.RedirectURIs,
		TokenEndpointAuthMethod:   c.GetTokenEndpointAuthMethod(),
		GrantTypes:                c.GrantTypes,
		ResponseTypes:             c.ResponseTypes,
		ClientName:                c.Name,
		ClientURI:                 c.ClientURI,
		LogoURI:                   c.LogoURI,
		Scope:                     strings.Join(c.Scopes, " "),
		Contacts:                  c.Contacts,
		TOSURI:                    c.TOSURI,
		PolicyURI:                 c.PolicyURI,
		JWKSURI:                   c.JWKSURI,
		JWKS:                      c.JWKS,
		ApplicationType:           c.ApplicationType,
		SubjectType:               subjectType(c),
		SectorIdentifierURI:       c.SectorIdentifierURI,
		IDTokenSignedResponseAlg:  "RS256",
		UserinfoSignedResponseAlg: c.UserinfoSignedResponseAlg,
		localizedNames:            c.LocalizedNames,
		DefaultMaxAge:             c.DefaultMaxAge,
		RequireAuthTime:           c.RequireAuthTime,
		PostLogoutRedirectURIs:    c.PostLogoutRedirectURIs,
		BackchannelLogoutURI:      c.BackchannelLogoutURI,
		AllowedCORSOrigins:        c.AllowedCORSOrigins,
	}
	if c.GetTokenEndpointAuthMethod() == storage.AuthMethodPrivateKeyJWT {
		md.TokenEndpointAuthSigningAlg = c.GetTokenEndpointAuthSigningAlgorithm()
	}
	return md
}

// bearerToken returns the request's Authorization: Bearer token, or "".
func bearerToken(r *http.Request) string {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(value)
}

// subjectType is a client's subject_type, public unless it asked otherwise.
func subjectType(c storage.Client) string {
	if c.SubjectType == "" {
		return "public"
	}
	return c.SubjectType
}

// checkSectorIdentifier fetches a sector_identifier_uri through the
// outbound client and checks that it lists every redirect URI (OpenID
// Connect Core §8.1): a JSON array of URIs. A URL the outbound policy
// refuses on its face (not https, a private address) is refused with the
// policy's reason. Any failure to fetch it (an address refused when
// connecting, an error, a status other than 200, a redirect, an answer too
// large) is reported to the registrant only as "could not be fetched", with
// the detail in the server's log: otherwise registration would tell whoever
// calls it what answers where.
func (p *Provider) checkSectorIdentifier(ctx context.Context, spec clients.Spec) error {
	raw := spec.SectorIdentifierURI
	if raw == "" {
		return nil
	}
	bad := func(reason string) error {
		return &clients.InvalidError{Field: "sector_identifier_uri", Reason: reason}
	}
	if err := p.outbound.CheckURL(raw); err != nil {
		var refused *outbound.RefusedError
		if errors.As(err, &refused) {
			return bad(refused.Reason)
		}
		return bad("must be an https URL")
	}
	unfetched := func(detail string) error {
		p.log.WarnContext(ctx, "sector_identifier_uri could not be fetched", "sector_identifier_uri", raw, "error", detail)
		return bad("could not be fetched")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return unfetched(err.Error())
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.outbound.Do(req)
	if err != nil {
		return unfetched(err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return unfetched(fmt.Sprintf("answered %d", resp.StatusCode))
	}
	var listed []string
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		if errors.Is(err, outbound.ErrRefused) { // too large
			return unfetched(err.Error())
		}
		return bad("is not a JSON array of URIs")
	}
	for _, ru := range spec.RedirectURIs {
		if !slices.Contains(listed, ru) {
			return bad(fmt.Sprintf("does not list the redirect URI %q", ru))
		}
	}
	return nil
}
