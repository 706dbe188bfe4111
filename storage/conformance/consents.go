package conformance

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

func testConsentMerge(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.GetConsent(ctx, "u1", "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("no consent yet: %v, want ErrNotFound", err)
	}
	must(t, s.GrantConsent(ctx, "u1", "c1", []string{"openid", "profile"}))
	first, err := s.GetConsent(ctx, "u1", "c1")
	must(t, err)
	if first.UserID != "u1" || first.ClientID != "c1" || !reflect.DeepEqual(first.Scopes, []string{"openid", "profile"}) {
		t.Errorf("first grant = %+v", first)
	}
	if first.CreatedAt.Location() != time.UTC || first.UpdatedAt.Location() != time.UTC || first.CreatedAt.IsZero() {
		t.Errorf("times = %v, %v; want set, in UTC", first.CreatedAt, first.UpdatedAt)
	}

	must(t, s.GrantConsent(ctx, "u1", "c1", []string{"profile", "email", "email", "offline_access"}))
	got, err := s.GetConsent(ctx, "u1", "c1")
	must(t, err)
	if want := []string{"openid", "profile", "email", "offline_access"}; !reflect.DeepEqual(got.Scopes, want) {
		t.Errorf("merged scopes = %v, want %v", got.Scopes, want)
	}
	if !got.CreatedAt.Equal(first.CreatedAt) || got.UpdatedAt.Before(first.UpdatedAt) {
		t.Errorf("CreatedAt %v UpdatedAt %v after a second grant; first %v %v", got.CreatedAt, got.UpdatedAt, first.CreatedAt, first.UpdatedAt)
	}

	// Another client's and another customer's consents are apart.
	must(t, s.GrantConsent(ctx, "u1", "c2", []string{"api:read"}))
	must(t, s.GrantConsent(ctx, "u2", "c1", []string{"email"}))
	if got, err := s.GetConsent(ctx, "u1", "c1"); err != nil || len(got.Scopes) != 4 {
		t.Errorf("u1/c1 = %v, %v after grants to others", got.Scopes, err)
	}
	if got, err := s.GetConsent(ctx, "u2", "c1"); err != nil || !reflect.DeepEqual(got.Scopes, []string{"email"}) {
		t.Errorf("u2/c1 = %v, %v", got.Scopes, err)
	}
}

func testConsentConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const n = 16
	// Twice: once racing to create the consent, once to extend it.
	for round := range 2 {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.GrantConsent(ctx, "u1", "c1", []string{"shared", fmt.Sprintf("scope-%d-%d", round, i)})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d grant %d: %v", round, i, err)
			}
		}
	}
	got, err := s.GetConsent(ctx, "u1", "c1")
	must(t, err)
	if len(got.Scopes) != 2*n+1 {
		t.Errorf("%d scopes stored, want %d: %v", len(got.Scopes), 2*n+1, got.Scopes)
	}
	for round := range 2 {
		for i := range n {
			if sc := fmt.Sprintf("scope-%d-%d", round, i); !slices.Contains(got.Scopes, sc) {
				t.Errorf("scope %s was lost", sc)
			}
		}
	}
}
