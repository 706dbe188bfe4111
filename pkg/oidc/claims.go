package oidc

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/storage"
)

// ClaimRequest is one member of the claims parameter (OpenID Connect Core
// §5.5.1); null in the request means no constraints.
type ClaimRequest struct {
	Essential bool  `json:"essential,omitempty"`
	Value     any   `json:"value,omitempty"`
	Values    []any `json:"values,omitempty"`
}

// claimsParameter is the claims request parameter.
type claimsParameter struct {
	UserInfo map[string]*ClaimRequest `json:"userinfo"`
	IDToken  map[string]*ClaimRequest `json:"id_token"`
}

// parseClaimsParameter parses the claims parameter; an empty one is no
// request at all.
func parseClaimsParameter(raw string) (claimsParameter, error) {
	var c claimsParameter
	if raw == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return c, fmt.Errorf("the claims parameter is not a JSON object: %w", err)
	}
	return c, nil
}

// scopeClaims maps each standard scope to the claims it stands for (OpenID
// Connect Core §5.4).
var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// supportedClaims lists every claim this server can return, for
// discovery: the standard ones and the declared attributes released under
// a scope.
func supportedClaims(attrs *attributes.Set) []string {
	out := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "c_hash"}
	for _, scope := range []string{"profile", "email", "address", "phone"} {
		out = append(out, scopeClaims[scope]...)
	}
	return append(append(out, rolesClaim), attrs.Claims()...)
}

// userClaims returns the claims of the customer that the scopes and the
// explicitly requested claims allow, leaving out those with no value.
// scopes are those whose claims this token carries; granted are all the
// grant's scopes. A declared attribute is released under its scope
// (attributeClaims).
func userClaims(u storage.User, scopes, granted []string, requested map[string]*ClaimRequest, attrs *attributes.Set) map[string]any {
	all := map[string]any{}
	set := func(name string, v any, present bool) {
		if present {
			all[name] = v
		}
	}
	set("name", u.Name, u.Name != "")
	set("given_name", u.GivenName, u.GivenName != "")
	set("family_name", u.FamilyName, u.FamilyName != "")
	set("picture", u.Picture, u.Picture != "")
	set("locale", u.Locale, u.Locale != "")
	set("updated_at", u.UpdatedAt.Unix(), !u.UpdatedAt.IsZero())
	set("email", u.Email, u.Email != "")
	set("email_verified", u.EmailVerified, u.Email != "")
	set("phone_number", u.PhoneNumber, u.PhoneNumber != "")
	set("phone_number_verified", u.PhoneNumberVerified, u.PhoneNumber != "")
	set("address", u.Address, !u.Address.IsZero())

	out := map[string]any{}
	for _, scope := range scopes {
		for _, name := range scopeClaims[scope] {
			if v, ok := all[name]; ok {
				out[name] = v
			}
		}
	}
	// A claim asked for by name is returned even without its scope (§5.5),
	// but only claims of the openid-scoped grant: the caller checks openid.
	for name := range requested {
		if v, ok := all[name]; ok {
			out[name] = v
		}
	}
	for name, claim := range attributeClaims(u, attrs, scopes, granted, requested) {
		out[name] = claim
	}
	return out
}

// attributeClaims returns the customer's attributes that are released to
// this token: those whose scope is among scopes (where the standard
// scopes' claims go, OpenID Connect Core §5.4), and those asked for by
// name (§5.5) whose scope is among the granted ones. Unlike a standard
// claim, an attribute asked for by name without its scope granted is not
// released: its scope is what the customer consented to.
func attributeClaims(u storage.User, attrs *attributes.Set, scopes, granted []string, requested map[string]*ClaimRequest) map[string]any {
	out := map[string]any{}
	for _, d := range attrs.All() {
		v, has := u.Attributes[d.Name]
		if !has || d.Scope == "" {
			continue
		}
		_, asked := requested[d.Name]
		if slices.Contains(scopes, d.Scope) || (asked && slices.Contains(granted, d.Scope)) {
			out[d.Name] = d.Claim(v)
		}
	}
	return out
}
