package main

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

func TestUsersSessionsAndConsents(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192", "GATEHOUSE_ARGON2_ITERATIONS", "1")
	var ada userWire
	decode(t, mustRun(t, e, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery", "--output", "json"), &ada)
	client := createClient(t, e, "openid")

	// A sign-in leaves a session and a consent; make them as the pages do.
	ctx := context.Background()
	store, err := gormstore.Open(ctx, gormstore.Options{Kind: gormstore.SQLite, Path: e.dbPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().UTC()
	if err := store.CreateSession(ctx, storage.BrowserSession{ID: "h1", SID: "sid-1", UserID: ada.ID, AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := store.GrantConsent(ctx, ada.ID, client.ClientID, []string{"openid"}); err != nil {
		t.Fatal(err)
	}

	t.Run("sessions lists the customer's sessions and --revoke-all ends them", func(t *testing.T) {
		var list []struct {
			SID string   `json:"sid"`
			AMR []string `json:"amr"`
		}
		decode(t, mustRun(t, e, "users", "sessions", ada.ID, "--output", "json"), &list)
		if len(list) != 1 || list[0].SID != "sid-1" || list[0].AMR[0] != "pwd" {
			t.Fatalf("sessions = %+v", list)
		}
		var ended map[string]int
		decode(t, mustRun(t, e, "users", "sessions", ada.ID, "--revoke-all", "--output", "json"), &ended)
		if ended["ended"] != 1 {
			t.Fatalf("ended = %v", ended)
		}
		decode(t, mustRun(t, e, "users", "sessions", ada.ID, "--output", "json"), &list)
		if len(list) != 0 {
			t.Fatalf("sessions after revoke = %+v", list)
		}
	})
	t.Run("consents lists the customer's consents and --revoke withdraws one", func(t *testing.T) {
		var list []struct {
			ClientID string `json:"client_id"`
			Scope    string `json:"scope"`
		}
		decode(t, mustRun(t, e, "users", "consents", ada.ID, "--output", "json"), &list)
		if len(list) != 1 || list[0].ClientID != client.ClientID || list[0].Scope != "openid" {
			t.Fatalf("consents = %+v", list)
		}
		mustRun(t, e, "users", "consents", ada.ID, "--revoke", client.ClientID)
		decode(t, mustRun(t, e, "users", "consents", ada.ID, "--output", "json"), &list)
		if len(list) != 0 {
			t.Fatalf("consents after revoke = %+v", list)
		}
		if r := run(t, e, "users", "consents", ada.ID, "--revoke", client.ClientID); r.code != exitError {
			t.Fatalf("revoking a missing consent: %v", r)
		}
	})
	t.Run("an unknown customer is exit 1, a missing id exit 2", func(t *testing.T) {
		if r := run(t, e, "users", "sessions", "nobody"); r.code != exitError {
			t.Fatalf("%v", r)
		}
		if r := run(t, e, "users", "consents"); r.code != exitUsage {
			t.Fatalf("%v", r)
		}
	})
}

func TestClientsUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	var created wireClient
	decode(t, mustRun(t, e, "clients", "create", "--name", "Old", "--redirect-uri", "https://app.example/cb", "--scope", "openid", "--output", "json"), &created)

	t.Run("only the flags given change; a repeatable flag replaces its list", func(t *testing.T) {
		var got wireClient
		decode(t, mustRun(t, e, "clients", "update", created.ClientID, "--name", "New", "--redirect-uri", "https://app.example/a", "--redirect-uri", "https://app.example/b", "--output", "json"), &got)
		if got.ClientName != "New" || len(got.RedirectURIs) != 2 || got.RedirectURIs[1] != "https://app.example/b" || got.Scope != "openid" {
			t.Fatalf("updated = %+v", got)
		}
	})
	t.Run("the secret survives an update", func(t *testing.T) {
		ctx := context.Background()
		store, err := gormstore.Open(ctx, gormstore.Options{Kind: gormstore.SQLite, Path: e.dbPath()})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		c, err := store.LookupClient(ctx, created.ClientID)
		if err != nil || len(c.SecretHash) == 0 {
			t.Fatalf("client after update: %+v %v", c, err)
		}
	})
	t.Run("an invalid change is exit 2 and changes nothing", func(t *testing.T) {
		if r := run(t, e, "clients", "update", created.ClientID, "--redirect-uri", "https://app.example/cb#frag"); r.code != exitUsage {
			t.Fatalf("%v", r)
		}
		var got wireClient
		decode(t, mustRun(t, e, "clients", "get", created.ClientID, "--output", "json"), &got)
		if len(got.RedirectURIs) != 2 {
			t.Fatalf("client changed: %+v", got)
		}
	})
	t.Run("an unknown client is exit 1", func(t *testing.T) {
		if r := run(t, e, "clients", "update", "nope", "--name", "x"); r.code != exitError {
			t.Fatalf("%v", r)
		}
	})
}
