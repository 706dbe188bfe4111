package main

import (
	"strings"
	"testing"
)

func TestUsersCreateRefusesWeakPasswords(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192", "GATEHOUSE_ARGON2_ITERATIONS", "1")
	for _, tc := range []struct {
		name, email, password, want string
	}{
		{"password", "ada@example.com", "password", "the password is too common or too easy to guess"},
		{"12345678", "ada@example.com", "12345678", "the password is too common or too easy to guess"},
		{"eight spaces", "ada@example.com", "        ", "the password is too common or too easy to guess"},
		{"the customer's own email", "Ada.Lovelace@example.com", "ada.lovelace@example.com", "the password must not contain the email address"},
		{"seven characters", "ada@example.com", "k9#Vq2z", "the password must be at least 8 characters"},
	} {
		t.Run(tc.name+" is refused in plain words with exit 2", func(t *testing.T) {
			r := run(t, e, "users", "create", "--email", tc.email, "--password", tc.password)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want exit 2 and %q: %v", tc.want, r)
			}
		})
	}
	t.Run("the configured minimum applies", func(t *testing.T) {
		r := run(t, e.with("GATEHOUSE_PASSWORD_MIN_LENGTH", "12"), "users", "create", "--email", "ada@example.com", "--password", "k9#Vq2zXw!p")
		if r.code != exitUsage || !strings.Contains(r.stderr, "at least 12 characters (rule too_short)") {
			t.Fatalf("%v", r)
		}
	})
	t.Run("no refused customer was stored; a strong password is accepted", func(t *testing.T) {
		if r := mustRun(t, e, "users", "list", "--output", "json"); strings.TrimSpace(r.stdout) != "[]" {
			t.Fatalf("users exist after refusals: %s", r.stdout)
		}
		mustRun(t, e, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery")
	})
}
