package accounts_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestDefaultRolesAtSignUp(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "member", Default: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "rp-user", ClientID: "rp", Default: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "staff"}); err != nil {
			t.Fatal(err)
		}
		u, err := f.accounts.SignUp(ctx, identity.NewUser{Email: "new@example.com", Password: "a long enough passphrase"},
			func(context.Context, storage.User) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if names, _ := f.store.RoleNames(ctx, u.ID, "rp"); !slices.Equal(names, []string{"member", "rp-user"}) {
			t.Errorf("roles after sign-up: %v", names)
		}
		var data struct{ Roles []string }
		created := f.events(t, "user.created")
		if len(created) != 1 || json.Unmarshal(created[0].Data, &data) != nil || !slices.Equal(data.Roles, []string{"member", "rp-user"}) {
			t.Errorf("user.created: %+v", created)
		}
		// The existing customer did not get the default roles.
		if names, _ := f.store.RoleNames(ctx, "u1", "rp"); len(names) != 0 {
			t.Errorf("an existing customer's roles: %v", names)
		}
	})
}

func TestCreateRoleRefusals(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		var ie *identity.InvalidError
		if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "two words"}); !errors.As(err, &ie) || ie.Field != "name" {
			t.Errorf("a bad name: %v", err)
		}
		if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "x", ClientID: "nope"}); !errors.As(err, &ie) || ie.Field != "client_id" {
			t.Errorf("an unknown client: %v", err)
		}
		if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "admin", ClientID: "rp"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.accounts.CreateRole(ctx, accounts.NewRole{Name: "admin"}); !errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("a global role named like a client's: %v", err)
		}
		if n := len(f.events(t, "role.created")); n != 1 {
			t.Errorf("%d role.created events, want 1", n)
		}
	})
}

func TestDisableCustomer(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		before := len(f.logoutJobs(t))
		u, err := f.accounts.DisableCustomer(ctx, "u1")
		if err != nil || !u.Disabled {
			t.Fatalf("disable: %+v %v", u, err)
		}
		if ss, _ := f.store.ListSessionsByUser(ctx, "u1"); len(ss) != 0 {
			t.Errorf("%d sessions left", len(ss))
		}
		if jobs := f.logoutJobs(t); len(jobs) != before+2 {
			t.Errorf("back-channel logouts queued: %d, want %d", len(jobs)-before, 2)
		}
		if evs := f.events(t, "user.disabled"); len(evs) != 1 || string(evs[0].Data) != `{"sessions_ended":2}` {
			t.Errorf("user.disabled: %+v", evs)
		}
		if n := len(f.events(t, "session.ended")); n != 2 {
			t.Errorf("%d session.ended events", n)
		}
		// Again: nothing changes, nothing is recorded.
		if _, err := f.accounts.DisableCustomer(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if n := len(f.events(t, "user.disabled")); n != 1 {
			t.Errorf("%d user.disabled events after disabling twice", n)
		}
		if u, err := f.accounts.EnableCustomer(ctx, "u1"); err != nil || u.Disabled {
			t.Fatalf("enable: %+v %v", u, err)
		}
		if n := len(f.events(t, "user.enabled")); n != 1 {
			t.Errorf("%d user.enabled events", n)
		}
		if _, err := f.accounts.DisableCustomer(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("an unknown customer: %v", err)
		}
	})
}
