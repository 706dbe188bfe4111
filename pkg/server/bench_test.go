package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
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
	b.Run("noop", benchNoop)
	b.Run("sqlite", func(b *testing.B) { benchClientCredentials(b, gormstoretest.SQLiteURL(b)) })
	b.Run("postgres", func(b *testing.B) { benchClientCredentials(b, gormstoretest.PostgresURL(b)) })
}

// benchNoop is the floor: the same load against a net/http handler that
// parses the form and writes a fixed token-shaped answer. Gatehouse's
// figures are read as a ratio to it, taken in the same run.
func benchNoop(b *testing.B) {
	noop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"access_token":"gate_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","expires_in":3599,"scope":"api:read","token_type":"bearer"}`))
	}))
	defer noop.Close()
	runGrants(b, noop.URL+"/oauth2/token", "id", "secret")
}

func benchClientCredentials(b *testing.B, databaseURL string) {
	s := startServerB(b, databaseURL)
	reg := s.createClientB(b, machineClient("api:read"))
	runGrants(b, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret)
}

// runGrants posts client-credentials grants from 50 goroutines.
func runGrants(b *testing.B, tokenURL, id, secret string) {
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}.Encode()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	b.SetParallelism(25) // 25 × GOMAXPROCS(2) = 50 concurrent requests
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, secret)
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
