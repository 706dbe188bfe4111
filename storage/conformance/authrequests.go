package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

func sampleAuthRequest(id string, expiresIn time.Duration) storage.AuthRequest {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return storage.AuthRequest{
		ID:             id,
		ClientID:       "c1",
		Form:           "client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&state=xyz",
		RequestedAt:    now,
		BrowserBinding: "device-hash",
		ExpiresAt:      now.Add(expiresIn),
	}
}

func testAuthRequestRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	want := sampleAuthRequest("ar1", 10*time.Minute)
	want.RequestedAt = want.RequestedAt.In(time.FixedZone("UTC-7", -7*3600))
	must(t, s.CreateAuthRequest(ctx, want))
	got, err := s.GetAuthRequest(ctx, "ar1")
	must(t, err)
	if got.RequestedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.RequestedAt.Location(), got.ExpiresAt.Location())
	}
	if got.ID != want.ID || got.ClientID != want.ClientID || got.Form != want.Form || got.BrowserBinding != want.BrowserBinding ||
		got.SessionID != "" || !got.RequestedAt.Equal(want.RequestedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if err := s.CreateAuthRequest(ctx, want); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken id: %v, want ErrAlreadyExists", err)
	}
	must(t, s.DeleteAuthRequest(ctx, "ar1"))
	if _, err := s.GetAuthRequest(ctx, "ar1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAuthRequest(ctx, "ar1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

func testAuthRequestExpired(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateAuthRequest(ctx, sampleAuthRequest("old", -time.Second)))
	if _, err := s.GetAuthRequest(ctx, "old"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired request: %v, want ErrNotFound", err)
	}
	if err := s.SetAuthRequestSession(ctx, "old", "hash-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("signing in to an expired request: %v, want ErrNotFound", err)
	}
}

func testAuthRequestSession(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateAuthRequest(ctx, sampleAuthRequest("ar1", time.Minute)))
	must(t, s.CreateAuthRequest(ctx, sampleAuthRequest("ar2", time.Minute)))
	must(t, s.SetAuthRequestSession(ctx, "ar1", "hash-1"))
	got, err := s.GetAuthRequest(ctx, "ar1")
	must(t, err)
	if got.SessionID != "hash-1" {
		t.Errorf("SessionID = %q, want hash-1", got.SessionID)
	}
	if other, err := s.GetAuthRequest(ctx, "ar2"); err != nil || other.SessionID != "" {
		t.Errorf("another request got the session: %q, %v", other.SessionID, err)
	}
	if err := s.SetAuthRequestSession(ctx, "nope", "hash-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown request: %v, want ErrNotFound", err)
	}
}
