package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/backchannel"
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

// TestUsersEndSessionsTellClients checks that sessions ended from the
// command line (users sessions --revoke-all, users delete) queue
// back-channel logout tokens for the clients they signed in to, as the
// admin API does, for a running server to deliver.
func TestUsersEndSessionsTellClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192", "GATEHOUSE_ARGON2_ITERATIONS", "1")
	var rp wireClient
	decode(t, mustRun(t, e, "clients", "create", "--name", "rp", "--redirect-uri", "https://rp.example.com/cb",
		"--backchannel-logout-uri", "https://rp.example.com/backchannel", "--output", "json"), &rp)
	silent := createClient(t, e, "openid") // no backchannel_logout_uri: nothing to tell

	ctx := context.Background()
	store, err := gormstore.Open(ctx, gormstore.Options{Kind: gormstore.SQLite, Path: e.dbPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	signIn := func(userID, id, sid string) {
		t.Helper()
		now := time.Now().UTC()
		if err := store.CreateSession(ctx, storage.BrowserSession{ID: id, SID: sid, UserID: userID, AuthTime: now, AMR: []string{"pwd"},
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{rp.ClientID, silent.ClientID} {
			if err := store.AddSessionClient(ctx, id, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	due := func() map[string]url.Values {
		t.Helper()
		ds, err := store.ListJobs(ctx, backchannel.JobKind, storage.JobQueued, storage.Page{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]url.Values{}
		for _, d := range ds {
			claims, err := url.ParseQuery(string(d.Payload))
			if err != nil {
				t.Fatal(err)
			}
			if claims.Get("client_id") != rp.ClientID {
				t.Errorf("delivery to %s", claims.Get("client_id"))
			}
			out[claims.Get("sid")] = claims
		}
		return out
	}

	var ada, bob userWire
	decode(t, mustRun(t, e, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery", "--output", "json"), &ada)
	decode(t, mustRun(t, e, "users", "create", "--email", "bob@example.com", "--password", "correct horse battery", "--output", "json"), &bob)
	signIn(ada.ID, "h-ada", "sid-ada")
	signIn(bob.ID, "h-bob", "sid-bob")

	mustRun(t, e, "users", "sessions", ada.ID, "--revoke-all")
	got := due()
	if len(got) != 1 || got["sid-ada"].Get("sub") != ada.ID {
		t.Fatalf("after --revoke-all, queued logouts = %v; want one for sid-ada with sub %s", got, ada.ID)
	}

	mustRun(t, e, "users", "delete", bob.ID)
	got = due()
	if len(got) != 2 || got["sid-bob"].Get("sub") != bob.ID {
		t.Fatalf("after users delete, queued logouts = %v; want sid-bob's too", got)
	}
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
