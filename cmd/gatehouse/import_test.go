package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importFile writes lines to a JSON Lines file in the test's directory.
func importFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "customers.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	file := importFile(t,
		`{"email":"ada@example.com","name":"Ada Lovelace","external_id":"1","password_hash":"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}`,
		`{"email":"bob@example.com","name":"Bob","identities":[{"provider":"google","subject":"g-bob"}]}`,
		`{"email":"cy@example.com","password_hash":"{SSHA}abc"}`,
	)

	t.Run("a dry run counts and stores nothing", func(t *testing.T) {
		r := run(t, e, "import", "users", file, "--dry-run")
		if r.code != exitError || !strings.Contains(r.stdout, "dry run: nothing was stored") || !strings.Contains(r.stdout, "created: 2") {
			t.Fatalf("%v", r)
		}
		if r := mustRun(t, e, "users", "list", "--output", "json"); strings.TrimSpace(r.stdout) != "[]" {
			t.Fatalf("a dry run stored customers: %s", r.stdout)
		}
	})

	t.Run("the import reports the failed line by number and imports the rest; exit 1", func(t *testing.T) {
		r := run(t, e, "import", "users", file)
		if r.code != exitError || !strings.Contains(r.stdout, "created: 2") || !strings.Contains(r.stdout, "failed:  1") ||
			!strings.Contains(r.stdout, "line 3: password_hash: unsupported format") || !strings.Contains(r.stderr, "1 of 3 lines failed") {
			t.Fatalf("%v", r)
		}
		if strings.Contains(r.stdout+r.stderr, "{SSHA}") {
			t.Fatalf("the output repeats a hash: %v", r)
		}
		var users []userWire
		decode(t, mustRun(t, e, "users", "list", "--email-prefix", "AD", "--output", "json"), &users)
		if len(users) != 1 || users[0].Email != "ada@example.com" {
			t.Fatalf("users %+v", users)
		}
	})

	t.Run("importing again skips, updates or fails as --on-conflict says", func(t *testing.T) {
		var sum struct {
			Created, Updated, Skipped, Failed int
		}
		r := run(t, e, "import", "users", file, "--output", "json")
		decode(t, r, &sum)
		if sum.Skipped != 2 || sum.Failed != 1 || sum.Created != 0 {
			t.Fatalf("skip: %+v", sum)
		}
		update := importFile(t, `{"email":"ada@example.com","external_id":"1","name":"Ada King"}`)
		decode(t, mustRun(t, e, "import", "users", update, "--on-conflict", "update", "--output", "json"), &sum)
		if sum.Updated != 1 {
			t.Fatalf("update: %+v", sum)
		}
		var users []userWire
		decode(t, mustRun(t, e, "users", "list", "--name-prefix", "ada k", "--output", "json"), &users)
		if len(users) != 1 {
			t.Fatalf("the update did not apply: %+v", users)
		}
		if r := run(t, e, "import", "users", update, "--on-conflict", "fail"); r.code != exitError || !strings.Contains(r.stdout, "line 1: the customer exists") {
			t.Fatalf("fail: %v", r)
		}
	})

	t.Run("each batch is one user.imported event by the operator", func(t *testing.T) {
		r := mustRun(t, e, "events", "export", "--type", "user.imported")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		// The real import, the skip, the update and the failed update: one batch each.
		if len(lines) != 4 || !strings.Contains(lines[0], `"operator"`) || !strings.Contains(lines[0], `"created":2`) {
			t.Fatalf("events:\n%s", r.stdout)
		}
	})

	t.Run("bad usage exits 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"import"}, {"import", "clients", file}, {"import", "users"}, {"import", "users", file, "--on-conflict", "merge"},
			{"import", "users", file, "--batch-size", "0"}, {"import", "users", "-"},
		} {
			if r := run(t, e, args...); r.code != exitUsage {
				t.Errorf("%v: %v", args, r)
			}
		}
		if r := run(t, e, "import", "users", filepath.Join(t.TempDir(), "missing.jsonl")); r.code != exitError {
			t.Errorf("a missing file: %v", r)
		}
	})
}

func TestUsersImportAndExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	hash := "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
	file := importFile(t,
		`{"id":"old-1","email":"ada@example.com","name":"Ada","password_hash":"`+hash+`","identities":[{"provider":"google","subject":"g-ada","email":"ada@gmail.example"}]}`,
		`{"email":"bob@example.com"}`,
	)
	var sum struct{ Created, Skipped int }
	decode(t, mustRun(t, e, "users", "import", file, "--output", "json"), &sum)
	if sum.Created != 2 {
		t.Fatalf("users import: %+v", sum)
	}
	decode(t, mustRun(t, e, "import", "users", file, "--on-conflict", "skip", "--output", "json"), &sum)
	if sum.Skipped != 2 {
		t.Fatalf("the first name, import users, re-run: %+v", sum)
	}

	r := mustRun(t, e, "users", "export")
	if strings.Contains(r.stdout, hash) || !strings.Contains(r.stdout, `"id":"old-1"`) || !strings.Contains(r.stderr, "exported 2 customers") {
		t.Fatalf("export without hashes: %v", r)
	}
	out := filepath.Join(t.TempDir(), "export.jsonl")
	mustRun(t, e, "users", "export", "--include-password-hashes", "--output", out)
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the export file: %v, %v", st, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || !strings.Contains(string(data), hash) ||
		!strings.Contains(string(data), `"email":"ada@gmail.example"`) {
		t.Fatalf("export with hashes:\n%s", data)
	}
	if r := run(t, e, "users", "export", "extra"); r.code != exitUsage {
		t.Errorf("an argument: %v", r)
	}
}
