package gormstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// openUncached opens and migrates a PostgreSQL store without a client
// cache, so that every GetClient reads the database.
func openUncached(t *testing.T, dsn string) *gormstore.Store {
	t.Helper()
	s, err := gormstore.Open(context.Background(), gormstore.Options{Kind: gormstore.Postgres, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func outageClient() storage.Client {
	return storage.Client{ID: "outage-client", SecretHash: []byte{1, 2, 3}, Name: "Outage", GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: storage.AuthMethodClientSecretBasic}
}

func outageRequest(c *storage.Client, id string) *fosite.Request {
	r := fosite.NewRequest()
	r.ID = id
	r.Client = c
	r.RequestedAt = time.Now().UTC()
	sess := openid.NewDefaultSession()
	sess.Subject = c.ID
	sess.ExpiresAt = map[fosite.TokenType]time.Time{fosite.AccessToken: time.Now().Add(time.Hour)}
	r.Session = sess
	return r
}

// wantUnavailable fails unless err is marked storage.ErrUnavailable and
// is not read as "not found".
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("%s: %v, want storage.ErrUnavailable", what, err)
	}
	if errors.Is(err, storage.ErrNotFound) {
		t.Errorf("%s: %v reads as not found", what, err)
	}
}

func TestPostgresOutageIsMarkedAndRecovers(t *testing.T) {
	dsn, proxy := gormstoretest.PostgresProxyURL(t)
	s := openUncached(t, dsn)
	ctx := context.Background()
	c := outageClient()
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccessTokenSession(ctx, "sig-before", outageRequest(&c, "req-before")); err != nil {
		t.Fatal(err)
	}

	t.Run("an unknown client is not found, not unavailable", func(t *testing.T) {
		_, err := s.GetClient(ctx, "nobody")
		if !errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("GetClient(nobody) = %v, want only ErrNotFound", err)
		}
	})

	proxy.Down()
	t.Run("while the database is unreachable every kind of call is marked", func(t *testing.T) {
		// Twice: the first finds the pooled connections dead, the second
		// is refused a new one.
		for range 2 {
			_, err := s.GetClient(ctx, c.ID)
			wantUnavailable(t, "GetClient", err)
		}
		_, err := s.GetAccessTokenSession(ctx, "sig-before", openid.NewDefaultSession())
		wantUnavailable(t, "GetAccessTokenSession", err)
		// The group-commit writer.
		wantUnavailable(t, "CreateAccessTokenSession", s.CreateAccessTokenSession(ctx, "sig-during", outageRequest(&c, "req-during")))
		// A transaction.
		wantUnavailable(t, "RevokeAccessToken", s.RevokeAccessToken(ctx, "req-before"))
		wantUnavailable(t, "Ping", s.Ping(ctx))
		_, err = s.GetUser(ctx, "someone")
		wantUnavailable(t, "GetUser", err)
	})

	proxy.Up()
	t.Run("once the database is back the next calls succeed", func(t *testing.T) {
		if _, err := s.GetClient(ctx, c.ID); err != nil {
			t.Fatalf("GetClient after recovery: %v", err)
		}
		if err := s.CreateAccessTokenSession(ctx, "sig-after", outageRequest(&c, "req-after")); err != nil {
			t.Fatalf("CreateAccessTokenSession after recovery: %v", err)
		}
		if _, err := s.GetAccessTokenSession(ctx, "sig-before", openid.NewDefaultSession()); err != nil {
			t.Fatalf("GetAccessTokenSession after recovery: %v", err)
		}
	})
}

func TestSQLiteClosedStoreIsUnavailable(t *testing.T) {
	s := openMigrated(t, gormstoretest.SQLiteURL(t))
	ctx := context.Background()
	c := outageClient()
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.LookupClient(ctx, c.ID)
	wantUnavailable(t, "LookupClient", err)
	_, err = s.GetAccessTokenSession(ctx, "sig", openid.NewDefaultSession())
	wantUnavailable(t, "GetAccessTokenSession", err)
	wantUnavailable(t, "CreateAccessTokenSession", s.CreateAccessTokenSession(ctx, "sig", outageRequest(&c, "req")))
	wantUnavailable(t, "RevokeAccessToken", s.RevokeAccessToken(ctx, "req"))
	wantUnavailable(t, "Ping", s.Ping(ctx))
}
