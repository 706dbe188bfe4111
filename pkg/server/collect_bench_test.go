package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// expiredRows is how many expired tokens the collection benchmark removes.
const expiredRows = 100_000

// BenchmarkGrantsDuringCollection measures the latency of client-credentials
// grants (50 in flight) while the garbage collection removes 100,000 expired
// tokens, against the same load with nothing to collect. Each run is one
// pass; -benchtime 1x:
//
//	go test ./pkg/server -run '^$' -bench GrantsDuringCollection -benchtime 1x -count 3
func BenchmarkGrantsDuringCollection(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(server.GCPercent))
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{{"sqlite", gormstoretest.SQLiteURL}, {"postgres", gormstoretest.PostgresURL}} {
		b.Run(db.name+"/nothing-to-collect", func(b *testing.B) { benchDuringCollection(b, db.url(b), "") })
		b.Run(db.name+"/collect", func(b *testing.B) { benchDuringCollection(b, db.url(b), "collect") })
	}
}

func benchDuringCollection(b *testing.B, databaseURL, how string) {
	s := startServerB(b, databaseURL)
	reg := s.createClientB(b, machineClient("api:read"))
	ctx := context.Background()
	raw := openRawB(b, databaseURL)
	seed := `INSERT INTO tokens (kind, signature, request_id, client_id, subject, active, requested_at, expires_at, data)
		SELECT 'at', 'expired-' || i, 'req-' || i, ?, '', true, ?, ?, '{}' FROM `
	if strings.HasPrefix(databaseURL, "sqlite://") {
		seed = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) " + seed + "n"
	} else {
		seed += "generate_series(1, ?) AS i"
		seed = strings.Replace(seed, "FROM generate_series(1, ?)", "FROM generate_series(1, ?::int)", 1)
	}
	past := time.Now().UTC().Add(-time.Hour)
	var args []any
	if strings.HasPrefix(databaseURL, "sqlite://") {
		args = []any{expiredRows, reg.Client.ID, past, past}
	} else {
		args = []any{reg.Client.ID, past, past, expiredRows}
	}
	if how != "" {
		if err := raw.Exec(seed, args...).Error; err != nil {
			b.Fatal(err)
		}
	}

	tokenURL := s.URL + "/oauth2/token"
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}.Encode()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	grant := func() time.Duration {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(reg.Client.ID, reg.Secret)
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	// Warm the connections and caches.
	for range 200 {
		grant()
	}

	b.ResetTimer()
	done := make(chan struct{})
	var collectTime time.Duration
	var removed int64
	go func() {
		defer close(done)
		start := time.Now()
		switch how {
		case "collect":
			removed = s.Collect(ctx, time.Now()).Total()
		default:
			time.Sleep(3 * time.Second)
		}
		collectTime = time.Since(start)
	}()
	var mu sync.Mutex
	var latencies []time.Duration
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				select {
				case <-done:
					mu.Lock()
					latencies = append(latencies, mine...)
					mu.Unlock()
					return
				default:
					mine = append(mine, grant())
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if how != "" && removed < expiredRows {
		b.Errorf("removed %d rows, want %d", removed, expiredRows)
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(latencies))/collectTime.Seconds(), "grants/s")
	b.ReportMetric(collectTime.Seconds(), "pass-s")
}
