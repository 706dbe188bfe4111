// Package backchannel tells clients that a customer's browser session
// ended, by OpenID Connect Back-Channel Logout 1.0: a job per client that
// registered a backchannel_logout_uri, written in the transaction that ends
// the session (see pkg/accounts), and delivered by the job runner (pkg/jobs)
// with a logout token signed at delivery time.
package backchannel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// JobKind is the storage.Job kind of a logout delivery.
const JobKind = "backchannel_logout"

// ClientLookup reads a client.
type ClientLookup interface {
	LookupClient(ctx context.Context, id string) (storage.Client, error)
}

// Jobs returns a delivery job for every client of an ended session that
// registered a backchannel_logout_uri, with the subject the client knows
// (pairwise or public) and the session's sid (§2.4). The token is signed
// when the job runs; the job keeps who and what.
func Jobs(ctx context.Context, lookup ClientLookup, secrets *secret.Keys, bs storage.BrowserSession, clientIDs []string) ([]storage.Job, error) {
	var out []storage.Job
	for _, id := range clientIDs {
		c, err := lookup.LookupClient(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("back-channel logout: client %s: %w", id, err)
		}
		if c.BackchannelLogoutURI == "" {
			continue
		}
		sub := bs.UserID
		if c.SubjectType == "pairwise" {
			sub = secrets.PairwiseSubject(clients.Sector(c), bs.UserID)
		}
		payload := url.Values{"client_id": {c.ID}, "sub": {sub}, "sid": {bs.SID}}.Encode()
		out = append(out, jobs.NewJob(JobKind, "", []byte(payload)))
	}
	return out, nil
}

// Signer signs a logout token for a client (§2.4).
type Signer interface {
	SignLogoutToken(ctx context.Context, clientID, sub, sid string) (string, error)
}

// Deliverer posts logout tokens.
type Deliverer struct {
	Clients  ClientLookup
	Signer   Signer
	Outbound *outbound.Client
}

// Kind is the job kind that delivers logout tokens: retried for a day,
// from 5 seconds apart to 6 hours apart.
func (d *Deliverer) Kind() jobs.Kind {
	return jobs.Kind{
		Name:   JobKind,
		Handle: d.deliver,
		Retry:  jobs.Retry{Base: 5 * time.Second, Max: 6 * time.Hour, Horizon: 24 * time.Hour},
	}
}

// deliver signs a logout token and POSTs it (§2.5) to the client's
// current backchannel_logout_uri through the outbound client: https, a
// public address (or one the policy admits), no redirect. A client gone or
// without the URI now is done; an address the policy refuses is a
// permanent failure.
func (d *Deliverer) deliver(ctx context.Context, job storage.Job) error {
	who, err := url.ParseQuery(string(job.Payload))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("stored delivery: %w", err))
	}
	c, err := d.Clients.LookupClient(ctx, who.Get("client_id"))
	if errors.Is(err, storage.ErrNotFound) || err == nil && c.BackchannelLogoutURI == "" {
		return nil
	}
	if err != nil {
		return err
	}
	token, err := d.Signer.SignLogoutToken(ctx, c.ID, who.Get("sub"), who.Get("sid"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return jobs.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.Outbound.Do(req)
	if errors.Is(err, outbound.ErrRefused) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	resp.Body.Close()
	// §2.8: 200 on success; 204 is accepted too, as many receivers send it.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("client %s answered %d", c.ID, resp.StatusCode)
	}
	return nil
}
