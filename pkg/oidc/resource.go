package oidc

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ory/fosite"
)

// errInvalidTarget is RFC 8707 §2's error for a resource the server will
// not issue a token for.
func errInvalidTarget(hint string) *fosite.RFC6749Error {
	return &fosite.RFC6749Error{
		ErrorField:       "invalid_target",
		DescriptionField: "The requested resource is invalid, missing, unknown, or malformed.",
		HintField:        hint,
		CodeField:        http.StatusBadRequest,
	}
}

// resourceIndicators returns the resource parameters of an authorization
// or token request (RFC 8707 §2), each of which must be an absolute URI
// without a fragment and one of allowed (the client's audiences, or on a
// token request continuing a grant, the audiences granted with it);
// otherwise invalid_target. A token issued for them names them, and only
// them, in its aud.
func resourceIndicators(form url.Values, allowed []string) ([]string, error) {
	var out []string
	for _, v := range form["resource"] {
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || strings.Contains(v, "#") {
			return nil, errInvalidTarget("A resource must be an absolute URI without a fragment.")
		}
		if !slices.Contains(allowed, v) {
			return nil, errInvalidTarget("The resource is not an audience of this client.")
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// narrowToResources applies a token request's resource parameters: a
// client-credentials token is issued for the client's audiences it names;
// a token continuing a grant (a code, a refresh token) for those of the
// grant's audiences it names, or when the grant named none, of the
// client's (RFC 8707 §2.2).
func narrowToResources(form url.Values, ar fosite.AccessRequester) error {
	if !form.Has("resource") {
		return nil
	}
	allowed := ar.GetClient().GetAudience()
	machine := ar.GetGrantTypes().ExactOne("client_credentials")
	if !machine && len(ar.GetGrantedAudience()) > 0 {
		allowed = ar.GetGrantedAudience()
	}
	resources, err := resourceIndicators(form, allowed)
	if err != nil {
		return err
	}
	if machine {
		ar.SetRequestedAudience(append(slices.Clone(ar.GetRequestedAudience()), resources...))
		return nil
	}
	if req, ok := ar.(*fosite.AccessRequest); ok {
		req.GrantedAudience = resources
	}
	return nil
}
