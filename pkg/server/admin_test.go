package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/pkg/backchannel"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// adminResponse is one answer of the admin API.
type adminResponse struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// adminCall sends a request to the admin API with a bearer token (none when
// token is empty) and a JSON body (none when body is nil).
func adminCall(t *testing.T, s *testServer, method, path, token string, body any) adminResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+admin.PathPrefix+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := adminResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s answered %d with non-JSON %q", method, path, resp.StatusCode, raw)
		}
	}
	return out
}

// adminRaw sends a request to the admin API with a bearer token and a raw
// body of the content type.
func adminRaw(t *testing.T, s *testServer, method, path, token, contentType, body string) adminResponse {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+admin.PathPrefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := adminResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s answered %d with non-JSON %q", method, path, resp.StatusCode, raw)
		}
	}
	return out
}

// want fails the test unless the answer has the status.
func (r adminResponse) want(t *testing.T, status int) adminResponse {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// items returns the items of a listing.
func (r adminResponse) items(t *testing.T) []map[string]any {
	t.Helper()
	raw, ok := r.body["items"].([]any)
	if !ok {
		t.Fatalf("no items in %s", r.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i], _ = it.(map[string]any)
	}
	return out
}

// machineToken returns an access token of a new client_credentials client
// allowed the scopes.
func machineToken(t *testing.T, s *testServer, scopes ...string) string {
	t.Helper()
	return clientToken(t, s, s.createClient(t, machineClient(scopes...)), scopes...)
}

// clientToken returns a client-credentials access token of the client.
func clientToken(t *testing.T, s *testServer, reg clients.Registered, scopes ...string) string {
	t.Helper()
	cc := clientcredentials.Config{
		ClientID: reg.Client.ID, ClientSecret: reg.Secret, TokenURL: s.URL + "/oauth2/token",
		Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// adminToken returns an access token of an admin client, which carries
// the admin scope.
func adminToken(t *testing.T, s *testServer) string {
	return clientToken(t, s, s.createClient(t, adminClient()), admin.Scope)
}

// adminClient is what `gatehouse clients create --admin` registers.
func adminClient() clients.Spec { return clients.Spec{Name: "ops", Admin: true} }

// wantProblem checks an RFC 9457 answer.
func wantProblem(t *testing.T, r adminResponse, status int) {
	t.Helper()
	r.want(t, status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("problem lacks %q: %s", k, r.raw)
		}
	}
	if r.body["status"] != float64(status) {
		t.Errorf("problem status = %v, want %d", r.body["status"], status)
	}
}

func TestAdminAPIAuthentication(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		t.Run("without a token: 401 problem with WWW-Authenticate Bearer", func(t *testing.T) {
			r := adminCall(t, s, http.MethodGet, "/clients", "", nil)
			wantProblem(t, r, http.StatusUnauthorized)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
		t.Run("an unknown token: 401 invalid_token", func(t *testing.T) {
			r := adminCall(t, s, http.MethodGet, "/clients", "gate_at_not-a-token", nil)
			wantProblem(t, r, http.StatusUnauthorized)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
		t.Run("a token without the admin scope: 403 insufficient_scope", func(t *testing.T) {
			r := adminCall(t, s, http.MethodGet, "/clients", machineToken(t, s, "api:read"), nil)
			wantProblem(t, r, http.StatusForbidden)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "insufficient_scope") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
		t.Run("the admin scope without the admin mark: 403", func(t *testing.T) {
			// An operator gave the scope but did not make it an admin client.
			r := adminCall(t, s, http.MethodGet, "/clients", machineToken(t, s, admin.Scope), nil)
			wantProblem(t, r, http.StatusForbidden)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "insufficient_scope") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
		t.Run("a revoked admin token: 401", func(t *testing.T) {
			reg := s.createClient(t, adminClient())
			cc := clientcredentials.Config{ClientID: reg.Client.ID, ClientSecret: reg.Secret, TokenURL: s.URL + "/oauth2/token", Scopes: []string{admin.Scope}}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			adminCall(t, s, http.MethodGet, "/clients", tok.AccessToken, nil).want(t, http.StatusOK)
			postForm(t, s.URL+"/oauth2/revoke", reg.Client.ID, reg.Secret, map[string][]string{"token": {tok.AccessToken}})
			wantProblem(t, adminCall(t, s, http.MethodGet, "/clients", tok.AccessToken, nil), http.StatusUnauthorized)
		})
		t.Run("unknown paths and methods are problems too", func(t *testing.T) {
			tok := adminToken(t, s)
			wantProblem(t, adminCall(t, s, http.MethodGet, "/nothing", tok, nil), http.StatusNotFound)
			r := adminCall(t, s, http.MethodPatch, "/clients", tok, map[string]any{})
			wantProblem(t, r, http.StatusMethodNotAllowed)
			if r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	})
}

func TestAdminAPIClients(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		tok := adminToken(t, s)

		created := adminCall(t, s, http.MethodPost, "/clients", tok, map[string]any{
			"client_name": "Reports", "grant_types": []string{"client_credentials"}, "scope": "reports:read",
		}).want(t, http.StatusCreated).body
		id, _ := created["client_id"].(string)
		secret, _ := created["client_secret"].(string)
		if id == "" || len(secret) < 43 {
			t.Fatalf("create answered %v", created)
		}
		tokenWith := func(secret string) error {
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.URL + "/oauth2/token"}
			_, err := cc.Token(context.Background())
			return err
		}
		if err := tokenWith(secret); err != nil {
			t.Fatalf("the created client cannot get a token: %v", err)
		}

		t.Run("get shows the client without its secret", func(t *testing.T) {
			got := adminCall(t, s, http.MethodGet, "/clients/"+id, tok, nil).want(t, http.StatusOK).body
			if got["client_name"] != "Reports" || got["scope"] != "reports:read" {
				t.Errorf("get = %v", got)
			}
			if _, ok := got["client_secret"]; ok {
				t.Error("get shows client_secret")
			}
		})
		t.Run("update replaces the metadata and keeps the secret", func(t *testing.T) {
			got := adminCall(t, s, http.MethodPut, "/clients/"+id, tok, map[string]any{
				"client_name": "Reports v2", "grant_types": []string{"client_credentials"}, "scope": "reports:read reports:write",
			}).want(t, http.StatusOK).body
			if got["client_name"] != "Reports v2" || got["scope"] != "reports:read reports:write" {
				t.Errorf("update = %v", got)
			}
			if err := tokenWith(secret); err != nil {
				t.Errorf("the secret stopped working after an update: %v", err)
			}
		})
		t.Run("invalid metadata is a 400 problem naming the field", func(t *testing.T) {
			r := adminCall(t, s, http.MethodPost, "/clients", tok, map[string]any{"client_name": "x", "grant_types": []string{"password"}})
			wantProblem(t, r, http.StatusBadRequest)
			if r.body["field"] != "grant_type" {
				t.Errorf("field = %v", r.body["field"])
			}
			wantProblem(t, adminCall(t, s, http.MethodPost, "/clients", tok, map[string]any{"client_nam": "typo"}), http.StatusBadRequest)
		})
		t.Run("secret rotation returns a new secret once; the old one stops working", func(t *testing.T) {
			got := adminCall(t, s, http.MethodPost, "/clients/"+id+"/secret", tok, nil).want(t, http.StatusOK).body
			fresh, _ := got["client_secret"].(string)
			if fresh == "" || fresh == secret {
				t.Fatalf("rotation answered %v", got)
			}
			if err := tokenWith(fresh); err != nil {
				t.Errorf("new secret: %v", err)
			}
			if err := tokenWith(secret); err == nil {
				t.Error("old secret still works")
			}
		})
		t.Run("list pages with an opaque cursor", func(t *testing.T) {
			for i := range 4 {
				adminCall(t, s, http.MethodPost, "/clients", tok, map[string]any{
					"client_name": fmt.Sprintf("c%d", i), "grant_types": []string{"client_credentials"},
				}).want(t, http.StatusCreated)
			}
			want := countClients(t, s)
			seen := map[string]bool{}
			cursor, pages := "", 0
			for {
				path := "/clients?limit=2"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				r := adminCall(t, s, http.MethodGet, path, tok, nil).want(t, http.StatusOK)
				items := r.items(t)
				if len(items) > 2 {
					t.Fatalf("page of %d items with limit=2", len(items))
				}
				for _, it := range items {
					seen[it["client_id"].(string)] = true
				}
				pages++
				next, _ := r.body["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(seen) != want || pages < 3 {
				t.Errorf("saw %d clients in %d pages, want %d", len(seen), pages, want)
			}
			wantProblem(t, adminCall(t, s, http.MethodGet, "/clients?limit=0", tok, nil), http.StatusBadRequest)
			wantProblem(t, adminCall(t, s, http.MethodGet, "/clients?cursor=!!", tok, nil), http.StatusBadRequest)
		})
		t.Run("delete removes the client; a second delete is 404", func(t *testing.T) {
			adminCall(t, s, http.MethodDelete, "/clients/"+id, tok, nil).want(t, http.StatusNoContent)
			wantProblem(t, adminCall(t, s, http.MethodGet, "/clients/"+id, tok, nil), http.StatusNotFound)
			wantProblem(t, adminCall(t, s, http.MethodDelete, "/clients/"+id, tok, nil), http.StatusNotFound)
		})
	})
}

func TestAdminAPICustomers(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		tok := adminToken(t, s)
		ctx := context.Background()

		create := func(email, name string) string {
			t.Helper()
			got := adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{
				"email": email, "password": "correct horse battery", "name": name,
			}).want(t, http.StatusCreated).body
			if _, ok := got["password"]; ok {
				t.Error("create shows a password")
			}
			return got["id"].(string)
		}
		alice := create("Alice@Example.com", "Alice Liddell")
		create("alan@example.com", "Alan Turing")
		create("bob@example.com", "Bob Alison")

		t.Run("a taken email is a 409 problem; a bad one 400", func(t *testing.T) {
			wantProblem(t, adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{"email": "alice@example.com", "password": "correct horse battery"}), http.StatusConflict)
			wantProblem(t, adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{"email": "nope", "password": "correct horse battery"}), http.StatusBadRequest)
		})
		t.Run("search by email or name prefix", func(t *testing.T) {
			emails := func(path string) []string {
				var out []string
				for _, it := range adminCall(t, s, http.MethodGet, path, tok, nil).want(t, http.StatusOK).items(t) {
					out = append(out, it["email"].(string))
				}
				return out
			}
			if got := emails("/customers?email_prefix=AL"); len(got) != 2 {
				t.Errorf("email_prefix=AL: %v", got)
			}
			if got := emails("/customers?name_prefix=bob"); len(got) != 1 || got[0] != "bob@example.com" {
				t.Errorf("name_prefix=bob: %v", got)
			}
			if got := emails("/customers?limit=2"); len(got) != 2 {
				t.Errorf("limit=2: %v", got)
			}
		})
		t.Run("get and patch", func(t *testing.T) {
			got := adminCall(t, s, http.MethodGet, "/customers/"+alice, tok, nil).want(t, http.StatusOK).body
			if got["email"] != "alice@example.com" || got["name"] != "Alice Liddell" {
				t.Errorf("get = %v", got)
			}
			got = adminCall(t, s, http.MethodPatch, "/customers/"+alice, tok, map[string]any{
				"name": "Alice L.", "email_verified": true, "given_name": "Alice", "locale": "en-GB",
			}).want(t, http.StatusOK).body
			if got["name"] != "Alice L." || got["email_verified"] != true || got["given_name"] != "Alice" || got["email"] != "alice@example.com" {
				t.Errorf("patch = %v", got)
			}
			wantProblem(t, adminCall(t, s, http.MethodPatch, "/customers/"+alice, tok, map[string]any{"email": "bob@example.com"}), http.StatusConflict)
		})
		t.Run("sessions: list, revoke one, revoke all", func(t *testing.T) {
			now := time.Now()
			for _, id := range []string{"a", "b", "c"} {
				if err := s.Store().CreateSession(ctx, storage.BrowserSession{
					ID: "hash-" + id, SID: "sid-" + id, UserID: alice, AuthTime: now, AMR: []string{"pwd"}, ExpiresAt: now.Add(time.Hour),
				}); err != nil {
					t.Fatal(err)
				}
			}
			items := adminCall(t, s, http.MethodGet, "/customers/"+alice+"/sessions", tok, nil).want(t, http.StatusOK).items(t)
			if len(items) != 3 {
				t.Fatalf("sessions = %v", items)
			}
			if _, ok := items[0]["id"]; ok {
				t.Error("a session's cookie hash is shown")
			}
			adminCall(t, s, http.MethodDelete, "/customers/"+alice+"/sessions/sid-b", tok, nil).want(t, http.StatusNoContent)
			if _, err := s.Store().GetSession(ctx, "hash-b"); err == nil {
				t.Error("revoked session still exists")
			}
			wantProblem(t, adminCall(t, s, http.MethodDelete, "/customers/"+alice+"/sessions/sid-b", tok, nil), http.StatusNotFound)
			adminCall(t, s, http.MethodDelete, "/customers/"+alice+"/sessions", tok, nil).want(t, http.StatusNoContent)
			if items := adminCall(t, s, http.MethodGet, "/customers/"+alice+"/sessions", tok, nil).items(t); len(items) != 0 {
				t.Errorf("sessions left: %v", items)
			}
		})
		t.Run("ending a session queues back-channel logout for its clients", func(t *testing.T) {
			spec := webClient(false)
			spec.BackchannelLogoutURI = "https://rp.example/backchannel"
			rp := s.createClient(t, spec)
			now := time.Now()
			if err := s.Store().CreateSession(ctx, storage.BrowserSession{
				ID: "hash-bc", SID: "sid-bc", UserID: alice, AuthTime: now, ExpiresAt: now.Add(time.Hour),
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.Store().AddSessionClient(ctx, "hash-bc", rp.Client.ID); err != nil {
				t.Fatal(err)
			}
			adminCall(t, s, http.MethodDelete, "/customers/"+alice+"/sessions/sid-bc", tok, nil).want(t, http.StatusNoContent)
			due, err := s.Store().ListJobs(ctx, backchannel.JobKind, storage.JobQueued, storage.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(due) != 1 || !strings.Contains(string(due[0].Payload), "client_id="+rp.Client.ID) || !strings.Contains(string(due[0].Payload), "sid=sid-bc") {
				t.Errorf("queued deliveries = %+v", due)
			}
			for _, d := range due {
				_ = s.Store().KillJob(ctx, d.ID, "test")
			}
		})
		t.Run("consents: list and revoke", func(t *testing.T) {
			if err := s.Store().GrantConsent(ctx, alice, "client-a", []string{"openid", "email"}); err != nil {
				t.Fatal(err)
			}
			items := adminCall(t, s, http.MethodGet, "/customers/"+alice+"/consents", tok, nil).want(t, http.StatusOK).items(t)
			if len(items) != 1 || items[0]["client_id"] != "client-a" {
				t.Fatalf("consents = %v", items)
			}
			adminCall(t, s, http.MethodDelete, "/customers/"+alice+"/consents/client-a", tok, nil).want(t, http.StatusNoContent)
			if _, err := s.Store().GetConsent(ctx, alice, "client-a"); err == nil {
				t.Error("revoked consent still exists")
			}
			wantProblem(t, adminCall(t, s, http.MethodDelete, "/customers/"+alice+"/consents/client-a", tok, nil), http.StatusNotFound)
		})
		t.Run("delete removes the customer and what is theirs", func(t *testing.T) {
			if err := s.Store().GrantConsent(ctx, alice, "client-b", []string{"openid"}); err != nil {
				t.Fatal(err)
			}
			adminCall(t, s, http.MethodDelete, "/customers/"+alice, tok, nil).want(t, http.StatusNoContent)
			wantProblem(t, adminCall(t, s, http.MethodGet, "/customers/"+alice, tok, nil), http.StatusNotFound)
			wantProblem(t, adminCall(t, s, http.MethodGet, "/customers/"+alice+"/consents", tok, nil), http.StatusNotFound)
			if _, err := s.Store().GetConsent(ctx, alice, "client-b"); err == nil {
				t.Error("a deleted customer's consent survives")
			}
		})
	})
}

func TestAdminAPIKeysAndRegistrationTokens(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		tok := adminToken(t, s)

		t.Run("keys: list, rotate, retire", func(t *testing.T) {
			before := adminCall(t, s, http.MethodGet, "/keys", tok, nil).want(t, http.StatusOK).items(t)
			var oldRS string
			for _, k := range before {
				if _, ok := k["private_key"]; ok {
					t.Error("a key shows private material")
				}
				if k["alg"] == "RS256" && k["state"] == "active" {
					oldRS = k["kid"].(string)
				}
			}
			if oldRS == "" {
				t.Fatalf("no active RS256 key in %v", before)
			}
			wantProblem(t, adminCall(t, s, http.MethodPost, "/keys/"+oldRS+"/retire", tok, nil), http.StatusConflict)
			rotated := adminCall(t, s, http.MethodPost, "/keys/rotate", tok, map[string]any{"alg": "RS256"}).want(t, http.StatusCreated).body
			if rotated["state"] != "active" || rotated["kid"] == oldRS {
				t.Errorf("rotate = %v", rotated)
			}
			wantProblem(t, adminCall(t, s, http.MethodPost, "/keys/rotate", tok, map[string]any{"alg": "HS256"}), http.StatusBadRequest)
			adminCall(t, s, http.MethodPost, "/keys/"+oldRS+"/retire", tok, nil).want(t, http.StatusNoContent)
			for _, k := range adminCall(t, s, http.MethodGet, "/keys", tok, nil).items(t) {
				if k["kid"] == oldRS && k["state"] != "retired" {
					t.Errorf("retired key is %v", k["state"])
				}
			}
			wantProblem(t, adminCall(t, s, http.MethodPost, "/keys/no-such-kid/retire", tok, nil), http.StatusNotFound)
		})
		t.Run("registration tokens: create once, list, register with it, delete", func(t *testing.T) {
			got := adminCall(t, s, http.MethodPost, "/registration-tokens", tok, map[string]any{"expires_in": 3600, "uses": 2}).want(t, http.StatusCreated).body
			iat, _ := got["initial_access_token"].(string)
			id, _ := got["id"].(string)
			if iat == "" || id == "" || got["uses_left"] != float64(2) {
				t.Fatalf("create = %v", got)
			}
			items := adminCall(t, s, http.MethodGet, "/registration-tokens", tok, nil).want(t, http.StatusOK).items(t)
			if len(items) != 1 || items[0]["id"] != id {
				t.Fatalf("list = %v", items)
			}
			if _, ok := items[0]["initial_access_token"]; ok {
				t.Error("list shows the token")
			}
			if status, body := register(t, s, iat, map[string]any{"redirect_uris": []string{"https://app.example/cb"}}); status != http.StatusCreated {
				t.Fatalf("registration with the minted token: %d %v", status, body)
			}
			wantProblem(t, adminCall(t, s, http.MethodPost, "/registration-tokens", tok, map[string]any{"expires_in": 0}), http.StatusBadRequest)
			adminCall(t, s, http.MethodDelete, "/registration-tokens/"+id, tok, nil).want(t, http.StatusNoContent)
			if status, _ := register(t, s, iat, map[string]any{"redirect_uris": []string{"https://app.example/cb"}}); status == http.StatusCreated {
				t.Error("a deleted token still registers")
			}
			wantProblem(t, adminCall(t, s, http.MethodDelete, "/registration-tokens/"+id, tok, nil), http.StatusNotFound)
		})
	})
}

func TestAdminAPIConsentRevocationRevokesTokens(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		tok := adminToken(t, s)
		aliceID := createAlice(t, s)
		rp := newRelyingParty(t, s, webClient(false))
		f := newFlow()
		cb := rp.signIn(f)
		tokens, _ := rp.exchange(f, cb.Get("code"))
		if !active(t, s, rp, tokens.AccessToken) || tokens.RefreshToken == "" {
			t.Fatal("fresh access token inactive, or no refresh token")
		}
		sessions := adminCall(t, s, http.MethodGet, "/customers/"+aliceID+"/sessions", tok, nil).want(t, http.StatusOK).items(t)
		if len(sessions) != 1 {
			t.Fatalf("sessions after a sign-in = %v", sessions)
		}
		consents := adminCall(t, s, http.MethodGet, "/customers/"+aliceID+"/consents", tok, nil).want(t, http.StatusOK).items(t)
		if len(consents) != 1 || consents[0]["client_id"] != rp.reg.Client.ID {
			t.Fatalf("consents after a sign-in = %v", consents)
		}
		adminCall(t, s, http.MethodDelete, "/customers/"+aliceID+"/consents/"+rp.reg.Client.ID, tok, nil).want(t, http.StatusNoContent)
		if active(t, s, rp, tokens.AccessToken) {
			t.Error("the access token survived the consent's revocation")
		}
		if active(t, s, rp, tokens.RefreshToken) {
			t.Error("the refresh token survived the consent's revocation")
		}
	})
}
