package userimport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/userimport"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// bcryptHash is x/crypto/bcrypt's hash (cost 10) of kaPassword.
const (
	kaPassword = "correct horse battery staple"
	bcryptHash = "$2a$10$Tmr2PcZrYWJB/baMNv0NzeSdSXVv3Xt7S9eAQNBH/.1Zs4j5ERqdO"
	djangoHash = "pbkdf2_sha256$600000$seasalt2024XyZ$ckpOZxEjD2YUXnmmplYAyw+Phzq1IzuUP7nmvKMBXpo="
)

type fixture struct {
	store    *gormstore.Store
	accounts *accounts.Service
	people   *identity.Service
}

// newFixture opens a fresh database of db's kind for one test.
func newFixture(t testing.TB, db gormstoretest.Database) *fixture {
	t.Helper()
	return newFixtureWith(t, db, nil)
}

// newFixtureWith is newFixture with the customer attributes set declares
// (nil for none).
func newFixtureWith(t testing.TB, db gormstoretest.Database, set *attributes.Set) *fixture {
	t.Helper()
	url := gormstoretest.SQLiteURL(t)
	if db.Name == "postgres" {
		url = gormstoretest.PostgresURL(t)
	}
	var opts gormstore.Options
	if set != nil {
		opts.SearchableAttributes = set.Searchable()
	}
	store := gormstoretest.OpenWith(t, url, opts)
	keys, err := secret.Derive([]byte("test-secret-test-secret-test-secret-0123"))
	if err != nil {
		t.Fatal(err)
	}
	people := identity.NewService(store, identity.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, identity.PasswordPolicy{MinLength: 8})
	return &fixture{store: store, people: people,
		accounts: accounts.New(accounts.Options{Store: store, Events: events.NewRecorder(store), Secrets: keys, Identity: people, Attributes: set})}
}

func (f *fixture) run(t *testing.T, input string, opts userimport.Options) userimport.Summary {
	t.Helper()
	ctx := events.WithActor(context.Background(), storage.Actor{Type: storage.ActorOperator})
	sum, err := userimport.Run(ctx, strings.NewReader(input), f.accounts, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func (f *fixture) user(t *testing.T, email string) storage.User {
	t.Helper()
	u, err := f.store.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("%s: %v", email, err)
	}
	return u
}

func (f *fixture) imported(t *testing.T) []events.UserImportedData {
	t.Helper()
	es, err := f.store.ListEvents(context.Background(), storage.EventFilter{Type: events.UserImported}, storage.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.UserImportedData, len(es))
	for i, e := range es {
		if strings.Contains(string(e.Data), "$2a$") || strings.Contains(string(e.Data), "@") || e.Actor.Type != storage.ActorOperator {
			t.Errorf("event %s: data %s, actor %v", e.Type, e.Data, e.Actor)
		}
		if err := json.Unmarshal(e.Data, &out[i]); err != nil {
			t.Fatal(err)
		}
		if e.Subject != out[i].ImportID {
			t.Errorf("subject %q is not the import id %q", e.Subject, out[i].ImportID)
		}
	}
	return out
}

func wantCounts(t *testing.T, s userimport.Summary, created, updated, skipped, failed int) {
	t.Helper()
	if s.Created != created || s.Updated != updated || s.Skipped != skipped || s.Failed != failed {
		t.Fatalf("created %d updated %d skipped %d failed %d, want %d %d %d %d; errors %v",
			s.Created, s.Updated, s.Skipped, s.Failed, created, updated, skipped, failed, s.Errors)
	}
}

func TestImport(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		t.Run("customers, hashes and identities are created in batches, one event each", func(t *testing.T) {
			f := newFixture(t, db)
			input := `{"email":"Ada@Example.com","email_verified":true,"name":"Ada Lovelace","given_name":"Ada","family_name":"Lovelace","locale":"en-GB","phone_number":"+44 20 7946 0000","external_id":"legacy-1","password_hash":"` + bcryptHash + `","created_at":"2019-05-06T07:08:09+02:00"}
{"email":"bob@example.com","password_hash":"` + djangoHash + `","identities":[{"provider":"google","subject":"g-1"}]}

{"identities":[{"provider":"github","subject":"42"}],"name":"No Mail"}
{"email":"cy@example.com"}
{"email":"dee@example.com","external_id":"legacy-4"}
`
			sum := f.run(t, input, userimport.Options{BatchSize: 2})
			wantCounts(t, sum, 5, 0, 0, 0)
			ada := f.user(t, "ada@example.com")
			if ada.ExternalID != "legacy-1" || !ada.EmailVerified || ada.GivenName != "Ada" || ada.PasswordHash != bcryptHash ||
				ada.CreatedAt.Format("2006-01-02T15:04:05Z") != "2019-05-06T05:08:09Z" {
				t.Errorf("ada: %+v", ada)
			}
			if l, err := f.store.GetIdentity(context.Background(), "google", "g-1"); err != nil || l.UserID != f.user(t, "bob@example.com").ID {
				t.Errorf("bob's link: %+v, %v", l, err)
			}
			if l, err := f.store.GetIdentity(context.Background(), "github", "42"); err != nil || l.UserID == "" {
				t.Errorf("the customer without an email: %+v, %v", l, err)
			}
			evs := f.imported(t)
			if len(evs) != 3 {
				t.Fatalf("%d user.imported events, want 3 (batches of 2)", len(evs))
			}
			if e := evs[0]; e.Batch != 1 || e.Created != 2 || e.FirstLine != 1 || e.LastLine != 2 || e.ImportID != sum.ImportID {
				t.Errorf("first batch's event: %+v", e)
			}
			if e := evs[2]; e.Batch != 3 || e.Created != 1 || e.FirstLine != 6 || e.LastLine != 6 {
				t.Errorf("last batch's event: %+v", e)
			}
		})

		t.Run("an imported hash signs in once and is then argon2id", func(t *testing.T) {
			f := newFixture(t, db)
			f.run(t, `{"email":"ada@example.com","password_hash":"`+bcryptHash+`"}`, userimport.Options{})
			ctx := context.Background()
			if _, err := f.people.Authenticate(ctx, "ada@example.com", "wrong password"); err == nil {
				t.Fatal("a wrong password signed in")
			}
			if _, err := f.people.Authenticate(ctx, "ada@example.com", kaPassword); err != nil {
				t.Fatal(err)
			}
			if h := f.user(t, "ada@example.com").PasswordHash; !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Fatalf("not rehashed: %.12s…", h)
			}
			if _, err := f.people.Authenticate(ctx, "ada@example.com", kaPassword); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("a line that fails is reported with its number and reason, and the rest go on", func(t *testing.T) {
			f := newFixture(t, db)
			f.run(t, `{"email":"taken@example.com","identities":[{"provider":"google","subject":"taken"}]}`, userimport.Options{})
			input := strings.Join([]string{
				`{"email":"ok1@example.com"}`,
				`{"email":"broken"`,
				`{"email":"typo@example.com","pasword_hash":"x"}`,
				`{"email":"not an email"}`,
				`{"email":"md5@example.com","password_hash":"$1$salt$hash"}`,
				`{"email":"cost@example.com","password_hash":"$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}`,
				`{"email":"linked@example.com","identities":[{"provider":"google","subject":"taken"}]}`,
				`{"name":"nobody"}`,
				`{"email":"ok2@example.com","email_verified":"yes"}`,
				`{"email":"ok3@example.com"}`,
				`{"email":"long@example.com","name":"` + strings.Repeat("x", userimport.MaxLineBytes) + `"}`,
				`{"email":"ok4@example.com"}`,
				`{"email":"when@example.com","created_at":"yesterday"}`,
			}, "\n")
			sum := f.run(t, input, userimport.Options{BatchSize: 3})
			wantCounts(t, sum, 3, 0, 0, 10)
			wantLines := []int{2, 3, 4, 5, 6, 7, 8, 9, 11, 13}
			for i, e := range sum.Errors {
				if i >= len(wantLines) || e.Line != wantLines[i] || e.Reason == "" {
					t.Errorf("error %d: %+v, want line %d", i, e, wantLines[min(i, len(wantLines)-1)])
				}
				if strings.Contains(e.Reason, "$2a$31$") || strings.Contains(e.Reason, "$1$salt") {
					t.Errorf("the reason repeats the hash: %s", e.Reason)
				}
			}
			for _, want := range []string{"incomplete", `unknown field "pasword_hash"`, "email", "unsupported format", "out of bounds", "linked to another customer", "required unless", "must be bool", "longer than", "RFC 3339"} {
				found := false
				for _, e := range sum.Errors {
					found = found || strings.Contains(e.Reason, want)
				}
				if !found {
					t.Errorf("no reason says %q: %v", want, sum.Errors)
				}
			}
			for _, email := range []string{"ok1@example.com", "ok3@example.com", "ok4@example.com"} {
				f.user(t, email)
			}
		})

		t.Run("importing again is idempotent by external id or email: skip, update or fail", func(t *testing.T) {
			f := newFixture(t, db)
			first := `{"email":"ada@example.com","external_id":"x1","name":"Ada"}
{"email":"bob@example.com","name":"Bob"}
`
			wantCounts(t, f.run(t, first, userimport.Options{}), 2, 0, 0, 0)
			wantCounts(t, f.run(t, first, userimport.Options{OnConflict: accounts.ConflictSkip}), 0, 0, 2, 0)
			wantCounts(t, f.run(t, first, userimport.Options{OnConflict: accounts.ConflictFail}), 0, 0, 0, 2)
			second := `{"email":"ada.new@example.com","external_id":"x1","name":"Ada L.","password_hash":"` + bcryptHash + `","identities":[{"provider":"google","subject":"g-ada"}]}
{"email":"BOB@example.com","external_id":"x2","given_name":"Robert"}
{"email":"bob@example.com","external_id":"x3"}
`
			sum := f.run(t, second, userimport.Options{OnConflict: accounts.ConflictUpdate})
			wantCounts(t, sum, 0, 2, 0, 1)
			if sum.Errors[0].Line != 3 || !strings.Contains(sum.Errors[0].Reason, "another external_id") {
				t.Errorf("line 3: %+v", sum.Errors)
			}
			ada := f.user(t, "ada.new@example.com")
			if ada.Name != "Ada L." || ada.PasswordHash != bcryptHash || ada.ExternalID != "x1" {
				t.Errorf("ada after update: %+v", ada)
			}
			if l, err := f.store.GetIdentity(context.Background(), "google", "g-ada"); err != nil || l.UserID != ada.ID {
				t.Errorf("ada's new link: %+v, %v", l, err)
			}
			if bob := f.user(t, "bob@example.com"); bob.Name != "Bob" || bob.GivenName != "Robert" || bob.ExternalID != "x2" {
				t.Errorf("bob after update: %+v", bob)
			}
		})

		t.Run("a second line about the same customer sees the first", func(t *testing.T) {
			f := newFixture(t, db)
			input := `{"email":"ada@example.com","name":"Ada"}
{"email":"ADA@example.com","name":"Ada Lovelace"}
{"email":"bob@example.com"}
`
			wantCounts(t, f.run(t, input, userimport.Options{OnConflict: accounts.ConflictUpdate}), 2, 1, 0, 0)
			if u := f.user(t, "ada@example.com"); u.Name != "Ada Lovelace" {
				t.Errorf("name %q", u.Name)
			}
		})

		t.Run("batches written in parallel: every customer once, and a later line about a customer of a batch in flight waits for it", func(t *testing.T) {
			f := newFixture(t, db)
			var b strings.Builder
			for i := range 200 {
				// Every batch names the role, which the first batches to
				// get there create side by side.
				fmt.Fprintf(&b, `{"email":"c%03d@example.com","name":"first","external_id":"x%03d","roles":["beta"]}`+"\n", i, i)
				if i%7 == 3 {
					// The same customer again, two or three batches of 5 later:
					// sometimes in the batch written beside the first's.
					fmt.Fprintf(&b, `{"email":"c%03d@example.com","name":"second %d","external_id":"x%03d"}`+"\n", i-2, i-2, i-2)
				}
			}
			sum := f.run(t, b.String(), userimport.Options{BatchSize: 5, Parallel: 3, OnConflict: accounts.ConflictUpdate, CreateRoles: true})
			updates := 0
			for i := range 200 {
				if i%7 == 3 {
					updates++
				}
			}
			wantCounts(t, sum, 200, updates, 0, 0)
			for i := range 200 {
				want := "first"
				if (i+2)%7 == 3 && i+2 < 200 {
					want = fmt.Sprintf("second %d", i)
				}
				u := f.user(t, fmt.Sprintf("c%03d@example.com", i))
				if u.Name != want {
					t.Errorf("c%03d: name %q, want %q", i, u.Name, want)
				}
				if names, err := f.store.RoleNames(context.Background(), u.ID, ""); err != nil || len(names) != 1 || names[0] != "beta" {
					t.Errorf("c%03d's roles: %v, %v", i, names, err)
				}
			}
			evs := f.imported(t)
			batches := map[int]bool{}
			for _, e := range evs {
				batches[e.Batch] = true
			}
			if len(batches) != len(evs) || !batches[1] || !batches[len(evs)] {
				t.Errorf("batch numbers of the events: %v", batches)
			}
		})

		t.Run("a dry run reports the counts and stores nothing, no event", func(t *testing.T) {
			f := newFixture(t, db)
			input := `{"email":"ada@example.com"}
{"email":"x"}
{"email":"bob@example.com","identities":[{"provider":"google","subject":"1"}]}
`
			sum := f.run(t, input, userimport.Options{DryRun: true})
			wantCounts(t, sum, 2, 0, 0, 1)
			if !sum.DryRun {
				t.Error("the summary does not say dry run")
			}
			if _, err := f.store.GetUserByEmail(context.Background(), "ada@example.com"); err == nil {
				t.Error("a dry run stored a customer")
			}
			if evs := f.imported(t); len(evs) != 0 {
				t.Errorf("a dry run recorded %d events", len(evs))
			}
		})

		t.Run("progress is reported after each batch with the bytes read", func(t *testing.T) {
			f := newFixture(t, db)
			var b strings.Builder
			for i := range 25 {
				fmt.Fprintf(&b, `{"email":"c%d@example.com"}`+"\n", i)
			}
			var calls []int64
			sum := f.run(t, b.String(), userimport.Options{BatchSize: 10, Progress: func(s userimport.Summary, n int64) { calls = append(calls, n) }})
			wantCounts(t, sum, 25, 0, 0, 0)
			if len(calls) != 3 || calls[2] != int64(b.Len()) || calls[0] >= calls[1] {
				t.Errorf("progress %v (input %d bytes)", calls, b.Len())
			}
		})
	})
}
