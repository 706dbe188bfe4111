package main

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// exported is one line of `gatehouse events export`.
type exported struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Time      time.Time         `json:"time"`
	Subject   string            `json:"subject"`
	Actor     map[string]string `json:"actor"`
	RequestID string            `json:"request_id"`
	Data      map[string]any    `json:"data"`
}

// export runs `gatehouse events export` with the flags and parses its JSON
// lines.
func export(t *testing.T, e env, flags ...string) []exported {
	t.Helper()
	r := mustRun(t, e, append([]string{"events", "export"}, flags...)...)
	var out []exported
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var ev exported
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line (%v): %q", err, sc.Text())
		}
		out = append(out, ev)
	}
	return out
}

// one returns the only exported event of the type about the subject.
func one(t *testing.T, e env, typ, subject string) exported {
	t.Helper()
	evs := export(t, e, "--type", typ, "--subject", subject)
	if len(evs) != 1 {
		t.Fatalf("%d %s events about %s, want 1: %+v", len(evs), typ, subject, evs)
	}
	ev := evs[0]
	if ev.Type != typ || ev.Subject != subject || ev.Actor["type"] != "operator" || ev.RequestID != "" {
		t.Errorf("%s = %+v, want the operator's, without a request id", typ, ev)
	}
	for k := range ev.Data {
		for _, secret := range []string{"password", "client_secret", "hash", "token"} {
			if strings.Contains(k, secret) {
				t.Errorf("%s data has the member %q: %v", typ, k, ev.Data)
			}
		}
	}
	if raw := mustJSON(t, ev.Data); strings.Contains(string(raw), testPassword) || strings.Contains(string(raw), "$argon2id$") {
		t.Errorf("%s data holds a password or its hash: %s", typ, raw)
	}
	return ev
}

const testPassword = "correct horse battery staple"

func TestCommandLineChangesAreRecorded(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		e := env{"GATEHOUSE_DATABASE_URL": db.URL, "GATEHOUSE_SECRET": testSecret}
		start := time.Now().UTC().Add(-time.Second)

		var user struct{ ID string }
		decode(t, mustRun(t, e, "users", "create", "--email", "ops@example.com", "--password", testPassword, "--output", "json"), &user)
		t.Run("user.created", func(t *testing.T) {
			ev := one(t, e, "user.created", user.ID)
			if ev.Data["email"] != "ops@example.com" {
				t.Errorf("data = %v", ev.Data)
			}
		})
		t.Run("a customer create with a taken email records nothing", func(t *testing.T) {
			if r := run(t, e, "users", "create", "--email", "ops@example.com", "--password", testPassword); r.code == exitOK {
				t.Fatalf("a second customer with the email: %v", r)
			}
			if n := len(export(t, e, "--type", "user.created")); n != 1 {
				t.Errorf("%d user.created events, want 1", n)
			}
		})

		c := createClient(t, e, "a")
		t.Run("client.created", func(t *testing.T) {
			ev := one(t, e, "client.created", c.ClientID)
			if ev.Data["client_id"] != c.ClientID || ev.Data["client_name"] != "machine" || strings.Contains(string(mustJSON(t, ev.Data)), c.ClientSecret) {
				t.Errorf("data = %v", ev.Data)
			}
		})
		t.Run("client.updated by a secret rotation", func(t *testing.T) {
			var rotated struct {
				ClientSecret string `json:"client_secret"`
			}
			decode(t, mustRun(t, e, "clients", "rotate-secret", c.ClientID, "--output", "json"), &rotated)
			ev := one(t, e, "client.updated", c.ClientID)
			if ev.Data["secret_rotated"] != true || strings.Contains(string(mustJSON(t, ev.Data)), rotated.ClientSecret) {
				t.Errorf("data = %v", ev.Data)
			}
		})

		t.Run("consent.revoked", func(t *testing.T) {
			store := openStore(t, e)
			if err := store.GrantConsent(t.Context(), user.ID, c.ClientID, []string{"openid"}); err != nil {
				t.Fatal(err)
			}
			_ = store.Close()
			mustRun(t, e, "users", "consents", user.ID, "--revoke", c.ClientID)
			if ev := one(t, e, "consent.revoked", user.ID); ev.Data["client_id"] != c.ClientID {
				t.Errorf("data = %v", ev.Data)
			}
		})

		t.Run("key.rotated", func(t *testing.T) {
			var keys []wireKey
			decode(t, mustRun(t, e, "keys", "rotate", "--alg", "ES256", "--output", "json"), &keys)
			if ev := one(t, e, "key.rotated", keys[0].KID); ev.Data["alg"] != "ES256" || ev.Data["state"] != "active" {
				t.Errorf("data = %v", ev.Data)
			}
		})

		t.Run("client.deleted", func(t *testing.T) {
			mustRun(t, e, "clients", "delete", c.ClientID)
			one(t, e, "client.deleted", c.ClientID)
		})

		t.Run("user.deleted", func(t *testing.T) {
			mustRun(t, e, "users", "delete", user.ID)
			one(t, e, "user.deleted", user.ID)
		})

		t.Run("export filters by time and streams every event in order", func(t *testing.T) {
			all := export(t, e)
			if len(all) < 7 {
				t.Fatalf("%d events exported", len(all))
			}
			for i := 1; i < len(all); i++ {
				if all[i].ID <= all[i-1].ID {
					t.Fatalf("out of order at %d: %s after %s", i, all[i].ID, all[i-1].ID)
				}
			}
			if n := len(export(t, e, "--since", start.Format(time.RFC3339Nano))); n != len(all) {
				t.Errorf("--since before the first change: %d events, want %d", n, len(all))
			}
			if n := len(export(t, e, "--until", start.Format(time.RFC3339))); n != 0 {
				t.Errorf("--until before the first change: %d events, want none", n)
			}
			if r := run(t, e, "events", "export", "--since", "yesterday"); r.code != exitUsage {
				t.Errorf("a bad --since: %v", r)
			}
			if r := run(t, e, "events", "export", "--type", "user.exploded"); r.code != exitUsage {
				t.Errorf("an unknown --type: %v", r)
			}
		})
	})
}

// openStore opens the database of e, as the commands do.
func openStore(t *testing.T, e env) *gormstore.Store {
	t.Helper()
	cfg, err := config.Load("", e.lookup())
	if err != nil {
		t.Fatal(err)
	}
	store, err := server.OpenStore(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
