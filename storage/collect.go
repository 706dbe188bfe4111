package storage

import (
	"context"
	"time"
)

// Kinds of expiring rows a collection removes, the keys of
// CollectResult.Removed.
const (
	CollectTokens             = "tokens"
	CollectClientAssertionIDs = "client_assertion_jtis"
	CollectSessions           = "browser_sessions"
	CollectAuthRequests       = "auth_requests"
	CollectFederationStates   = "federation_states"
	CollectPendingLinks       = "pending_links"
	CollectThrottleCounters   = "throttle_counters"
	CollectKnownDevices       = "known_devices"
	CollectEmailTokens        = "email_tokens"
	// CollectEmailChanges are pending email changes whose link expired.
	CollectEmailChanges = "email_changes"
	// CollectWebAuthnChallenges are passkey ceremonies never finished.
	CollectWebAuthnChallenges = "webauthn_challenges"
	// CollectMFADevices are browsers remembered for the second factor
	// whose time ran out.
	CollectMFADevices = "mfa_devices"
)

// CollectResult says what one garbage collection removed.
type CollectResult struct {
	// Removed counts the rows removed by kind (the Collect* constants);
	// a kind with nothing to remove may be absent.
	Removed map[string]int64
	// Skipped is true when another replica was collecting, so this one
	// removed nothing and left the work to it.
	Skipped bool
}

// Total returns how many rows were removed, of every kind.
func (r CollectResult) Total() int64 {
	var n int64
	for _, v := range r.Removed {
		n += v
	}
	return n
}

// Collector removes what has expired.
type Collector interface {
	// Collect removes, as of now, every expired row of every expiring kind
	// (tokens and codes, client assertion jtis, browser sessions,
	// authorization requests, federation states, pending links, throttling
	// counters, known devices, mailed tokens, pending email changes,
	// unfinished passkey ceremonies, browsers remembered for the second
	// factor), in bounded batches with a pause
	// between them, so that it never holds the database's writers for long. It returns what it removed, also
	// when it stops on an error. Replicas sharing a database collect one at
	// a time; the others return Skipped.
	Collect(ctx context.Context, now time.Time) (CollectResult, error)
}
