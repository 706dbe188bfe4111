package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/storage"
)

func testRevokeTokensOf(t *testing.T, s storage.Store) {
	ctx := context.Background()
	ca, aliceA := clientAndRequest(t, s, "a")
	_, aliceB := clientAndRequest(t, s, "b")
	bobA := newRequest(ca, "bob-a", "bob")
	for name, req := range map[string]*fosite.Request{"alice-a": aliceA, "alice-b": aliceB, "bob-a": bobA} {
		must(t, s.CreateAccessTokenSession(ctx, "at-"+name, req))
		must(t, s.CreateRefreshTokenSession(ctx, "rt-"+name, "at-"+name, req))
	}
	revoked := func(name string) {
		t.Helper()
		if _, err := s.GetAccessTokenSession(ctx, "at-"+name, newSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("access token %s: %v, want ErrNotFound", name, err)
		}
		got, err := s.GetRefreshTokenSession(ctx, "rt-"+name, newSession())
		if !errors.Is(err, fosite.ErrInactiveToken) || got == nil {
			t.Errorf("refresh token %s: %v, want the request with ErrInactiveToken", name, err)
		}
	}
	live := func(name string) {
		t.Helper()
		if _, err := s.GetAccessTokenSession(ctx, "at-"+name, newSession()); err != nil {
			t.Errorf("access token %s was revoked: %v", name, err)
		}
		if _, err := s.GetRefreshTokenSession(ctx, "rt-"+name, newSession()); err != nil {
			t.Errorf("refresh token %s was revoked: %v", name, err)
		}
	}

	must(t, s.RevokeTokensOf(ctx, "alice", "client-a"))
	revoked("alice-a")
	live("alice-b")
	live("bob-a")

	must(t, s.RevokeTokensOf(ctx, "alice", ""))
	revoked("alice-b")
	live("bob-a")
}

// testSealedRevocation checks the record of revoked sealed access tokens:
// seen at once by the store that wrote it (its cache included, even with
// a "not revoked" answer cached before), kept per id, idempotent, undone
// by a rolled-back transaction, and collected once expired; and that a
// deleted client's tokens count as revoked.
func testSealedRevocation(t *testing.T, s storage.Store) {
	ctx := context.Background()
	c, _ := clientAndRequest(t, s, "sealed")
	other, _ := clientAndRequest(t, s, "sealed-other")
	later := time.Now().Add(time.Hour)
	check := func(id, clientID string, want bool) {
		t.Helper()
		got, err := s.SealedAccessTokenRevoked(ctx, id, clientID)
		if err != nil || got != want {
			t.Fatalf("SealedAccessTokenRevoked(%s, %s) = %v, %v; want %v", id, clientID, got, err, want)
		}
	}
	check("one", c.ID, false) // cached as not revoked
	must(t, s.RevokeSealedAccessToken(ctx, "one", c.ID, later))
	check("one", c.ID, true)
	check("two", c.ID, false)
	must(t, s.RevokeSealedAccessToken(ctx, "one", c.ID, later))
	check("one", c.ID, true)

	txCtx, err := s.BeginTX(ctx)
	must(t, err)
	must(t, s.RevokeSealedAccessToken(txCtx, "three", c.ID, later))
	must(t, s.Rollback(txCtx))
	check("three", c.ID, false)

	must(t, s.RevokeSealedAccessToken(ctx, "gone", c.ID, time.Now().Add(-time.Minute)))
	res, err := s.Collect(ctx, time.Now())
	must(t, err)
	if res.Removed[storage.CollectTokens] < 1 {
		t.Errorf("collection removed %v, want the expired record among the tokens", res.Removed)
	}
	check("gone", c.ID, false)
	check("one", c.ID, true)

	check("four", other.ID, false) // cached as not revoked
	check("six", other.ID, false)
	must(t, s.RevokeSealedAccessToken(ctx, "six", other.ID, later))
	check("six", other.ID, true)
	check("two", c.ID, false)
	must(t, s.DeleteClient(ctx, other.ID))
	check("four", other.ID, true)
	check("two", c.ID, false)
	check("five", "no-such-client", true)
}
