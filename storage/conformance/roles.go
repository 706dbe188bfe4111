package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
)

// roleTests are the roles, their assignments and the search by role.
func roleTests(t *testing.T, run func(t *testing.T, name string, fn func(t *testing.T, s storage.Store))) {
	run(t, "a role round trips and is found by name within its client", testRoleRoundTrip)
	run(t, "names are unique within a client and never shared between global and client roles", testRoleNames)
	run(t, "a client sees the global roles and its own, never another client's", testRoleNamesPerClient)
	run(t, "assigning twice is one assignment; unassigning a missing one is ErrNotFound", testRoleAssign)
	run(t, "default roles are given in one call", testRoleDefaults)
	run(t, "the search by role pages in customer id order", testUsersByRole)
	run(t, "deleting a role, a client or a customer removes the assignments", testRoleDeletes)
	run(t, "a disabled customer round trips and an update keeps the mark", testUserDisabled)
}

func mustCreateRole(t *testing.T, s storage.Store, id, name, clientID string) storage.Role {
	t.Helper()
	r := storage.Role{ID: id, Name: name, ClientID: clientID, Description: "the " + name + " role"}
	must(t, s.CreateRole(context.Background(), r))
	return r
}

func mustAssign(t *testing.T, s storage.Store, userID, roleID string) {
	t.Helper()
	if _, err := s.AssignRole(context.Background(), userID, roleID); err != nil {
		t.Fatalf("assign %s to %s: %v", roleID, userID, err)
	}
}

func testRoleRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateClient(t, s, "app")
	in := storage.Role{ID: "r1", Name: "editor", ClientID: "app", Description: "edits", Default: true}
	must(t, s.CreateRole(ctx, in))
	got, err := s.GetRole(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() || got.CreatedAt.Location().String() != "UTC" {
		t.Errorf("CreatedAt = %v", got.CreatedAt)
	}
	got.CreatedAt = in.CreatedAt
	if got != in {
		t.Errorf("got %+v, want %+v", got, in)
	}
	if found, err := s.FindRole(ctx, "editor", "app"); err != nil || found.ID != "r1" {
		t.Errorf("FindRole = %+v, %v", found, err)
	}
	if _, err := s.FindRole(ctx, "editor", ""); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the client's role found as a global one: %v", err)
	}
	if _, err := s.GetRole(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown role: %v", err)
	}
	mustCreateRole(t, s, "r2", "admin", "")
	all, err := s.ListRoles(ctx, "", storage.Page{})
	if err != nil || len(all) != 2 || all[0].ID != "r1" || all[1].ID != "r2" {
		t.Errorf("ListRoles = %+v, %v", all, err)
	}
	mine, err := s.ListRoles(ctx, "app", storage.Page{})
	if err != nil || len(mine) != 1 || mine[0].ID != "r1" {
		t.Errorf("ListRoles(app) = %+v, %v", mine, err)
	}
	next, err := s.ListRoles(ctx, "", storage.Page{After: "r1", Limit: 1})
	if err != nil || len(next) != 1 || next[0].ID != "r2" {
		t.Errorf("ListRoles after r1 = %+v, %v", next, err)
	}
}

func testRoleNames(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateClient(t, s, "a")
	mustCreateClient(t, s, "b")
	mustCreateRole(t, s, "g", "admin", "")
	mustCreateRole(t, s, "ca", "editor", "a")
	// The same name in another client is fine.
	mustCreateRole(t, s, "cb", "editor", "b")
	for _, r := range []storage.Role{
		{ID: "x1", Name: "admin"},                 // a second global admin
		{ID: "x2", Name: "editor", ClientID: "a"}, // twice in one client
		{ID: "x3", Name: "admin", ClientID: "a"},  // a client role named like a global one
		{ID: "x4", Name: "editor"},                // a global role named like a client's
		{ID: "g", Name: "other"},                  // a taken ID
	} {
		if err := s.CreateRole(ctx, r); !errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("CreateRole(%+v) = %v, want ErrAlreadyExists", r, err)
		}
	}
	all, err := s.ListRoles(ctx, "", storage.Page{})
	if err != nil || len(all) != 3 {
		t.Errorf("after refusals: %+v, %v", all, err)
	}
}

func testRoleNamesPerClient(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateClient(t, s, "a")
	mustCreateClient(t, s, "b")
	mustCreateUser(t, s, "u", "u@example.com")
	for _, r := range []storage.Role{
		mustCreateRole(t, s, "g1", "staff", ""),
		mustCreateRole(t, s, "a1", "editor", "a"),
		mustCreateRole(t, s, "a2", "billing", "a"),
		mustCreateRole(t, s, "b1", "viewer", "b"),
	} {
		mustAssign(t, s, "u", r.ID)
	}
	mustCreateRole(t, s, "g2", "unassigned", "")
	for client, want := range map[string][]string{
		"a":     {"billing", "editor", "staff"},
		"b":     {"staff", "viewer"},
		"other": {"staff"},
	} {
		got, err := s.RoleNames(ctx, "u", client)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("RoleNames(u, %s) = %v, %v; want %v", client, got, err, want)
		}
	}
	if got, err := s.RoleNames(ctx, "nobody", "a"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("RoleNames of a customer without roles = %#v, %v; want empty", got, err)
	}
	roles, err := s.ListUserRoles(ctx, "u")
	if err != nil || len(roles) != 4 || roles[0].ID != "g1" || roles[1].ID != "a2" || roles[3].ID != "b1" {
		t.Errorf("ListUserRoles = %+v, %v", roles, err)
	}
}

func testRoleAssign(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u", "u@example.com")
	mustCreateRole(t, s, "r", "staff", "")
	if added, err := s.AssignRole(ctx, "u", "r"); err != nil || !added {
		t.Fatalf("first assignment = %v, %v", added, err)
	}
	if added, err := s.AssignRole(ctx, "u", "r"); err != nil || added {
		t.Errorf("second assignment = %v, %v; want false, nil", added, err)
	}
	if _, err := s.AssignRole(ctx, "u", "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an unknown role: %v", err)
	}
	if _, err := s.AssignRole(ctx, "nobody", "r"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an unknown customer: %v", err)
	}
	must(t, s.UnassignRole(ctx, "u", "r"))
	if err := s.UnassignRole(ctx, "u", "r"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unassigning twice: %v", err)
	}
	if names, _ := s.RoleNames(ctx, "u", ""); len(names) != 0 {
		t.Errorf("after unassigning: %v", names)
	}
}

func testRoleDefaults(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateClient(t, s, "a")
	mustCreateUser(t, s, "u", "u@example.com")
	if names, err := s.AssignDefaultRoles(ctx, "u"); err != nil || len(names) != 0 {
		t.Errorf("with no default roles: %v, %v", names, err)
	}
	must(t, s.CreateRole(ctx, storage.Role{ID: "d1", Name: "member", Default: true}))
	must(t, s.CreateRole(ctx, storage.Role{ID: "d2", Name: "app-user", ClientID: "a", Default: true}))
	mustCreateRole(t, s, "n", "staff", "")
	mustAssign(t, s, "u", "d1") // one already held is no error
	names, err := s.AssignDefaultRoles(ctx, "u")
	if err != nil || !slices.Equal(names, []string{"app-user", "member"}) {
		t.Errorf("AssignDefaultRoles = %v, %v", names, err)
	}
	if got, _ := s.RoleNames(ctx, "u", "a"); !slices.Equal(got, []string{"app-user", "member"}) {
		t.Errorf("RoleNames after defaults = %v", got)
	}
}

func testUsersByRole(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateRole(t, s, "r", "staff", "")
	mustCreateRole(t, s, "o", "other", "")
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("u%d", i)
		mustCreateUser(t, s, id, id+"@example.com")
		if i%3 != 1 {
			mustAssign(t, s, id, "r")
			want = append(want, id)
		} else {
			mustAssign(t, s, id, "o")
		}
	}
	var got []string
	page := storage.Page{Limit: 2}
	for range 10 {
		us, err := s.ListUsersByRole(ctx, "r", page)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) > 0 && us[0].Email != us[0].ID+"@example.com" {
			t.Errorf("a listed customer is not whole: %+v", us[0])
		}
		got = append(got, userIDs(us)...)
		if len(us) < page.Limit {
			break
		}
		page.After = us[len(us)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged = %v, want %v", got, want)
	}
	if us, err := s.ListUsersByRole(ctx, "nope", storage.Page{}); err != nil || len(us) != 0 {
		t.Errorf("an unknown role = %v, %v", us, err)
	}
}

func testRoleDeletes(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateClient(t, s, "a")
	mustCreateUser(t, s, "u", "u@example.com")
	mustCreateUser(t, s, "v", "v@example.com")
	for _, r := range []storage.Role{
		mustCreateRole(t, s, "g", "staff", ""),
		mustCreateRole(t, s, "g2", "support", ""),
		mustCreateRole(t, s, "c", "editor", "a"),
	} {
		mustAssign(t, s, "u", r.ID)
		mustAssign(t, s, "v", r.ID)
	}
	must(t, s.DeleteRole(ctx, "g2"))
	if err := s.DeleteRole(ctx, "g2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if us, _ := s.ListUsersByRole(ctx, "g2", storage.Page{}); len(us) != 0 {
		t.Errorf("assignments of a deleted role remain: %v", userIDs(us))
	}
	must(t, s.DeleteClient(ctx, "a"))
	if _, err := s.GetRole(ctx, "c"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted client's role remains: %v", err)
	}
	if roles, _ := s.ListUserRoles(ctx, "v"); len(roles) != 1 || roles[0].ID != "g" {
		t.Errorf("after deleting the client: %+v", roles)
	}
	must(t, s.DeleteUser(ctx, "u"))
	if us, _ := s.ListUsersByRole(ctx, "g", storage.Page{}); !slices.Equal(userIDs(us), []string{"v"}) {
		t.Errorf("after deleting u: %v", userIDs(us))
	}
	// A customer created again with the deleted one's ID starts with none.
	mustCreateUser(t, s, "u", "u2@example.com")
	if roles, _ := s.ListUserRoles(ctx, "u"); len(roles) != 0 {
		t.Errorf("a deleted customer's assignments remain: %+v", roles)
	}
}

func testUserDisabled(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := sampleUser("u", "u@example.com")
	must(t, s.CreateUser(ctx, u))
	must(t, s.UpdateUser(ctx, "u", func(u storage.User) (storage.User, error) {
		u.Disabled = true
		return u, nil
	}))
	must(t, s.UpdateUser(ctx, "u", func(u storage.User) (storage.User, error) {
		u.Name = "Renamed"
		return u, nil
	}))
	got, err := s.GetUser(ctx, "u")
	if err != nil || !got.Disabled || got.Name != "Renamed" {
		t.Errorf("GetUser = %+v, %v", got, err)
	}
	if us, _ := s.ListUsers(ctx, storage.UserFilter{}, storage.Page{}); len(us) != 1 || !us[0].Disabled {
		t.Errorf("ListUsers = %+v", us)
	}
}
