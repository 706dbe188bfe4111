package accounts_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/backchannel"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

type fixture struct {
	store    *gormstore.Store
	accounts *accounts.Service
	notified int
}

func newFixture(t *testing.T, databaseURL string) *fixture {
	t.Helper()
	f := &fixture{store: gormstoretest.Open(t, databaseURL)}
	keys, err := secret.Derive([]byte("test-secret-test-secret-test-secret-0123"))
	if err != nil {
		t.Fatal(err)
	}
	people := identity.NewService(f.store, identity.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, identity.PasswordPolicy{MinLength: 8})
	f.accounts = accounts.New(accounts.Options{Store: f.store, Events: events.NewRecorder(f.store), Secrets: keys, Identity: people, Notify: func() { f.notified++ }})
	ctx := context.Background()
	now := time.Now().UTC()
	must(t, f.store.CreateUser(ctx, storage.User{ID: "u1", Email: "ada@example.com", CreatedAt: now, UpdatedAt: now}))
	must(t, f.store.CreateClient(ctx, storage.Client{ID: "rp", Name: "RP", RedirectURIs: []string{"https://rp.example/cb"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, BackchannelLogoutURI: "https://rp.example/bc"}))
	must(t, f.store.CreateClient(ctx, storage.Client{ID: "quiet", Name: "Quiet", RedirectURIs: []string{"https://q.example/cb"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}}))
	for _, id := range []string{"s1", "s2"} {
		must(t, f.store.CreateSession(ctx, storage.BrowserSession{ID: id, SID: "sid-" + id, UserID: "u1", AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
		must(t, f.store.AddSessionClient(ctx, id, "rp"))
		must(t, f.store.AddSessionClient(ctx, id, "quiet"))
	}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) events(t *testing.T, typ string) []storage.Event {
	t.Helper()
	es, err := f.store.ListEvents(context.Background(), storage.EventFilter{Type: typ}, storage.Page{})
	must(t, err)
	return es
}

func (f *fixture) logoutJobs(t *testing.T) []url.Values {
	t.Helper()
	jobs, err := f.store.ListJobs(context.Background(), backchannel.JobKind, storage.JobQueued, storage.Page{})
	must(t, err)
	var out []url.Values
	for _, j := range jobs {
		q, _ := url.ParseQuery(string(j.Payload))
		out = append(out, q)
	}
	return out
}

func TestEndSessionRecordsAndTellsClients(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := events.WithActor(events.WithRequestID(context.Background(), "req-7"), storage.Actor{Type: storage.ActorClient, ID: "admin-cli"})
		bs, clients, err := f.accounts.EndSession(ctx, "s1")
		if err != nil || bs.SID != "sid-s1" || len(clients) != 2 {
			t.Fatalf("EndSession = %+v %v %v", bs, clients, err)
		}
		ended := f.events(t, events.SessionEnded)
		if len(ended) != 1 || ended[0].Subject != "u1" || ended[0].Actor.ID != "admin-cli" || ended[0].RequestID != "req-7" ||
			string(ended[0].Data) != `{"sid":"sid-s1","client_ids":["quiet","rp"]}` {
			t.Fatalf("session.ended = %+v", ended)
		}
		jobs := f.logoutJobs(t)
		if len(jobs) != 1 || jobs[0].Get("client_id") != "rp" || jobs[0].Get("sid") != "sid-s1" || jobs[0].Get("sub") != "u1" {
			t.Fatalf("logout jobs = %v (only the client with a back-channel URI)", jobs)
		}
		if f.notified != 1 {
			t.Errorf("the runner was woken %d times", f.notified)
		}
		if _, _, err := f.accounts.EndSession(ctx, "s1"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("ending it again: %v", err)
		}
		if len(f.events(t, events.SessionEnded)) != 1 {
			t.Error("a failed end recorded an event")
		}
	})
}

func TestDeleteCustomerIsOneTransaction(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		if err := f.accounts.DeleteCustomer(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown customer: %v", err)
		}
		if len(f.events(t, "")) != 0 || len(f.logoutJobs(t)) != 0 {
			t.Fatal("a refused deletion left events or jobs")
		}
		must(t, f.accounts.DeleteCustomer(ctx, "u1"))
		if _, err := f.store.GetUser(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the customer is still there: %v", err)
		}
		if n := len(f.events(t, events.SessionEnded)); n != 2 {
			t.Errorf("%d session.ended events, want 2", n)
		}
		if del := f.events(t, events.UserDeleted); len(del) != 1 || del[0].Subject != "u1" || del[0].Actor.Type != storage.ActorSystem {
			t.Errorf("user.deleted = %+v", del)
		}
		if n := len(f.logoutJobs(t)); n != 2 {
			t.Errorf("%d logout jobs, want one per session", n)
		}
	})
}

func TestEndSessionsOf(t *testing.T) {
	f := newFixture(t, gormstoretest.SQLiteURL(t))
	n, err := f.accounts.EndSessionsOf(context.Background(), "u1")
	if err != nil || n != 2 {
		t.Fatalf("EndSessionsOf = %d %v", n, err)
	}
	if left, _ := f.store.ListSessionsByUser(context.Background(), "u1"); len(left) != 0 {
		t.Fatalf("sessions left: %v", left)
	}
}
