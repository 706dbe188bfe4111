package oidc

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/storage"
)

// checkCustomer is the token endpoint's look at the customer behind a code
// or refresh token, before anything is issued: a disabled or deleted
// customer's grant is invalid_grant (RFC 6749 §5.2: the grant is "revoked"),
// and a refresh re-reads the roles the new tokens carry, so a role taken
// away is gone from the next token. A code's tokens carry the roles read
// when the code was issued, as its ID token does.
func (p *Provider) checkCustomer(r *http.Request, ar fosite.AccessRequester) error {
	ctx := r.Context()
	sess, ok := ar.GetSession().(*Session)
	if !ok || sess.Subject == "" {
		return nil
	}
	u, err := p.store.GetUser(ctx, sess.Subject)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fosite.ErrInvalidGrant.WithHint("The grant's customer no longer exists.")
	case err != nil:
		return fosite.ErrServerError.WithWrap(err).WithDebug("reading the grant's customer: " + err.Error())
	case u.Disabled:
		return fosite.ErrInvalidGrant.WithHint("The grant was revoked.")
	}
	if !ar.GetGrantTypes().ExactOne("refresh_token") || !ar.GetGrantedScopes().Has(RolesScope) {
		return nil
	}
	names, err := p.store.RoleNames(ctx, u.ID, ar.GetClient().GetID())
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(fmt.Sprintf("reading the customer's roles: %v", err))
	}
	sess.setRoles(names)
	return nil
}
