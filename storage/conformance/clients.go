package conformance

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/storage"
)

func sampleClient(id string) storage.Client {
	return storage.Client{
		ID:                      id,
		SecretHash:              []byte{1, 2, 3, 4},
		Name:                    "Sample " + id,
		RedirectURIs:            []string{"https://app.example/cb", "https://app.example/cb2"},
		PostLogoutRedirectURIs:  []string{"https://app.example/bye"},
		GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
		ResponseTypes:           []string{"code"},
		Scopes:                  []string{"openid", "offline_access", "profile", "api:read"},
		Audience:                []string{"https://api.example"},
		TokenEndpointAuthMethod: storage.AuthMethodClientSecretPost,
		SkipConsent:             true,
		LogoURI:                 "https://app.example/logo.png",
		BackchannelLogoutURI:    "https://app.example/backchannel",
		AllowedCORSOrigins:      []string{"https://spa.example"},
		Admin:                   true,
	}
}

func mustCreateClient(t *testing.T, s storage.Store, id string) storage.Client {
	t.Helper()
	c := sampleClient(id)
	if err := s.CreateClient(context.Background(), c); err != nil {
		t.Fatalf("CreateClient(%s): %v", id, err)
	}
	return c
}

func testClientRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	want := sampleClient("c1")
	// A creation time in another zone must come back as the same instant in UTC.
	loc := time.FixedZone("UTC+5", 5*3600)
	want.CreatedAt = time.Date(2026, 3, 4, 10, 11, 12, 123456000, loc)
	if err := s.CreateClient(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.LookupClient(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.CreatedAt.Location(), got.UpdatedAt.Location())
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt, got.UpdatedAt, want.CreatedAt = time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	fc, err := s.GetClient(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if fc.GetID() != "c1" || !reflect.DeepEqual([]string(fc.GetScopes()), want.Scopes) {
		t.Errorf("GetClient = %+v", fc)
	}
	if oc, ok := fc.(fosite.OpenIDConnectClient); !ok || oc.GetTokenEndpointAuthMethod() != storage.AuthMethodClientSecretPost {
		t.Errorf("GetClient does not carry the auth method")
	}
}

func testClientDuplicate(t *testing.T, s storage.Store) {
	mustCreateClient(t, s, "dup")
	err := s.CreateClient(context.Background(), sampleClient("dup"))
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("second create: got %v, want ErrAlreadyExists", err)
	}
}

func testClientNotFound(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.LookupClient(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("LookupClient: %v", err)
	}
	if _, err := s.CachedClient(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("CachedClient: %v", err)
	}
	if _, err := s.GetClient(ctx, "nope"); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetClient: %v", err)
	}
	if err := s.DeleteClient(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("DeleteClient: %v", err)
	}
	err := s.UpdateClient(ctx, "nope", func(c storage.Client) (storage.Client, error) { return c, nil })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateClient: %v", err)
	}
}

func testClientList(t *testing.T, s storage.Store) {
	for i := range 5 {
		mustCreateClient(t, s, fmt.Sprintf("c%d", i))
	}
	ctx := context.Background()
	first, err := s.ListClients(ctx, storage.Page{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.ListClients(ctx, storage.Page{After: first[len(first)-1].ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range append(first, second...) {
		ids = append(ids, c.ID)
	}
	if want := []string{"c0", "c1", "c2", "c3", "c4"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

func testClientUpdate(t *testing.T, s storage.Store) {
	mustCreateClient(t, s, "u")
	ctx := context.Background()
	if _, err := s.GetClient(ctx, "u"); err != nil { // warm any cache
		t.Fatal(err)
	}
	err := s.UpdateClient(ctx, "u", func(c storage.Client) (storage.Client, error) {
		c.Name = "Renamed"
		c.Scopes = append(c.Scopes, "api:write")
		c.ID = "must-not-change"
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LookupClient(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Renamed" || got.Scopes[len(got.Scopes)-1] != "api:write" {
		t.Errorf("update not applied: %+v", got)
	}
	fc, err := s.GetClient(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if fc.GetScopes()[len(fc.GetScopes())-1] != "api:write" {
		t.Errorf("GetClient still serves the old client after an update through the same store")
	}
	cached, err := s.CachedClient(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, got) {
		t.Errorf("CachedClient after an update through the same store: %+v, LookupClient: %+v", cached, got)
	}
	if err := s.DeleteClient(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CachedClient(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("CachedClient after the client was deleted through the same store: %v, want ErrNotFound", err)
	}
}

// testClientChangeInTransaction changes and then deletes a client inside a
// transaction while a read outside it, before the commit, still sees the
// old row: after the commit the cached read must show the change, not the
// old row that read would have cached.
func testClientChangeInTransaction(t *testing.T, s storage.Store) {
	mustCreateClient(t, s, "t")
	ctx := context.Background()
	if _, err := s.CachedClient(ctx, "t"); err != nil { // warm any cache
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(tx context.Context) error {
		if err := s.UpdateClient(tx, "t", func(c storage.Client) (storage.Client, error) {
			c.Name = "Renamed in a transaction"
			return c, nil
		}); err != nil {
			return err
		}
		inside, err := s.CachedClient(tx, "t")
		if err != nil {
			return err
		}
		if inside.Name != "Renamed in a transaction" {
			t.Errorf("CachedClient inside the transaction: %q, want its own change", inside.Name)
		}
		before, err := s.CachedClient(ctx, "t") // outside: the committed row
		if err != nil {
			return err
		}
		if before.Name == "Renamed in a transaction" {
			t.Errorf("a read outside the transaction saw its change before the commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.CachedClient(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Renamed in a transaction" {
		t.Errorf("CachedClient after the commit: %q, want the committed change", got.Name)
	}

	err = s.InTx(ctx, func(tx context.Context) error {
		if err := s.DeleteClient(tx, "t"); err != nil {
			return err
		}
		_, err := s.CachedClient(ctx, "t") // outside: still there
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CachedClient(ctx, "t"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("CachedClient after a deletion committed: %v, want ErrNotFound", err)
	}
}

func testClientUpdateAbort(t *testing.T, s storage.Store) {
	mustCreateClient(t, s, "a")
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.UpdateClient(ctx, "a", func(c storage.Client) (storage.Client, error) {
		c.Name = "half"
		return c, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the function's error", err)
	}
	got, _ := s.LookupClient(ctx, "a")
	if got.Name != "Sample a" {
		t.Errorf("name = %q after a failed update", got.Name)
	}
}

func testClientDelete(t *testing.T, s storage.Store) {
	c := mustCreateClient(t, s, "d")
	ctx := context.Background()
	req := newRequest(&c, "req-d", "alice")
	if err := s.CreateAccessTokenSession(ctx, "at-d", req); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupClient(ctx, "d"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("client still there: %v", err)
	}
	if _, err := s.GetClient(ctx, "d"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetClient still serves a deleted client: %v", err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at-d", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("token of a deleted client still there: %v", err)
	}
}
