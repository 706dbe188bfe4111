package oidc

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
)

// maxLoggedClientID bounds the client_id a failed authentication logs and
// counts: it is whatever the caller sent.
const maxLoggedClientID = 128

// throttleClientFailure logs a failed client authentication and counts it
// against the client_id the request names. When that client is over its
// failure budget it answers 429 itself and returns true; otherwise the
// caller answers 401 invalid_client as usual.
//
// Only failures are counted, after the credentials were checked: a request
// with valid credentials is never refused, so knowing a public client_id
// does not let anyone lock its app out.
func (p *Provider) throttleClientFailure(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	id := requestedClientID(r)
	p.log.WarnContext(ctx, "client authentication failed", "ip", clientip.String(ctx), "client_id", id, "endpoint", r.URL.Path)
	if id == "" {
		return false
	}
	d, err := p.throttle.Take(ctx, ratelimit.Key{Kind: ratelimit.ClientAuth, Subject: id})
	if err != nil {
		p.log.ErrorContext(ctx, "throttling client authentication", "error", err.Error())
		return false
	}
	if d.Allowed {
		return false
	}
	writeThrottled(w, d.RetryAfter, "Too many failed client authentications for this client; try again later.")
	return true
}

// allowRegistration counts a request to the registration endpoint against
// the client's address, and answers 429 itself when the address is over
// its budget.
func (p *Provider) allowRegistration(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	ip := clientip.String(ctx)
	if ip == "" {
		return true
	}
	d, err := p.throttle.Take(ctx, ratelimit.Key{Kind: ratelimit.Registration, Subject: ip})
	if err != nil {
		p.log.ErrorContext(ctx, "throttling registration", "error", err.Error())
		return true
	}
	if d.Allowed {
		return true
	}
	p.log.DebugContext(ctx, "registration throttled", "ip", ip)
	writeThrottled(w, d.RetryAfter, "Too many registrations from this address; try again later.")
	return false
}

// writeThrottled answers 429 Too Many Requests with Retry-After in whole
// seconds (RFC 6585 §4, RFC 9110 §10.2.3) and the error code
// temporarily_unavailable (RFC 6749 §4.1.2.1, registered in §11.4): the
// server refuses for now, not the request for good.
func writeThrottled(w http.ResponseWriter, wait time.Duration, description string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
	writeError(w, http.StatusTooManyRequests, "temporarily_unavailable", description)
}

// requestedClientID returns the client_id a request authenticates as: the
// Basic user name (form-decoded, RFC 6749 §2.3.1) or the client_id
// parameter; "" for none (a bare client assertion).
func requestedClientID(r *http.Request) string {
	id := r.PostForm.Get("client_id")
	if user, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(user); err == nil {
			id = u
		} else {
			id = user
		}
	}
	if len(id) > maxLoggedClientID {
		id = id[:maxLoggedClientID]
	}
	return id
}
