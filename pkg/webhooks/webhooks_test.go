package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// verifyStandardWebhook checks a request by the Standard Webhooks
// specification, written from the specification apart from the signer:
// the secret is "whsec_" and base64; the signed content is
// "{webhook-id}.{webhook-timestamp}.{body}"; webhook-signature is a
// space-separated list of "v1,<base64 HMAC-SHA256>", any of which may
// match; the timestamp must be within the tolerance of now.
func verifyStandardWebhook(secretText string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	const tolerance = 5 * time.Minute
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp outside the tolerance: %v", d)
	}
	if !strings.HasPrefix(secretText, "whsec_") {
		return errors.New("secret without whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(secretText[len("whsec_"):])
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// received is one request a receiver got.
type received struct {
	path   string
	header http.Header
	body   []byte
	at     time.Time
	env    webhooks.Envelope
	seq    int64
}

// receiver is an httptest server that records what it is sent and
// answers what answer says (200 by default).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(r received) int
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g := received{path: r.URL.Path, header: r.Header.Clone(), body: body, at: time.Now()}
		if err := json.Unmarshal(body, &g.env); err != nil {
			t.Errorf("body is not an envelope: %s", body)
		}
		if s, ok := g.env.Data["sequence"].(float64); ok {
			g.seq = int64(s)
		}
		rc.mu.Lock()
		answer := rc.answer
		rc.mu.Unlock()
		status := http.StatusOK
		if answer != nil {
			status = answer(g)
		}
		rc.mu.Lock()
		if status/100 == 2 {
			rc.got = append(rc.got, g)
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(received) int) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// accepted returns the requests answered 2xx, in order, of a path ("" for
// all).
func (rc *receiver) accepted(path string) []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, g := range rc.got {
		if path == "" || g.path == path {
			out = append(out, g)
		}
	}
	return out
}

// eventually waits for cond; it asserts an outcome, never a duration.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// env is a store with the webhook service on its recorder, and a runner.
type env struct {
	store   *gormstore.Store
	secrets *secret.Keys
	hooks   *webhooks.Service
	rec     *events.Recorder
	runner  *jobs.Runner
	policy  outbound.Policy
}

var fastRetry = jobs.Retry{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, Horizon: time.Hour}

func newEnv(t *testing.T, url string, retry jobs.Retry) *env {
	t.Helper()
	secrets, err := secret.Derive([]byte(strings.Repeat("k", 40)))
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, gormstoretest.Open(t, url), secrets, retry)
}

func newEnvOn(t testing.TB, store *gormstore.Store, secrets *secret.Keys, retry jobs.Retry) *env {
	t.Helper()
	e := &env{store: store, secrets: secrets, policy: outbound.Policy{DevAllowLoopback: true}}
	e.hooks = webhooks.New(webhooks.Options{Store: store, Secrets: secrets, CheckURL: e.policy.CheckURL, Notify: func() { e.runner.Notify() }})
	e.rec = events.NewRecorder(store, e.hooks.Fanout)
	d := &webhooks.Deliverer{Store: store, Secrets: secrets, Outbound: outbound.New(e.policy), Retry: retry}
	e.runner = jobs.NewRunner(store, jobs.Options{Kinds: []jobs.Kind{d.Kind()}, PollInterval: 20 * time.Millisecond})
	return e
}

func (e *env) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.runner.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (e *env) subscribe(t testing.TB, url string, types ...string) webhooks.Created {
	t.Helper()
	c, err := e.hooks.Create(context.Background(), webhooks.Spec{URL: url, EventTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// commit records events in one transaction and returns them.
func (e *env) commit(t testing.TB, evs ...storage.Event) []storage.Event {
	t.Helper()
	if err := e.store.InTx(context.Background(), func(ctx context.Context) error { return e.rec.Record(ctx, evs...) }); err != nil {
		t.Fatal(err)
	}
	return evs
}

func userEvent(typ, subject string) storage.Event {
	ctx := events.WithRequestID(events.WithActor(context.Background(), storage.Actor{Type: storage.ActorOperator}), "req-"+subject)
	return events.New(ctx, typ, subject, map[string]any{"email": subject + "@example.com"})
}

func (e *env) deliveries(t *testing.T, id string) []storage.WebhookDelivery {
	t.Helper()
	ds, err := e.hooks.Deliveries(context.Background(), id, storage.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// fresh returns a new, empty database of the dialect, for one subtest.
func fresh(t *testing.T, db gormstoretest.Database) string {
	if db.Name == "sqlite" {
		return gormstoretest.SQLiteURL(t)
	}
	return gormstoretest.PostgresURL(t)
}

func TestDelivery(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		t.Run("a delivery verifies by the Standard Webhooks scheme and carries the envelope", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			sub := e.subscribe(t, rc.URL+"/a")
			if !strings.HasPrefix(sub.Secret, "whsec_") {
				t.Fatalf("secret %q", sub.Secret)
			}
			if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sub.Secret, "whsec_")); err != nil || len(key) < 24 {
				t.Fatalf("secret key: %d bytes, %v", len(key), err)
			}
			e.run(t)
			ev := e.commit(t, userEvent(events.UserCreated, "u1"))[0]
			eventually(t, "the event delivered", func() bool { return len(rc.accepted("")) == 1 })
			g := rc.accepted("")[0]
			if err := verifyStandardWebhook(sub.Secret, g.header, g.body, time.Now()); err != nil {
				t.Fatalf("signature: %v", err)
			}
			other := webhooks.FormatSecret(make([]byte, 32))
			if err := verifyStandardWebhook(other, g.header, g.body, time.Now()); err == nil {
				t.Fatal("another secret verified the signature")
			}
			tampered := append([]byte{}, g.body...)
			tampered[len(tampered)-2] ^= 1
			if err := verifyStandardWebhook(sub.Secret, g.header, tampered, time.Now()); err == nil {
				t.Fatal("a tampered body verified")
			}
			if err := verifyStandardWebhook(sub.Secret, g.header, g.body, time.Now().Add(time.Hour)); err == nil {
				t.Fatal("a stale timestamp verified")
			}
			if g.header.Get("webhook-id") != ev.ID || g.env.ID != ev.ID || g.env.Type != events.UserCreated || !g.env.Timestamp.Equal(ev.Time.Truncate(time.Microsecond)) && !g.env.Timestamp.Equal(ev.Time) {
				t.Errorf("envelope = %+v, event %+v", g.env, ev)
			}
			d := g.env.Data
			if d["subject"] != "u1" || d["email"] != "u1@example.com" || d["request_id"] != "req-u1" || g.seq != 1 {
				t.Errorf("data = %v", d)
			}
			if a, _ := d["actor"].(map[string]any); a["type"] != storage.ActorOperator {
				t.Errorf("actor = %v", d["actor"])
			}
			if ct := g.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			eventually(t, "the delivery listed as succeeded", func() bool {
				ds := e.deliveries(t, sub.ID)
				return len(ds) == 1 && ds[0].State == storage.DeliverySucceeded && len(ds[0].Attempts) == 1 && ds[0].Attempts[0].StatusCode == 200
			})
		})

		t.Run("a healthy receiver gets every event in commit order, sequence increasing", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			e.subscribe(t, rc.URL+"/a")
			e.run(t)
			var want []string
			for i := range 20 {
				var batch []storage.Event
				for j := range 1 + i%3 {
					batch = append(batch, userEvent(events.UserUpdated, fmt.Sprintf("u%d-%d", i, j)))
				}
				for _, ev := range e.commit(t, batch...) {
					want = append(want, ev.ID)
				}
			}
			eventually(t, "every event delivered", func() bool { return len(rc.accepted("")) >= len(want) })
			got := rc.accepted("")
			if len(got) != len(want) {
				t.Fatalf("got %d deliveries for %d events", len(got), len(want))
			}
			for i, g := range got {
				if g.env.ID != want[i] || g.seq != int64(i+1) {
					t.Fatalf("delivery %d: event %s sequence %d, want %s sequence %d", i, g.env.ID, g.seq, want[i], i+1)
				}
			}
		})

		t.Run("a receiver down for a while gets every event once it is up", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			var mu sync.Mutex
			refused := 0
			rc.setAnswer(func(received) int { mu.Lock(); defer mu.Unlock(); refused++; return http.StatusServiceUnavailable })
			sub := e.subscribe(t, rc.URL+"/a")
			e.run(t)
			want := map[string]bool{}
			for i := range 12 {
				for _, ev := range e.commit(t, userEvent(events.UserUpdated, fmt.Sprintf("u%d", i))) {
					want[ev.ID] = true
				}
			}
			eventually(t, "several refused attempts", func() bool { mu.Lock(); defer mu.Unlock(); return refused >= 8 })
			rc.setAnswer(nil)
			eventually(t, "every event received", func() bool {
				seen := map[string]bool{}
				for _, g := range rc.accepted("") {
					seen[g.header.Get("webhook-id")] = true
				}
				for id := range want {
					if !seen[id] {
						return false
					}
				}
				return true
			})
			failed := 0
			for _, d := range e.deliveries(t, sub.ID) {
				for _, a := range d.Attempts {
					if a.StatusCode == http.StatusServiceUnavailable && a.Error != "" {
						failed++
					}
				}
			}
			if failed < 8 {
				t.Errorf("the listing shows %d failed attempts", failed)
			}
		})

		t.Run("a failing event is retried without holding back later ones", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			e.subscribe(t, rc.URL+"/a")
			first := userEvent(events.UserUpdated, "poison")
			var mu sync.Mutex
			heal := false
			rc.setAnswer(func(g received) int {
				mu.Lock()
				defer mu.Unlock()
				if g.env.ID == first.ID && !heal {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			})
			e.run(t)
			e.commit(t, first)
			var later []string
			for i := range 5 {
				later = append(later, e.commit(t, userEvent(events.UserUpdated, fmt.Sprintf("u%d", i)))[0].ID)
			}
			eventually(t, "the later events delivered while the first fails", func() bool { return len(rc.accepted("")) == len(later) })
			for i, g := range rc.accepted("") {
				if g.env.ID != later[i] {
					t.Errorf("later delivery %d is %s, want %s", i, g.env.ID, later[i])
				}
			}
			mu.Lock()
			heal = true
			mu.Unlock()
			eventually(t, "the first event delivered on a retry", func() bool { return len(rc.accepted("")) == len(later)+1 })
			if last := rc.accepted("")[len(later)]; last.env.ID != first.ID || last.seq != 1 {
				t.Errorf("the retried delivery: %s sequence %d", last.env.ID, last.seq)
			}
		})

		t.Run("a rolled-back change emits nothing", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			sub := e.subscribe(t, rc.URL+"/a")
			e.run(t)
			ghost := userEvent(events.UserDeleted, "ghost")
			err := e.store.InTx(context.Background(), func(ctx context.Context) error {
				if err := e.rec.Record(ctx, ghost); err != nil {
					return err
				}
				return errors.New("the change failed")
			})
			if err == nil {
				t.Fatal("the transaction committed")
			}
			real := e.commit(t, userEvent(events.UserDeleted, "real"))[0]
			eventually(t, "the committed event delivered", func() bool { return len(rc.accepted("")) == 1 })
			if g := rc.accepted("")[0]; g.env.ID != real.ID || g.seq != 1 {
				t.Errorf("delivered %s sequence %d, want the committed event with sequence 1", g.env.ID, g.seq)
			}
			ds := e.deliveries(t, sub.ID)
			if len(ds) != 1 || ds[0].EventID != real.ID {
				t.Errorf("deliveries = %+v", ds)
			}
		})

		t.Run("fan-out: filters, disabled subscriptions, many events in one record", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			created := e.subscribe(t, rc.URL+"/created", events.UserCreated)
			all := e.subscribe(t, rc.URL+"/all")
			off := e.subscribe(t, rc.URL+"/off")
			f := false
			if _, err := e.hooks.Update(context.Background(), off.ID, webhooks.Patch{Enabled: &f}); err != nil {
				t.Fatal(err)
			}
			var batch []storage.Event
			for i := range 30 {
				typ := events.UserUpdated
				if i%3 == 0 {
					typ = events.UserCreated
				}
				batch = append(batch, userEvent(typ, fmt.Sprintf("u%d", i)))
			}
			e.commit(t, batch...)
			if n := len(e.deliveries(t, created.ID)); n != 10 {
				t.Errorf("the user.created subscription has %d deliveries, want 10", n)
			}
			if n := len(e.deliveries(t, all.ID)); n != 30 {
				t.Errorf("the subscription to all has %d deliveries, want 30", n)
			}
			if n := len(e.deliveries(t, off.ID)); n != 0 {
				t.Errorf("the disabled subscription has %d deliveries", n)
			}
			e.run(t)
			eventually(t, "all delivered", func() bool { return len(rc.accepted("/all")) == 30 && len(rc.accepted("/created")) == 10 })
			for i, g := range rc.accepted("/created") {
				if g.env.Type != events.UserCreated || g.seq != int64(i+1) {
					t.Errorf("/created got %s sequence %d", g.env.Type, g.seq)
				}
			}
		})

		t.Run("rotation: during the overlap both secrets sign; after it only the new one", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			sub := e.subscribe(t, rc.URL+"/a")
			ctx := context.Background()
			_, second, err := e.hooks.RotateSecret(ctx, sub.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			e.run(t)
			e.commit(t, userEvent(events.UserUpdated, "u1"))
			eventually(t, "delivered", func() bool { return len(rc.accepted("")) == 1 })
			g := rc.accepted("")[0]
			if n := len(strings.Fields(g.header.Get("webhook-signature"))); n != 2 {
				t.Errorf("%d signatures during the overlap, want 2", n)
			}
			for _, s := range []string{sub.Secret, second} {
				if err := verifyStandardWebhook(s, g.header, g.body, time.Now()); err != nil {
					t.Errorf("during the overlap: %v", err)
				}
			}
			_, third, err := e.hooks.RotateSecret(ctx, sub.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			e.commit(t, userEvent(events.UserUpdated, "u2"))
			eventually(t, "delivered", func() bool { return len(rc.accepted("")) == 2 })
			g = rc.accepted("")[1]
			if err := verifyStandardWebhook(third, g.header, g.body, time.Now()); err != nil {
				t.Errorf("the new secret: %v", err)
			}
			for _, old := range []string{sub.Secret, second} {
				if err := verifyStandardWebhook(old, g.header, g.body, time.Now()); err == nil {
					t.Error("a rotated-out secret still signs after a rotation without overlap")
				}
			}
			if _, _, err := e.hooks.RotateSecret(ctx, sub.ID, 8*24*time.Hour); err == nil {
				t.Error("an overlap over the maximum was accepted")
			}
		})

		t.Run("replay re-delivers one event or a time range with the same webhook-id", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			sub := e.subscribe(t, rc.URL+"/a", events.UserCreated)
			e.run(t)
			start := time.Now().Add(-time.Second)
			one := e.commit(t, userEvent(events.UserCreated, "u1"))[0]
			e.commit(t, userEvent(events.UserUpdated, "u1"), userEvent(events.UserCreated, "u2"))
			eventually(t, "delivered", func() bool { return len(rc.accepted("")) == 2 })
			ctx := context.Background()
			if n, err := e.hooks.Replay(ctx, sub.ID, webhooks.Replay{EventID: one.ID}); err != nil || n != 1 {
				t.Fatalf("replay one: %d %v", n, err)
			}
			eventually(t, "the replay delivered", func() bool { return len(rc.accepted("")) == 3 })
			if g := rc.accepted("")[2]; g.header.Get("webhook-id") != one.ID || g.seq != 3 {
				t.Errorf("replay: id %s sequence %d", g.header.Get("webhook-id"), g.seq)
			}
			if n, err := e.hooks.Replay(ctx, sub.ID, webhooks.Replay{From: start}); err != nil || n != 2 {
				t.Fatalf("replay range: %d %v (the filter takes 2 of 3 events)", n, err)
			}
			eventually(t, "the range delivered", func() bool { return len(rc.accepted("")) == 5 })
			ds := e.deliveries(t, sub.ID)
			if len(ds) != 5 || ds[0].Replay || !ds[2].Replay || !ds[4].Replay {
				t.Errorf("deliveries: %+v", ds)
			}
			var ie *webhooks.InvalidError
			if _, err := e.hooks.Replay(ctx, sub.ID, webhooks.Replay{EventID: "nope"}); !errors.As(err, &ie) {
				t.Errorf("replaying an unknown event: %v", err)
			}
			if id, err := e.hooks.Ping(ctx, sub.ID); err != nil {
				t.Fatal(err)
			} else {
				eventually(t, "the ping delivered", func() bool { return len(rc.accepted("")) == 6 })
				if g := rc.accepted("")[5]; g.env.Type != webhooks.PingType || g.env.ID != id {
					t.Errorf("ping: %+v", g.env)
				}
			}
		})

		t.Run("after the horizon a delivery is dead, listed and replayable", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), jobs.Retry{Base: 20 * time.Millisecond, Max: 50 * time.Millisecond, Horizon: 300 * time.Millisecond})
			rc := newReceiver(t)
			rc.setAnswer(func(received) int { return http.StatusBadGateway })
			sub := e.subscribe(t, rc.URL+"/a")
			e.run(t)
			ev := e.commit(t, userEvent(events.UserCreated, "u1"))[0]
			eventually(t, "the delivery dead", func() bool {
				ds := e.deliveries(t, sub.ID)
				return len(ds) == 1 && ds[0].State == storage.DeliveryDead
			})
			d := e.deliveries(t, sub.ID)[0]
			if len(d.Attempts) < 1 || d.Attempts[len(d.Attempts)-1].StatusCode != http.StatusBadGateway {
				t.Errorf("dead delivery attempts = %+v", d.Attempts)
			}
			dead, err := e.store.ListJobs(context.Background(), webhooks.JobKind, storage.JobDead, storage.Page{})
			if err != nil || len(dead) != 1 || dead[0].ID != d.ID {
				t.Errorf("dead jobs = %+v %v", dead, err)
			}
			rc.setAnswer(nil)
			if _, err := e.hooks.Replay(context.Background(), sub.ID, webhooks.Replay{EventID: ev.ID}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the replay delivered", func() bool { return len(rc.accepted("")) == 1 })
			eventually(t, "the replay listed as succeeded", func() bool {
				ds := e.deliveries(t, sub.ID)
				return len(ds) == 2 && ds[1].State == storage.DeliverySucceeded
			})
		})

		t.Run("a disabled or deleted subscription's pending deliveries are dropped", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), fastRetry)
			rc := newReceiver(t)
			rc.setAnswer(func(received) int { return http.StatusServiceUnavailable })
			sub := e.subscribe(t, rc.URL+"/a")
			gone := e.subscribe(t, rc.URL+"/gone")
			e.run(t)
			e.commit(t, userEvent(events.UserUpdated, "u1"), userEvent(events.UserUpdated, "u2"))
			eventually(t, "attempts failed", func() bool {
				ds := e.deliveries(t, sub.ID)
				return len(ds) == 2 && len(ds[0].Attempts) >= 1
			})
			ctx := context.Background()
			f := false
			if _, err := e.hooks.Update(ctx, sub.ID, webhooks.Patch{Enabled: &f}); err != nil {
				t.Fatal(err)
			}
			if err := e.hooks.Delete(ctx, gone.ID); err != nil {
				t.Fatal(err)
			}
			eventually(t, "no delivery job left", func() bool {
				q, _ := e.store.ListJobs(ctx, webhooks.JobKind, storage.JobQueued, storage.Page{})
				r, _ := e.store.ListJobs(ctx, webhooks.JobKind, storage.JobRunning, storage.Page{})
				return len(q)+len(r) == 0
			})
			for _, d := range e.deliveries(t, sub.ID) {
				if d.State != storage.DeliveryDropped {
					t.Errorf("delivery %s is %s, want dropped", d.ID, d.State)
				}
			}
			if _, err := e.hooks.Deliveries(ctx, gone.ID, storage.Page{}); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a deleted subscription's deliveries: %v", err)
			}
			if _, err := e.hooks.Ping(ctx, sub.ID); !errors.Is(err, webhooks.ErrDisabled) {
				t.Errorf("pinging a disabled subscription: %v", err)
			}
			// Enabled again, it is sent only what comes after.
			on := true
			if _, err := e.hooks.Update(ctx, sub.ID, webhooks.Patch{Enabled: &on}); err != nil {
				t.Fatal(err)
			}
			rc.setAnswer(nil)
			next := e.commit(t, userEvent(events.UserUpdated, "u3"))[0]
			eventually(t, "the new event delivered", func() bool { return len(rc.accepted("")) >= 1 })
			if got := rc.accepted(""); len(got) != 1 || got[0].env.ID != next.ID || got[0].seq != 3 {
				t.Errorf("after re-enabling, received %d, first %s sequence %d", len(got), got[0].env.ID, got[0].seq)
			}
		})

		t.Run("old attempts and finished deliveries are deleted in bounded batches; dead ones kept", func(t *testing.T) {
			e := newEnv(t, fresh(t, db), jobs.Retry{Base: 20 * time.Millisecond, Max: 50 * time.Millisecond, Horizon: 200 * time.Millisecond})
			rc := newReceiver(t)
			ok := e.subscribe(t, rc.URL+"/ok")
			broken := e.subscribe(t, rc.URL+"/broken")
			rc.setAnswer(func(g received) int {
				if g.path == "/broken" {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			})
			e.run(t)
			for i := range 3 {
				e.commit(t, userEvent(events.UserUpdated, fmt.Sprintf("u%d", i)))
			}
			// Both ends recorded: the receiver's answer reaches the store
			// after the receiver saw the request.
			allIn := func(ds []storage.WebhookDelivery, state string) bool {
				for _, d := range ds {
					if d.State != state {
						return false
					}
				}
				return len(ds) == 3
			}
			eventually(t, "delivered and dead", func() bool {
				return len(rc.accepted("/ok")) == 3 && allIn(e.deliveries(t, ok.ID), storage.DeliverySucceeded) &&
					allIn(e.deliveries(t, broken.ID), storage.DeliveryDead)
			})
			ctx := context.Background()
			if n, err := e.store.DeleteWebhookAttemptsBefore(ctx, time.Now().Add(-time.Hour), 100); err != nil || n != 0 {
				t.Fatalf("nothing is old yet: %d %v", n, err)
			}
			total := int64(0)
			for {
				n, err := e.store.DeleteWebhookAttemptsBefore(ctx, time.Now().Add(time.Hour), 2)
				if err != nil || n > 4 {
					t.Fatalf("a batch of 2: %d %v", n, err)
				}
				if n == 0 {
					break
				}
				total += n
			}
			if got := e.deliveries(t, ok.ID); len(got) != 0 {
				t.Errorf("succeeded deliveries left: %+v", got)
			}
			dead := e.deliveries(t, broken.ID)
			if len(dead) != 3 || dead[0].State != storage.DeliveryDead || len(dead[0].Attempts)+len(dead[1].Attempts)+len(dead[2].Attempts) != 0 {
				t.Errorf("dead deliveries must stay, without their old attempts: %+v", dead)
			}
			if total < 3+3+3 {
				t.Errorf("removed %d rows, want at least the 6 attempts and 3 deliveries", total)
			}
		})

		t.Run("subscriptions: URL and event types are validated", func(t *testing.T) {
			secrets, _ := secret.Derive([]byte(strings.Repeat("k", 40)))
			store := gormstoretest.Open(t, fresh(t, db))
			strict := outbound.Policy{}
			hooks := webhooks.New(webhooks.Options{Store: store, Secrets: secrets, CheckURL: strict.CheckURL})
			ctx := context.Background()
			for _, tc := range []struct {
				spec  webhooks.Spec
				field string
			}{
				{webhooks.Spec{URL: ""}, "url"},
				{webhooks.Spec{URL: "http://hooks.example.com/x"}, "url"},
				{webhooks.Spec{URL: "https://127.0.0.1/x"}, "url"},
				{webhooks.Spec{URL: "https://hooks.example.com/x", EventTypes: []string{"user.exploded"}}, "event_types"},
			} {
				var ie *webhooks.InvalidError
				if _, err := hooks.Create(ctx, tc.spec); !errors.As(err, &ie) || ie.Field != tc.field {
					t.Errorf("%+v: %v, want a refusal of %s", tc.spec, err, tc.field)
				}
			}
			c, err := hooks.Create(ctx, webhooks.Spec{URL: "https://hooks.example.com/x", EventTypes: []string{events.UserDeleted, events.UserCreated, events.UserCreated}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := hooks.Get(ctx, c.ID)
			if err != nil || strings.Join(got.EventTypes, ",") != "user.created,user.deleted" || !got.Enabled {
				t.Errorf("stored %+v %v", got, err)
			}
			if strings.Contains(string(got.SealedSecret), strings.TrimPrefix(c.Secret, "whsec_")) {
				t.Error("the secret is stored in the clear")
			}
			bad := "http://hooks.example.com/y"
			if _, err := hooks.Update(ctx, c.ID, webhooks.Patch{URL: &bad}); err == nil {
				t.Error("an update to an http URL was accepted")
			}
		})
	})
}

// Two runners over two stores on one PostgreSQL schema, as two replicas:
// every event reaches every subscription, none twice.
func TestTwoRunnersOnPostgresSendNoEventTwice(t *testing.T) {
	url := gormstoretest.PostgresURL(t)
	secrets, err := secret.Derive([]byte(strings.Repeat("k", 40)))
	if err != nil {
		t.Fatal(err)
	}
	a := newEnvOn(t, gormstoretest.Open(t, url), secrets, fastRetry)
	b := newEnvOn(t, gormstoretest.Open(t, url), secrets, fastRetry)
	rc := newReceiver(t)
	paths := []string{"/one", "/two", "/three"}
	for _, p := range paths {
		a.subscribe(t, rc.URL+p)
	}
	a.run(t)
	b.run(t)
	var ids []string
	for i := range 40 {
		e := a
		if i%2 == 1 {
			e = b
		}
		ids = append(ids, e.commit(t, userEvent(events.UserUpdated, fmt.Sprintf("u%d", i)))[0].ID)
	}
	eventually(t, "every event at every subscription", func() bool { return len(rc.accepted("")) >= len(ids)*len(paths) })
	for _, p := range paths {
		seen := map[string]int{}
		for _, g := range rc.accepted(p) {
			seen[g.header.Get("webhook-id")]++
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("%s got event %s %d times", p, id, seen[id])
			}
		}
	}
}
