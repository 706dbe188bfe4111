package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// wireWebhook is a subscription as scripts read it from --output json.
type wireWebhook struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Enabled    bool     `json:"enabled"`
	Secret     string   `json:"secret"`
}

type wireDelivery struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	State   string `json:"state"`
	Replay  bool   `json:"replay"`
}

// deleteCustomer creates a customer and deletes them, which records
// user.deleted (and whatever else the two commands record).
func deleteCustomer(t *testing.T, e env, n int) {
	t.Helper()
	var u struct {
		ID string `json:"id"`
	}
	decode(t, mustRun(t, e, "users", "create", "--email", fmt.Sprintf("c%d@example.com", n), "--password", "correct horse battery", "--output", "json"), &u)
	mustRun(t, e, "users", "delete", u.ID)
}

func TestWebhooksCommand(t *testing.T) {
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)

	t.Run("create prints the id and a whsec_ secret; the URL and types are checked", func(t *testing.T) {
		var w wireWebhook
		decode(t, mustRun(t, e, "webhooks", "create", "--url", "https://hooks.example.com/in", "--event", "user.deleted", "--output", "json"), &w)
		if w.ID == "" || !strings.HasPrefix(w.Secret, "whsec_") || len(w.EventTypes) != 1 || !w.Enabled {
			t.Fatalf("created %+v", w)
		}
		text := mustRun(t, e, "webhooks", "create", "--url", "https://hooks.example.com/all")
		if !strings.Contains(text.stdout, "secret:") || !strings.Contains(text.stdout, "whsec_") {
			t.Errorf("text output lacks the secret:\n%s", text.stdout)
		}
		for _, args := range [][]string{
			{"--url", "http://hooks.example.com/in"},
			{"--url", "https://127.0.0.1/in"},
			{"--url", "https://hooks.example.com/in", "--event", "user.exploded"},
		} {
			if r := run(t, e, append([]string{"webhooks", "create"}, args...)...); r.code != exitError {
				t.Errorf("create %v: %v", args, r)
			}
		}
		if r := run(t, e, "webhooks", "create"); r.code != exitUsage {
			t.Errorf("create without --url: %v", r)
		}
		mustRun(t, e.with("GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS", "true"), "webhooks", "create", "--url", "http://127.0.0.1:9/in")

		var got wireWebhook
		decode(t, mustRun(t, e, "webhooks", "get", w.ID, "--output", "json"), &got)
		if got.Secret != "" || got.URL != w.URL {
			t.Errorf("get = %+v (the secret must not be shown again)", got)
		}
		var all []wireWebhook
		decode(t, mustRun(t, e, "webhooks", "list", "--output", "json"), &all)
		if len(all) != 3 {
			t.Errorf("list = %+v", all)
		}
	})

	t.Run("changes made by the command line are queued for delivery; replay, update, delete", func(t *testing.T) {
		var w wireWebhook
		decode(t, mustRun(t, e, "webhooks", "create", "--url", "https://hooks.example.com/cli", "--event", "user.deleted", "--output", "json"), &w)
		deleteCustomer(t, e, 1)
		var ds []wireDelivery
		decode(t, mustRun(t, e, "webhooks", "deliveries", w.ID, "--output", "json"), &ds)
		if len(ds) != 1 || ds[0].State != storage.DeliveryPending || ds[0].EventID == "" {
			t.Fatalf("deliveries = %+v", ds)
		}
		mustRun(t, e, "webhooks", "replay", w.ID, "--event-id", ds[0].EventID)
		mustRun(t, e, "webhooks", "ping", w.ID)
		decode(t, mustRun(t, e, "webhooks", "deliveries", w.ID, "--output", "json"), &ds)
		if len(ds) != 3 || !ds[1].Replay || ds[1].EventID != ds[0].EventID {
			t.Fatalf("after replay and ping: %+v", ds)
		}
		if r := run(t, e, "webhooks", "replay", w.ID); r.code != exitUsage {
			t.Errorf("replay without what: %v", r)
		}
		var rotated wireWebhook
		decode(t, mustRun(t, e, "webhooks", "rotate-secret", w.ID, "--overlap", "1h", "--output", "json"), &rotated)
		if !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == w.Secret {
			t.Errorf("rotated = %+v", rotated)
		}
		var updated wireWebhook
		decode(t, mustRun(t, e, "webhooks", "update", w.ID, "--enabled", "false", "--all-events", "--output", "json"), &updated)
		if updated.Enabled || len(updated.EventTypes) != 0 {
			t.Errorf("updated = %+v", updated)
		}
		decode(t, mustRun(t, e, "webhooks", "deliveries", w.ID, "--output", "json"), &ds)
		for _, d := range ds {
			if d.State != storage.DeliveryDropped {
				t.Errorf("after disabling, delivery %s is %s", d.ID, d.State)
			}
		}
		mustRun(t, e, "webhooks", "delete", w.ID)
		if r := run(t, e, "webhooks", "get", w.ID); r.code != exitError || !strings.Contains(r.stderr, "no webhook") {
			t.Errorf("get after delete: %v", r)
		}
	})
}

// buildGatehouse builds the command into a temporary directory.
func buildGatehouse(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is `gatehouse serve` running as a real process.
type process struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startProcess(t *testing.T, bin string, e env) *process {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e = e.with("GATEHOUSE_HTTP_ADDR", addr, "GATEHOUSE_ISSUER", "http://"+addr,
		"GATEHOUSE_METRICS_ADDR", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "GATEHOUSE_SHUTDOWN_DRAIN_DELAY", "0s")
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, url: "http://" + addr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited; logs:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered /healthz; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown, no drained jobs.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// A server killed with SIGKILL in the middle of deliveries loses none: the
// next one delivers every recorded event (at least once).
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits for a lease to lapse")
	}
	bin := buildGatehouse(t)
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS", "true")
	var mu sync.Mutex
	seen := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond) // a slow receiver, so a kill finds deliveries in flight
		mu.Lock()
		seen[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	var w wireWebhook
	decode(t, mustRun(t, e, "webhooks", "create", "--url", rc.URL+"/in", "--output", "json"), &w)

	first := startProcess(t, bin, e)
	for i := range 25 {
		deleteCustomer(t, e, i)
	}
	waitFor(t, "some deliveries made by the first server", func() bool { return received() >= 5 })
	first.kill()
	killedAt := received()
	for i := 25; i < 35; i++ {
		deleteCustomer(t, e, i)
	}
	startProcess(t, bin, e)

	store := gormstoretest.Open(t, e["GATEHOUSE_DATABASE_URL"])
	evs, err := store.ListEvents(context.Background(), storage.EventFilter{}, storage.Page{Limit: 1000})
	if err != nil || len(evs) < 35 {
		t.Fatalf("events: %d %v", len(evs), err)
	}
	deadline := time.Now().Add(3 * time.Minute) // a killed delivery's lease (1 minute) must lapse
	for {
		missing := 0
		mu.Lock()
		for _, ev := range evs {
			if seen[ev.ID] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never delivered (the kill came after %d)", missing, len(evs), killedAt)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	dupes := 0
	for _, n := range seen {
		dupes += n - 1
	}
	mu.Unlock()
	t.Logf("%d events, %d delivered before the kill, %d delivered twice (at least once)", len(evs), killedAt, dupes)
}

// waitFor waits for cond; it asserts an outcome, never a duration.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
