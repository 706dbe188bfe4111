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
	"github.com/gatehouse-id/gatehouse/pkg/events"
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

// registrationAnswer is a client's metadata as registration answers it:
// the one client JSON shape, with its client_name#<tag> members (RFC 7591
// §2.2, §3.2.1).
type registrationAnswer struct{ clients.Metadata }

// MarshalJSON writes the metadata with its client_name#<tag> members.
func (a registrationAnswer) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(a.Metadata)
	if err != nil || len(a.LocalizedNames) == 0 {
		return raw, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	for tag, name := range a.LocalizedNames {
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
		var err error
		if token != "" {
			err = p.store.UseRegistrationToken(ctx, p.clients.RegistrationTokenID(token), time.Now())
			if p.unavailable(w, r, endpointRegistration, err) {
				return
			}
		}
		if token == "" || err != nil {
			p.bearerError(w, http.StatusUnauthorized, "invalid_token", "A valid initial access token is required.")
			return
		}
	}
	md, ok := decodeMetadata(w, r)
	if !ok {
		return
	}
	spec, err := specFromMetadata(md)
	if err == nil {
		err = p.checkSectorIdentifier(ctx, spec)
	}
	if err != nil {
		p.writeMetadataError(w, r, err)
		return
	}
	reg, err := p.clients.Create(ctx, spec)
	if err != nil {
		p.writeMetadataError(w, r, err)
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
	if p.unavailable(w, r, endpointRegistration, err) {
		return
	}
	// RFC 7592 §2: an unknown client and a wrong token look the same.
	if err != nil || !p.clients.CheckRegistrationToken(c, bearerToken(r)) {
		p.bearerError(w, http.StatusUnauthorized, "invalid_token", "The registration access token is invalid.")
		return
	}
	// What the request changes is the client's own doing.
	ctx = events.WithActor(ctx, storage.Actor{Type: storage.ActorClient, ID: c.ID})
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, p.metadataOf(c))
	case http.MethodDelete:
		if err := p.clients.Delete(ctx, id); err != nil {
			if p.unavailable(w, r, endpointRegistration, err) {
				return
			}
			p.log.ErrorContext(ctx, "deleting a registered client", "error", err.Error())
			writeError(w, http.StatusInternalServerError, "server_error", "The client could not be deleted.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		md, ok := decodeMetadata(w, r)
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
		spec, err := specFromMetadata(md)
		if err == nil {
			err = p.checkSectorIdentifier(ctx, spec)
		}
		if err != nil {
			p.writeMetadataError(w, r, err)
			return
		}
		updated, err := p.clients.Update(ctx, id, spec)
		if err != nil {
			p.writeMetadataError(w, r, err)
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
func decodeMetadata(w http.ResponseWriter, r *http.Request) (clients.Metadata, bool) {
	var md clients.Metadata
	if !strictjson.IsJSONContentType(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request", "The body must be application/json (RFC 7591 §3.1).")
		return md, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if errBodyTooLarge(err) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request", "The request body is too large.")
			return md, false
		}
		registrationError(w, "invalid_client_metadata", "The body could not be read.")
		return md, false
	}
	var raw map[string]json.RawMessage
	if err := strictjson.Decode(body, &raw, false); err != nil {
		registrationError(w, "invalid_client_metadata", "The body is not one JSON object: "+err.Error()+".")
		return md, false
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
				return md, false
			}
			break
		}
	}
	if err := json.Unmarshal(known, &md); err != nil {
		registrationError(w, "invalid_client_metadata", "A member has the wrong type: "+err.Error())
		return md, false
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
			return md, false
		}
		localized[tag] = name
	}
	md.LocalizedNames = localized
	// Only an operator gives these; a client asking for them is refused
	// rather than silently given less (RFC 7591 §2 lets the server refuse).
	if field := md.OperatorOnly(); field != "" {
		registrationError(w, "invalid_client_metadata", field+": only an operator can set it.")
		return md, false
	}
	return md, true
}

// isMetadataMember reports whether name is exactly the JSON name of a
// clients.Metadata field.
func isMetadataMember(name string) bool {
	t := reflect.TypeFor[clients.Metadata]()
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
func specFromMetadata(md clients.Metadata) (clients.Spec, error) {
	bad := func(field, reason string) error { return &clients.InvalidError{Field: field, Reason: reason} }
	switch {
	case md.TokenEndpointAuthMethod == "" && md.Public:
		md.TokenEndpointAuthMethod = storage.AuthMethodNone
	case md.TokenEndpointAuthMethod == "":
		md.TokenEndpointAuthMethod = storage.AuthMethodClientSecretBasic
	}
	switch {
	case len(md.GrantTypes) == 0 && len(md.ResponseTypes) == 0:
		md.GrantTypes, md.ResponseTypes = []string{clients.GrantAuthorizationCode}, []string{"code"}
	case len(md.GrantTypes) == 0:
		for _, rt := range md.ResponseTypes {
			for _, part := range strings.Fields(rt) {
				g := clients.GrantImplicit
				if part == "code" {
					g = clients.GrantAuthorizationCode
				}
				if !slices.Contains(md.GrantTypes, g) {
					md.GrantTypes = append(md.GrantTypes, g)
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
	case md.Public && md.TokenEndpointAuthMethod != storage.AuthMethodNone:
		return clients.Spec{}, bad("token_endpoint_auth_method", "a public client authenticates with none")
	}
	spec := md.Spec()
	// Asked by the client itself: no reserved scope (RFC 7591 §2 lets the
	// server refuse or replace a scope it will not give).
	spec.Dynamic = true
	return spec, nil
}

// writeMetadataError answers a refused registration with the registered
// code: invalid_redirect_uri for a redirect URI, invalid_client_metadata
// for everything else, naming the field.
func (p *Provider) writeMetadataError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *clients.InvalidError
	if p.unavailable(w, r, endpointRegistration, err) {
		return
	}
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

// metadataOf is a client's metadata as registration reports it: the one
// client shape, with the client's configuration endpoint and a secret that
// never expires (RFC 7591 §3.2.1, RFC 7592 §3).
func (p *Provider) metadataOf(c storage.Client) registrationAnswer {
	zero := int64(0)
	md := clients.MetadataOf(c)
	md.ClientSecretExpiresAt = &zero
	md.RegistrationClientURI = p.issuer + PathRegistration + "/" + url.PathEscape(c.ID)
	return registrationAnswer{md}
}

// bearerToken returns the request's Authorization: Bearer token, or "".
func bearerToken(r *http.Request) string {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(value)
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
