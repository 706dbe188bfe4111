package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
)

// initialLoadTests are ImportStore.InitialLoad's promises. A store may
// decline an initial load (it returns false): then it must call neither
// function and change nothing, and the suite checks that; when it runs
// one, the suite checks what it stored, that a failure leaves nothing, and
// that the customer tables' unique keys hold during finish and after.
func initialLoadTests(t *testing.T, run func(t *testing.T, name string, fn func(t *testing.T, s storage.Store))) {
	run(t, "an initial load stores customers, links and searchable attributes, and its indexes are back for finish and after", testInitialLoadStores)
	run(t, "an initial load that fails leaves nothing behind, its indexes included", testInitialLoadFailure)
	run(t, "an initial load does not start where a customer exists, nor inside a transaction", testInitialLoadNotEmpty)
	run(t, "a taken key among the loaded customers fails the load", testInitialLoadTakenKey)
}

// loadCalls records which of an initial load's functions ran, in order.
type loadCalls []string

func (c *loadCalls) load(fn func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		*c = append(*c, "load")
		return fn(ctx)
	}
}

func (c *loadCalls) finish(fn func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		*c = append(*c, "finish")
		return fn(ctx)
	}
}

// noCustomers fails the test unless the store holds no customer, link or
// searchable attribute value.
func noCustomers(t *testing.T, s storage.Store, why string) {
	t.Helper()
	ctx := context.Background()
	if us, err := s.ListUsers(ctx, storage.UserFilter{}, storage.Page{Limit: 100}); err != nil || len(us) != 0 {
		t.Errorf("%s: customers %v, %v", why, userIDs(us), err)
	}
	if got := searchIDs(t, s, "gold", 10); len(got) != 0 {
		t.Errorf("%s: searchable value gold finds %v", why, got)
	}
	for _, k := range []storage.IdentityKey{{Provider: "google", Subject: "g-a"}, {Provider: "google", Subject: "g-b"}} {
		if l, err := s.GetIdentity(ctx, k.Provider, k.Subject); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: link %s/%s: %+v, %v", why, k.Provider, k.Subject, l, err)
		}
	}
}

// initialLoadCustomers is what the tests load: two batches, links, tiers.
func initialLoadCustomers(ctx context.Context, s storage.Store) error {
	a := withTier("il-a", "gold")
	a.Email, a.ExternalID, a.Name = "Ada@Example.com", "ext-a", "Ada Lovelace"
	b := withTier("il-b", "silver")
	b.Email, b.Name = "bob@example.com", "Bob"
	if err := s.CreateUsers(ctx, []storage.User{a, b}, []storage.Identity{
		{Provider: "google", Subject: "g-a", UserID: "il-a", Email: "ada@gmail.example"},
		{Provider: "github", Subject: "gh-a", UserID: "il-a"},
		{Provider: "google", Subject: "g-b", UserID: "il-b"},
	}); err != nil {
		return fmt.Errorf("first batch: %w", err)
	}
	c := withTier("il-c", "gold")
	c.ExternalID = "ext-c"
	d := storage.User{ID: "il-d", Name: "No Mail"}
	if err := s.CreateUsers(ctx, []storage.User{c, d}, []storage.Identity{{Provider: "facebook", Subject: "f-d", UserID: "il-d"}}); err != nil {
		return fmt.Errorf("second batch: %w", err)
	}
	return nil
}

func testInitialLoadStores(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateRole(t, s, "r-beta", "beta", "")
	var calls loadCalls
	var assigned int
	ran, err := s.InitialLoad(ctx, calls.load(func(ctx context.Context) error {
		if err := initialLoadCustomers(ctx, s); err != nil {
			return err
		}
		n, err := s.AssignRoles(ctx, []storage.RoleAssignment{{UserID: "il-a", RoleID: "r-beta"}, {UserID: "il-c", RoleID: "r-beta"}})
		assigned = n
		return err
	}), calls.finish(func(ctx context.Context) error {
		// The load is visible here, through the lookups an import makes
		// against indexes that are back.
		found, err := s.FindUsersForImport(ctx, []string{"ext-c", "ext-none"}, []string{"ADA@example.COM", "none@example.com"})
		if err != nil {
			return err
		}
		ids := userIDs(found)
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"il-a", "il-c"}) {
			t.Errorf("in finish, found by external id and email: %v, want il-a il-c", ids)
		}
		links, err := s.FindIdentities(ctx, []storage.IdentityKey{{Provider: "google", Subject: "g-a"}, {Provider: "google", Subject: "g-b"},
			{Provider: "facebook", Subject: "f-d"}, {Provider: "google", Subject: "f-d"}})
		if err != nil {
			return err
		}
		var keys []string
		for _, l := range links {
			keys = append(keys, l.Provider+"/"+l.Subject+"="+l.UserID)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"facebook/f-d=il-d", "google/g-a=il-a", "google/g-b=il-b"}) {
			t.Errorf("in finish, links found: %v", keys)
		}
		if l, err := s.GetIdentity(ctx, "github", "gh-a"); err != nil || l.UserID != "il-a" {
			t.Errorf("in finish, github/gh-a: %+v, %v", l, err)
		}
		if u, err := s.GetUserByEmail(ctx, "ada@EXAMPLE.com"); err != nil || u.ID != "il-a" {
			t.Errorf("in finish, by email: %q, %v", u.ID, err)
		}
		// finish may write like any transaction: these go to the tables
		// themselves.
		e := withTier("il-e", "gold")
		return s.CreateUsers(ctx, []storage.User{e}, []storage.Identity{{Provider: "google", Subject: "g-e", UserID: "il-e"}})
	}))
	if !ran {
		if err != nil || len(calls) != 0 {
			t.Fatalf("declined initial load: err %v, calls %v; want nil and none", err, calls)
		}
		noCustomers(t, s, "after a declined initial load")
		return
	}
	must(t, err)
	if !slices.Equal(calls, []string{"load", "finish"}) {
		t.Fatalf("calls %v, want load then finish", calls)
	}
	if assigned != 2 {
		t.Errorf("AssignRoles in the load added %d, want 2", assigned)
	}

	// What the load stored reads back, through every index.
	a, err := s.GetUserByEmail(ctx, "ADA@example.com")
	must(t, err)
	if a.ID != "il-a" || a.Email != "ada@example.com" || a.ExternalID != "ext-a" || a.Attributes[SearchableAttribute] != "gold" || a.Attributes["color"] != "blue" {
		t.Errorf("il-a: %+v", a)
	}
	if got := searchIDs(t, s, "gold", 1); !slices.Equal(got, []string{"il-a", "il-c", "il-e"}) {
		t.Errorf("gold = %v, want il-a il-c il-e", got)
	}
	if got := searchIDs(t, s, "silver", 10); !slices.Equal(got, []string{"il-b"}) {
		t.Errorf("silver = %v, want il-b", got)
	}
	if us, err := s.ListUsers(ctx, storage.UserFilter{NamePrefix: "ADA"}, storage.Page{}); err != nil || !slices.Equal(userIDs(us), []string{"il-a"}) {
		t.Errorf("name prefix ADA: %v, %v", userIDs(us), err)
	}
	for _, c := range []struct{ id, want string }{{"il-a", "beta"}, {"il-c", "beta"}, {"il-b", ""}} {
		names, err := s.RoleNames(ctx, c.id, "")
		must(t, err)
		if c.want == "" && len(names) != 0 || c.want != "" && !slices.Equal(names, []string{c.want}) {
			t.Errorf("%s's roles %v, want %q", c.id, names, c.want)
		}
	}
	links, err := s.ListIdentitiesOfUsers(ctx, []string{"il-a", "il-b", "il-d", "il-e"})
	must(t, err)
	var got []string
	for _, l := range links {
		got = append(got, l.UserID+"/"+l.Provider+"/"+l.Subject+"/"+l.Email)
		if l.CreatedAt.IsZero() || !l.LastUsedAt.Equal(l.CreatedAt) {
			t.Errorf("link %s/%s: created %v, last used %v", l.Provider, l.Subject, l.CreatedAt, l.LastUsedAt)
		}
	}
	want := []string{"il-a/github/gh-a/", "il-a/google/g-a/ada@gmail.example", "il-b/google/g-b/", "il-d/facebook/f-d/", "il-e/google/g-e/"}
	if !slices.Equal(got, want) {
		t.Errorf("links %v, want %v", got, want)
	}

	// The unique keys hold after the load as before it.
	for name, batch := range map[string]struct {
		users []storage.User
		links []storage.Identity
	}{
		"a taken email in another case": {users: []storage.User{{ID: "n-1", Email: "BOB@example.com"}}},
		"a taken external id":           {users: []storage.User{{ID: "n-1", Email: "n1@example.com", ExternalID: "ext-c"}}},
		"a taken id":                    {users: []storage.User{{ID: "il-d", Email: "n1@example.com"}}},
		"a linked upstream account":     {users: []storage.User{{ID: "n-1", Email: "n1@example.com"}}, links: []storage.Identity{{Provider: "facebook", Subject: "f-d", UserID: "n-1"}}},
	} {
		if err := s.CreateUsers(ctx, batch.users, batch.links); !errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("%s: %v, want ErrAlreadyExists", name, err)
		}
	}
	if err := s.CreateUser(ctx, storage.User{ID: "n-2", Email: "ada@example.COM"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreateUser with a loaded email: %v, want ErrAlreadyExists", err)
	}
	if err := s.CreateIdentity(ctx, storage.Identity{Provider: "google", Subject: "g-a2", UserID: "il-a"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("a second google account for il-a: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.GetUser(ctx, "n-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused customer was stored: %v", err)
	}
	must(t, s.CreateUsers(ctx, []storage.User{{ID: "n-3", Email: "n3@example.com", ExternalID: "ext-n3"}},
		[]storage.Identity{{Provider: "google", Subject: "g-n3", UserID: "n-3"}}))
	if l, err := s.GetIdentity(ctx, "google", "g-n3"); err != nil || l.UserID != "n-3" {
		t.Errorf("a link created after the load: %+v, %v", l, err)
	}
}

func testInitialLoadFailure(t *testing.T, s storage.Store) {
	ctx := context.Background()
	refused := errors.New("refused")

	// A failure in finish undoes the load, and finish's own writes.
	var calls loadCalls
	ran, err := s.InitialLoad(ctx, calls.load(func(ctx context.Context) error {
		return initialLoadCustomers(ctx, s)
	}), calls.finish(func(ctx context.Context) error {
		if err := s.CreateUsers(ctx, []storage.User{withTier("il-e", "gold")}, nil); err != nil {
			return err
		}
		return refused
	}))
	if !ran {
		if err != nil || len(calls) != 0 {
			t.Fatalf("declined initial load: err %v, calls %v; want nil and none", err, calls)
		}
		noCustomers(t, s, "after a declined initial load")
		return
	}
	if !errors.Is(err, refused) {
		t.Fatalf("finish failed: InitialLoad returned %v, want the finish's error", err)
	}
	if !slices.Equal(calls, []string{"load", "finish"}) {
		t.Errorf("calls %v, want load then finish", calls)
	}
	noCustomers(t, s, "after finish failed")
	if _, err := s.GetUser(ctx, "il-e"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("finish's customer survived: %v", err)
	}

	// A failure in load: finish is not called, nothing stays.
	calls = nil
	ran, err = s.InitialLoad(ctx, calls.load(func(ctx context.Context) error {
		if err := initialLoadCustomers(ctx, s); err != nil {
			return err
		}
		return refused
	}), calls.finish(func(ctx context.Context) error { return nil }))
	if !ran || !errors.Is(err, refused) {
		t.Fatalf("load failed: InitialLoad returned %v, %v; want true and the load's error", ran, err)
	}
	if !slices.Equal(calls, []string{"load"}) {
		t.Errorf("calls %v, want load only", calls)
	}
	noCustomers(t, s, "after load failed")

	// The database is as empty as before: another initial load runs, and
	// stores.
	calls = nil
	ran, err = s.InitialLoad(ctx, calls.load(func(ctx context.Context) error {
		return s.CreateUsers(ctx, []storage.User{{ID: "ok-1", Email: "ok1@example.com"}}, nil)
	}), calls.finish(func(ctx context.Context) error { return nil }))
	if !ran || err != nil || !slices.Equal(calls, []string{"load", "finish"}) {
		t.Fatalf("an initial load after two failed ones: %v, %v, calls %v; want it to run", ran, err, calls)
	}

	// The indexes the failed loads dropped are back: every unique key
	// holds, and a lookup by email finds its customer.
	must(t, s.CreateUsers(ctx, []storage.User{{ID: "u-1", Email: "Ada@Example.com", ExternalID: "ext-a"}},
		[]storage.Identity{{Provider: "google", Subject: "g-a", UserID: "u-1"}}))
	if u, err := s.GetUserByEmail(ctx, "ADA@example.com"); err != nil || u.ID != "u-1" {
		t.Errorf("by email after the failures: %q, %v", u.ID, err)
	}
	if found, err := s.FindUsersForImport(ctx, []string{"ext-a"}, nil); err != nil || !slices.Equal(userIDs(found), []string{"u-1"}) {
		t.Errorf("by external id after the failures: %v, %v", userIDs(found), err)
	}
	for name, u := range map[string]storage.User{
		"a taken email":       {ID: "u-2", Email: "ada@example.com"},
		"a taken external id": {ID: "u-2", Email: "u2@example.com", ExternalID: "ext-a"},
	} {
		if err := s.CreateUser(ctx, u); !errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("%s: %v, want ErrAlreadyExists", name, err)
		}
	}
	if err := s.CreateUsers(ctx, []storage.User{{ID: "u-2", Email: "u2@example.com"}},
		[]storage.Identity{{Provider: "google", Subject: "g-a", UserID: "u-2"}}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("a linked upstream account: %v, want ErrAlreadyExists", err)
	}
	if err := s.CreateIdentity(ctx, storage.Identity{Provider: "google", Subject: "g-a2", UserID: "u-1"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("a second google account for u-1: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.GetUser(ctx, "u-2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused customer was stored: %v", err)
	}
}

func testInitialLoadNotEmpty(t *testing.T, s storage.Store) {
	ctx := context.Background()
	var calls loadCalls
	load := calls.load(func(ctx context.Context) error {
		return s.CreateUsers(ctx, []storage.User{{ID: "new-1", Email: "new1@example.com"}}, nil)
	})
	finish := calls.finish(func(ctx context.Context) error { return nil })

	// Inside a transaction the store cannot start one of its own.
	err := s.InTx(ctx, func(ctx context.Context) error {
		ran, err := s.InitialLoad(ctx, load, finish)
		if ran {
			t.Errorf("an initial load ran inside a transaction (err %v)", err)
		}
		return nil
	})
	must(t, err)
	if len(calls) != 0 {
		t.Errorf("inside a transaction: calls %v, want none", calls)
	}

	mustCreateUser(t, s, "u1", "ada@example.com")
	ran, err := s.InitialLoad(ctx, load, finish)
	if ran || err != nil || len(calls) != 0 {
		t.Fatalf("with a customer: %v, %v, calls %v; want false, nil and none", ran, err, calls)
	}
	us, err := s.ListUsers(ctx, storage.UserFilter{}, storage.Page{})
	must(t, err)
	if !slices.Equal(userIDs(us), []string{"u1"}) {
		t.Errorf("customers %v, want u1 alone", userIDs(us))
	}
	if err := s.CreateUser(ctx, sampleUser("u2", "ADA@example.com")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("a taken email after a declined load: %v, want ErrAlreadyExists", err)
	}
}

func testInitialLoadTakenKey(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, c := range []struct {
		name          string
		first, second storage.User
		links         []storage.Identity // the first with the first customer, the rest with the second
	}{
		{name: "email in another case", first: storage.User{ID: "t-1", Email: "dup@example.com"}, second: storage.User{ID: "t-2", Email: "DUP@Example.com"}},
		{name: "external id", first: storage.User{ID: "t-1", Email: "t1@example.com", ExternalID: "ext"}, second: storage.User{ID: "t-2", Email: "t2@example.com", ExternalID: "ext"}},
		{name: "id", first: storage.User{ID: "t-1", Email: "t1@example.com"}, second: storage.User{ID: "t-1", Email: "t2@example.com"}},
		{name: "upstream account", first: storage.User{ID: "t-1", Email: "t1@example.com"}, second: storage.User{ID: "t-2", Email: "t2@example.com"},
			links: []storage.Identity{{Provider: "google", Subject: "g-a", UserID: "t-1"}, {Provider: "google", Subject: "g-a", UserID: "t-2"}}},
		{name: "second account at a provider", first: storage.User{ID: "t-1", Email: "t1@example.com"}, second: storage.User{ID: "t-2", Email: "t2@example.com"},
			links: []storage.Identity{{Provider: "google", Subject: "g-a", UserID: "t-1"}, {Provider: "google", Subject: "g-b", UserID: "t-1"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls loadCalls
			ran, err := s.InitialLoad(ctx, calls.load(func(ctx context.Context) error {
				// The two in calls of their own, as an import's batches.
				first := c.first
				first.Attributes = map[string]string{SearchableAttribute: "gold"}
				var firstLinks, secondLinks []storage.Identity
				if len(c.links) > 0 {
					firstLinks, secondLinks = c.links[:1], c.links[1:]
				}
				if err := s.CreateUsers(ctx, []storage.User{first}, firstLinks); err != nil {
					return err
				}
				return s.CreateUsers(ctx, []storage.User{c.second}, secondLinks)
			}), calls.finish(func(ctx context.Context) error { return nil }))
			if !ran {
				if err != nil || len(calls) != 0 {
					t.Fatalf("declined initial load: err %v, calls %v; want nil and none", err, calls)
				}
				return
			}
			if !errors.Is(err, storage.ErrAlreadyExists) {
				t.Errorf("InitialLoad = %v, want ErrAlreadyExists", err)
			}
			if slices.Contains(calls, "finish") {
				t.Errorf("finish ran after a failed load: %v", calls)
			}
			noCustomers(t, s, "after the failed load")
		})
	}
	// The failed loads left the keys unique.
	mustCreateUser(t, s, "k-1", "dup@example.com")
	if err := s.CreateUser(ctx, sampleUser("k-2", "Dup@example.com")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("a taken email after the failed loads: %v, want ErrAlreadyExists", err)
	}
}
