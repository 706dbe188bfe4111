package conformance

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
)

// SearchableAttribute is the customer attribute the store under test must
// index (gormstore.Options.SearchableAttributes); every other attribute is
// kept but not indexed.
const SearchableAttribute = "tier"

func attributeTests(t *testing.T, run func(*testing.T, string, func(*testing.T, storage.Store))) {
	run(t, "attributes round trip; a customer without any reads back none", testAttributesRoundTrip)
	run(t, "search by a searchable value pages by id and follows updates and deletes", testAttributeSearch)
	run(t, "an attribute the store does not index, or with a prefix, is ErrNotSearchable", testAttributeNotSearchable)
	run(t, "imported customers' searchable values are indexed", testAttributeImport)
	run(t, "a failing update leaves the index as it was", testAttributeUpdateAbort)
}

func withTier(id, tier string) storage.User {
	u := storage.User{ID: id, Email: id + "@example.com", Attributes: map[string]string{"color": "blue"}}
	if tier != "" {
		u.Attributes[SearchableAttribute] = tier
	}
	return u
}

// searchIDs lists the IDs of every customer with the tier, limit a page.
func searchIDs(t *testing.T, s storage.Store, tier string, limit int) []string {
	t.Helper()
	var ids []string
	after := ""
	for {
		page, err := s.ListUsers(context.Background(), storage.UserFilter{Attribute: storage.AttributeValue{Name: SearchableAttribute, Value: tier}},
			storage.Page{After: after, Limit: limit})
		must(t, err)
		for _, u := range page {
			if u.Attributes[SearchableAttribute] != tier {
				t.Fatalf("customer %s has tier %q, searched for %q", u.ID, u.Attributes[SearchableAttribute], tier)
			}
			ids = append(ids, u.ID)
		}
		if len(page) < limit {
			return ids
		}
		after = page[len(page)-1].ID
	}
}

func testAttributesRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	want := map[string]string{SearchableAttribute: "gold", "points": "12.5", "joined": "2024-02-29", "nickname": "Zoë \"Z\" O'Brien"}
	u := sampleUser("a1", "a1@example.com")
	u.Attributes = want
	must(t, s.CreateUser(ctx, u))
	got, err := s.GetUser(ctx, "a1")
	must(t, err)
	if !maps.Equal(got.Attributes, want) {
		t.Fatalf("attributes = %v, want %v", got.Attributes, want)
	}
	mustCreateUser(t, s, "a2", "a2@example.com")
	got, err = s.GetUser(ctx, "a2")
	must(t, err)
	if len(got.Attributes) != 0 {
		t.Fatalf("a customer without attributes has %v", got.Attributes)
	}
	// Clearing every attribute reads back none.
	must(t, s.UpdateUser(ctx, "a1", func(u storage.User) (storage.User, error) {
		u.Attributes = nil
		return u, nil
	}))
	got, err = s.GetUser(ctx, "a1")
	must(t, err)
	if len(got.Attributes) != 0 {
		t.Fatalf("cleared attributes read back as %v", got.Attributes)
	}
}

func testAttributeSearch(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, u := range []storage.User{withTier("c5", "gold"), withTier("c1", "gold"), withTier("c3", "silver"), withTier("c2", "gold"), withTier("c4", ""), withTier("c6", "Gold")} {
		must(t, s.CreateUser(ctx, u))
	}
	if got := searchIDs(t, s, "gold", 2); !slices.Equal(got, []string{"c1", "c2", "c5"}) {
		t.Fatalf("gold = %v, want c1 c2 c5 (exact, in id order, over pages of two)", got)
	}
	must(t, s.UpdateUser(ctx, "c2", func(u storage.User) (storage.User, error) {
		u.Attributes[SearchableAttribute] = "silver"
		return u, nil
	}))
	must(t, s.UpdateUser(ctx, "c4", func(u storage.User) (storage.User, error) {
		u.Attributes[SearchableAttribute] = "gold"
		return u, nil
	}))
	// An update that leaves the attributes alone keeps the customer found.
	must(t, s.UpdateUser(ctx, "c1", func(u storage.User) (storage.User, error) {
		u.Name = "Renamed"
		return u, nil
	}))
	must(t, s.DeleteUser(ctx, "c5"))
	if got := searchIDs(t, s, "gold", 10); !slices.Equal(got, []string{"c1", "c4"}) {
		t.Fatalf("gold after the changes = %v, want c1 c4", got)
	}
	if got := searchIDs(t, s, "silver", 10); !slices.Equal(got, []string{"c2", "c3"}) {
		t.Fatalf("silver after the changes = %v, want c2 c3", got)
	}
	// A customer created again with a deleted one's ID is not found by
	// the deleted customer's value.
	must(t, s.CreateUser(ctx, withTier("c5", "")))
	if got := searchIDs(t, s, "gold", 10); !slices.Equal(got, []string{"c1", "c4"}) {
		t.Fatalf("gold after re-creating c5 = %v", got)
	}
}

func testAttributeNotSearchable(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUser(ctx, withTier("n1", "gold")))
	_, err := s.ListUsers(ctx, storage.UserFilter{Attribute: storage.AttributeValue{Name: "color", Value: "blue"}}, storage.Page{})
	if !errors.Is(err, storage.ErrNotSearchable) {
		t.Fatalf("an unindexed attribute: %v, want ErrNotSearchable", err)
	}
	_, err = s.ListUsers(ctx, storage.UserFilter{EmailPrefix: "n", Attribute: storage.AttributeValue{Name: SearchableAttribute, Value: "gold"}}, storage.Page{})
	if !errors.Is(err, storage.ErrNotSearchable) {
		t.Fatalf("an attribute with a prefix: %v, want ErrNotSearchable", err)
	}
}

func testAttributeImport(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUsers(ctx, []storage.User{withTier("m1", "gold"), withTier("m2", "bronze"), withTier("m3", "gold"), withTier("m4", "")}, nil))
	if got := searchIDs(t, s, "gold", 10); !slices.Equal(got, []string{"m1", "m3"}) {
		t.Fatalf("imported gold = %v, want m1 m3", got)
	}
	got, err := s.GetUser(ctx, "m2")
	must(t, err)
	if !maps.Equal(got.Attributes, map[string]string{SearchableAttribute: "bronze", "color": "blue"}) {
		t.Fatalf("imported attributes = %v", got.Attributes)
	}
}

func testAttributeUpdateAbort(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUser(ctx, withTier("r1", "gold")))
	refused := errors.New("refused")
	err := s.UpdateUser(ctx, "r1", func(u storage.User) (storage.User, error) {
		u.Attributes[SearchableAttribute] = "silver"
		return u, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("update = %v", err)
	}
	if got := searchIDs(t, s, "gold", 10); !slices.Equal(got, []string{"r1"}) {
		t.Fatalf("gold after a failed update = %v", got)
	}
	if got := searchIDs(t, s, "silver", 10); len(got) != 0 {
		t.Fatalf("silver after a failed update = %v", got)
	}
}
