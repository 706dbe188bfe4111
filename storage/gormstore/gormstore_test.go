package gormstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/conformance"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestSQLite(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Store {
		return openMigrated(t, gormstoretest.SQLiteURL(t))
	})
}

func TestPostgres(t *testing.T) {
	gormstoretest.PostgresURL(t) // skips when PostgreSQL is not configured
	conformance.RunTests(t, func(t *testing.T) storage.Store {
		return openMigrated(t, gormstoretest.PostgresURL(t))
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := openMigrated(t, db.URL)
		defer s.Close()
		applied, err := s.Migrate(context.Background())
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v != gormstore.LatestVersion() {
			t.Fatalf("version %d, %v", v, err)
		}
	})
}

// openMigrated opens a store on a database URL and migrates it.
func openMigrated(t testing.TB, url string) *gormstore.Store {
	t.Helper()
	// The caches are on, so that the suite holds them to their promise: what
	// is written through this store is read back at once.
	opts := gormstore.Options{ClientCacheTTL: time.Minute, TokenCacheTTL: time.Minute, SearchableAttributes: []string{conformance.SearchableAttribute}}
	if path, ok := strings.CutPrefix(url, "sqlite://"); ok {
		opts.Kind, opts.Path = gormstore.SQLite, path
	} else {
		opts.Kind, opts.DSN = gormstore.Postgres, url
	}
	s, err := gormstore.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGroupCommit writes many tokens at once through the group-commit
// writer, among them one without an expiry and one whose signature is
// taken: every other row is committed and reads back, the duplicate alone
// gets ErrAlreadyExists.
func TestGroupCommit(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := openMigrated(t, db.URL)
		defer s.Close()
		ctx := context.Background()
		c := storage.Client{ID: "batch", GrantTypes: []string{"client_credentials"}}
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		request := func(n int, expires bool) *fosite.Request {
			r := fosite.NewRequest()
			r.ID, r.Client, r.RequestedAt = "req-"+strconv.Itoa(n), &c, time.Now().UTC()
			r.GrantedScope = fosite.Arguments{"api"}
			sess := openid.NewDefaultSession()
			sess.Subject = "batch"
			if expires {
				sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Hour))
			}
			r.Session = sess
			return r
		}
		if err := s.CreateAccessTokenSession(ctx, "taken", request(-1, true)); err != nil {
			t.Fatal(err)
		}

		const writers = 64
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sig := "sig-" + strconv.Itoa(i)
				if i == 7 {
					sig = "taken"
				}
				errs[i] = s.CreateAccessTokenSession(ctx, sig, request(i, i != 3))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			switch {
			case i == 7 && !errors.Is(err, storage.ErrAlreadyExists):
				t.Errorf("duplicate signature: %v, want ErrAlreadyExists", err)
			case i != 7 && err != nil:
				t.Errorf("writer %d: %v", i, err)
			}
		}
		for _, i := range []int{0, 3, writers - 1} {
			got, err := s.GetAccessTokenSession(ctx, "sig-"+strconv.Itoa(i), openid.NewDefaultSession())
			if err != nil {
				t.Fatalf("token %d: %v", i, err)
			}
			if got.GetID() != "req-"+strconv.Itoa(i) || !got.GetGrantedScopes().Has("api") {
				t.Errorf("token %d read back as %s %v", i, got.GetID(), got.GetGrantedScopes())
			}
			if exp := got.GetSession().GetExpiresAt(fosite.AccessToken); (i == 3) != exp.IsZero() {
				t.Errorf("token %d expiry %v", i, exp)
			}
		}
	})
}
