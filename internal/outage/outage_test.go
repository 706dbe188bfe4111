package outage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/storage"
)

func TestReporterLogsABurstOnceWithItsCount(t *testing.T) {
	var logs bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	counted := map[string]int{}
	r := outage.New(outage.Options{
		Logger:   slog.New(slog.NewJSONHandler(&logs, nil)),
		Count:    func(endpoint string) { counted[endpoint]++ },
		LogEvery: 10 * time.Second,
		Now:      func() time.Time { return now },
	})
	err := fmt.Errorf("gormstore: get client: %w", storage.ErrUnavailable)
	ctx := context.Background()
	lines := func() []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}

	r.Report(ctx, "token", err)
	if got := lines(); len(got) != 1 || got[0]["answers"] != 1.0 {
		t.Fatalf("the first answer of a burst is not logged at once: %v", got)
	}
	for range 99 {
		now = now.Add(50 * time.Millisecond) // 4.95 s in all
		r.Report(ctx, "introspection", err)
	}
	if got := lines(); len(got) != 1 {
		t.Fatalf("%d warnings within the interval, want 1", len(got))
	}
	now = now.Add(10 * time.Second)
	r.Report(ctx, "token", err)
	got := lines()
	if len(got) != 2 {
		t.Fatalf("%d warnings after the interval, want 2", len(got))
	}
	if got[1]["answers"] != 100.0 || got[1]["endpoint_introspection"] != 99.0 || got[1]["endpoint_token"] != 1.0 {
		t.Errorf("the second warning does not count the answers since the first: %v", got[1])
	}
	if counted["token"] != 2 || counted["introspection"] != 99 {
		t.Errorf("counted %v, want every answer", counted)
	}
}

func TestNilReporterAndIs(t *testing.T) {
	var r *outage.Reporter
	r.Report(context.Background(), "token", storage.ErrUnavailable) // does nothing, does not panic
	if !outage.Is(fmt.Errorf("x: %w", storage.ErrUnavailable)) || outage.Is(storage.ErrNotFound) || outage.Is(errors.New("other")) {
		t.Error("Is does not tell outages apart")
	}
	w := httptest.NewRecorder()
	outage.SetRetryAfter(w)
	if w.Header().Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
}
