package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/ory/fosite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// openRaw opens a connection of the test's own to a server's database.
func openRaw(t *testing.T, databaseURL string) *gorm.DB { return openRawB(t, databaseURL) }

func openRawB(t testing.TB, databaseURL string) *gorm.DB {
	t.Helper()
	var dial gorm.Dialector
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		dial = sqlite.Open("file:" + path + "?_pragma=busy_timeout(10000)")
	} else {
		dial = postgres.Open(databaseURL)
	}
	db, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

func readyz(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReadyzFailsWhileWritesFail takes the tokens table away under a
// running server: token requests fail, and after a few failed commits in a
// row /readyz says the server is not ready, although the database still
// answers pings. Once the table is back, /readyz recovers by itself, with
// no token request to show it.
func TestReadyzFailsWhileWritesFail(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		reg := s.createClient(t, storedTokenClient())
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}
		if resp, _ := postForm(t, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret, form); resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d", resp.StatusCode)
		}
		if code := readyz(t, s.URL); code != http.StatusOK {
			t.Fatalf("readyz of a healthy server: %d", code)
		}
		raw := openRaw(t, db.URL)
		if err := raw.Exec("ALTER TABLE tokens RENAME TO tokens_away").Error; err != nil {
			t.Fatal(err)
		}
		for i := 0; s.Store().LastWriteError() == nil; i++ {
			if i == 10 {
				t.Fatal("ten failed token requests, and the store does not report writes failing")
			}
			if resp, _ := postForm(t, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret, form); resp.StatusCode == http.StatusOK {
				t.Fatal("a token was issued without its table")
			}
		}
		if code := readyz(t, s.URL); code != http.StatusServiceUnavailable {
			t.Errorf("readyz while every write fails: %d, want 503", code)
		}
		if err := raw.Exec("ALTER TABLE tokens_away RENAME TO tokens").Error; err != nil {
			t.Fatal(err)
		}
		// No token request shows it: readyz's own probe write does.
		if code := readyz(t, s.URL); code != http.StatusOK {
			t.Fatalf("readyz once writes can succeed again: %d, want 200", code)
		}
		if resp, _ := postForm(t, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret, form); resp.StatusCode != http.StatusOK {
			t.Errorf("token after recovery: %d", resp.StatusCode)
		}
	})
}

// storedTokenClient is a client-credentials client whose tokens are
// stored: JWT access tokens are kept under their jti, where the opaque
// ones of this grant are sealed and written nowhere.
func storedTokenClient() clients.Spec {
	spec := machineClient("api:read")
	spec.Audience, spec.AccessTokenFormat = []string{apiAudience}, storage.AccessTokenJWT
	return spec
}

var appSeq atomic.Int64

// TestServesAfterPostgresEndsItsConnections ends every connection of the
// server's store from the database side (pg_terminate_backend, as a
// restart or a failover does): the very next token request succeeds,
// without a restart of the server.
func TestServesAfterPostgresEndsItsConnections(t *testing.T) {
	base := gormstoretest.PostgresURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	app := fmt.Sprintf("gatehouse_test_%d_%d", time.Now().UnixNano(), appSeq.Add(1))
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	s := startServer(t, u.String())
	reg := s.createClient(t, storedTokenClient())
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}
	raw := openRaw(t, base)
	for round := range 3 {
		if resp, _ := postForm(t, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret, form); resp.StatusCode != http.StatusOK {
			t.Fatalf("round %d: token before the connections end: %d", round, resp.StatusCode)
		}
		var ended int
		if err := raw.Raw("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?", app).Scan(&ended).Error; err != nil {
			t.Fatal(err)
		}
		if ended == 0 {
			t.Fatal("no connection of the server's to end: the test tests nothing")
		}
		if resp, body := postForm(t, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret, form); resp.StatusCode != http.StatusOK {
			t.Fatalf("round %d: first token after %d connections ended: %d %v", round, ended, resp.StatusCode, body)
		}
	}
}

// TestCollectionPass stores expired and live tokens and runs the server's
// collection: the expired ones go, the count is logged and counted in
// gatehouse_collected_total, the live one stays.
func TestCollectionPass(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		reg := s.createClient(t, storedTokenClient())
		ctx := context.Background()
		client, err := s.Store().LookupClient(ctx, reg.Client.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			r := fosite.NewRequest()
			r.ID, r.Client, r.RequestedAt = fmt.Sprintf("old-%d", i), &client, time.Now().UTC()
			sess := &fosite.DefaultSession{}
			sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(-time.Minute))
			r.Session = sess
			if err := s.Store().CreateAccessTokenSession(ctx, fmt.Sprintf("old-%d", i), r); err != nil {
				t.Fatal(err)
			}
		}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}
		if resp, _ := postForm(t, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret, form); resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d", resp.StatusCode)
		}
		res := s.Collect(ctx, time.Now())
		if res.Removed[storage.CollectTokens] != 3 {
			t.Errorf("removed %v, want the 3 expired tokens", res.Removed)
		}
		if n, err := s.Store().CountTokens(ctx); err != nil || n["at"] != 1 {
			t.Errorf("left %v (%v), want the live token", n, err)
		}
		if !strings.Contains(s.logs.String(), `"msg":"collected expired rows","kind":"tokens","count":3`) {
			t.Errorf("collection not logged:\n%s", s.logs.String())
		}
		rec := httptest.NewRecorder()
		s.ManagementHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if !strings.Contains(rec.Body.String(), `gatehouse_collected_total{kind="tokens"} 3`) {
			t.Errorf("gatehouse_collected_total{kind=tokens} is not 3:\n%s", rec.Body.String())
		}
	})
}
