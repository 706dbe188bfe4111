package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// TestAdminAPIRefusesWeakPasswords checks that creating a customer through
// the admin API applies the configured password policy, and answers a
// refused password with a 400 problem naming the field and the rule.
func TestAdminAPIRefusesWeakPasswords(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, func(c *config.Config) {
			c.PasswordMinLength = 10
			c.Argon2MemoryKiB, c.Argon2Iterations = 8192, 1
		})
		tok := adminToken(t, s)
		for _, tc := range []struct {
			name, email, password, rule string
		}{
			{"password", "weak1@example.com", "password", "too_short"},
			{"the configured minimum of 10", "weak2@example.com", "k9#Vq2zXw", "too_short"},
			{"12345678 repeated to length", "weak3@example.com", "1234567890", "too_common"},
			{"ten spaces", "weak4@example.com", strings.Repeat(" ", 10), "too_common"},
			{"a common password", "weak5@example.com", "password123", "too_common"},
			{"the customer's own email", "Weak6@Example.com", "weak6@example.com", "contains_email"},
			{"more than 256 characters", "weak7@example.com", strings.Repeat("k9#Vq2zXw!", 26), "too_long"},
		} {
			t.Run(tc.name+" is refused as "+tc.rule, func(t *testing.T) {
				r := adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{"email": tc.email, "password": tc.password})
				wantProblem(t, r, http.StatusBadRequest)
				if r.body["field"] != "password" || r.body["rule"] != tc.rule {
					t.Fatalf("problem names field %v rule %v, want password %s: %s", r.body["field"], r.body["rule"], tc.rule, r.raw)
				}
			})
		}
		t.Run("no refused customer was stored", func(t *testing.T) {
			if got := adminCall(t, s, http.MethodGet, "/customers?email_prefix=weak", tok, nil).want(t, http.StatusOK).items(t); len(got) != 0 {
				t.Fatalf("refused customers exist: %v", got)
			}
		})
		t.Run("a strong password is accepted", func(t *testing.T) {
			adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{
				"email": "strong@example.com", "password": "correct horse battery", "name": "Strong",
			}).want(t, http.StatusCreated)
		})
		t.Run("the logs do not carry a refused password", func(t *testing.T) {
			if logs := s.logs.String(); strings.Contains(logs, "k9#Vq2zXw") || strings.Contains(logs, "password123") {
				t.Fatal("a password reached the logs")
			}
		})
	})
}
