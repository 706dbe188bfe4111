package conformance

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

func sampleUser(id, email string) storage.User {
	return storage.User{
		ID:                  id,
		Email:               email,
		EmailVerified:       true,
		PasswordHash:        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		Name:                "Ada Lovelace",
		GivenName:           "Ada",
		FamilyName:          "Lovelace",
		Picture:             "https://img.example/ada.png",
		Locale:              "en-GB",
		PhoneNumber:         "+44 20 7946 0000",
		PhoneNumberVerified: true,
		Address: storage.Address{
			Formatted:     "12 St James's Square, London SW1Y 4LB",
			StreetAddress: "12 St James's Square",
			Locality:      "London",
			PostalCode:    "SW1Y 4LB",
			Country:       "GB",
		},
	}
}

func mustCreateUser(t *testing.T, s storage.Store, id, email string) storage.User {
	t.Helper()
	u := sampleUser(id, email)
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", id, err)
	}
	return u
}

func testUserRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	want := sampleUser("u1", "ada@example.com")
	// A creation time in another zone must come back as the same instant in UTC.
	want.CreatedAt = time.Date(2026, 3, 4, 10, 11, 12, 123456000, time.FixedZone("UTC-3", -3*3600))
	before := time.Now()
	must(t, s.CreateUser(ctx, want))
	got, err := s.GetUser(ctx, "u1")
	must(t, err)
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.CreatedAt.Location(), got.UpdatedAt.Location())
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	if got.UpdatedAt.Before(before.Add(-time.Second)) {
		t.Errorf("UpdatedAt = %v, want about now", got.UpdatedAt)
	}
	got.CreatedAt, got.UpdatedAt, want.CreatedAt = time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if _, err := s.GetUser(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
	if _, err := s.GetUserByEmail(ctx, "nobody@example.com"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown email: %v, want ErrNotFound", err)
	}
}

func testUserDuplicate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u1", "ada@example.com")
	if err := s.CreateUser(ctx, sampleUser("u2", "Ada@Example.COM")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("same email in another case: %v, want ErrAlreadyExists", err)
	}
	if err := s.CreateUser(ctx, sampleUser("u1", "other@example.com")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken id: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.GetUser(ctx, "u2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the refused user was stored: %v", err)
	}
}

func testUserByEmail(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u1", "Ada.Lovelace@Example.com")
	got, err := s.GetUser(ctx, "u1")
	must(t, err)
	if got.Email != "ada.lovelace@example.com" {
		t.Errorf("stored email = %q, want it lower-cased", got.Email)
	}
	for _, email := range []string{"ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", "Ada.Lovelace@Example.com"} {
		u, err := s.GetUserByEmail(ctx, email)
		if err != nil || u.ID != "u1" {
			t.Errorf("GetUserByEmail(%q) = %q, %v; want u1", email, u.ID, err)
		}
	}
}

func testUserWithoutEmail(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u1", "")
	mustCreateUser(t, s, "u2", "")
	got, err := s.GetUser(ctx, "u2")
	if err != nil || got.Email != "" {
		t.Errorf("user without email: %+v, %v", got, err)
	}
	if u, err := s.GetUserByEmail(ctx, ""); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetUserByEmail(\"\") = %q, %v; want ErrNotFound", u.ID, err)
	}
}

func testUserUpdate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u1", "ada@example.com")
	mustCreateUser(t, s, "u2", "grace@example.com")
	created, err := s.GetUser(ctx, "u1")
	must(t, err)
	err = s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Name = "Augusta Ada King"
		u.Email = "Countess@Example.com"
		u.Address.Region = "Middlesex"
		u.ID = "must-not-change"
		u.CreatedAt = time.Now().Add(time.Hour)
		return u, nil
	})
	must(t, err)
	got, err := s.GetUser(ctx, "u1")
	must(t, err)
	if got.Name != "Augusta Ada King" || got.Email != "countess@example.com" || got.Address.Region != "Middlesex" {
		t.Errorf("update not applied: %+v", got)
	}
	if !got.CreatedAt.Equal(created.CreatedAt) || got.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("CreatedAt %v UpdatedAt %v; want CreatedAt %v kept and UpdatedAt moved", got.CreatedAt, got.UpdatedAt, created.CreatedAt)
	}
	if _, err := s.GetUser(ctx, "must-not-change"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the update changed the ID: %v", err)
	}
	if u, err := s.GetUserByEmail(ctx, "countess@example.com"); err != nil || u.ID != "u1" {
		t.Errorf("new email not found: %q, %v", u.ID, err)
	}

	err = s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Email = "GRACE@example.com"
		u.Name = "Thief"
		return u, nil
	})
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("update to a taken email: %v, want ErrAlreadyExists", err)
	}
	if got, _ := s.GetUser(ctx, "u1"); got.Name != "Augusta Ada King" || got.Email != "countess@example.com" {
		t.Errorf("a refused update was written: %+v", got)
	}

	err = s.UpdateUser(ctx, "nope", func(u storage.User) (storage.User, error) { return u, nil })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update of an unknown user: %v, want ErrNotFound", err)
	}
}

func testUserUpdateAbort(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u1", "ada@example.com")
	boom := errors.New("boom")
	err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Name = "half"
		return u, boom
	})
	if err != boom { // the function's error itself, not wrapped
		t.Fatalf("got %v, want the function's error as it is", err)
	}
	if got, _ := s.GetUser(ctx, "u1"); got.Name != "Ada Lovelace" {
		t.Errorf("name = %q after a failed update", got.Name)
	}
}

func testUserRecent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUser(ctx, storage.User{ID: "recent", Email: "recent@example.com", Name: "Before", PasswordHash: "h"}))
	if u, err := s.GetUserRecent(ctx, "recent"); err != nil || u.Name != "Before" {
		t.Fatalf("first read: %+v, %v", u, err)
	}
	must(t, s.UpdateUser(ctx, "recent", func(u storage.User) (storage.User, error) {
		u.Name = "After"
		return u, nil
	}))
	if u, err := s.GetUserRecent(ctx, "recent"); err != nil || u.Name != "After" {
		t.Errorf("after the update: %q, %v", u.Name, err)
	}
	// The same inside a transaction: seen once it commits.
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		return s.UpdateUser(ctx, "recent", func(u storage.User) (storage.User, error) {
			u.Name = "In a transaction"
			return u, nil
		})
	}))
	if u, err := s.GetUserRecent(ctx, "recent"); err != nil || u.Name != "In a transaction" {
		t.Errorf("after the transaction: %q, %v", u.Name, err)
	}
	must(t, s.DeleteUser(ctx, "recent"))
	if _, err := s.GetUserRecent(ctx, "recent"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after the delete: %v, want ErrNotFound", err)
	}
}
