package userimport_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/userimport"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// roleNames returns the names of the customer's roles.
func (f *fixture) roleNames(t *testing.T, email string) []string {
	t.Helper()
	roles, err := f.store.ListUserRoles(context.Background(), f.user(t, email).ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range roles {
		out = append(out, r.Name)
	}
	return out
}

func TestImportRoles(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()

		t.Run("known roles are given; an unknown one fails its line only", func(t *testing.T) {
			f := newFixture(t, db)
			if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "staff"}); err != nil {
				t.Fatal(err)
			}
			sum := f.run(t, `{"email":"a@example.com","roles":["staff"]}
{"email":"b@example.com","roles":["staff","ghost"]}
{"email":"c@example.com","roles":["bad name"]}
`, userimport.Options{})
			if sum.Created != 1 || sum.Failed != 2 || len(sum.Errors) != 2 {
				t.Fatalf("summary %+v", sum)
			}
			if e := sum.Errors[0]; e.Line != 2 || !strings.Contains(e.Reason, `"ghost"`) || !strings.Contains(e.Reason, "create-roles") {
				t.Errorf("unknown role: %+v", e)
			}
			if e := sum.Errors[1]; e.Line != 3 || !strings.Contains(e.Reason, "roles:") {
				t.Errorf("bad role name: %+v", e)
			}
			if got := f.roleNames(t, "a@example.com"); !slices.Equal(got, []string{"staff"}) {
				t.Errorf("a's roles: %v", got)
			}
			if _, err := f.store.GetUserByEmail(ctx, "b@example.com"); err == nil {
				t.Error("the failed line's customer exists")
			}
		})

		t.Run("create roles makes the missing ones; an update adds roles", func(t *testing.T) {
			f := newFixture(t, db)
			sum := f.run(t, `{"email":"a@example.com","roles":["staff","beta"]}`+"\n", userimport.Options{CreateRoles: true})
			if sum.Created != 1 || sum.Failed != 0 {
				t.Fatalf("summary %+v", sum)
			}
			if got := f.roleNames(t, "a@example.com"); !slices.Equal(got, []string{"beta", "staff"}) {
				t.Errorf("roles: %v", got)
			}
			created, _ := f.store.ListEvents(ctx, storage.EventFilter{Type: "role.created"}, storage.Page{})
			if len(created) != 2 {
				t.Errorf("role.created events: %d", len(created))
			}
			sum = f.run(t, `{"email":"a@example.com","roles":["gamma"]}`+"\n", userimport.Options{CreateRoles: true, OnConflict: accounts.ConflictUpdate})
			if sum.Updated != 1 {
				t.Fatalf("update summary %+v", sum)
			}
			if got := f.roleNames(t, "a@example.com"); !slices.Equal(got, []string{"beta", "gamma", "staff"}) {
				t.Errorf("roles after the update: %v", got)
			}
			imported, _ := f.store.ListEvents(ctx, storage.EventFilter{Type: "user.imported"}, storage.Page{})
			if len(imported) != 2 || !strings.Contains(string(imported[0].Data), `"roles_assigned":2`) {
				t.Errorf("user.imported: %+v", imported)
			}
		})

		t.Run("a dry run creates no role", func(t *testing.T) {
			f := newFixture(t, db)
			sum := f.run(t, `{"email":"a@example.com","roles":["staff"]}`+"\n", userimport.Options{CreateRoles: true, DryRun: true})
			if sum.Created != 1 {
				t.Fatalf("summary %+v", sum)
			}
			if roles, _ := f.store.ListRoles(ctx, "", storage.Page{}); len(roles) != 0 {
				t.Errorf("roles after a dry run: %+v", roles)
			}
		})
	})
}
