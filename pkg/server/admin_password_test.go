package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// TestAdminAPIPatchSetsPassword checks that PATCH /customers/{id} takes a
// new password under the password policy: a refused one is a 400 problem
// naming the rule and changes nothing, not even the profile members sent
// with it; an accepted one works for the next sign-in, is never echoed, and
// is recorded as user.password_changed.
func TestAdminAPIPatchSetsPassword(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, func(c *config.Config) {
			c.Argon2MemoryKiB, c.Argon2Iterations = 8192, 1
		})
		ctx := context.Background()
		tok := adminToken(t, s)
		id := adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{
			"email": "carol@example.com", "password": "correct horse battery", "name": "Carol",
		}).want(t, http.StatusCreated).body["id"].(string)

		for _, tc := range []struct {
			name  string
			patch map[string]any
			rule  string
		}{
			{"a short password", map[string]any{"password": "Zq1!x", "name": "Mallory"}, "too_short"},
			{"a common password", map[string]any{"password": "password123", "name": "Mallory"}, "too_common"},
			{"the new email as password", map[string]any{"password": "caroline.smith@example.com", "email": "caroline.smith@example.com"}, "contains_email"},
		} {
			t.Run(tc.name+" is refused as "+tc.rule+" and nothing changes", func(t *testing.T) {
				r := adminCall(t, s, http.MethodPatch, "/customers/"+id, tok, tc.patch)
				wantProblem(t, r, http.StatusBadRequest)
				if r.body["field"] != "password" || r.body["rule"] != tc.rule {
					t.Fatalf("problem names field %v rule %v, want password %s: %s", r.body["field"], r.body["rule"], tc.rule, r.raw)
				}
				if strings.Contains(string(r.raw), tc.patch["password"].(string)) {
					t.Errorf("the problem echoes the password: %s", r.raw)
				}
				got := adminCall(t, s, http.MethodGet, "/customers/"+id, tok, nil).want(t, http.StatusOK).body
				if got["name"] != "Carol" || got["email"] != "carol@example.com" {
					t.Errorf("a refused patch changed the customer: %v", got)
				}
			})
		}

		t.Run("an accepted password replaces the old one with the profile", func(t *testing.T) {
			r := adminCall(t, s, http.MethodPatch, "/customers/"+id, tok, map[string]any{
				"password": "staple battery orbit lantern", "given_name": "Carol",
			}).want(t, http.StatusOK)
			if _, ok := r.body["password"]; ok || strings.Contains(string(r.raw), "staple battery") {
				t.Errorf("the answer shows the password: %s", r.raw)
			}
			if r.body["given_name"] != "Carol" || r.body["has_password"] != true {
				t.Errorf("patch = %v", r.body)
			}
			if _, err := s.Services().Identity.Authenticate(ctx, "carol@example.com", "staple battery orbit lantern"); err != nil {
				t.Errorf("the new password does not sign in: %v", err)
			}
			if _, err := s.Services().Identity.Authenticate(ctx, "carol@example.com", "correct horse battery"); err == nil {
				t.Error("the old password still signs in")
			}
			for _, typ := range []string{events.UserPasswordChanged, events.UserUpdated} {
				evs, err := s.Store().ListEvents(ctx, storage.EventFilter{Subject: id, Type: typ}, storage.Page{})
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 1 {
					t.Errorf("%d %s events, want 1", len(evs), typ)
				}
			}
		})
		t.Run("the logs do not carry a password", func(t *testing.T) {
			if logs := s.logs.String(); strings.Contains(logs, "staple battery") || strings.Contains(logs, "password123") {
				t.Fatal("a password reached the logs")
			}
		})
	})
}
