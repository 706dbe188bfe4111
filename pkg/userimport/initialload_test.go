package userimport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/userimport"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// newAttributeFixture is newFixture with declared customer attributes: a
// searchable one-of "tier" and a number "points".
func newAttributeFixture(t *testing.T, db gormstoretest.Database) *fixture {
	t.Helper()
	set, err := attributes.New([]attributes.Declaration{
		{Name: "tier", Type: attributes.TypeOneOf, Values: []string{"gold", "silver"}, Searchable: true},
		{Name: "points", Type: attributes.TypeNumber},
	})
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureWith(t, db, set)
}

// loadProbe wraps a store's InitialLoad and records which of its
// functions ran.
type loadProbe struct {
	store            *gormstore.Store
	offered          int
	loaded, finished bool
}

func (p *loadProbe) InitialLoad(ctx context.Context, load, finish func(ctx context.Context) error) (bool, error) {
	p.offered++
	return p.store.InitialLoad(ctx, func(ctx context.Context) error {
		p.loaded = true
		return load(ctx)
	}, func(ctx context.Context) error {
		p.finished = true
		return finish(ctx)
	})
}

// customers describes every stored customer as one line each, sorted:
// their export with password hash, their roles and attributes. IDs the
// import generated and creation times it set (after since) are blanked,
// since they differ between two imports of one file.
func (f *fixture) customers(t *testing.T, since time.Time) []string {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	if _, err := userimport.Export(ctx, &buf, f.store, userimport.ExportOptions{IncludePasswordHashes: true}); err != nil {
		t.Fatal(err)
	}
	var out []string
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var l userimport.Line
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		u, err := f.store.GetUser(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		roles, err := f.store.RoleNames(ctx, l.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(roles)
		if id, err := uuid.Parse(l.ID); err == nil && id.Version() == 7 {
			l.ID = "(generated)"
		}
		if l.CreatedAt != nil && l.CreatedAt.After(since) {
			l.CreatedAt = nil
		}
		b, err := json.Marshal(struct {
			userimport.Line
			StoredRoles []string          `json:"stored_roles"`
			StoredAttrs map[string]string `json:"stored_attributes"`
		}{l, roles, u.Attributes})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// globalRoles lists the names of the global roles, sorted.
func (f *fixture) globalRoles(t *testing.T) []string {
	t.Helper()
	roles, err := f.store.ListRoles(context.Background(), "", storage.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range roles {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// runErr is fixture.run for a run that may fail.
func (f *fixture) runErr(ctx context.Context, input string, opts userimport.Options) (userimport.Summary, error) {
	return userimport.Run(events.WithActor(ctx, storage.Actor{Type: storage.ActorOperator}), strings.NewReader(input), f.accounts, opts)
}

// equivalenceInput names customers several times over, by email in
// another case, external id, kept id and upstream account, among lines
// that fail for themselves; its line numbers are in the comments of
// TestInitialLoad.
var equivalenceInput = strings.Join([]string{
	`{"email":"ada@example.com","name":"Ada","external_id":"x-ada","password_hash":"` + bcryptHash + `","roles":["staff"],"attributes":{"tier":"gold","points":12.5},"identities":[{"provider":"google","subject":"g-ada","email":"ada@gmail.example"}],"created_at":"2019-05-06T07:08:09Z"}`,
	`{"id":"legacy-bob","email":"bob@example.com","name":"Bob","password_hash":"` + djangoHash + `"}`,
	`{"email":"ADA@Example.com","name":"Ada Lovelace","given_name":"Ada","roles":["beta"],"attributes":{"tier":"silver"},"identities":[{"provider":"github","subject":"gh-ada"}]}`,
	`{"email":"carol@example.com","external_id":"x-carol","locale":"de-DE"}`,
	`{"email":"carol.new@example.com","external_id":"x-carol","name":"Carol"}`,
	`{"id":"legacy-bob","email":"robert@example.com","family_name":"Builder","roles":["staff"]}`,
	`{"email":"eve@example.com","identities":[{"provider":"google","subject":"g-ada"}]}`,
	`{"email":"frank@example.com","password_hash":"$1$salt$hash"}`,
	`{"email":"Frank@example.com","name":"Frank"}`,
	`{"email":"broken"`,
	`{"email":"typo@example.com","pasword_hash":"x"}`,
	`{"email":"gina@example.com","roles":["ops"],"attributes":{"tier":"gold"}}`,
	`{"email":"hank@example.com","attributes":{"shoe_size":44}}`,
	`{"identities":[{"provider":"github","subject":"42"}],"name":"No Mail"}`,
	`{"email":"nomail@example.com","identities":[{"provider":"github","subject":"42"}]}`,
	`{"email":"ivy@example.com","external_id":"x-ada"}`,
	`{"email":"bob@example.com","name":"Bobby"}`,
	`{"email":"gina@example.com","external_id":"x-gina","attributes":{"tier":null}}`,
	`{"email":"jack@example.com","attributes":{"tier":"platinum"}}`,
	`{"email":"kim@example.com","id":"legacy-kim","created_at":"2020-01-02T03:04:05Z"}`,
	``,
	`{"email":"lee@example.com","external_id":"x-carol"}`,
	`{"email":"eve@example.com"}`,
	`{"email":"mia@example.com","identities":[{"provider":"google","subject":"g-mia"},{"provider":"google","subject":"g-mia2"}]}`,
	`{"email":"ada@example.com"}`,
}, "\n") + "\n"

// eventsInput has three load batches of two and two finish batches, at
// a batch size of 2: lines 3, 6 and 8 name an earlier line's customer,
// line 5 fails its checks and line 9 is not JSON.
const eventsInput = `{"email":"a@example.com","roles":["staff"]}
{"email":"b@example.com","identities":[{"provider":"google","subject":"g-b"}]}
{"email":"A@example.com","name":"A"}
{"email":"c@example.com"}
{"email":"bad"}
{"email":"B@example.com","name":"B","roles":["staff"]}
{"email":"e@example.com"}
{"email":"a@example.com","name":"A again"}
{"email":
`

func TestInitialLoad(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		wantInitial := db.Name == "sqlite"

		// An import offered to the initial load ends as the same import
		// run batch by batch would: the same counts, failed lines and
		// reasons, and the same customers with the same links, roles,
		// attributes and hashes.
		t.Run("an initial load stores what a batch by batch import stores, and reports it alike", func(t *testing.T) {
			for _, c := range []struct {
				conflict                          accounts.OnConflict
				created, updated, skipped, failed int
			}{
				// Lines 3, 5, 6, 16, 18, 22 name an earlier line's customer
				// (17 and 25 too, but update moved the customers they name
				// to other emails); 7 and 15 an upstream account an earlier
				// line linked; 8, 10, 11, 13, 19, 24 fail for themselves.
				{accounts.ConflictUpdate, 10, 6, 0, 8},
				{accounts.ConflictSkip, 8, 0, 8, 8},
				{accounts.ConflictFail, 8, 0, 0, 16},
			} {
				for _, batch := range []int{2, 3} {
					t.Run(fmt.Sprintf("%s, batches of %d", c.conflict, batch), func(t *testing.T) {
						start := time.Now().Add(-time.Minute)
						opts := userimport.Options{OnConflict: c.conflict, BatchSize: batch, CreateRoles: true}
						plain := newAttributeFixture(t, db)
						want := plain.run(t, equivalenceInput, opts)

						loaded := newAttributeFixture(t, db)
						opts.InitialLoad = loaded.store.InitialLoad
						got := loaded.run(t, equivalenceInput, opts)

						if want.InitialLoad {
							t.Fatal("a run without Options.InitialLoad says it was an initial load")
						}
						if got.InitialLoad != wantInitial {
							t.Fatalf("InitialLoad %v on %s, want %v", got.InitialLoad, db.Name, wantInitial)
						}
						wantCounts(t, want, c.created, c.updated, c.skipped, c.failed)
						wantCounts(t, got, c.created, c.updated, c.skipped, c.failed)
						for _, sum := range []userimport.Summary{want, got} {
							if !slices.IsSortedFunc(sum.Errors, func(a, b userimport.LineError) int { return a.Line - b.Line }) {
								t.Errorf("errors not in line order (initial load %v): %v", sum.InitialLoad, sum.Errors)
							}
						}
						if !slices.Equal(got.Errors, want.Errors) {
							t.Errorf("errors differ:\ninitial load %v\nbatch by batch %v", got.Errors, want.Errors)
						}
						// With fewer errors listed than lines failed, both
						// list the first ones.
						opts.InitialLoad = nil
						opts.MaxErrors = 3
						wantFirst := newAttributeFixture(t, db).run(t, equivalenceInput, opts)
						capped := newAttributeFixture(t, db)
						opts.InitialLoad = capped.store.InitialLoad
						gotFirst := capped.run(t, equivalenceInput, opts)
						if !slices.Equal(gotFirst.Errors, want.Errors[:3]) || !slices.Equal(wantFirst.Errors, want.Errors[:3]) ||
							!gotFirst.ErrorsTruncated || !wantFirst.ErrorsTruncated || gotFirst.Failed != c.failed {
							t.Errorf("the first 3 errors: initial load %v (truncated %v, %d failed), batch by batch %v, want %v",
								gotFirst.Errors, gotFirst.ErrorsTruncated, gotFirst.Failed, wantFirst.Errors, want.Errors[:3])
						}
						for _, reason := range []string{"linked to another customer", `unknown field "pasword_hash"`, "incomplete", "unsupported format",
							"attributes:", "two accounts at provider"} {
							if !slices.ContainsFunc(got.Errors, func(e userimport.LineError) bool { return strings.Contains(e.Reason, reason) }) {
								t.Errorf("no failed line says %q: %v", reason, got.Errors)
							}
						}
						wantCustomers, gotCustomers := plain.customers(t, start), loaded.customers(t, start)
						if len(wantCustomers) != c.created {
							t.Errorf("%d customers stored, want %d", len(wantCustomers), c.created)
						}
						if !slices.Equal(gotCustomers, wantCustomers) {
							t.Errorf("the customers differ:\ninitial load:\n%s\nbatch by batch:\n%s",
								strings.Join(gotCustomers, "\n"), strings.Join(wantCustomers, "\n"))
						}
						if g, w := loaded.globalRoles(t), plain.globalRoles(t); !slices.Equal(g, w) || !slices.Equal(w, []string{"beta", "ops", "staff"}) {
							t.Errorf("roles %v, batch by batch %v, want beta ops staff", g, w)
						}
						// The searchable attribute's index was written.
						for _, f := range []*fixture{plain, loaded} {
							gold, err := f.store.ListUsers(ctx, storage.UserFilter{Attribute: storage.AttributeValue{Name: "tier", Value: "gold"}}, storage.Page{})
							if err != nil {
								t.Fatal(err)
							}
							var emails []string
							for _, u := range gold {
								emails = append(emails, u.Email)
							}
							wantGold := []string{"ada@example.com", "gina@example.com"}
							if c.conflict == accounts.ConflictUpdate {
								wantGold = nil // Ada is silver and ivy@, Gina's tier is gone
							}
							if !slices.Equal(emails, wantGold) {
								t.Errorf("gold customers %v, want %v", emails, wantGold)
							}
						}
					})
				}
			}
		})

		// Each batch of an initial load, of its load and of its finish,
		// records one user.imported event with its counts and lines.
		t.Run("an initial load records one user.imported event per batch, load and finish", func(t *testing.T) {
			f := newFixture(t, db)
			var progress []userimport.Summary
			var read []int64
			sum := f.run(t, eventsInput, userimport.Options{OnConflict: accounts.ConflictUpdate, BatchSize: 2, CreateRoles: true,
				InitialLoad: f.store.InitialLoad, Progress: func(s userimport.Summary, n int64) {
					progress = append(progress, s)
					read = append(read, n)
				}})
			// The bytes read only grow, to the whole input, held-back
			// batches included.
			if !slices.IsSorted(read) || read[len(read)-1] != int64(len(eventsInput)) {
				t.Errorf("bytes read at each batch %v, want growing to %d", read, len(eventsInput))
			}
			wantCounts(t, sum, 4, 3, 0, 2)
			if sum.InitialLoad != wantInitial {
				t.Fatalf("InitialLoad %v on %s", sum.InitialLoad, db.Name)
			}
			evs := f.imported(t)
			var total events.UserImportedData
			for i, e := range evs {
				if e.Batch != i+1 || e.ImportID != sum.ImportID {
					t.Errorf("event %d: batch %d of import %s, want batch %d of %s", i, e.Batch, e.ImportID, i+1, sum.ImportID)
				}
				total.Created += e.Created
				total.Updated += e.Updated
				total.Skipped += e.Skipped
				total.Failed += e.Failed
				total.RolesAssigned += e.RolesAssigned
			}
			// Line 9 is no record: the summary counts it, no event does.
			if total.Created != sum.Created || total.Updated != sum.Updated || total.Skipped != 0 || total.Failed != sum.Failed-1 || total.RolesAssigned != 2 {
				t.Errorf("the events count %+v, the summary %+v", total, sum)
			}
			if len(progress) == 0 || progress[len(progress)-1].Lines() != sum.Lines() {
				t.Errorf("progress %v, want its last call to count every line of %+v", progress, sum)
			}
			if !sum.InitialLoad {
				return
			}
			type batch struct{ first, last, created, updated, failed int }
			want := []batch{{1, 2, 2, 0, 0}, {4, 5, 1, 0, 1}, {7, 7, 1, 0, 0}, {3, 6, 0, 2, 0}, {8, 8, 0, 1, 0}}
			var got []batch
			for _, e := range evs {
				got = append(got, batch{e.FirstLine, e.LastLine, e.Created, e.Updated, e.Failed})
			}
			if !slices.Equal(got, want) {
				t.Errorf("batches (first, last line, created, updated, failed) %v, want %v", got, want)
			}
			if len(progress) != len(want) {
				t.Errorf("%d progress calls, want one per batch (%d)", len(progress), len(want))
			}
			if u := f.user(t, "a@example.com"); u.Name != "A again" {
				t.Errorf("a's name %q: the held-back lines were not applied in input order", u.Name)
			}
			if got := f.roleNames(t, "b@example.com"); !slices.Equal(got, []string{"staff"}) {
				t.Errorf("b's roles %v, want staff from the held-back line 6", got)
			}
		})

		// A database that holds a customer is not loaded: the import runs
		// batch by batch and finds the customers there.
		t.Run("an import into a database with customers is not an initial load", func(t *testing.T) {
			f := newFixture(t, db)
			first := `{"email":"ada@example.com","external_id":"x1"}
{"email":"bob@example.com"}
`
			wantCounts(t, f.run(t, first, userimport.Options{}), 2, 0, 0, 0)
			probe := &loadProbe{store: f.store}
			sum := f.run(t, first+`{"email":"cy@example.com"}`+"\n", userimport.Options{InitialLoad: probe.InitialLoad})
			wantCounts(t, sum, 1, 0, 2, 0)
			if sum.InitialLoad || probe.offered != 1 || probe.loaded || probe.finished {
				t.Errorf("summary says initial load %v; offered %d, load ran %v, finish ran %v; want offered once, nothing run",
					sum.InitialLoad, probe.offered, probe.loaded, probe.finished)
			}
			if evs := f.imported(t); len(evs) != 2 || evs[1].Skipped != 2 || evs[1].Created != 1 {
				t.Errorf("events %+v", evs)
			}
		})

		// An initial load is one transaction: when the import stops half
		// way nothing of it stays (customers, links, roles, events), and
		// the same file then imports whole.
		t.Run("an initial load that stops stores nothing, and the file imports again", func(t *testing.T) {
			for _, stopAt := range []int{1, 4} { // the first load batch; the first finish batch
				t.Run(fmt.Sprintf("after batch %d", stopAt), func(t *testing.T) {
					f := newFixture(t, db)
					runCtx, cancel := context.WithCancel(ctx)
					defer cancel()
					calls := 0
					sum, err := f.runErr(runCtx, eventsInput, userimport.Options{OnConflict: accounts.ConflictUpdate, BatchSize: 2, CreateRoles: true,
						InitialLoad: f.store.InitialLoad, Progress: func(userimport.Summary, int64) {
							if calls++; calls == stopAt {
								cancel()
							}
						}})
					if err == nil {
						t.Fatalf("the import did not stop: %+v", sum)
					}
					if !errors.Is(err, context.Canceled) {
						t.Errorf("err %v, want context.Canceled", err)
					}
					if sum.InitialLoad != wantInitial {
						t.Fatalf("InitialLoad %v on %s", sum.InitialLoad, db.Name)
					}
					users, lerr := f.store.ListUsers(ctx, storage.UserFilter{}, storage.Page{})
					if lerr != nil {
						t.Fatal(lerr)
					}
					if sum.InitialLoad {
						if sum.Created != 0 || sum.Updated != 0 || sum.Skipped != 0 {
							t.Errorf("a failed initial load counts %+v", sum)
						}
						if len(users) != 0 {
							t.Errorf("%d customers after a failed initial load", len(users))
						}
						if evs := f.imported(t); len(evs) != 0 {
							t.Errorf("%d user.imported events after a failed initial load", len(evs))
						}
						if roles := f.globalRoles(t); len(roles) != 0 {
							t.Errorf("roles %v after a failed initial load", roles)
						}
						if l, err := f.store.GetIdentity(ctx, "google", "g-b"); !errors.Is(err, storage.ErrNotFound) {
							t.Errorf("b's link after a failed initial load: %+v, %v", l, err)
						}
					} else if len(users) != sum.Created || sum.Created == 0 {
						// Batch by batch, the committed batches stay and are
						// counted.
						t.Errorf("%d customers stored, the summary counts %d created", len(users), sum.Created)
					}
					again := f.run(t, eventsInput, userimport.Options{OnConflict: accounts.ConflictUpdate, BatchSize: 2, CreateRoles: true})
					if sum.InitialLoad {
						wantCounts(t, again, 4, 3, 0, 2)
					}
					for _, email := range []string{"a@example.com", "b@example.com", "c@example.com", "e@example.com"} {
						f.user(t, email)
					}
					if l, err := f.store.GetIdentity(ctx, "google", "g-b"); err != nil || l.UserID != f.user(t, "b@example.com").ID {
						t.Errorf("b's link after the second import: %+v, %v", l, err)
					}
					if u := f.user(t, "a@example.com"); u.Name != "A again" {
						t.Errorf("a's name %q after the second import", u.Name)
					}
				})
			}
		})

		// A dry run writes nothing, so there is no initial load to offer
		// it to; it counts as a dry run does.
		t.Run("a dry run is not an initial load and stores nothing", func(t *testing.T) {
			f := newFixture(t, db)
			probe := &loadProbe{store: f.store}
			sum := f.run(t, eventsInput, userimport.Options{OnConflict: accounts.ConflictUpdate, BatchSize: 2, DryRun: true, CreateRoles: true,
				InitialLoad: probe.InitialLoad})
			if sum.InitialLoad || !sum.DryRun || probe.offered != 0 {
				t.Errorf("dry run %v, initial load %v, offered %d times", sum.DryRun, sum.InitialLoad, probe.offered)
			}
			// A dry run rolls each batch back, so no later line finds an
			// earlier line's customer: it counts as one without InitialLoad.
			wantCounts(t, sum, 7, 0, 0, 2)
			plain := f.run(t, eventsInput, userimport.Options{OnConflict: accounts.ConflictUpdate, BatchSize: 2, DryRun: true, CreateRoles: true})
			if !slices.Equal(sum.Errors, plain.Errors) {
				t.Errorf("errors %v, without InitialLoad %v", sum.Errors, plain.Errors)
			}
			if users, err := f.store.ListUsers(ctx, storage.UserFilter{}, storage.Page{}); err != nil || len(users) != 0 {
				t.Errorf("a dry run stored %d customers, %v", len(users), err)
			}
			if evs := f.imported(t); len(evs) != 0 {
				t.Errorf("a dry run recorded %d events", len(evs))
			}
			if roles := f.globalRoles(t); len(roles) != 0 {
				t.Errorf("a dry run created roles %v", roles)
			}
		})
	})
}
