package main

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// TestUsersMFAReset checks that an operator's reset removes a customer's
// second factors and records it with the operator as actor.
func TestUsersMFAReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192", "GATEHOUSE_ARGON2_ITERATIONS", "1")
	var ada userWire
	decode(t, mustRun(t, e, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery", "--output", "json"), &ada)

	ctx := context.Background()
	store, err := gormstore.Open(ctx, gormstore.Options{Kind: gormstore.SQLite, Path: e.dbPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// Enrolled as the pages do it (the key's sealing is pkg/mfa's business).
	if err := store.PutTOTP(ctx, storage.TOTP{UserID: ada.ID, SealedKey: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if err := store.ConfirmTOTP(ctx, ada.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := store.ReplaceRecoveryCodes(ctx, ada.ID, []string{"h1", "h2"}); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, e, "users", "mfa-reset", ada.ID)
	if !strings.Contains(out.stdout, "removed the second factors") {
		t.Fatalf("output: %s", out)
	}
	if u, err := store.GetUser(ctx, ada.ID); err != nil || u.MFA {
		t.Fatalf("after the reset MFA = %v (%v)", u.MFA, err)
	}
	if n, _ := store.CountRecoveryCodes(ctx, ada.ID); n != 0 {
		t.Fatalf("%d recovery codes left", n)
	}
	evs, err := store.ListEvents(ctx, storage.EventFilter{Type: "user.mfa.removed"}, storage.Page{})
	if err != nil || len(evs) != 1 || evs[0].Actor.Type != storage.ActorOperator || !strings.Contains(string(evs[0].Data), `"reset"`) {
		t.Fatalf("user.mfa.removed events: %v %+v", err, evs)
	}
	if r := run(t, e, "users", "mfa-reset", "nobody"); r.code == 0 || !strings.Contains(r.stderr, `no user "nobody"`) {
		t.Fatalf("reset of an unknown user: %+v", r)
	}
}

// TestClientsRequireMFA checks the --require-mfa and --default-acr-value
// flags reach the stored client, and an unknown class is refused.
func TestClientsRequireMFA(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	var c wireClient
	decode(t, mustRun(t, e, "clients", "create", "--name", "bank", "--redirect-uri", "https://bank.example/cb",
		"--require-mfa", "--default-acr-value", "2", "--output", "json"), &c)
	ctx := context.Background()
	store, err := gormstore.Open(ctx, gormstore.Options{Kind: gormstore.SQLite, Path: e.dbPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got, err := store.LookupClient(ctx, c.ClientID)
	if err != nil || !got.RequireMFA || len(got.DefaultACRValues) != 1 || got.DefaultACRValues[0] != "2" {
		t.Fatalf("stored client: %+v (%v)", got, err)
	}
	mustRun(t, e, "clients", "update", c.ClientID, "--require-mfa=false")
	if got, _ = store.LookupClient(ctx, c.ClientID); got.RequireMFA {
		t.Fatal("--require-mfa=false did not take it away")
	}
	if r := run(t, e, "clients", "create", "--name", "x", "--redirect-uri", "https://x.example/cb", "--default-acr-value", "gold"); r.code == 0 {
		t.Fatal("an unknown acr value was accepted")
	}
}
