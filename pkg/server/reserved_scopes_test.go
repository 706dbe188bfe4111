package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// The audit's exploit: a client that registers itself asking for the admin
// scope, or adds it later through RFC 7592, must never reach the admin API.
func TestRegistrationCannotTakeReservedScopes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, func(c *config.Config) {
			c.RegistrationPolicy = "open"
			c.ReservedScopes = "billing:admin"
		})
		for _, scope := range []string{admin.Scope, "billing:admin", "openid " + admin.Scope} {
			t.Run("registration asking for "+scope+" is invalid_client_metadata", func(t *testing.T) {
				status, body := register(t, s, "", map[string]any{"grant_types": []string{"client_credentials"}, "scope": scope})
				if status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
					t.Fatalf("got %d %v", status, body)
				}
			})
		}
		t.Run("an RFC 7592 update adding the admin scope is invalid_client_metadata", func(t *testing.T) {
			status, reg := register(t, s, "", map[string]any{"grant_types": []string{"client_credentials"}, "scope": "api:read"})
			if status != http.StatusCreated {
				t.Fatalf("status %d: %v", status, reg)
			}
			reg["scope"] = "api:read " + admin.Scope
			for _, k := range []string{"registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"} {
				delete(reg, k)
			}
			body, _ := json.Marshal(reg)
			uri := s.URL + "/oauth2/register/" + reg["client_id"].(string)
			status, got := jsonCall(t, http.MethodPut, uri, "", body)
			if status != http.StatusUnauthorized {
				t.Fatalf("PUT without the registration token: %d %v", status, got)
			}
		})
		t.Run("an RFC 7592 update with its token adding the admin scope is refused, and the client stays as it was", func(t *testing.T) {
			status, reg := register(t, s, "", map[string]any{"grant_types": []string{"client_credentials"}, "scope": "api:read"})
			if status != http.StatusCreated {
				t.Fatalf("status %d: %v", status, reg)
			}
			rat := reg["registration_access_token"].(string)
			uri := reg["registration_client_uri"].(string)
			id, secret := reg["client_id"].(string), reg["client_secret"].(string)
			update := map[string]any{"client_id": id, "grant_types": []string{"client_credentials"}, "scope": "api:read " + admin.Scope}
			body, _ := json.Marshal(update)
			status, got := jsonCall(t, http.MethodPut, uri, rat, body)
			if status != http.StatusBadRequest || got["error"] != "invalid_client_metadata" {
				t.Fatalf("got %d %v", status, got)
			}
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.URL + "/oauth2/token", Scopes: []string{admin.Scope}}
			if _, err := cc.Token(context.Background()); err == nil {
				t.Fatal("the client got an admin token")
			}
		})
		t.Run("an operator may give a reserved scope, and the client may keep it in its own updates", func(t *testing.T) {
			reg := s.createClient(t, clients.Spec{Name: "billing", GrantTypes: []string{"client_credentials"}, Scopes: []string{"billing:admin"}, Dynamic: false})
			cc := clientcredentials.Config{ClientID: reg.Client.ID, ClientSecret: reg.Secret, TokenURL: s.URL + "/oauth2/token", Scopes: []string{"billing:admin"}}
			if _, err := cc.Token(context.Background()); err != nil {
				t.Fatalf("operator-given reserved scope: %v", err)
			}
			cs := clients.NewService(s.Store(), s.Secrets(), clients.Options{ReservedScopes: []string{"billing:admin"}})
			spec := clients.SpecOf(reg.Client)
			spec.Dynamic = true
			if _, err := cs.Update(context.Background(), reg.Client.ID, spec); err != nil {
				t.Fatalf("a self-update keeping an operator-given scope: %v", err)
			}
			spec.Scopes = append(spec.Scopes, admin.Scope)
			if _, err := cs.Update(context.Background(), reg.Client.ID, spec); !clients.IsInvalid(err) {
				t.Fatalf("a self-update adding the admin scope: %v", err)
			}
		})
	})
}

// Registration, the admin API and the command line share one client shape
// (clients.Metadata); what only an operator may set stays the operator's.
func TestOneClientShapeOperatorMembers(t *testing.T) {
	s := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.RegistrationPolicy = "open" })
	for _, member := range []map[string]any{{"skip_consent": true}, {"audience": []string{"https://api.example"}}, {"admin": true}} {
		md := map[string]any{"redirect_uris": []string{"https://app.example/cb"}}
		for k, v := range member {
			md[k] = v
		}
		status, body := register(t, s, "", md)
		if status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
			t.Errorf("registration with %v: %d %v", member, status, body)
		}
	}
	t.Run("a client's own update keeps what an operator gave it", func(t *testing.T) {
		status, reg := register(t, s, "", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "client_name": "App"})
		if status != http.StatusCreated {
			t.Fatalf("%d %v", status, reg)
		}
		id := reg["client_id"].(string)
		tok := adminToken(t, s)
		r := adminCall(t, s, http.MethodGet, "/clients/"+id, tok, nil)
		r.want(t, http.StatusOK)
		// The admin API's answer is the same shape the registration answered.
		for _, k := range []string{"client_id", "redirect_uris", "grant_types", "token_endpoint_auth_method", "client_name", "application_type"} {
			if !jsonEqual(r.body[k], reg[k]) {
				t.Errorf("%s: admin API %v, registration %v", k, r.body[k], reg[k])
			}
		}
		update := map[string]any{}
		for k, v := range r.body {
			if k != "client_id" && k != "client_id_issued_at" && k != "created_at" && k != "updated_at" {
				update[k] = v
			}
		}
		update["skip_consent"], update["audience"] = true, []string{"https://api.example"}
		adminCall(t, s, http.MethodPut, "/clients/"+id, tok, update).want(t, http.StatusOK)
		put := map[string]any{"client_id": id, "redirect_uris": []string{"https://app.example/cb"}, "client_name": "App 2"}
		body, _ := json.Marshal(put)
		status, got := jsonCall(t, http.MethodPut, reg["registration_client_uri"].(string), reg["registration_access_token"].(string), body)
		if status != http.StatusOK || got["client_name"] != "App 2" || got["skip_consent"] != true || !jsonEqual(got["audience"], []any{"https://api.example"}) {
			t.Fatalf("PUT: %d %v", status, got)
		}
	})
	t.Run("the admin API refuses members the server chooses", func(t *testing.T) {
		r := adminCall(t, s, http.MethodPost, "/clients", adminToken(t, s), map[string]any{"client_id": "mine", "grant_types": []string{"client_credentials"}})
		if r.status != http.StatusBadRequest || r.body["field"] != "client_id" {
			t.Fatalf("%d %v", r.status, r.body)
		}
	})
}

// An admin client that also signs customers in: a customer's token, even
// one with the admin scope, is not the client's own and never reaches the
// admin API; the client's own client-credentials token does.
func TestAdminAPIOnlyForTheAdminClientsOwnTokens(t *testing.T) {
	s := startServer(t, gormstoretest.SQLiteURL(t))
	createAlice(t, s)
	spec := webClient(true)
	spec.Admin = true
	spec.GrantTypes = []string{"authorization_code", "client_credentials"}
	spec.Scopes = []string{"openid", "email"}
	rp := newRelyingParty(t, s, spec)
	rp.oauth.Scopes = []string{"openid", admin.Scope}
	f := newFlow()
	tok, _ := rp.exchange(f, rp.signIn(f).Get("code"))
	if scope, _ := tok.Extra("scope").(string); !strings.Contains(scope, admin.Scope) {
		t.Fatalf("the customer's token lacks the admin scope (%q): the test would prove nothing", scope)
	}
	r := adminCall(t, s, http.MethodGet, "/clients", tok.AccessToken, nil)
	wantProblem(t, r, http.StatusForbidden)
	own := clientToken(t, s, rp.reg, admin.Scope)
	adminCall(t, s, http.MethodGet, "/clients", own, nil).want(t, http.StatusOK)
}
