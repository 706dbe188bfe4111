package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/storage"
)

// adminTests are the listings and deletions the admin API and the command
// line use.
func adminTests(t *testing.T, run func(t *testing.T, name string, fn func(t *testing.T, s storage.Store))) {
	run(t, "users list in id order, page by page", testListUsersPages)
	run(t, "users filter by email or name prefix, case-insensitively, wildcards literal", testListUsersFilter)
	run(t, "deleting a user removes their sessions, consents, identities and tokens", testDeleteUser)
	run(t, "a user's sessions are listed newest first and deleted together", testSessionsByUser)
	run(t, "a user's consents are listed by client and deleted one by one", testConsentsByUser)
}

func userIDs(us []storage.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func testListUsersPages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for i := range 5 {
		mustCreateUser(t, s, fmt.Sprintf("u%d", i), fmt.Sprintf("user%d@example.com", i))
	}
	var got []string
	page := storage.Page{Limit: 2}
	for {
		batch, err := s.ListUsers(ctx, storage.UserFilter{}, page)
		must(t, err)
		got = append(got, userIDs(batch)...)
		if len(batch) < page.Limit {
			break
		}
		page.After = batch[len(batch)-1].ID
	}
	if want := []string{"u0", "u1", "u2", "u3", "u4"}; !slices.Equal(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
}

func testListUsersFilter(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, u := range []struct{ id, email, name string }{
		{"u1", "ada@example.com", "Ada Lovelace"},
		{"u2", "adam@example.com", "Adam Smith"},
		{"u3", "bob@example.com", "Bob Ada"},
		{"u4", "a_x@example.com", "A%x"},
	} {
		user := sampleUser(u.id, u.email)
		user.Name = u.name
		must(t, s.CreateUser(ctx, user))
	}
	for _, c := range []struct {
		filter storage.UserFilter
		want   []string
	}{
		{storage.UserFilter{EmailPrefix: "ADA"}, []string{"u1", "u2"}},
		{storage.UserFilter{EmailPrefix: "ada@"}, []string{"u1"}},
		{storage.UserFilter{NamePrefix: "ada"}, []string{"u1", "u2"}},
		{storage.UserFilter{NamePrefix: "bob a"}, []string{"u3"}},
		{storage.UserFilter{EmailPrefix: "a_"}, []string{"u4"}},
		{storage.UserFilter{NamePrefix: "a%"}, []string{"u4"}},
		{storage.UserFilter{EmailPrefix: "zed"}, nil},
	} {
		got, err := s.ListUsers(ctx, c.filter, storage.Page{})
		must(t, err)
		if ids := userIDs(got); !slices.Equal(ids, c.want) && !(len(ids) == 0 && len(c.want) == 0) {
			t.Errorf("filter %+v = %v, want %v", c.filter, ids, c.want)
		}
	}
}

func testDeleteUser(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "alice", "alice@example.com")
	mustCreateUser(t, s, "bob", "bob@example.com")
	c := mustCreateClient(t, s, "client-x")
	for _, owner := range []string{"alice", "bob"} {
		sess := sampleSession("hash-"+owner, time.Now())
		sess.UserID = owner
		must(t, s.CreateSession(ctx, sess))
		must(t, s.AddSessionClient(ctx, sess.ID, c.ID))
		must(t, s.GrantConsent(ctx, owner, c.ID, []string{"openid"}))
		must(t, s.CreateIdentity(ctx, sampleIdentity("google", "g-"+owner, owner)))
		req := newRequest(&c, "req-"+owner, owner)
		must(t, s.CreateAccessTokenSession(ctx, "at-"+owner, req))
		must(t, s.CreateRefreshTokenSession(ctx, "rt-"+owner, "at-"+owner, req))
	}
	must(t, s.DeleteUser(ctx, "alice"))
	if _, err := s.GetUser(ctx, "alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}
	if _, err := s.GetSession(ctx, "hash-alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted user's session: %v", err)
	}
	if _, err := s.GetConsent(ctx, "alice", c.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted user's consent: %v", err)
	}
	if _, err := s.GetIdentity(ctx, "google", "g-alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted user's identity: %v", err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at-alice", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("deleted user's access token: %v", err)
	}
	if _, err := s.GetRefreshTokenSession(ctx, "rt-alice", newSession()); err == nil {
		t.Error("deleted user's refresh token still works")
	}
	// Bob keeps everything.
	if _, err := s.GetSession(ctx, "hash-bob"); err != nil {
		t.Errorf("other user's session: %v", err)
	}
	if _, err := s.GetConsent(ctx, "bob", c.ID); err != nil {
		t.Errorf("other user's consent: %v", err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at-bob", newSession()); err != nil {
		t.Errorf("other user's access token: %v", err)
	}
	if err := s.DeleteUser(ctx, "alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
}

func testSessionsByUser(t *testing.T, s storage.Store) {
	ctx := context.Background()
	start := time.Now().In(time.FixedZone("UTC+9", 9*3600))
	for i, id := range []string{"h1", "h2", "h3"} {
		sess := sampleSession(id, start.Add(time.Duration(i)*time.Minute))
		if id == "h3" {
			sess.UserID = "someone-else"
		}
		must(t, s.CreateSession(ctx, sess))
		must(t, s.AddSessionClient(ctx, id, "client-a"))
	}
	got, err := s.ListSessionsByUser(ctx, "u1")
	must(t, err)
	if len(got) != 2 || got[0].ID != "h2" || got[1].ID != "h1" {
		t.Fatalf("sessions = %+v, want h2 then h1", got)
	}
	if got[0].CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt not in UTC: %v", got[0].CreatedAt.Location())
	}
	for _, sess := range got {
		ended, clientIDs, err := s.DeleteSession(ctx, sess.ID)
		must(t, err)
		if ended.SID != sess.SID || len(clientIDs) != 1 || clientIDs[0] != "client-a" {
			t.Errorf("DeleteSession(%s) = %+v %v", sess.ID, ended, clientIDs)
		}
	}
	if got, _ := s.ListSessionsByUser(ctx, "u1"); len(got) != 0 {
		t.Errorf("sessions left: %+v", got)
	}
	if _, err := s.GetSession(ctx, "h3"); err != nil {
		t.Errorf("another user's session: %v", err)
	}
}

func testConsentsByUser(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.GrantConsent(ctx, "u1", "client-b", []string{"openid", "email"}))
	must(t, s.GrantConsent(ctx, "u1", "client-a", []string{"openid"}))
	must(t, s.GrantConsent(ctx, "u2", "client-a", []string{"openid"}))
	got, err := s.ListConsents(ctx, "u1")
	must(t, err)
	if len(got) != 2 || got[0].ClientID != "client-a" || got[1].ClientID != "client-b" || !slices.Equal(got[1].Scopes, []string{"openid", "email"}) {
		t.Fatalf("consents = %+v", got)
	}
	must(t, s.DeleteConsent(ctx, "u1", "client-a"))
	if err := s.DeleteConsent(ctx, "u1", "client-a"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := s.GetConsent(ctx, "u2", "client-a"); err != nil {
		t.Errorf("another user's consent: %v", err)
	}
}
