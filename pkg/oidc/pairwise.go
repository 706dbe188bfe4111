package oidc

import (
	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// subjectFor is the sub a client sees for a customer: the customer's id, or
// for a client registered with subject_type pairwise, an identifier of its
// own sector (OpenID Connect Core §8.1) that other sectors cannot match.
func (p *Provider) subjectFor(c fosite.Client, userID string) string {
	return subjectOf(p.secrets, c, userID)
}

// subjectOf is subjectFor with the system secret's keys given.
func subjectOf(secrets *secret.Keys, c fosite.Client, userID string) string {
	sc, ok := c.(*storage.Client)
	if !ok || sc == nil || sc.SubjectType != "pairwise" {
		return userID
	}
	return secrets.PairwiseSubject(clients.Sector(*sc), userID)
}

// clientOrNil turns a possibly nil *storage.Client into a fosite.Client
// that is nil when it is.
func clientOrNil(c *storage.Client) fosite.Client {
	if c == nil {
		return nil
	}
	return c
}
