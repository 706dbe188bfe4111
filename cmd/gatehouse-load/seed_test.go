package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
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

// seedAttributeSet writes the seeded declarations as --attributes-out does
// and loads them as the server does, from GATEHOUSE_ATTRIBUTES_FILE.
func seedAttributeSet(t *testing.T) *attributes.Set {
	t.Helper()
	path := filepath.Join(t.TempDir(), "attributes.yaml")
	if err := writeSeedAttributes(path); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("", func(k string) (string, bool) {
		if k == "GATEHOUSE_ATTRIBUTES_FILE" {
			return path, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := cfg.AttributeSet()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestSeedAttributesAreDeclared(t *testing.T) {
	set := seedAttributeSet(t)
	if got := set.Searchable(); !slices.Equal(got, []string{"plan", "loyalty_number"}) {
		t.Fatalf("searchable = %v", got)
	}
	marks := seedHashes{bcrypt: "b", django: "d", scrypt: "s", argon2: "a"}
	for i := range 2000 {
		rec := seedUser(i, marks)
		if rec.Attributes == nil {
			continue
		}
		// The line's attributes as the import decodes them.
		raw, err := json.Marshal(rec.Attributes)
		if err != nil {
			t.Fatal(err)
		}
		var change attributes.Change
		if err := json.Unmarshal(raw, &change); err != nil {
			t.Fatal(err)
		}
		if _, _, err := set.Apply(nil, change, attributes.EditorOperator); err != nil {
			t.Fatalf("customer %d: %s: %v", i, raw, err)
		}
	}
}

func TestSeedShares(t *testing.T) {
	const n = 40_000
	marks := seedHashes{bcrypt: "b", django: "d", scrypt: "s", argon2: "a"}
	count := map[string]int{}
	numbers := map[string]int{}
	for i := range n {
		rec := seedUser(i, marks)
		count["hash "+rec.PasswordHash]++
		for _, r := range rec.Roles {
			count["role "+r]++
		}
		if a := rec.Attributes; a != nil {
			count["plan "+a.Plan]++
			if a.LoyaltyNumber != "" {
				if j, dup := numbers[a.LoyaltyNumber]; dup {
					t.Fatalf("customers %d and %d share loyalty number %s", j, i, a.LoyaltyNumber)
				}
				numbers[a.LoyaltyNumber] = i
				count["loyalty"]++
			}
			if a.Newsletter != nil {
				count["newsletter "+map[bool]string{true: "yes", false: "no"}[*a.Newsletter]]++
			}
		} else {
			count["plan "]++
		}
	}
	for key, want := range map[string]float64{
		// The shares the lines had before attributes and roles: unchanged.
		"hash b": 0.60, "hash d": 0.20, "hash s": 0.05, "hash a": 0.10, "hash ": 0.05,
		"plan free": 0.75, "plan plus": 0.15, "plan pro": 0.04, "plan ": 0.06,
		"loyalty": 0.40, "newsletter yes": 0.30, "newsletter no": 0.10,
		"role support": 0.02, "role beta": 0.10,
	} {
		got := float64(count[key]) / n
		// Four standard deviations of a binomial share, and at least 0.3%.
		tol := max(0.003, 4*math.Sqrt(want*(1-want)/n))
		if got < want-tol || got > want+tol {
			t.Errorf("%s: share %.4f, want %.3f ± %.4f", key, got, want, tol)
		}
	}
	a, _ := json.Marshal(seedUser(12345, marks))
	b, _ := json.Marshal(seedUser(12345, marks))
	if !bytes.Equal(a, b) || !bytes.Contains(a, []byte(`"attributes"`)) {
		t.Fatalf("customer 12345 differs between two calls:\n%s\n%s", a, b)
	}
}

func TestSeededLinesImportAndAreFound(t *testing.T) {
	const n = 600
	hashes, err := newSeedHashes(seedPassword)
	if err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	if err := writeSeed(&lines, n, hashes); err != nil {
		t.Fatal(err)
	}
	set := seedAttributeSet(t)
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := events.WithActor(context.Background(), storage.Actor{Type: storage.ActorOperator})
		store := gormstoretest.OpenWith(t, db.URL, gormstore.Options{SearchableAttributes: set.Searchable()})
		keys, err := secret.Derive([]byte("seed-test-secret-seed-test-secret-0123456"))
		if err != nil {
			t.Fatal(err)
		}
		people := identity.NewService(store, identity.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, identity.PasswordPolicy{MinLength: 8})
		acc := accounts.New(accounts.Options{Store: store, Events: events.NewRecorder(store), Secrets: keys, Identity: people, Attributes: set})

		sum, err := userimport.Run(ctx, bytes.NewReader(lines.Bytes()), acc, userimport.Options{CreateRoles: true, BatchSize: 250})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Created != n || sum.Failed != 0 {
			t.Fatalf("import: %+v", sum)
		}

		// want returns the emails of the seeded customers that match.
		want := func(match func(seedRecord) bool) []string {
			var out []string
			for i := range n {
				if rec := seedUser(i, hashes); match(rec) {
					out = append(out, rec.Email)
				}
			}
			slices.Sort(out)
			return out
		}
		emails := func(us []storage.User, err error) []string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			out := make([]string, len(us))
			for i, u := range us {
				out[i] = u.Email
			}
			slices.Sort(out)
			return out
		}
		all := storage.Page{Limit: n + 1}
		for _, plan := range []string{"free", "pro"} {
			got := emails(store.ListUsers(ctx, storage.UserFilter{Attribute: storage.AttributeValue{Name: "plan", Value: plan}}, all))
			if w := want(func(r seedRecord) bool { return r.Attributes != nil && r.Attributes.Plan == plan }); len(w) == 0 || !slices.Equal(got, w) {
				t.Errorf("plan=%s: %d customers found, %d seeded", plan, len(got), len(w))
			}
		}
		for _, name := range []string{"support", "beta"} {
			role, err := store.FindRole(ctx, name, "")
			if err != nil {
				t.Fatalf("role %s: %v", name, err)
			}
			got := emails(store.ListUsersByRole(ctx, role.ID, all))
			if w := want(func(r seedRecord) bool { return slices.Contains(r.Roles, name) }); len(w) == 0 || !slices.Equal(got, w) {
				t.Errorf("role=%s: %d customers found, %d seeded", name, len(got), len(w))
			}
		}
		first := want(func(r seedRecord) bool { return r.Attributes != nil && r.Attributes.LoyaltyNumber != "" })[0]
		u, err := store.GetUserByEmail(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		got := emails(store.ListUsers(ctx, storage.UserFilter{Attribute: storage.AttributeValue{Name: "loyalty_number", Value: u.Attributes["loyalty_number"]}}, all))
		if !slices.Equal(got, []string{first}) {
			t.Errorf("loyalty_number %s: %v, want [%s]", u.Attributes["loyalty_number"], got, first)
		}
	})
}
