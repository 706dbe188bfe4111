package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// rawCall sends body as it is, with the content type given ("" for none).
func rawCall(t *testing.T, method, u, contentType, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
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
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// The audit's loose inputs: each is refused whole, naming what is wrong,
// and nothing is stored.
func TestRegistrationRefusesLooseInput(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, func(c *config.Config) { c.RegistrationPolicy = "open" })
		regURL := s.URL + "/oauth2/register"
		good := `{"grant_types":["client_credentials"],"client_name":"ok"}`
		manyURIs := make([]string, 60)
		for i := range manyURIs {
			manyURIs[i] = fmt.Sprintf("https://app.example/cb%d", i)
		}
		manyJSON, _ := json.Marshal(map[string]any{"redirect_uris": manyURIs})
		for _, tc := range []struct {
			name, contentType, body string
			status                  int
			code                    string
		}{
			{"text/plain is 415", "text/plain", good, http.StatusUnsupportedMediaType, "invalid_request"},
			{"no content type is 415", "", good, http.StatusUnsupportedMediaType, "invalid_request"},
			{"text after the JSON value", "application/json", good + ` {"x":1}`, http.StatusBadRequest, "invalid_client_metadata"},
			{"a member named twice", "application/json", `{"grant_types":["client_credentials"],"scope":"a","scope":"b"}`, http.StatusBadRequest, "invalid_client_metadata"},
			{"a 60 KB client_name", "application/json", `{"grant_types":["client_credentials"],"client_name":"` + strings.Repeat("n", 60<<10) + `"}`, http.StatusBadRequest, "invalid_client_metadata"},
			{"sixty redirect URIs", "application/json", string(manyJSON), http.StatusBadRequest, "invalid_redirect_uri"},
			{"a NUL in client_name", "application/json", `{"grant_types":["client_credentials"],"client_name":"evil\u0000name"}`, http.StatusBadRequest, "invalid_client_metadata"},
			{"an escape sequence in a contact", "application/json", `{"grant_types":["client_credentials"],"contacts":["a\u001b[31m@x.example"]}`, http.StatusBadRequest, "invalid_client_metadata"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := countClients(t, s)
				status, body := rawCall(t, http.MethodPost, regURL, tc.contentType, "", tc.body)
				if status != tc.status || body["error"] != tc.code {
					t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.code)
				}
				if after := countClients(t, s); after != before {
					t.Fatalf("%d clients stored", after-before)
				}
			})
		}
		t.Run("application/json with a charset is fine", func(t *testing.T) {
			status, body := rawCall(t, http.MethodPost, regURL, "application/json; charset=utf-8", "", good)
			if status != http.StatusCreated {
				t.Fatalf("got %d %v", status, body)
			}
		})
	})
}

func TestAdminAPIRefusesLooseInput(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		tok := adminToken(t, s)
		customers := s.URL + admin.PathPrefix + "/customers"
		created := adminCall(t, s, http.MethodPost, "/customers", tok, map[string]any{"email": "zoe@example.com", "password": "tuba ketchup lantern 9", "name": "Zoë"})
		created.want(t, http.StatusCreated)
		one := customers + "/" + created.body["id"].(string)
		for _, tc := range []struct {
			name, method, url, contentType, body string
			status                               int
			field                                string
		}{
			{"text/plain is 415", http.MethodPost, customers, "text/plain", `{"email":"a@example.com"}`, http.StatusUnsupportedMediaType, ""},
			{"a member named twice", http.MethodPatch, one, "application/json", `{"name":"a","name":"b"}`, http.StatusBadRequest, ""},
			{"text after the JSON value", http.MethodPatch, one, "application/json", `{"name":"a"}x`, http.StatusBadRequest, ""},
			{"a NUL in a new customer's name", http.MethodPost, customers, "application/json", `{"email":"m@example.com","password":"tuba ketchup lantern 9","name":"Mal\u0000lory"}`, http.StatusBadRequest, "name"},
			{"a NUL in a changed name", http.MethodPatch, one, "application/json", `{"name":"Mal\u0000lory"}`, http.StatusBadRequest, "name"},
			{"a line break in a name", http.MethodPatch, one, "application/json", `{"given_name":"a\nb"}`, http.StatusBadRequest, "given_name"},
			{"a 300-character name", http.MethodPatch, one, "application/json", `{"name":"` + strings.Repeat("x", 300) + `"}`, http.StatusBadRequest, "name"},
			{"a NUL in a client's name", http.MethodPost, s.URL + admin.PathPrefix + "/clients", "application/json", `{"client_name":"a\u0000","grant_types":["client_credentials"]}`, http.StatusBadRequest, "client_name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := rawCall(t, tc.method, tc.url, tc.contentType, tok, tc.body)
				if status != tc.status {
					t.Fatalf("got %d %v, want %d", status, body, tc.status)
				}
				if tc.field != "" && body["field"] != tc.field {
					t.Fatalf("problem names field %v, want %s: %v", body["field"], tc.field, body)
				}
			})
		}
		t.Run("an address may hold line breaks in its formatted member", func(t *testing.T) {
			r := adminCall(t, s, http.MethodPatch, "/customers/"+created.body["id"].(string), tok, map[string]any{"address": map[string]any{"formatted": "1 Main St\nSpringfield"}})
			r.want(t, http.StatusOK)
		})
		t.Run("the customer is unchanged by the refused patches", func(t *testing.T) {
			r := adminCall(t, s, http.MethodGet, "/customers/"+created.body["id"].(string), tok, nil)
			r.want(t, http.StatusOK)
			if r.body["name"] != "Zoë" || r.body["given_name"] != nil {
				t.Fatalf("customer = %v", r.body)
			}
		})
	})
}

// URLs the server itself fetches or posts to are checked on their face
// whichever way a client is registered: https, a public host.
func TestClientURLsTheServerFetchesMustBePublic(t *testing.T) {
	s := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.RegistrationPolicy = "open" })
	for _, md := range []map[string]any{
		{"redirect_uris": []string{"https://app.example/cb"}, "backchannel_logout_uri": "https://127.0.0.1:8443/bc"},
		{"redirect_uris": []string{"https://app.example/cb"}, "backchannel_logout_uri": "http://app.example/bc"},
		{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://169.254.169.254/jwks"},
		{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://localhost/jwks"},
	} {
		status, body := register(t, s, "", md)
		if status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
			t.Errorf("%v: got %d %v", md, status, body)
		}
	}
	tok := adminToken(t, s)
	r := adminCall(t, s, http.MethodPost, "/clients", tok, map[string]any{"client_name": "x", "redirect_uris": []string{"https://app.example/cb"}, "backchannel_logout_uri": "https://10.1.2.3/bc"})
	if r.status != http.StatusBadRequest || r.body["field"] != "backchannel_logout_uri" {
		t.Errorf("admin API: %d %v", r.status, r.body)
	}
}
