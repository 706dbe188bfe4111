package oidc

import (
	"encoding/json"
	"fmt"

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

// supportedClaims lists every claim this server can return, for discovery.
func supportedClaims() []string {
	out := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "c_hash"}
	for _, scope := range []string{"profile", "email", "address", "phone"} {
		out = append(out, scopeClaims[scope]...)
	}
	return append(out, rolesClaim)
}

// userClaims returns the claims of the customer that the granted scopes and
// the explicitly requested claims allow, leaving out those with no value.
func userClaims(u storage.User, scopes []string, requested map[string]*ClaimRequest) map[string]any {
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
	return out
}
