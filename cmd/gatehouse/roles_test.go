package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// TestRolesCommands walks the roles commands end to end on SQLite: a
// global and a client's role, a default role given at creation, an
// assignment and its removal, the search by role, and disabling.
func TestRolesCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192", "GATEHOUSE_ARGON2_ITERATIONS", "1")
	var app struct {
		ClientID string `json:"client_id"`
	}
	decode(t, mustRun(t, e, "clients", "create", "--name", "app", "--redirect-uri", "https://app.example/cb", "--output", "json"), &app)

	var staff, editor roleJSON
	decode(t, mustRun(t, e, "roles", "create", "--name", "staff", "--description", "employees", "--output", "json"), &staff)
	decode(t, mustRun(t, e, "roles", "create", "--name", "editor", "--client", app.ClientID, "--output", "json"), &editor)
	mustRun(t, e, "roles", "create", "--name", "member", "--default")
	if editor.ClientID != app.ClientID || staff.ClientID != "" || staff.Description != "employees" {
		t.Fatalf("roles: %+v %+v", staff, editor)
	}
	if r := run(t, e, "roles", "create", "--name", "staff", "--client", app.ClientID); r.code == 0 || !strings.Contains(r.stderr, "taken") {
		t.Errorf("a client role named like a global one: %+v", r)
	}
	if r := run(t, e, "roles", "create", "--name", "has space"); r.code != 2 {
		t.Errorf("a bad name: %+v", r)
	}
	if out := mustRun(t, e, "roles", "list", "--client", app.ClientID).stdout; !strings.Contains(out, "editor") || strings.Contains(out, "staff") {
		t.Errorf("roles list --client:\n%s", out)
	}

	var ada, bob userWire
	decode(t, mustRun(t, e, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery", "--output", "json"), &ada)
	decode(t, mustRun(t, e, "users", "create", "--email", "bob@example.com", "--password", "correct horse battery", "--output", "json"), &bob)
	mustRun(t, e, "users", "add-role", ada.ID, "staff")
	mustRun(t, e, "users", "add-role", ada.ID, "editor", "--client", app.ClientID)
	if r := run(t, e, "users", "add-role", ada.ID, "editor"); r.code == 0 || !strings.Contains(r.stderr, `no role "editor"`) {
		t.Errorf("a client's role named without its client: %+v", r)
	}
	var held []roleJSON
	decode(t, mustRun(t, e, "users", "roles", ada.ID, "--output", "json"), &held)
	var names []string
	for _, r := range held {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "member,staff,editor" {
		t.Errorf("ada's roles (global first, then the client's): %v", names)
	}

	var members, editors []userWire
	decode(t, mustRun(t, e, "users", "list", "--role", "member", "--output", "json"), &members)
	decode(t, mustRun(t, e, "users", "list", "--role", "editor", "--client", app.ClientID, "--output", "json"), &editors)
	if len(members) != 2 || len(editors) != 1 || editors[0].ID != ada.ID {
		t.Errorf("by role: members %+v, editors %+v", members, editors)
	}
	if r := run(t, e, "users", "list", "--role", "member", "--email-prefix", "a"); r.code != 2 {
		t.Errorf("--role with a prefix: %+v", r)
	}
	mustRun(t, e, "users", "remove-role", ada.ID, "staff")
	if r := run(t, e, "users", "remove-role", ada.ID, "staff"); r.code == 0 {
		t.Errorf("removing a role ada no longer has: %+v", r)
	}

	out := mustRun(t, e, "users", "disable", bob.ID)
	if !strings.Contains(out.stdout, "disabled user") {
		t.Errorf("disable: %s", out.stdout)
	}
	var got map[string]any
	decode(t, mustRun(t, e, "users", "get", bob.ID, "--output", "json"), &got)
	if got["disabled"] != true {
		t.Errorf("after disable: %v", got)
	}
	mustRun(t, e, "users", "enable", bob.ID)
	mustRun(t, e, "roles", "delete", editor.ID)

	ctx := context.Background()
	store, err := gormstore.Open(ctx, gormstore.Options{Kind: gormstore.SQLite, Path: e.dbPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if u, err := store.GetUser(ctx, bob.ID); err != nil || u.Disabled {
		t.Errorf("after enable: %+v %v", u, err)
	}
	want := map[string]int{"role.created": 3, "user.role.assigned": 2, "user.role.unassigned": 1, "role.deleted": 1, "user.disabled": 1, "user.enabled": 1}
	for typ, n := range want {
		evs, err := store.ListEvents(ctx, storage.EventFilter{Type: typ}, storage.Page{})
		if err != nil || len(evs) != n {
			t.Errorf("%s: %d events (%v), want %d", typ, len(evs), err, n)
		}
		for _, ev := range evs {
			if ev.Actor.Type != storage.ActorOperator {
				t.Errorf("%s recorded by %+v", typ, ev.Actor)
			}
		}
	}
	created, _ := store.ListEvents(ctx, storage.EventFilter{Type: "user.created", Subject: ada.ID}, storage.Page{})
	var data struct{ Roles []string }
	if len(created) != 1 || json.Unmarshal(created[0].Data, &data) != nil || strings.Join(data.Roles, ",") != "member" {
		t.Errorf("user.created names the default roles: %+v", created)
	}
}
