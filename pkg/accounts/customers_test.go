package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestSetPassword(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := events.WithActor(events.WithRequestID(context.Background(), "req-reset"), storage.Actor{Type: storage.ActorCustomer, ID: "u1"})
		const password = "a brand new passphrase"

		t.Run("user.password_changed, with the hash stored and no secret in the data", func(t *testing.T) {
			must(t, f.accounts.SetPassword(ctx, "u1", password))
			u, err := f.store.GetUser(ctx, "u1")
			must(t, err)
			if ok, _, err := identity.VerifyPassword(password, u.PasswordHash, identity.OWASPMinimum); !ok || err != nil {
				t.Fatalf("the new password does not verify: %v", err)
			}
			es := f.events(t, events.UserPasswordChanged)
			if len(es) != 1 || es[0].Subject != "u1" || es[0].Actor.ID != "u1" || es[0].RequestID != "req-reset" || string(es[0].Data) != "{}" {
				t.Fatalf("user.password_changed = %+v", es)
			}
		})
		t.Run("a password the policy refuses changes and records nothing", func(t *testing.T) {
			var pe *identity.PasswordError
			if err := f.accounts.SetPassword(ctx, "u1", "short"); !errors.As(err, &pe) {
				t.Fatalf("a short password: %v", err)
			}
			if err := f.accounts.SetPassword(ctx, "nobody", password); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("an unknown customer: %v", err)
			}
			if n := len(f.events(t, events.UserPasswordChanged)); n != 1 {
				t.Errorf("%d user.password_changed events, want 1", n)
			}
		})
	})
}

func TestGrantConsent(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		must(t, f.accounts.GrantConsent(ctx, "u1", "rp", []string{"openid"}, false))
		if cs, _ := f.store.ListConsents(ctx, "u1"); len(cs) != 0 {
			t.Errorf("an allow not remembered stored a consent: %v", cs)
		}
		must(t, f.accounts.GrantConsent(ctx, "u1", "rp", []string{"openid", "email"}, true))
		if cs, _ := f.store.ListConsents(ctx, "u1"); len(cs) != 1 {
			t.Errorf("a remembered allow stored %v", cs)
		}
		es := f.events(t, events.ConsentGranted)
		if len(es) != 2 || !strings.Contains(string(es[1].Data), `"remembered":true`) || strings.Contains(string(es[0].Data), "remembered") {
			t.Fatalf("consent.granted = %+v", es)
		}
	})
}

func TestCommitsThatQueueNothingWakeNoRunner(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		must(t, f.accounts.SignedIn(ctx, "u1", accounts.SignIn{Method: accounts.MethodPassword, ClientID: "rp"}, func(context.Context) error { return nil }))
		must(t, f.accounts.GrantConsent(ctx, "u1", "rp", []string{"openid"}, true))
		if f.notified != 0 {
			t.Errorf("a sign-in and a consent, no jobs queued, woke the runner %d times", f.notified)
		}
	})
}

func TestUpdateCustomerRefusesThePassword(t *testing.T) {
	f := newFixture(t, gormstoretest.SQLiteURL(t))
	_, err := f.accounts.UpdateCustomer(context.Background(), "u1", func(u storage.User) (storage.User, error) {
		u.Name, u.PasswordHash = "Ada", "$argon2id$forged"
		return u, nil
	})
	if !errors.Is(err, accounts.ErrPasswordField) {
		t.Fatalf("an update of the password: %v", err)
	}
	if n := len(f.events(t, "")); n != 0 {
		t.Errorf("%d events recorded", n)
	}
}
