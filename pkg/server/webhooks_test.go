package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// A change made through the admin API reaches a subscription made through
// it: the server registers the fan-out on its recorder and the delivery
// kind on its runner, and the listing shows the attempt.
func TestAdminWebhooksDeliverServerEvents(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, func(c *config.Config) { c.DevAllowLoopbackURLs = true })
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		s.RunBackground(ctx)
		var mu sync.Mutex
		var got []http.Header
		var bodies [][]byte
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got, bodies = append(got, r.Header.Clone()), append(bodies, b)
			mu.Unlock()
		}))
		t.Cleanup(rc.Close)
		tok := adminToken(t, s)
		created := adminCall(t, s, http.MethodPost, "/webhooks", tok, map[string]any{"url": rc.URL + "/hook", "event_types": []string{"user.deleted"}}).want(t, http.StatusCreated)
		id, _ := created.body["id"].(string)
		secretText, _ := created.body["secret"].(string)
		key, err := webhooks.ParseSecret(secretText)
		if err != nil || len(key) < 24 {
			t.Fatalf("secret %q: %v", secretText, err)
		}
		if r := adminCall(t, s, http.MethodGet, "/webhooks/"+id, tok, nil).want(t, http.StatusOK); r.body["secret"] != nil {
			t.Error("the secret is shown again")
		}
		customer := adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{"email": "hook@example.com", "password": "correct horse battery"}).want(t, http.StatusCreated)
		cid, _ := customer.body["id"].(string)
		adminCall(t, s, http.MethodDelete, "/customers/"+cid, tok, nil).want(t, http.StatusNoContent)
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("never delivered")
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		h, body := got[0], bodies[0]
		mu.Unlock()
		var env webhooks.Envelope
		if err := json.Unmarshal(body, &env); err != nil || env.Type != "user.deleted" || env.Data["subject"] != cid || h.Get("webhook-id") != env.ID {
			t.Fatalf("delivered %s (%v)", body, err)
		}
		want := webhooks.SignatureHeader([][]byte{key}, env.ID, unixHeader(t, h.Get("webhook-timestamp")), body)
		if h.Get("webhook-signature") != want {
			t.Errorf("signature %q, want %q", h.Get("webhook-signature"), want)
		}
		deadline = time.Now().Add(30 * time.Second)
		for {
			items := adminCall(t, s, http.MethodGet, "/webhooks/"+id+"/deliveries", tok, nil).want(t, http.StatusOK).items(t)
			if len(items) == 1 && items[0]["state"] == "succeeded" {
				attempts, _ := items[0]["attempts"].([]any)
				if a, _ := attempts[0].(map[string]any); a["status_code"] != float64(200) {
					t.Errorf("attempt %v", a)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the delivery never listed as succeeded: %v", items)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func unixHeader(t *testing.T, v string) time.Time {
	t.Helper()
	var sec int64
	if err := json.Unmarshal([]byte(v), &sec); err != nil {
		t.Fatalf("webhook-timestamp %q", v)
	}
	return time.Unix(sec, 0)
}
