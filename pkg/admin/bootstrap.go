package admin

import (
	"slices"
	"strings"
)

// ClientGrants returns the grant types of an admin client: those given
// plus client_credentials, the grant an operator's script uses to get an
// admin token.
func ClientGrants(grants []string) []string {
	if !slices.Contains(grants, "client_credentials") {
		grants = append(slices.Clone(grants), "client_credentials")
	}
	return grants
}

// ClientScopes returns a space-separated scope list with Scope added.
func ClientScopes(scope string) string {
	fields := strings.Fields(scope)
	if !slices.Contains(fields, Scope) {
		fields = append(fields, Scope)
	}
	return strings.Join(fields, " ")
}
