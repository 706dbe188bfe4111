package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a real Gatehouse on a real listener.
type testServer struct {
	*server.Server
	URL  string
	logs *syncBuffer
	// addr is where the server listens, which is the issuer's URL unless
	// the configuration's change named another issuer.
	addr string
}

func startServer(t *testing.T, databaseURL string) *testServer { return startServerB(t, databaseURL) }

func startServerB(t testing.TB, databaseURL string) *testServer {
	return startServerWith(t, databaseURL, nil)
}

// startServerWith starts a server whose configuration change may adjust.
func startServerWith(t testing.TB, databaseURL string, change func(*config.Config), opts ...server.Option) *testServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.Issuer = "http://" + ts.Listener.Addr().String()
	cfg.DatabaseURL = databaseURL
	cfg.Secret = "test-secret-test-secret-test-secret-0123"
	if change != nil {
		change(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(context.Background(), cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return &testServer{Server: srv, URL: cfg.Issuer, logs: logs, addr: "http://" + ts.Listener.Addr().String()}
}

func (s *testServer) createClient(t *testing.T, spec clients.Spec) clients.Registered {
	return s.createClientB(t, spec)
}

func (s *testServer) createClientB(t testing.TB, spec clients.Spec) clients.Registered {
	t.Helper()
	reg, err := clients.NewService(s.Store(), s.Secrets(), clients.Options{}).Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func machineClient(scopes ...string) clients.Spec {
	return clients.Spec{Name: "backend", GrantTypes: []string{"client_credentials"}, Scopes: scopes}
}

func decodeJSON(t *testing.T, r io.Reader) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// postForm posts a form, with Basic credentials when id is not empty.
func postForm(t *testing.T, endpoint, id, secret string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s answered %d with non-JSON %q", endpoint, resp.StatusCode, body)
		}
	}
	return resp, m
}

func TestClientCredentialsEndToEnd(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		ctx := context.Background()

		resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		meta := decodeJSON(t, resp.Body)
		resp.Body.Close()
		if meta["issuer"] != s.URL || meta["token_endpoint"] != s.URL+"/oauth2/token" {
			t.Fatalf("discovery = %v", meta)
		}

		reg := s.createClient(t, machineClient("api:read", "api:write"))
		cc := clientcredentials.Config{
			ClientID: reg.Client.ID, ClientSecret: reg.Secret,
			TokenURL: meta["token_endpoint"].(string), Scopes: []string{"api:read"},
			AuthStyle: oauth2.AuthStyleInHeader,
		}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.AccessToken, "gate_at_") || tok.TokenType != "bearer" || tok.Expiry.IsZero() {
			t.Fatalf("token = %+v", tok)
		}
		if tok.RefreshToken != "" {
			t.Error("client_credentials must not issue a refresh token (RFC 6749 §4.4.3)")
		}

		introspect := func() map[string]any {
			_, body := postForm(t, meta["introspection_endpoint"].(string), reg.Client.ID, reg.Secret, url.Values{"token": {tok.AccessToken}})
			return body
		}
		got := introspect()
		if got["active"] != true || got["client_id"] != reg.Client.ID || got["scope"] != "api:read" || got["token_type"] != "Bearer" {
			t.Fatalf("introspection = %v", got)
		}
		if _, ok := got["exp"].(float64); !ok {
			t.Errorf("introspection has no exp: %v", got)
		}

		rresp, _ := postForm(t, meta["revocation_endpoint"].(string), reg.Client.ID, reg.Secret, url.Values{"token": {tok.AccessToken}})
		if rresp.StatusCode != http.StatusOK {
			t.Fatalf("revocation status %d", rresp.StatusCode)
		}
		if got := introspect(); got["active"] != false || len(got) != 1 {
			t.Fatalf("after revocation, introspection = %v; want only active:false", got)
		}

		t.Run("client_secret_post works for a client registered for it", func(t *testing.T) {
			spec := machineClient("api:read")
			spec.TokenEndpointAuthMethod = "client_secret_post"
			post := s.createClient(t, spec)
			cc := clientcredentials.Config{ClientID: post.Client.ID, ClientSecret: post.Secret, TokenURL: s.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}
			if _, err := cc.Token(ctx); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("logs carry no secret or token", func(t *testing.T) {
			logs := s.logs.String()
			for _, secret := range []string{reg.Secret, tok.AccessToken, strings.TrimPrefix(tok.AccessToken, "gate_at_")} {
				if strings.Contains(logs, secret) {
					t.Fatalf("a secret leaked into the logs")
				}
			}
			if !strings.Contains(logs, `"route":"/oauth2/token"`) || !strings.Contains(logs, `"request_id"`) {
				t.Fatalf("request log lines are missing: %s", logs)
			}
		})

		t.Run("metrics count requests by route and tokens by grant type", func(t *testing.T) {
			management := httptest.NewServer(s.ManagementHandler())
			defer management.Close()
			resp, err := http.Get(management.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{
				`gatehouse_tokens_issued_total{grant_type="client_credentials"} 2`,
				`gatehouse_http_requests_total{code="200",method="POST",route="/oauth2/token"} 2`,
				`gatehouse_http_request_duration_seconds_bucket{route="/oauth2/introspect"`,
			} {
				if !strings.Contains(string(body), want) {
					t.Errorf("metrics lack %q", want)
				}
			}
		})

		t.Run("health and readiness", func(t *testing.T) {
			for _, path := range []string{"/healthz", "/readyz"} {
				resp, err := http.Get(s.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s = %d", path, resp.StatusCode)
				}
			}
		})
	})
}

func TestJWKSPublishesPublicKeysOnly(t *testing.T) {
	s := startServer(t, gormstoretest.SQLiteURL(t))
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	algs := map[string]bool{}
	for _, k := range set.Keys {
		algs[k["alg"].(string)] = true
		if k["kid"] == "" || k["use"] != "sig" {
			t.Errorf("key lacks kid or use=sig: %v", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS publishes the private member %q", private)
			}
		}
	}
	if !algs["RS256"] || !algs["ES256"] {
		t.Errorf("algorithms = %v, want RS256 and ES256", algs)
	}
}
