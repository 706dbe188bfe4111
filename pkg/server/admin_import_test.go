package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestAdminAPIImport(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		tok := adminToken(t, s)
		ctx := context.Background()

		t.Run("a body larger than max_request_bytes is imported in batches, one event each, by the admin client", func(t *testing.T) {
			var b strings.Builder
			for i := range 1500 {
				fmt.Fprintf(&b, `{"email":"bulk%04d@example.com","name":"Bulk Customer %d","external_id":"b-%d"}`+"\n", i, i, i)
			}
			if b.Len() <= 64<<10 {
				t.Fatalf("the body (%d bytes) is not over the default limit", b.Len())
			}
			r := adminRaw(t, s, "POST", "/customers/import?batch_size=500", tok, "application/x-ndjson", b.String()).want(t, http.StatusOK)
			if r.body["created"] != float64(1500) || r.body["failed"] != float64(0) {
				t.Fatalf("summary %s", r.raw)
			}
			es, err := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserImported}, storage.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 3 {
				t.Fatalf("%d user.imported events, want 3", len(es))
			}
			if es[0].Actor.Type != storage.ActorClient || es[0].Actor.ID == "" || es[0].RequestID == "" || es[0].Subject != r.body["import_id"] {
				t.Errorf("event %+v", es[0])
			}
			list := adminCall(t, s, "GET", "/customers?email_prefix=BULK14&limit=200", tok, nil).want(t, http.StatusOK)
			if n := len(list.items(t)); n != 100 {
				t.Errorf("email_prefix bulk14: %d customers, want 100", n)
			} else if it := list.items(t)[0]; it["external_id"] == nil || it["has_password"] != false {
				t.Errorf("an imported customer as listed: %v", it)
			}
			list = adminCall(t, s, "GET", "/customers?name_prefix=bulk%20customer%20149&limit=200", tok, nil).want(t, http.StatusOK)
			if n := len(list.items(t)); n != 11 {
				t.Errorf("name_prefix: %d customers, want 11", n)
			}
		})

		t.Run("failed lines come back with their numbers and the rest are imported", func(t *testing.T) {
			body := `{"email":"bulk0000@example.com"}
{"email":"fresh@example.com","password_hash":"md5:abc"}
{"email":"fresh@example.com"}
{"email":
`
			r := adminRaw(t, s, "POST", "/customers/import?on_conflict=fail", tok, "application/jsonl", body).want(t, http.StatusOK)
			var sum struct {
				Created, Failed int
				Errors          []struct {
					Line   int
					Reason string
				}
			}
			if err := json.Unmarshal(r.raw, &sum); err != nil {
				t.Fatal(err)
			}
			if sum.Created != 1 || sum.Failed != 3 || len(sum.Errors) != 3 || sum.Errors[0].Line != 1 || sum.Errors[1].Line != 2 || sum.Errors[2].Line != 4 {
				t.Fatalf("summary %s", r.raw)
			}
		})

		t.Run("an imported bcrypt hash signs in through the pages and is rehashed to argon2id", func(t *testing.T) {
			hash, err := bcrypt.GenerateFromPassword([]byte(alicePassword), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			body := fmt.Sprintf(`{"email":"alice@example.com","email_verified":true,"name":"Alice Liddell","password_hash":%q}`, hash)
			adminRaw(t, s, "POST", "/customers/import", tok, "application/x-ndjson", body).want(t, http.StatusOK)
			rp := newRelyingParty(t, s, webClient(true))
			if code := rp.signIn(newFlow()).Get("code"); code == "" {
				t.Fatal("no code")
			}
			u, err := s.Store().GetUserByEmail(ctx, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("not rehashed: %.8s…", u.PasswordHash)
			}
		})
	})
}
