package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

func testRegistrationTokenUses(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now()
	must(t, s.CreateRegistrationToken(ctx, storage.RegistrationToken{ID: "two", UsesLeft: 2, ExpiresAt: now.Add(time.Hour)}))
	must(t, s.CreateRegistrationToken(ctx, storage.RegistrationToken{ID: "many", UsesLeft: -1, ExpiresAt: now.Add(time.Hour)}))
	must(t, s.CreateRegistrationToken(ctx, storage.RegistrationToken{ID: "old", UsesLeft: 5, ExpiresAt: now.Add(-time.Minute)}))
	var wg sync.WaitGroup
	results := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = s.UseRegistrationToken(ctx, "two", now) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 2 {
		t.Errorf("%d registrations spent a two-use token, want 2", ok)
	}
	for range 3 {
		must(t, s.UseRegistrationToken(ctx, "many", now))
	}
	if err := s.UseRegistrationToken(ctx, "old", now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired token: %v", err)
	}
	live, err := s.ListRegistrationTokens(ctx, now)
	must(t, err)
	if len(live) != 1 || live[0].ID != "many" || live[0].UsesLeft != -1 {
		t.Errorf("live tokens = %+v", live)
	}
	must(t, s.DeleteRegistrationToken(ctx, "many"))
	if err := s.UseRegistrationToken(ctx, "many", now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted token: %v", err)
	}
}
