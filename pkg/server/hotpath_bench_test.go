package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// hotTokens is how many distinct tokens the resource-server benchmarks
// present, in turn: many apps' callers at once, not one token again and
// again.
const hotTokens = 200

// BenchmarkIntrospection measures token introspection (RFC 7662) through
// the whole stack, as a resource server calls it on every API request: a
// confidential client authenticates with Basic and asks about one of
// hotTokens client-credentials tokens; 50 requests in flight, like the
// grants' benchmark, against the no-op of the same run.
//
//	GATEHOUSE_TEST_POSTGRES_URL=… go test ./pkg/server -run '^$' -bench 'Introspection|Userinfo' -benchtime 20000x
func BenchmarkIntrospection(b *testing.B) { benchEachStore(b, benchIntrospection) }

// benchEachStore runs the no-op, then bench on each database with each
// access token format, with the garbage collector's settings of serve.
func benchEachStore(b *testing.B, bench func(b *testing.B, databaseURL, format string)) {
	defer debug.SetGCPercent(debug.SetGCPercent(server.GCPercent))
	b.Run("noop", benchNoop)
	for _, format := range []string{"opaque", "jwt"} {
		b.Run("sqlite-"+format, func(b *testing.B) { bench(b, gormstoretest.SQLiteURL(b), format) })
		b.Run("postgres-"+format, func(b *testing.B) { bench(b, gormstoretest.PostgresURL(b), format) })
	}
}

func benchIntrospection(b *testing.B, databaseURL, format string) {
	s := startServerB(b, databaseURL)
	spec := machineClient("api:read")
	if format == "jwt" {
		spec.Audience = []string{"https://api.example.com"}
		spec.AccessTokenFormat = format
	}
	app := s.createClientB(b, spec)
	rs := s.createClientB(b, machineClient("api:read"))
	tokens := make([]string, hotTokens)
	for i := range tokens {
		tokens[i] = grantB(b, s.URL, app.Client.ID, app.Secret)
	}
	runResourceCalls(b, func(i int) *http.Request {
		body := url.Values{"token": {tokens[i%len(tokens)]}}.Encode()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/introspect", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(rs.Client.ID, rs.Secret)
		return req
	}, `"active":true`)
}

// BenchmarkUserinfo measures the userinfo endpoint (OpenID Connect Core
// §5.3) with one of hotTokens customers' access tokens in the
// Authorization header; 50 requests in flight, against the no-op.
//
//	GATEHOUSE_TEST_POSTGRES_URL=… go test ./pkg/server -run '^$' -bench Userinfo -benchtime 20000x
func BenchmarkUserinfo(b *testing.B) { benchEachStore(b, benchUserinfo) }

func benchUserinfo(b *testing.B, databaseURL, format string) {
	s := startServerB(b, databaseURL)
	svc := identity.NewService(s.Store(), identity.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, identity.PasswordPolicy{})
	if _, err := svc.Create(context.Background(), identity.NewUser{Email: "alice@example.com", Password: alicePassword}); err != nil {
		b.Fatal(err)
	}
	spec := clients.Spec{Name: "bench", RedirectURIs: []string{rpCallback}, SkipConsent: true}
	if format == "jwt" {
		spec.Audience = []string{"https://api.example.com"}
		spec.AccessTokenFormat = format
	}
	reg := s.createClientB(b, spec)
	conf := oauth2.Config{ClientID: reg.Client.ID, ClientSecret: reg.Secret, RedirectURL: rpCallback,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth2/auth", TokenURL: s.URL + "/oauth2/token"}, Scopes: []string{"openid", "email"}}
	tokens := make([]string, 20)
	for i := range tokens {
		tok, err := benchSignInToken(s.URL, conf)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}
	runResourceCalls(b, func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
		return req
	}, `"email"`)
}

// grantB returns a new client-credentials access token.
func grantB(b testing.TB, base, id, secret string) string {
	b.Helper()
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		b.Fatalf("grant: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

// runResourceCalls sends the requests next makes from 50 goroutines and
// checks each answer is 200 and holds want.
func runResourceCalls(b *testing.B, next func(i int) *http.Request, want string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var n atomic.Int64
	b.SetParallelism(25) // 25 × GOMAXPROCS(2) = 50 concurrent requests
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Do(next(int(n.Add(1))))
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
				b.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// benchSignInToken signs alice in through the pages and returns the access
// token of the code exchange.
func benchSignInToken(base string, conf oauth2.Config) (string, error) {
	br := browser.New(base)
	verifier := oauth2.GenerateVerifier()
	page, err := br.Get(conf.AuthCodeURL("state-bench", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-bench")))
	if err != nil {
		return "", err
	}
	form, err := page.FormWith("password")
	if err != nil {
		return "", err
	}
	page, err = br.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", "")
	if err != nil {
		return "", err
	}
	loc, err := url.Parse(page.Location)
	if err != nil || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("no code: %d %s", page.Status, page.Location)
	}
	tok, err := conf.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}
