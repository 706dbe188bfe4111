package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// importTests are the bulk writes and look-ups of customer imports.
func importTests(t *testing.T, run func(t *testing.T, name string, fn func(t *testing.T, s storage.Store))) {
	run(t, "a batch of customers and links is stored whole, external id and creation time kept", testCreateUsersRoundTrip)
	run(t, "customers are found by external id or by email in any case", testFindUsersForImport)
	run(t, "linked upstream accounts are found, unlinked ones not", testFindIdentities)
	run(t, "a taken email, external id or upstream account fails the batch and a transaction rolls back whole", testCreateUsersConflict)
	run(t, "an external id is unique, and any number of customers have none", testExternalIDUnique)
	run(t, "a batch larger than one statement's placeholders is stored", testCreateUsersLarge)
	run(t, "a prefix matching thousands pages in id order like a rare one", testListUsersBroadPrefix)
	run(t, "a prefix with quotes, backslashes or NUL is matched literally", testListUsersPrefixQuoting)
	run(t, "customers are found by id, and the links of a page of customers listed in order", testFindUsersByIDsAndTheirLinks)
	run(t, "roles are assigned in bulk, those a customer has already left and not counted", testAssignRoles)
}

func testAssignRoles(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const n = 1500 // more than one SQLite statement's chunk
	users := make([]storage.User, n)
	for i := range users {
		users[i] = storage.User{ID: fmt.Sprintf("ar-%05d", i), Email: fmt.Sprintf("ar%05d@example.com", i)}
	}
	must(t, s.CreateUsers(ctx, users, nil))
	must(t, s.CreateRole(ctx, storage.Role{ID: "r-beta", Name: "beta"}))
	must(t, s.CreateRole(ctx, storage.Role{ID: "r-support", Name: "support"}))
	if _, err := s.AssignRole(ctx, "ar-00001", "r-beta"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AssignRoles(ctx, nil); err != nil || got != 0 {
		t.Fatalf("no assignments: %d, %v", got, err)
	}
	var batch []storage.RoleAssignment
	for _, u := range users {
		batch = append(batch, storage.RoleAssignment{UserID: u.ID, RoleID: "r-beta"})
	}
	batch = append(batch, storage.RoleAssignment{UserID: "ar-00001", RoleID: "r-support"})
	added, err := s.AssignRoles(ctx, batch)
	must(t, err)
	if added != n {
		t.Errorf("added %d, want %d (ar-00001 had beta already)", added, n)
	}
	names, err := s.RoleNames(ctx, "ar-00001", "")
	must(t, err)
	slices.Sort(names)
	if !slices.Equal(names, []string{"beta", "support"}) {
		t.Errorf("ar-00001's roles: %v", names)
	}
	last, err := s.RoleNames(ctx, fmt.Sprintf("ar-%05d", n-1), "")
	must(t, err)
	if !slices.Equal(last, []string{"beta"}) {
		t.Errorf("the last customer's roles: %v", last)
	}
	if again, err := s.AssignRoles(ctx, batch); err != nil || again != 0 {
		t.Errorf("the same assignments again: %d new, %v", again, err)
	}
}

func testFindUsersByIDsAndTheirLinks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUsers(ctx, []storage.User{
		{ID: "auth0|a1", Email: "a@example.com"}, {ID: "b2", Email: "b@example.com"}, {ID: "c3", Email: "c@example.com"},
	}, []storage.Identity{
		{Provider: "google", Subject: "g-a", UserID: "auth0|a1", Email: "a@gmail.example"},
		{Provider: "facebook", Subject: "f-a", UserID: "auth0|a1"},
		{Provider: "google", Subject: "g-c", UserID: "c3"},
	}))
	found, err := s.FindUsersByIDs(ctx, []string{"c3", "", "missing", "auth0|a1"})
	must(t, err)
	ids := userIDs(found)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"auth0|a1", "c3"}) {
		t.Fatalf("found %v", ids)
	}
	if none, err := s.FindUsersByIDs(ctx, nil); err != nil || len(none) != 0 {
		t.Fatalf("no ids: %v, %v", none, err)
	}
	must(t, s.CreateClient(ctx, storage.Client{ID: "client-x", Name: "X"}))
	if got, err := s.FindClientIDs(ctx, []string{"b2", "client-x", "nobody"}); err != nil || !slices.Equal(got, []string{"client-x"}) {
		t.Fatalf("client ids %v, %v", got, err)
	}
	links, err := s.ListIdentitiesOfUsers(ctx, []string{"c3", "auth0|a1", "b2"})
	must(t, err)
	var got []string
	for _, l := range links {
		got = append(got, l.UserID+"/"+l.Provider+"/"+l.Subject+"/"+l.Email)
	}
	want := []string{"auth0|a1/facebook/f-a/", "auth0|a1/google/g-a/a@gmail.example", "c3/google/g-c/"}
	if !slices.Equal(got, want) {
		t.Fatalf("links %v, want %v", got, want)
	}
}

func testListUsersPrefixQuoting(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUsers(ctx, []storage.User{
		{ID: "q1", Email: "o'brien@example.com", Name: `O'Brien \ Sons`},
		{ID: "q2", Email: "obrien@example.com", Name: "OBrien"},
	}, nil))
	for _, c := range []struct {
		filter storage.UserFilter
		want   []string
	}{
		{storage.UserFilter{EmailPrefix: "O'B"}, []string{"q1"}},
		{storage.UserFilter{NamePrefix: `o'brien \`}, []string{"q1"}},
		{storage.UserFilter{NamePrefix: `o'brien \\`}, nil},
		{storage.UserFilter{EmailPrefix: "o"}, []string{"q1", "q2"}},
		{storage.UserFilter{EmailPrefix: "'; DELETE FROM users; --"}, nil},
		{storage.UserFilter{NamePrefix: "o\x00"}, nil},
	} {
		got, err := s.ListUsers(ctx, c.filter, storage.Page{})
		must(t, err)
		if ids := userIDs(got); !slices.Equal(ids, c.want) && !(len(ids) == 0 && len(c.want) == 0) {
			t.Errorf("filter %+v = %v, want %v", c.filter, ids, c.want)
		}
	}
	if u, err := s.GetUser(ctx, "q2"); err != nil || u.Email != "obrien@example.com" {
		t.Fatalf("q2: %v", err)
	}
}

func testCreateUsersRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	created := time.Date(2019, 5, 6, 7, 8, 9, 0, time.FixedZone("UTC+2", 2*3600))
	a := sampleUser("imp-a", "Ada@Example.com")
	a.ExternalID, a.CreatedAt = "legacy-1", created
	b := storage.User{ID: "imp-b", Email: "bob@example.com", Name: "Bob"}
	must(t, s.CreateUsers(ctx, []storage.User{a, b}, []storage.Identity{
		{Provider: "google", Subject: "g-1", UserID: "imp-a", Email: "ada@gmail.example"},
	}))
	got, err := s.GetUser(ctx, "imp-a")
	must(t, err)
	if got.Email != "ada@example.com" || got.ExternalID != "legacy-1" || !got.CreatedAt.Equal(created) ||
		got.Name != a.Name || got.PasswordHash != a.PasswordHash || got.Address != a.Address || !got.PhoneNumberVerified {
		t.Errorf("stored %+v", got)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt not in UTC: %v", got.CreatedAt.Location())
	}
	if got, err := s.GetUser(ctx, "imp-b"); err != nil || got.ExternalID != "" || got.CreatedAt.IsZero() {
		t.Errorf("imp-b: %+v, %v", got, err)
	}
	link, err := s.GetIdentity(ctx, "google", "g-1")
	must(t, err)
	if link.UserID != "imp-a" || link.CreatedAt.IsZero() || !link.LastUsedAt.Equal(link.CreatedAt) {
		t.Errorf("link %+v", link)
	}
	must(t, s.CreateUsers(ctx, nil, nil))
}

func testFindUsersForImport(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a := storage.User{ID: "f-a", Email: "ada@example.com", ExternalID: "ext-a"}
	b := storage.User{ID: "f-b", Email: "bob@example.com"}
	c := storage.User{ID: "f-c", Email: "cy@example.com", ExternalID: "ext-c"}
	must(t, s.CreateUsers(ctx, []storage.User{a, b, c}, nil))
	found, err := s.FindUsersForImport(ctx, []string{"ext-a", "nope", ""}, []string{"BOB@example.com", ""})
	must(t, err)
	ids := userIDs(found)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"f-a", "f-b"}) {
		t.Errorf("found %v, want [f-a f-b]", ids)
	}
	if found, err := s.FindUsersForImport(ctx, []string{""}, nil); err != nil || len(found) != 0 {
		t.Errorf("empty keys found %v, %v", userIDs(found), err)
	}
	if found, err := s.FindUsersForImport(ctx, nil, []string{"cy@example.com"}); err != nil || len(found) != 1 || found[0].ExternalID != "ext-c" {
		t.Errorf("by email alone: %v, %v", found, err)
	}
}

func testFindIdentities(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUsers(ctx, []storage.User{{ID: "i-a", Email: "ada@example.com"}}, []storage.Identity{
		{Provider: "google", Subject: "1", UserID: "i-a"}, {Provider: "github", Subject: "2", UserID: "i-a"},
	}))
	got, err := s.FindIdentities(ctx, []storage.IdentityKey{{Provider: "google", Subject: "1"}, {Provider: "google", Subject: "2"}, {Provider: "github", Subject: "2"}})
	must(t, err)
	var keys []string
	for _, id := range got {
		keys = append(keys, id.Provider+"/"+id.Subject+"="+id.UserID)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"github/2=i-a", "google/1=i-a"}) {
		t.Errorf("found %v", keys)
	}
	if got, err := s.FindIdentities(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no keys: %v, %v", got, err)
	}
}

func testCreateUsersConflict(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUsers(ctx, []storage.User{{ID: "c-a", Email: "ada@example.com", ExternalID: "ext-a"}},
		[]storage.Identity{{Provider: "google", Subject: "1", UserID: "c-a"}}))
	for name, batch := range map[string]struct {
		users []storage.User
		links []storage.Identity
	}{
		"a taken email":             {users: []storage.User{{ID: "c-new", Email: "ADA@example.com"}}},
		"a taken external id":       {users: []storage.User{{ID: "c-new", Email: "new@example.com", ExternalID: "ext-a"}}},
		"a linked upstream account": {users: []storage.User{{ID: "c-new", Email: "new@example.com"}}, links: []storage.Identity{{Provider: "google", Subject: "1", UserID: "c-new"}}},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.InTx(ctx, func(ctx context.Context) error {
				if err := s.CreateUsers(ctx, []storage.User{{ID: "c-first", Email: "first@example.com"}}, nil); err != nil {
					return fmt.Errorf("the first batch: %w", err)
				}
				return s.CreateUsers(ctx, batch.users, batch.links)
			})
			if !errors.Is(err, storage.ErrAlreadyExists) {
				t.Fatalf("err = %v, want ErrAlreadyExists", err)
			}
			for _, id := range []string{"c-first", "c-new"} {
				if _, err := s.GetUser(ctx, id); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("%s survived the rollback: %v", id, err)
				}
			}
		})
	}
}

func testExternalIDUnique(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateUser(ctx, storage.User{ID: "x-a", Email: "a@example.com"}))
	must(t, s.CreateUser(ctx, storage.User{ID: "x-b", Email: "b@example.com"}))
	must(t, s.CreateUser(ctx, storage.User{ID: "x-c", Email: "c@example.com", ExternalID: "e"}))
	if err := s.CreateUser(ctx, storage.User{ID: "x-d", Email: "d@example.com", ExternalID: "e"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("a second customer with external id e: %v", err)
	}
	must(t, s.UpdateUser(ctx, "x-a", func(u storage.User) (storage.User, error) { u.ExternalID = "f"; return u, nil }))
	if u, err := s.GetUser(ctx, "x-a"); err != nil || u.ExternalID != "f" {
		t.Errorf("updated external id: %q, %v", u.ExternalID, err)
	}
}

func testCreateUsersLarge(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const n = 2500
	users := make([]storage.User, n)
	links := make([]storage.Identity, 0, n/10)
	for i := range users {
		users[i] = storage.User{ID: fmt.Sprintf("l-%05d", i), Email: fmt.Sprintf("c%05d@example.com", i), ExternalID: fmt.Sprintf("e%05d", i)}
		if i%10 == 0 {
			links = append(links, storage.Identity{Provider: "google", Subject: fmt.Sprint(i), UserID: users[i].ID})
		}
	}
	must(t, s.CreateUsers(ctx, users, links))
	found, err := s.FindUsersForImport(ctx, []string{"e00000", "e02499"}, []string{"c01234@example.com"})
	must(t, err)
	if len(found) != 3 {
		t.Errorf("found %d of 3", len(found))
	}
	got, err := s.ListUsers(ctx, storage.UserFilter{EmailPrefix: "c0249"}, storage.Page{Limit: 1000})
	must(t, err)
	if len(got) != 10 {
		t.Errorf("prefix c0249: %d customers, want 10", len(got))
	}
}

func testListUsersBroadPrefix(t *testing.T, s storage.Store) {
	ctx := context.Background()
	// More matches than any store reads through an index before it changes
	// its plan (gormstore: 8192 on SQLite), interleaved with others.
	const n = 9000
	users := make([]storage.User, 0, n+n/9)
	want := map[string]bool{}
	for i := range n {
		u := storage.User{ID: fmt.Sprintf("b-%05d", (i*7919)%n), Email: fmt.Sprintf("b%05d@example.com", i), Name: fmt.Sprintf("Bea %d", i)}
		users = append(users, u)
		want[u.ID] = true
		if i%9 == 0 {
			users = append(users, storage.User{ID: fmt.Sprintf("b-%05d-x", (i*7919)%n), Email: fmt.Sprintf("x%05d@example.com", i), Name: "Xavier"})
		}
	}
	must(t, s.CreateUsers(ctx, users, nil))
	for name, filter := range map[string]storage.UserFilter{
		"email": {EmailPrefix: "B"}, "name": {NamePrefix: "bea"}, "both": {EmailPrefix: "b", NamePrefix: "BEA "},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			page := storage.Page{Limit: 1000}
			for {
				batch, err := s.ListUsers(ctx, filter, page)
				must(t, err)
				if len(batch) == 0 {
					break
				}
				ids := userIDs(batch)
				if !slices.IsSorted(ids) || (len(got) > 0 && ids[0] <= got[len(got)-1]) {
					t.Fatalf("page after %q is not in id order", page.After)
				}
				got = append(got, ids...)
				page.After = ids[len(ids)-1]
			}
			if len(got) != n {
				t.Fatalf("%d customers listed, want %d", len(got), n)
			}
			for _, id := range got {
				if !want[id] {
					t.Fatalf("%s does not match", id)
				}
			}
		})
	}
	got, err := s.ListUsers(ctx, storage.UserFilter{EmailPrefix: "x"}, storage.Page{Limit: 5, After: "b-08000"})
	must(t, err)
	if len(got) != 5 || got[0].ID <= "b-08000" || got[0].Name != "Xavier" {
		t.Errorf("a rare prefix after a cursor: %v", userIDs(got))
	}
}
