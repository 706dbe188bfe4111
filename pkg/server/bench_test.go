package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// BenchmarkClientCredentials measures client-credentials grants through the
// whole stack: a real listener, HTTP/1.1 keep-alive connections, client
// authentication, token generation and the durable write, on each database.
// 50 goroutines post at once, like the load in docs/benchmarks.md.
//
//	go test ./pkg/server -run '^$' -bench ClientCredentials -benchtime 20000x
func BenchmarkClientCredentials(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchClientCredentials(b, gormstoretest.SQLiteURL(b)) })
	b.Run("postgres", func(b *testing.B) { benchClientCredentials(b, gormstoretest.PostgresURL(b)) })
}

func benchClientCredentials(b *testing.B, databaseURL string) {
	s := startServerB(b, databaseURL)
	reg := s.createClientB(b, machineClient("api:read"))
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}.Encode()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	b.SetParallelism(25) // 25 × GOMAXPROCS(2) = 50 concurrent requests
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(reg.Client.ID, reg.Secret)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
}
