package webhooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// BenchmarkCommitToDelivery measures how long an event takes from its
// commit to a healthy receiver's hands, with the server's runner settings
// (polling every 200 ms, woken by the commit), one subscription, one event
// per transaction. "paced" commits at a steady rate (normal load);
// "burst" commits from 4 goroutines as fast as it can, which shows a
// subscription's delivery capacity (its deliveries go one at a time).
// It reports p50/p95/p99 in milliseconds and the delivered events/s.
//
//	go test ./pkg/webhooks -run '^$' -bench CommitToDelivery -benchtime 400x
func BenchmarkCommitToDelivery(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, load := range []string{"paced-50/s", "paced-200/s", "burst"} {
			b.Run(dialect+"/"+load, func(b *testing.B) {
				url := gormstoretest.SQLiteURL(b)
				if dialect == "postgres" {
					url = gormstoretest.PostgresURL(b)
				}
				benchDelivery(b, url, load)
			})
		}
	}
}

func benchDelivery(b *testing.B, url, load string) {
	secrets, err := secret.Derive([]byte(strings.Repeat("k", 40)))
	if err != nil {
		b.Fatal(err)
	}
	e := newEnvOn(b, gormstoretest.Open(b, url), secrets, jobs.Retry{Base: time.Second, Max: time.Minute, Horizon: time.Hour})
	// The server's runner: polling every 200 ms, woken at once by a commit.
	d := &webhooks.Deliverer{Store: e.store, Secrets: secrets, Outbound: outbound.New(e.policy), Retry: jobs.Retry{Horizon: time.Hour}}
	e.runner = jobs.NewRunner(e.store, jobs.Options{Kinds: []jobs.Kind{d.Kind()}, PollInterval: 200 * time.Millisecond})
	var mu sync.Mutex
	committed := map[string]time.Time{}
	arrived := map[string]time.Time{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		mu.Lock()
		if _, ok := arrived[r.Header.Get("webhook-id")]; !ok {
			arrived[r.Header.Get("webhook-id")] = now
		}
		mu.Unlock()
	}))
	b.Cleanup(rc.Close)
	e.subscribe(b, rc.URL+"/bench")
	e.run(b)
	commit := func(i int) {
		ev := userEvent(events.UserUpdated, fmt.Sprintf("u%d", i))
		e.commit(b, ev)
		at := time.Now()
		mu.Lock()
		committed[ev.ID] = at
		mu.Unlock()
	}
	b.ResetTimer()
	start := time.Now()
	switch load {
	case "burst":
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					commit(i)
				}
			}()
		}
		for i := range b.N {
			next <- i
		}
		close(next)
		wg.Wait()
	default:
		var rate int
		fmt.Sscanf(strings.TrimPrefix(load, "paced-"), "%d/s", &rate)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := range b.N {
			<-tick.C
			commit(i)
		}
		tick.Stop()
	}
	eventually(b, "every event delivered", func() bool { mu.Lock(); defer mu.Unlock(); return len(arrived) >= b.N })
	elapsed := time.Since(start)
	b.StopTimer()
	mu.Lock()
	var lat []float64
	for id, c := range committed {
		l := arrived[id].Sub(c)
		if l < 0 {
			l = 0 // the receiver answered before the committing goroutine read the clock
		}
		lat = append(lat, float64(l)/float64(time.Millisecond))
	}
	mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}
