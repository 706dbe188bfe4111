package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// BenchmarkClientCredentials measures client-credentials grants through the
// whole stack: a real listener, HTTP/1.1 keep-alive connections, client
// authentication, token generation and the durable write, on each database.
// 50 goroutines post at once, like the load in docs/benchmarks.md.
//
//	go test ./pkg/server -run '^$' -bench ClientCredentials -benchtime 20000x
func BenchmarkClientCredentials(b *testing.B) {
	// The garbage collector's target of `gatehouse serve`, for every run
	// alike (the load generator shares the process).
	defer debug.SetGCPercent(debug.SetGCPercent(server.GCPercent))
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

// BenchmarkPasswordSignIn measures whole sign-ins through the real pages:
// authorize, the sign-in form (one argon2id hash, OWASP's parameters),
// the code exchange with PKCE, and userinfo; each iteration is a new
// browser, so nothing is skipped by single sign-on. Compare with
// BenchmarkHashOWASP in pkg/identity: the hash bounds the rate.
//
//	go test ./pkg/server -run '^$' -bench PasswordSignIn -benchtime 200x
func BenchmarkPasswordSignIn(b *testing.B) {
	s := startServerB(b, gormstoretest.SQLiteURL(b))
	svc := identity.NewService(s.Store(), identity.OWASPMinimum, identity.PasswordPolicy{})
	if _, err := svc.Create(context.Background(), identity.NewUser{Email: "alice@example.com", Password: alicePassword}); err != nil {
		b.Fatal(err)
	}
	reg := s.createClientB(b, clients.Spec{Name: "bench", RedirectURIs: []string{rpCallback}, SkipConsent: true})
	conf := oauth2.Config{ClientID: reg.Client.ID, ClientSecret: reg.Secret, RedirectURL: rpCallback,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth2/auth", TokenURL: s.URL + "/oauth2/token"}, Scopes: []string{"openid", "email"}}
	b.SetParallelism(8) // 16 sign-ins in flight on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchSignIn(s.URL, conf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sign-ins/s")
}

func benchSignIn(base string, conf oauth2.Config) error {
	ctx := context.Background()
	br := browser.New(base)
	verifier := oauth2.GenerateVerifier()
	page, err := br.Get(conf.AuthCodeURL("state-bench", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-bench")))
	if err != nil {
		return err
	}
	form, err := page.FormWith("password")
	if err != nil {
		return err
	}
	page, err = br.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", "")
	if err != nil {
		return err
	}
	loc, err := url.Parse(page.Location)
	if err != nil || loc.Query().Get("code") == "" {
		return fmt.Errorf("no code: %d %s", page.Status, page.Location)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("userinfo %d", resp.StatusCode)
	}
	return nil
}
