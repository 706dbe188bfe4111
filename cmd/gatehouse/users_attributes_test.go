package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// attributesFile declares the attributes the command-line tests use.
func attributesFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "attributes.yaml")
	decls := `
- name: loyalty_tier
  type: one-of
  values: [bronze, silver, gold]
  scope: loyalty
  searchable: true
- name: points
  type: number
`
	if err := os.WriteFile(path, []byte(decls), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsersAttributes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		e := env{"GATEHOUSE_DATABASE_URL": db.URL}.with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192",
			"GATEHOUSE_ARGON2_ITERATIONS", "1", "GATEHOUSE_ATTRIBUTES_FILE", attributesFile(t))
		var ada, bob, cy userWire
		for _, u := range []struct {
			email string
			out   *userWire
		}{{"ada@example.com", &ada}, {"bob@example.com", &bob}, {"cy@example.com", &cy}} {
			decode(t, mustRun(t, e, "users", "create", "--email", u.email, "--password", "correct horse battery", "--output", "json"), u.out)
		}

		t.Run("set and read, typed by the declarations", func(t *testing.T) {
			var got map[string]any
			decode(t, mustRun(t, e, "users", "attributes", ada.ID, "--set", "loyalty_tier=gold", "--set", "points=12.50", "--output", "json"), &got)
			if got["loyalty_tier"] != "gold" || got["points"] != 12.5 {
				t.Fatalf("after --set: %v", got)
			}
			mustRun(t, e, "users", "attributes", cy.ID, "--set", "loyalty_tier=gold")
			mustRun(t, e, "users", "attributes", bob.ID, "--set", "loyalty_tier=silver")
			r := mustRun(t, e, "users", "attributes", ada.ID)
			if !strings.Contains(r.stdout, "loyalty_tier:") || !strings.Contains(r.stdout, "points:") || !strings.Contains(r.stdout, "12.5") {
				t.Fatalf("text read:\n%s", r.stdout)
			}
			// users get shows them too, typed in JSON.
			var shown struct {
				Attributes map[string]any `json:"attributes"`
			}
			decode(t, mustRun(t, e, "users", "get", ada.ID, "--output", "json"), &shown)
			if shown.Attributes["loyalty_tier"] != "gold" || shown.Attributes["points"] != 12.5 {
				t.Fatalf("users get --output json: attributes %v", shown.Attributes)
			}
			if r := mustRun(t, e, "users", "get", ada.ID); !strings.Contains(r.stdout, "attribute loyalty_tier:") {
				t.Fatalf("users get:\n%s", r.stdout)
			}
			got = nil // decoding into a map merges
			decode(t, mustRun(t, e, "users", "attributes", ada.ID, "--unset", "points", "--output", "json"), &got)
			if _, ok := got["points"]; ok || got["loyalty_tier"] != "gold" {
				t.Fatalf("after --unset: %v", got)
			}
		})

		t.Run("a refused value is a usage error and changes nothing", func(t *testing.T) {
			r := run(t, e, "users", "attributes", bob.ID, "--set", "loyalty_tier=platinum")
			if r.code != exitUsage || !strings.Contains(r.stderr, "loyalty_tier") {
				t.Fatalf("%v", r)
			}
			if r := run(t, e, "users", "attributes", bob.ID, "--set", "shoe_size=40"); r.code != exitUsage {
				t.Fatalf("an undeclared attribute: %v", r)
			}
			var got map[string]any
			decode(t, mustRun(t, e, "users", "attributes", bob.ID, "--output", "json"), &got)
			if got["loyalty_tier"] != "silver" {
				t.Fatalf("bob = %v", got)
			}
		})

		t.Run("list --attribute finds customers by a searchable value", func(t *testing.T) {
			var found []userWire
			decode(t, mustRun(t, e, "users", "list", "--attribute", "loyalty_tier=gold", "--output", "json"), &found)
			if len(found) != 2 || !((found[0].ID == ada.ID && found[1].ID == cy.ID) || (found[0].ID == cy.ID && found[1].ID == ada.ID)) {
				t.Fatalf("gold = %+v", found)
			}
			if r := run(t, e, "users", "list", "--attribute", "points=1"); r.code != exitUsage || !strings.Contains(r.stderr, "not searchable") {
				t.Fatalf("an unsearchable attribute: %v", r)
			}
		})

		t.Run("import lines set attributes; a bad value fails its line by number", func(t *testing.T) {
			file := importFile(t,
				`{"email":"dee@example.com","attributes":{"loyalty_tier":"gold","points":7}}`,
				`{"email":"eve@example.com","attributes":{"loyalty_tier":"platinum"}}`,
				`{"email":"fay@example.com","attributes":{"hat_size":3}}`,
			)
			r := run(t, e, "import", "users", file)
			if !strings.Contains(r.stdout, "created: 1") || !strings.Contains(r.stdout, "line 2: attributes:") || !strings.Contains(r.stdout, "line 3: attributes:") {
				t.Fatalf("%v", r)
			}
			var found []userWire
			decode(t, mustRun(t, e, "users", "list", "--attribute", "loyalty_tier=gold", "--output", "json"), &found)
			if len(found) != 3 {
				t.Fatalf("gold after the import = %+v", found)
			}
		})
	})
}

func TestUsersCreateWithAttributes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		e := env{"GATEHOUSE_DATABASE_URL": db.URL}.with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192",
			"GATEHOUSE_ARGON2_ITERATIONS", "1", "GATEHOUSE_ATTRIBUTES_FILE", attributesFile(t))
		create := func(email string, attrs ...string) result {
			args := []string{"users", "create", "--email", email, "--password", "correct horse battery", "--output", "json"}
			for _, kv := range attrs {
				args = append(args, "--attribute", kv)
			}
			return run(t, e, args...)
		}
		// listed returns the ids of the customers whose email begins with prefix.
		listed := func(args ...string) []string {
			var found []userWire
			decode(t, mustRun(t, e, append([]string{"users", "list", "--output", "json"}, args...)...), &found)
			ids := make([]string, len(found))
			for i, u := range found {
				ids[i] = u.ID
			}
			return ids
		}

		t.Run("created with typed attributes, readable and searchable at once", func(t *testing.T) {
			r := create("gil@example.com", "loyalty_tier=bronze", "points=3.0")
			if r.code != exitOK {
				t.Fatalf("%v", r)
			}
			var created struct {
				ID         string         `json:"id"`
				Attributes map[string]any `json:"attributes"`
			}
			decode(t, r, &created)
			if created.Attributes["loyalty_tier"] != "bronze" || created.Attributes["points"] != float64(3) {
				t.Fatalf("created = %+v", created)
			}
			var got map[string]any
			decode(t, mustRun(t, e, "users", "attributes", created.ID, "--output", "json"), &got)
			if len(got) != 2 || got["loyalty_tier"] != "bronze" || got["points"] != float64(3) {
				t.Fatalf("read back = %v", got)
			}
			if ids := listed("--attribute", "loyalty_tier=bronze"); len(ids) != 1 || ids[0] != created.ID {
				t.Fatalf("bronze = %v, want [%s]", ids, created.ID)
			}
		})

		t.Run("a refused value is a usage error naming it, and creates nobody", func(t *testing.T) {
			for _, attrs := range [][]string{
				{"loyalty_tier=platinum"},
				{"loyalty_tier=gold", "points=many"},
				{"hat_size=7"},
				{"points"},
				{"points=1", "points=2"},
			} {
				r := create("hal@example.com", attrs...)
				if r.code != exitUsage || !strings.Contains(r.stderr, "--attribute") {
					t.Fatalf("--attribute %v: %v", attrs, r)
				}
			}
			if r := create("hal@example.com", "loyalty_tier=platinum"); !strings.Contains(r.stderr, "loyalty_tier") {
				t.Fatalf("the message does not name the attribute: %v", r)
			}
			if ids := listed("--email-prefix", "hal"); len(ids) != 0 {
				t.Fatalf("a refused create created %v", ids)
			}
		})
	})
}

// TestUsersCreateRequiredAttribute checks that required_at_signup binds
// the sign-up form, not an operator: the customer is created without it,
// and with it when given.
func TestUsersCreateRequiredAttribute(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attributes.yaml")
	decls := `
- name: shoe_size
  type: number
  editable_by: customer
  required_at_signup: true
`
	if err := os.WriteFile(path, []byte(decls), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192",
		"GATEHOUSE_ARGON2_ITERATIONS", "1", "GATEHOUSE_ATTRIBUTES_FILE", path)
	var without userWire
	decode(t, mustRun(t, e, "users", "create", "--email", "ivan@example.com", "--password", "correct horse battery", "--output", "json"), &without)
	var none map[string]any
	decode(t, mustRun(t, e, "users", "attributes", without.ID, "--output", "json"), &none)
	if len(none) != 0 {
		t.Fatalf("attributes of a customer created without any: %v", none)
	}
	var created userWire
	decode(t, mustRun(t, e, "users", "create", "--email", "ivy@example.com", "--password", "correct horse battery",
		"--attribute", "shoe_size=38.5", "--output", "json"), &created)
	var got map[string]any
	decode(t, mustRun(t, e, "users", "attributes", created.ID, "--output", "json"), &got)
	if got["shoe_size"] != 38.5 {
		t.Fatalf("shoe_size = %v", got)
	}
}
