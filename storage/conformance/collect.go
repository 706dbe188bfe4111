package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/storage"
)

// collectExpiredTokens is how many expired tokens testCollect stores: more
// than one batch of any sensible size, so that the pass has to go on after
// its first statement.
const collectExpiredTokens = 1105

func testCollect(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now()

	_, req := clientAndRequest(t, s, "collect")
	client := req.Client.(*storage.Client)
	must(t, s.CreateAccessTokenSession(ctx, "at-live", req))
	var wg sync.WaitGroup
	errs := make(chan error, collectExpiredTokens)
	sem := make(chan struct{}, 50)
	for i := range collectExpiredTokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			old := newRequest(client, fmt.Sprintf("collect-old-%d", i), "bob")
			old.Session.SetExpiresAt(fosite.AccessToken, now.Add(-time.Minute))
			if err := s.CreateAccessTokenSession(ctx, fmt.Sprintf("at-old-%d", i), old); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	must(t, s.SetClientAssertionJWT(ctx, "jti-old", now.Add(-time.Second)))
	must(t, s.SetClientAssertionJWT(ctx, "jti-live", now.Add(time.Hour)))

	must(t, s.CreateSession(ctx, sampleSession("dead", now.Add(-48*time.Hour))))
	must(t, s.CreateSession(ctx, sampleSession("live", now)))
	must(t, s.AddSessionClient(ctx, "dead", "client-a"))
	must(t, s.AddSessionClient(ctx, "live", "client-b"))
	must(t, s.CreateAuthRequest(ctx, sampleAuthRequest("ar-dead", -time.Minute)))
	must(t, s.CreateAuthRequest(ctx, sampleAuthRequest("ar-live", time.Hour)))
	must(t, s.CreateFederationState(ctx, sampleFederationState("fs-old", -time.Minute)))
	must(t, s.CreateFederationState(ctx, sampleFederationState("fs-live", time.Minute)))
	must(t, s.CreatePendingLink(ctx, samplePendingLink("pl-old", -time.Minute)))
	must(t, s.CreatePendingLink(ctx, samplePendingLink("pl-live", time.Minute)))
	_, err := s.AddCounters(ctx, now.Add(-time.Hour), []storage.CounterAdd{{ID: "ctr-ended", Window: time.Minute}, {ID: "ctr-live", Window: 2 * time.Hour}})
	must(t, err)
	must(t, s.RememberDevice(ctx, "acct", "dev-old", now.Add(-time.Hour)))
	must(t, s.RememberDevice(ctx, "acct", "dev-live", now.Add(time.Hour)))
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "wa-old", Device: "d", Kind: "login", Data: []byte("{}"), ExpiresAt: now.Add(-time.Minute)}))
	must(t, s.PutMFADevice(ctx, storage.MFADevice{ID: "md-old", UserID: "u", VerifiedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}))
	must(t, s.PutMFADevice(ctx, storage.MFADevice{ID: "md-live", UserID: "u", VerifiedAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "wa-live", Device: "d", Kind: "login", Data: []byte("{}"), ExpiresAt: now.Add(time.Minute)}))

	res, err := s.Collect(ctx, now)
	must(t, err)
	want := map[string]int64{
		storage.CollectTokens:             collectExpiredTokens,
		storage.CollectClientAssertionIDs: 1,
		storage.CollectSessions:           1,
		storage.CollectAuthRequests:       1,
		storage.CollectFederationStates:   1,
		storage.CollectPendingLinks:       1,
		storage.CollectThrottleCounters:   1,
		storage.CollectKnownDevices:       1,
		storage.CollectWebAuthnChallenges: 1,
		storage.CollectMFADevices:         1,
	}
	for kind, n := range want {
		if res.Removed[kind] != n {
			t.Errorf("removed %d %s, want %d", res.Removed[kind], kind, n)
		}
	}
	if res.Skipped || res.Total() != collectExpiredTokens+9 {
		t.Errorf("result %+v, total %d", res, res.Total())
	}

	// Every live row is kept.
	if _, err := s.GetAccessTokenSession(ctx, "at-live", newSession()); err != nil {
		t.Errorf("live token collected: %v", err)
	}
	if err := s.ClientAssertionJWTValid(ctx, "jti-live"); !errors.Is(err, fosite.ErrJTIKnown) {
		t.Errorf("live jti collected: %v", err)
	}
	if _, clients, err := s.DeleteSession(ctx, "live"); err != nil || len(clients) != 1 {
		t.Errorf("live session: %v, %v; want it with its client", clients, err)
	}
	// The expired session's clients went with it.
	must(t, s.CreateSession(ctx, sampleSession("dead", now)))
	if _, clients, err := s.DeleteSession(ctx, "dead"); err != nil || len(clients) != 0 {
		t.Errorf("clients of the collected session survived: %v, %v", clients, err)
	}
	if _, err := s.GetAuthRequest(ctx, "ar-live"); err != nil {
		t.Errorf("live auth request collected: %v", err)
	}
	if _, err := s.TakeFederationState(ctx, "fs-live"); err != nil {
		t.Errorf("live federation state collected: %v", err)
	}
	if _, err := s.GetPendingLink(ctx, "pl-live"); err != nil {
		t.Errorf("live pending link collected: %v", err)
	}
	if got, err := s.GetCounters(ctx, now, []string{"ctr-live"}); err != nil || len(got) != 1 {
		t.Errorf("live counter: %v, %v", got, err)
	}
	if ok, err := s.IsKnownDevice(ctx, "acct", "dev-live", now); err != nil || !ok {
		t.Errorf("live device: %v, %v", ok, err)
	}
	if _, err := s.TakeWebAuthnChallenge(ctx, "wa-live", now); err != nil {
		t.Errorf("live passkey ceremony collected: %v", err)
	}
	if _, err := s.GetMFADevice(ctx, "u", "md-live", now); err != nil {
		t.Errorf("live remembered device collected: %v", err)
	}

	// A second pass finds nothing.
	res, err = s.Collect(ctx, now)
	must(t, err)
	if res.Total() != 0 {
		t.Errorf("second pass removed %v", res.Removed)
	}
}
