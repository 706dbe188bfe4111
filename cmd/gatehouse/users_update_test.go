package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// runWithStdin is run with standard input.
func runWithStdin(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, lookupEnv: e.lookup()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := a.run(ctx, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestUsersUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192", "GATEHOUSE_ARGON2_ITERATIONS", "1")
	var created userJSON
	decode(t, mustRun(t, e, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery", "--name", "Ada", "--email-verified", "--output", "json"), &created)
	id := created.ID

	// signsIn reports whether the password signs the customer in.
	signsIn := func(t *testing.T, email, password string) bool {
		t.Helper()
		a := &app{stdout: &syncBuffer{}, stderr: &syncBuffer{}, lookupEnv: e.lookup()}
		cfg, log, store, secrets, err := a.openCommandStore(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		svc, err := a.services(cfg, store, secrets, log)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Identity.Authenticate(context.Background(), email, password)
		return err == nil
	}

	t.Run("profile flags change only their members", func(t *testing.T) {
		var u userJSON
		decode(t, mustRun(t, e, "users", "update", id, "--name", "Ada Lovelace", "--locale", "en-GB", "--output", "json"), &u)
		if u.Name != "Ada Lovelace" || u.Email != "ada@example.com" || !u.EmailVerified {
			t.Errorf("update = %+v", u)
		}
	})
	t.Run("a new email is unverified", func(t *testing.T) {
		var u userJSON
		decode(t, mustRun(t, e, "users", "update", id, "--email", "Ada.L@Example.com", "--output", "json"), &u)
		if u.Email != "ada.l@example.com" || u.EmailVerified {
			t.Errorf("update = %+v", u)
		}
	})
	t.Run("a weak password is refused with its rule and changes nothing", func(t *testing.T) {
		r := run(t, e, "users", "update", id, "--password", "password123", "--name", "Mallory")
		if r.code != exitUsage || !strings.Contains(r.stderr, "rule too_common") || !strings.Contains(r.stderr, "nothing was changed") {
			t.Fatalf("%v", r)
		}
		var u userJSON
		decode(t, mustRun(t, e, "users", "get", id, "--output", "json"), &u)
		if u.Name != "Ada Lovelace" {
			t.Errorf("a refused update changed the name: %+v", u)
		}
		if !signsIn(t, "ada.l@example.com", "correct horse battery") {
			t.Error("the old password no longer signs in")
		}
	})
	t.Run("--password-stdin sets the password from the first line", func(t *testing.T) {
		r := runWithStdin(t, e, "staple battery orbit lantern\r\nignored\n", "users", "update", id, "--password-stdin")
		if r.code != exitOK || !strings.Contains(r.stdout, "The password was changed.") {
			t.Fatalf("%v", r)
		}
		if strings.Contains(r.stdout+r.stderr, "staple") {
			t.Errorf("the password was printed: %v", r)
		}
		if !signsIn(t, "ada.l@example.com", "staple battery orbit lantern") || signsIn(t, "ada.l@example.com", "correct horse battery") {
			t.Error("the new password does not replace the old one")
		}
		events := mustRun(t, e, "events", "export", "--subject", id, "--type", "user.password_changed").stdout
		if n := strings.Count(events, "user.password_changed"); n != 1 {
			t.Errorf("%d user.password_changed events, want 1:\n%s", n, events)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"nothing to change is refused", []string{"users", "update", id}, exitUsage, "users update needs something to change"},
		{"both password flags are refused", []string{"users", "update", id, "--password", "x", "--password-stdin"}, exitUsage, "not both"},
		{"an empty standard input is refused", []string{"users", "update", id, "--password-stdin"}, exitUsage, "standard input holds no password"},
		{"an unknown customer is an error", []string{"users", "update", "nobody", "--name", "X"}, exitError, `no user "nobody"`},
		{"a control character in a name is refused", []string{"users", "update", id, "--name", "a\x00b"}, exitUsage, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runWithStdin(t, e, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit %d and %q: %v", tc.code, tc.want, r)
			}
		})
	}
}
