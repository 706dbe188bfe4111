package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/storage"
)

func testDeleteExpiredSessionsAndAuthRequests(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now()

	_, req := clientAndRequest(t, s, "gc")
	old := newRequest(req.Client.(*storage.Client), "gc-old", "bob")
	old.Session.SetExpiresAt(fosite.AccessToken, now.Add(-time.Minute))
	must(t, s.CreateAccessTokenSession(ctx, "at-old", old))
	must(t, s.CreateAccessTokenSession(ctx, "at-live", req))

	dead := sampleSession("dead", now.Add(-48*time.Hour)) // expired a day ago
	live := sampleSession("live", now)
	must(t, s.CreateSession(ctx, dead))
	must(t, s.CreateSession(ctx, live))
	must(t, s.AddSessionClient(ctx, "dead", "client-a"))
	must(t, s.AddSessionClient(ctx, "live", "client-b"))

	must(t, s.CreateAuthRequest(ctx, sampleAuthRequest("ar-dead", -time.Minute)))
	must(t, s.CreateAuthRequest(ctx, sampleAuthRequest("ar-live", time.Hour)))

	n, err := s.DeleteExpiredTokens(ctx, now)
	must(t, err)
	if n != 1 {
		t.Errorf("DeleteExpiredTokens counted %d rows, want the 1 token", n)
	}

	if _, err := s.GetSession(ctx, "dead"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired session: %v, want ErrNotFound", err)
	}
	// The expired session's clients went with it: a session created again
	// under the same ID starts with none.
	must(t, s.CreateSession(ctx, sampleSession("dead", now)))
	if _, clients, err := s.DeleteSession(ctx, "dead"); err != nil || len(clients) != 0 {
		t.Errorf("clients of the collected session survived: %v, %v", clients, err)
	}
	if _, clients, err := s.DeleteSession(ctx, "live"); err != nil || len(clients) != 1 || clients[0] != "client-b" {
		t.Errorf("live session: %v, %v; want it with [client-b]", clients, err)
	}

	if err := s.DeleteAuthRequest(ctx, "ar-dead"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired auth request still stored: %v", err)
	}
	if _, err := s.GetAuthRequest(ctx, "ar-live"); err != nil {
		t.Errorf("live auth request collected: %v", err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at-live", newSession()); err != nil {
		t.Errorf("live token collected: %v", err)
	}
}
