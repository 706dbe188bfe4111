package conformance

import (
	"context"
	"errors"
	"testing"

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
