package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/backchannel"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/outbound/outboundtest"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// allowLoopbackURLs turns on the development switch
// (GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS), for tests whose clients' sector
// identifiers, JWK Sets or back-channel receivers are httptest servers on
// 127.0.0.1.
func allowLoopbackURLs(c *config.Config) { c.DevAllowLoopbackURLs = true }

// countingServer serves h on 127.0.0.1, over TLS when secure, and counts
// the connections made to it.
func countingServer(t *testing.T, secure bool, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if secure {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts, &conns
}

func portOf(ts *httptest.Server) string {
	return strconv.Itoa(ts.Listener.Addr().(*net.TCPAddr).Port)
}

// closedPort is a port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	return port
}

func TestSectorIdentifierURIUnderTheOutboundPolicy(t *testing.T) {
	redirects := []string{"https://c.example/cb"}
	serveSector := func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(redirects) }
	plain, plainConns := countingServer(t, false, serveSector)
	secure, secureConns := countingServer(t, true, serveSector)
	pairwise := func(sector string) map[string]any {
		return map[string]any{"redirect_uris": redirects, "subject_type": "pairwise", "sector_identifier_uri": sector}
	}
	const couldNotBeFetched = "sector_identifier_uri: could not be fetched"

	// The default policy, with a DNS server that points a public-looking
	// name at 127.0.0.1.
	dns := outboundtest.Resolver(map[string][]netip.Addr{"sector.rp.example": {netip.MustParseAddr("127.0.0.1")}})
	strict := startServerWith(t, gormstoretest.SQLiteURL(t), nil, server.WithOutboundOptions(outbound.WithResolver(dns)))

	t.Run("a name that resolves to loopback is refused when connecting; the registrant learns only that it could not be fetched", func(t *testing.T) {
		status, body := register(t, strict, mintRegistrationToken(t, strict, 1), pairwise("https://sector.rp.example:"+portOf(secure)+"/sector.json"))
		if status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" || body["error_description"] != couldNotBeFetched {
			t.Fatalf("%d %v", status, body)
		}
		if logs := strict.logs.String(); !strings.Contains(logs, "127.0.0.1 is a loopback address") {
			t.Errorf("the server's log does not say why: %s", logs)
		}
	})
	t.Run("loopback URLs are refused on their face", func(t *testing.T) {
		for _, u := range []string{plain.URL, secure.URL, "https://localhost:" + portOf(secure), "https://[::ffff:127.0.0.1]:" + portOf(secure)} {
			status, body := register(t, strict, mintRegistrationToken(t, strict, 1), pairwise(u))
			desc, _ := body["error_description"].(string)
			if status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" || !strings.HasPrefix(desc, "sector_identifier_uri: ") {
				t.Errorf("%s: %d %v", u, status, body)
			}
		}
	})
	if n := plainConns.Load() + secureConns.Load(); n != 0 {
		t.Fatalf("without the development switch, the sector servers on loopback saw %d connections", n)
	}

	dev := startServerWith(t, gormstoretest.SQLiteURL(t), allowLoopbackURLs)
	t.Run("the development switch is announced at start", func(t *testing.T) {
		if logs := dev.logs.String(); !strings.Contains(logs, `"level":"WARN"`) || !strings.Contains(logs, "GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS is on") {
			t.Fatalf("no warning: %s", logs)
		}
		if strings.Contains(strict.logs.String(), "GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS is on") {
			t.Fatal("warned without the switch")
		}
	})
	t.Run("with the development switch, a sector identifier on loopback is fetched", func(t *testing.T) {
		if status, body := register(t, dev, mintRegistrationToken(t, dev, 1), pairwise(plain.URL)); status != http.StatusCreated {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("a failed fetch is reported without its detail, which goes to the log", func(t *testing.T) {
		broken, _ := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "internal detail", http.StatusInternalServerError)
		})
		redirecting, _ := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+"/followed", http.StatusFound)
		})
		before := plainConns.Load()
		for _, u := range []string{"http://127.0.0.1:" + closedPort(t) + "/sector.json", broken.URL, redirecting.URL} {
			status, body := register(t, dev, mintRegistrationToken(t, dev, 1), pairwise(u))
			if status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" || body["error_description"] != couldNotBeFetched {
				t.Errorf("%s: %d %v", u, status, body)
			}
		}
		if plainConns.Load() != before {
			t.Error("the redirect was followed")
		}
		logs := dev.logs.String()
		for _, want := range []string{"connection refused", "answered 500", "redirect (302"} {
			if !strings.Contains(logs, want) {
				t.Errorf("the log lacks %q", want)
			}
		}
	})
}

func TestBackchannelLogoutUnderTheOutboundPolicy(t *testing.T) {
	plain, plainConns := countingServer(t, false, func(http.ResponseWriter, *http.Request) {})
	secure, secureConns := countingServer(t, true, func(http.ResponseWriter, *http.Request) {})
	s := startServer(t, gormstoretest.SQLiteURL(t))
	ctx := context.Background()
	// Clients stored before the policy, or while the development switch
	// was on, whose receivers are on loopback.
	for i, uri := range []string{plain.URL, secure.URL, "https://localhost:" + portOf(secure) + "/bc"} {
		id := "stale-" + strconv.Itoa(i)
		if err := s.Store().CreateClient(ctx, storage.Client{ID: id, Name: "stale", RedirectURIs: []string{"https://rp.example/cb"},
			GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid"}, BackchannelLogoutURI: uri}); err != nil {
			t.Fatal(err)
		}
		jobs, err := backchannel.Jobs(ctx, s.Store(), s.Secrets(), storage.BrowserSession{UserID: "user-1", SID: "sid-1"}, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Store().EnqueueJobs(ctx, jobs...); err != nil {
			t.Fatal(err)
		}
	}
	s.Jobs().RunDue(ctx)
	if n := plainConns.Load() + secureConns.Load(); n != 0 {
		t.Fatalf("the receivers on loopback saw %d connections", n)
	}
	// Refused, so given up at once rather than retried for hours.
	if due, err := s.Store().ListJobs(ctx, backchannel.JobKind, storage.JobQueued, storage.Page{}); err != nil || len(due) != 0 {
		t.Errorf("deliveries still queued: %+v %v", due, err)
	}
	dead, err := s.Store().ListJobs(ctx, backchannel.JobKind, storage.JobDead, storage.Page{})
	if err != nil || len(dead) != 3 {
		t.Fatalf("dead deliveries: %+v %v", dead, err)
	}
	var reasons string
	for _, d := range dead {
		reasons += d.LastError + "\n"
	}
	if !strings.Contains(reasons, "must use https") || !strings.Contains(reasons, "127.0.0.1 is a loopback address") {
		t.Errorf("the dead letters do not say what was refused: %s", reasons)
	}
}

func TestJWKSURIUnderTheOutboundPolicy(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serveJWKS := func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// grant stores a private_key_jwt client whose jwks_uri is jwksURI and
	// asks s for a token with an assertion signed by its key.
	grant := func(t *testing.T, s *testServer, jwksURI string) (int, map[string]any) {
		t.Helper()
		id := "jwt-" + strconv.Itoa(countClients(t, s))
		if err := s.Store().CreateClient(context.Background(), storage.Client{ID: id, Name: "machine", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"api:read"}, TokenEndpointAuthMethod: storage.AuthMethodPrivateKeyJWT, JWKSURI: jwksURI}); err != nil {
			t.Fatal(err)
		}
		assertion, err := josejwt.Signed(signer).Claims(map[string]any{
			"iss": id, "sub": id, "aud": s.URL + "/oauth2/token", "jti": id, "exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(),
		}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		resp, body := postForm(t, s.URL+"/oauth2/token", "", "", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "scope": {"api:read"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		})
		return resp.StatusCode, body
	}
	plain, plainConns := countingServer(t, false, serveJWKS)
	secure, secureConns := countingServer(t, true, serveJWKS)

	t.Run("without the development switch, a jwks_uri on loopback is not fetched", func(t *testing.T) {
		s := startServer(t, gormstoretest.SQLiteURL(t))
		for _, u := range []string{plain.URL + "/jwks", secure.URL + "/jwks"} {
			if status, body := grant(t, s, u); status == http.StatusOK || body["access_token"] != nil {
				t.Errorf("%s: %d %v", u, status, body)
			}
		}
		if n := plainConns.Load() + secureConns.Load(); n != 0 {
			t.Fatalf("the JWK Set servers on loopback saw %d connections", n)
		}
	})
	t.Run("with it, the JWK Set is fetched and the assertion verified", func(t *testing.T) {
		s := startServerWith(t, gormstoretest.SQLiteURL(t), allowLoopbackURLs)
		if status, body := grant(t, s, plain.URL+"/jwks"); status != http.StatusOK || body["access_token"] == nil {
			t.Fatalf("%d %v", status, body)
		}
	})
}
