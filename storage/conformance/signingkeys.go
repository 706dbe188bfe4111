package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
)

func sampleKey(id, alg string) storage.SigningKey {
	return storage.SigningKey{
		ID:               id,
		Algorithm:        alg,
		SealedPrivateKey: []byte("sealed-" + id),
		PublicJWK:        []byte(`{"kty":"EC","kid":"` + id + `"}`),
	}
}

func keysByID(t *testing.T, s storage.Store) map[string]storage.SigningKey {
	t.Helper()
	keys, err := s.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]storage.SigningKey{}
	for _, k := range keys {
		m[k.ID] = k
	}
	return m
}

func testKeyActivate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, k := range []storage.SigningKey{sampleKey("rsa1", "RS256"), sampleKey("ec1", "ES256"), sampleKey("rsa2", "RS256")} {
		if err := s.ActivateSigningKey(ctx, k, false); err != nil {
			t.Fatal(err)
		}
	}
	m := keysByID(t, s)
	if m["rsa1"].State != storage.KeyPublished || m["rsa1"].DeactivatedAt.IsZero() {
		t.Errorf("rsa1 = %+v, want published with a deactivation time", m["rsa1"])
	}
	if m["rsa2"].State != storage.KeyActive || m["ec1"].State != storage.KeyActive {
		t.Errorf("rsa2 %s, ec1 %s: want both active", m["rsa2"].State, m["ec1"].State)
	}
	if string(m["rsa2"].SealedPrivateKey) != "sealed-rsa2" || string(m["rsa2"].PublicJWK) != `{"kty":"EC","kid":"rsa2"}` {
		t.Errorf("key material not kept: %+v", m["rsa2"])
	}
	if m["rsa2"].CreatedAt.IsZero() || m["rsa2"].CreatedAt.Location().String() != "UTC" {
		t.Errorf("CreatedAt = %v", m["rsa2"].CreatedAt)
	}
}

func testKeyOnlyIfNone(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if err := s.ActivateSigningKey(ctx, sampleKey("k1", "RS256"), true); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSigningKey(ctx, sampleKey("k2", "RS256"), true); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("got %v, want ErrAlreadyExists", err)
	}
	if _, ok := keysByID(t, s)["k2"]; ok {
		t.Error("refused key was stored")
	}
}

func testKeyConcurrentActivate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.ActivateSigningKey(ctx, sampleKey(fmt.Sprintf("k%d", i), "ES256"), true)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, storage.ErrAlreadyExists):
			t.Errorf("unexpected error: %v", err)
		}
	}
	active := 0
	for _, k := range keysByID(t, s) {
		if k.State == storage.KeyActive {
			active++
		}
	}
	if ok != 1 || active != 1 {
		t.Errorf("%d activations succeeded and %d keys are active; want 1 and 1", ok, active)
	}
}

func testKeyRetire(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_ = s.ActivateSigningKey(ctx, sampleKey("old", "RS256"), false)
	_ = s.ActivateSigningKey(ctx, sampleKey("new", "RS256"), false)
	if err := s.RetireSigningKey(ctx, "new"); !errors.Is(err, storage.ErrKeyInUse) {
		t.Errorf("retiring the active key: %v, want ErrKeyInUse", err)
	}
	if err := s.RetireSigningKey(ctx, "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("retiring an unknown key: %v, want ErrNotFound", err)
	}
	if err := s.RetireSigningKey(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	old := keysByID(t, s)["old"]
	if old.State != storage.KeyRetired || len(old.SealedPrivateKey) != 0 || old.RetiredAt.IsZero() {
		t.Errorf("retired key = %+v", old)
	}
}
