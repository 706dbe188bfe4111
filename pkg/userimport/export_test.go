package userimport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/userimport"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestImportKeepsIDs(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db)
		first := `{"id":"auth0|5f7c8ec7c33c","email":"ada@example.com","name":"Ada"}
{"id":"00u1abcd","email":"bob@example.com","identities":[{"provider":"google","subject":"g-bob","email":"Bob@Gmail.example"}]}
{"email":"cy@example.com"}
`
		wantCounts(t, f.run(t, first, userimport.Options{}), 3, 0, 0, 0)
		if u := f.user(t, "ada@example.com"); u.ID != "auth0|5f7c8ec7c33c" {
			t.Fatalf("ada's id %q", u.ID)
		}
		if l, err := f.store.GetIdentity(context.Background(), "google", "g-bob"); err != nil || l.UserID != "00u1abcd" || l.Email != "Bob@Gmail.example" {
			t.Fatalf("bob's link %+v, %v", l, err)
		}

		t.Run("a re-run finds customers by id: skip, then update (a new email too)", func(t *testing.T) {
			wantCounts(t, f.run(t, first, userimport.Options{OnConflict: accounts.ConflictSkip}), 0, 0, 3, 0)
			sum := f.run(t, `{"id":"auth0|5f7c8ec7c33c","email":"ada.lovelace@example.com","name":"Ada Lovelace"}`, userimport.Options{OnConflict: accounts.ConflictUpdate})
			wantCounts(t, sum, 0, 1, 0, 0)
			if u := f.user(t, "ada.lovelace@example.com"); u.ID != "auth0|5f7c8ec7c33c" || u.Name != "Ada Lovelace" {
				t.Fatalf("ada after update: %+v", u)
			}
		})

		t.Run("a client's id is refused: a client-credentials token's subject is its client", func(t *testing.T) {
			if err := f.store.CreateClient(context.Background(), storage.Client{ID: "svc-client-1", Name: "Service"}); err != nil {
				t.Fatal(err)
			}
			sum := f.run(t, `{"id":"svc-client-1","email":"svc@example.com"}`, userimport.Options{})
			wantCounts(t, sum, 0, 0, 0, 1)
			if !strings.Contains(sum.Errors[0].Reason, "a client has this id") {
				t.Errorf("reason %q", sum.Errors[0].Reason)
			}
		})

		t.Run("an id that collides is reported by line, and bad ids are refused", func(t *testing.T) {
			input := strings.Join([]string{
				`{"id":"00u1abcd","email":"cy@example.com"}`, // bob's id, cy's email
				`{"id":"new-id","email":"cy@example.com"}`,   // cy exists under another id
				`{"id":"has space","email":"d@example.com"}`, // not an allowed character
				`{"id":"` + strings.Repeat("x", 256) + `","email":"e@example.com"}`,
				`{"id":"fine-1","email":"f@example.com"}`,
			}, "\n")
			for _, c := range []accounts.OnConflict{accounts.ConflictSkip, accounts.ConflictUpdate} {
				sum := f.run(t, input, userimport.Options{OnConflict: c})
				if c == accounts.ConflictSkip {
					wantCounts(t, sum, 1, 0, 0, 4)
				} else {
					wantCounts(t, sum, 0, 1, 0, 4) // fine-1 was made by the skip run, and is updated
				}
				for i, want := range []string{"email: another customer has it", "has another id", "only ASCII", "1 to 255 bytes"} {
					if e := sum.Errors[i]; e.Line != i+1 || !strings.Contains(e.Reason, want) {
						t.Errorf("%s: error %d = %+v, want line %d %q", c, i, e, i+1, want)
					}
				}
			}
		})
	})
}

func TestExportRoundTrip(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		src := newFixture(t, db)
		input := `{"id":"legacy-1","email":"ada@example.com","email_verified":true,"name":"Ada Lovelace","given_name":"Ada","family_name":"Lovelace","locale":"en-GB","phone_number":"+44 20 7946 0000","external_id":"x-1","password_hash":"` + bcryptHash + `","identities":[{"provider":"google","subject":"g-ada","email":"ada@gmail.example"},{"provider":"github","subject":"42"}],"created_at":"2019-05-06T07:08:09Z"}
{"email":"bob@example.com","password_hash":"` + djangoHash + `"}
{"identities":[{"provider":"facebook","subject":"fb-1"}],"name":"No Mail"}
`
		wantCounts(t, src.run(t, input, userimport.Options{}), 3, 0, 0, 0)
		ctx := context.Background()
		var without, with bytes.Buffer
		if n, err := userimport.Export(ctx, &without, src.store, userimport.ExportOptions{}); err != nil || n != 3 {
			t.Fatalf("export: %d, %v", n, err)
		}
		if strings.Contains(without.String(), "password_hash") || strings.Contains(without.String(), "$2a$") {
			t.Fatalf("an export without --include-password-hashes has hashes:\n%s", without.String())
		}
		if _, err := userimport.Export(ctx, &with, src.store, userimport.ExportOptions{IncludePasswordHashes: true}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(with.String()), "\n")
		if len(lines) != 3 {
			t.Fatalf("%d lines:\n%s", len(lines), with.String())
		}
		var ada map[string]any
		for _, l := range lines {
			if strings.Contains(l, `"ada@example.com"`) {
				if err := json.Unmarshal([]byte(l), &ada); err != nil {
					t.Fatal(err)
				}
			}
		}
		if ada["id"] != "legacy-1" || ada["external_id"] != "x-1" || ada["created_at"] != "2019-05-06T07:08:09Z" ||
			ada["password_hash"] != bcryptHash || len(ada["identities"].([]any)) != 2 {
			t.Fatalf("ada's line %v", ada)
		}

		dst := newFixture(t, db) // a fresh database
		wantCounts(t, dst.run(t, with.String(), userimport.Options{}), 3, 0, 0, 0)
		var again bytes.Buffer
		if _, err := userimport.Export(ctx, &again, dst.store, userimport.ExportOptions{IncludePasswordHashes: true}); err != nil {
			t.Fatal(err)
		}
		if again.String() != with.String() {
			t.Errorf("the round trip changed the customers:\n%s\nagain:\n%s", with.String(), again.String())
		}
		for _, email := range []string{"ada@example.com", "bob@example.com"} {
			u, err := dst.people.Authenticate(ctx, email, kaPassword)
			if err != nil {
				t.Fatalf("%s does not sign in with the old password after the round trip: %v", email, err)
			}
			if email == "ada@example.com" && u.ID != "legacy-1" {
				t.Errorf("ada's id %q", u.ID)
			}
		}
		wantCounts(t, dst.run(t, with.String(), userimport.Options{}), 0, 0, 3, 0)
	})
}
