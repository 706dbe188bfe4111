package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// eventsOf returns the stored events of the type about the subject.
func eventsOf(t *testing.T, s *testServer, typ, subject string) []storage.Event {
	t.Helper()
	es, err := s.Store().ListEvents(context.Background(), storage.EventFilter{Type: typ, Subject: subject}, storage.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// wantEvent checks that exactly one event of the type is about the
// subject, made by the actor in the request, with data that holds no
// secret (no member named for one, none of the values in secrets), and
// returns its data.
func wantEvent(t *testing.T, s *testServer, typ, subject string, actor storage.Actor, requestID string, secrets ...string) map[string]any {
	t.Helper()
	es := eventsOf(t, s, typ, subject)
	if len(es) != 1 {
		t.Fatalf("%d %s events about %q, want 1: %+v", len(es), typ, subject, es)
	}
	e := es[0]
	if e.Type != typ || e.Subject != subject || e.Actor != actor {
		t.Errorf("%s: subject %q actor %+v, want %q %+v", typ, e.Subject, e.Actor, subject, actor)
	}
	if requestID != "" && e.RequestID != requestID {
		t.Errorf("%s: request id %q, want %q", typ, e.RequestID, requestID)
	}
	if e.RequestID == "" {
		t.Errorf("%s: no request id", typ)
	}
	var data map[string]any
	if err := json.Unmarshal(e.Data, &data); err != nil {
		t.Fatalf("%s data is not an object: %s", typ, e.Data)
	}
	for k := range data {
		for _, bad := range []string{"password", "client_secret", "hash", "token"} {
			if strings.Contains(k, bad) {
				t.Errorf("%s data has the member %q: %s", typ, k, e.Data)
			}
		}
	}
	for _, sec := range append(secrets, "$argon2id$") {
		if sec != "" && strings.Contains(string(e.Data), sec) {
			t.Errorf("%s data holds a secret: %s", typ, e.Data)
		}
	}
	return data
}

func TestAdminAPIRecordsEvents(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		s := startServer(t, db.URL)
		ops := s.createClient(t, adminClient())
		tok := clientToken(t, s, ops, admin.Scope)
		byAdmin := storage.Actor{Type: storage.ActorClient, ID: ops.Client.ID}
		call := func(method, path string, body any, status int) adminResponse {
			t.Helper()
			return adminCall(t, s, method, path, tok, body).want(t, status)
		}
		rid := func(r adminResponse) string { return r.header.Get("X-Request-Id") }

		const password = "correct horse battery staple"
		created := call("POST", "/customers", map[string]any{"email": "Dora@Example.com", "password": password, "name": "Dora"}, http.StatusCreated)
		dora := created.body["id"].(string)
		t.Run("user.created", func(t *testing.T) {
			data := wantEvent(t, s, "user.created", dora, byAdmin, rid(created), password)
			if data["email"] != "dora@example.com" {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("a customer create with a taken email records nothing", func(t *testing.T) {
			call("POST", "/customers", map[string]any{"email": "dora@example.com", "password": password}, http.StatusConflict)
			if n := len(eventsOf(t, s, "user.created", "")); n != 1 {
				t.Errorf("%d user.created events, want 1", n)
			}
		})
		t.Run("user.updated names the fields that changed", func(t *testing.T) {
			r := call("PATCH", "/customers/"+dora, map[string]any{"given_name": "Dora", "name": "Dora"}, http.StatusOK)
			data := wantEvent(t, s, "user.updated", dora, byAdmin, rid(r), password)
			if !slices.Equal(toStrings(data["fields"]), []string{"given_name"}) {
				t.Errorf("fields = %v, want only given_name (name did not change)", data["fields"])
			}
		})
		t.Run("user.email_verified", func(t *testing.T) {
			r := call("PATCH", "/customers/"+dora, map[string]any{"email_verified": true}, http.StatusOK)
			if data := wantEvent(t, s, "user.email_verified", dora, byAdmin, rid(r)); data["email"] != "dora@example.com" {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("a refused update records nothing", func(t *testing.T) {
			call("PATCH", "/customers/"+dora, map[string]any{"name": "bad\x00name"}, http.StatusBadRequest)
			if n := len(eventsOf(t, s, "user.updated", dora)); n != 2 {
				t.Errorf("%d user.updated events, want 2 (the two patches that changed something)", n)
			}
		})

		var clientID, secret string
		t.Run("client.created", func(t *testing.T) {
			r := call("POST", "/clients", map[string]any{"client_name": "Shop", "grant_types": []string{"client_credentials"}}, http.StatusCreated)
			clientID, secret = r.body["client_id"].(string), r.body["client_secret"].(string)
			if data := wantEvent(t, s, "client.created", clientID, byAdmin, rid(r), secret); data["client_name"] != "Shop" || data["client_id"] != clientID {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("client.updated", func(t *testing.T) {
			r := call("PUT", "/clients/"+clientID, map[string]any{"client_name": "Shop 2", "grant_types": []string{"client_credentials"}}, http.StatusOK)
			if data := wantEvent(t, s, "client.updated", clientID, byAdmin, rid(r), secret); data["client_name"] != "Shop 2" {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("a client update the rules refuse records nothing", func(t *testing.T) {
			// Confidential to public is refused inside the update's transaction.
			call("PUT", "/clients/"+clientID, map[string]any{"client_name": "Shop 3", "redirect_uris": []string{"https://shop.example/cb"},
				"token_endpoint_auth_method": "none"}, http.StatusBadRequest)
			if n := len(eventsOf(t, s, "client.updated", clientID)); n != 1 {
				t.Errorf("%d client.updated events, want 1", n)
			}
		})
		t.Run("a secret rotation is a client.updated without the secret", func(t *testing.T) {
			r := call("POST", "/clients/"+clientID+"/secret", nil, http.StatusOK)
			es := eventsOf(t, s, "client.updated", clientID)
			last := es[len(es)-1]
			if last.RequestID != rid(r) || !strings.Contains(string(last.Data), `"secret_rotated":true`) ||
				strings.Contains(string(last.Data), r.body["client_secret"].(string)) {
				t.Errorf("rotation event = %+v", last)
			}
		})

		t.Run("consent.revoked", func(t *testing.T) {
			if err := s.Store().GrantConsent(ctx, dora, clientID, []string{"openid"}); err != nil {
				t.Fatal(err)
			}
			r := call("DELETE", "/customers/"+dora+"/consents/"+clientID, nil, http.StatusNoContent)
			if data := wantEvent(t, s, "consent.revoked", dora, byAdmin, rid(r)); data["client_id"] != clientID {
				t.Errorf("data = %v", data)
			}
			call("DELETE", "/customers/"+dora+"/consents/"+clientID, nil, http.StatusNotFound)
			if n := len(eventsOf(t, s, "consent.revoked", dora)); n != 1 {
				t.Errorf("revoking a consent that is gone recorded an event (%d)", n)
			}
		})

		t.Run("key.rotated", func(t *testing.T) {
			r := call("POST", "/keys/rotate", map[string]any{"alg": "ES256"}, http.StatusCreated)
			kid := r.body["kid"].(string)
			if data := wantEvent(t, s, "key.rotated", kid, byAdmin, rid(r)); data["state"] != "active" || data["alg"] != "ES256" {
				t.Errorf("data = %v", data)
			}
			var old string
			for _, k := range call("GET", "/keys", nil, http.StatusOK).items(t) {
				if k["alg"] == "ES256" && k["state"] == "published" {
					old = k["kid"].(string)
				}
			}
			r = call("POST", "/keys/"+old+"/retire", nil, http.StatusNoContent)
			if data := wantEvent(t, s, "key.rotated", old, byAdmin, rid(r)); data["state"] != "retired" {
				t.Errorf("data = %v", data)
			}
		})

		t.Run("session.ended", func(t *testing.T) {
			now := time.Now()
			if err := s.Store().CreateSession(ctx, storage.BrowserSession{ID: "h1", SID: "sid-1", UserID: dora, AuthTime: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			r := call("DELETE", "/customers/"+dora+"/sessions/sid-1", nil, http.StatusNoContent)
			wantEvent(t, s, "session.ended", dora, byAdmin, rid(r))
		})

		t.Run("client.deleted", func(t *testing.T) {
			r := call("DELETE", "/clients/"+clientID, nil, http.StatusNoContent)
			wantEvent(t, s, "client.deleted", clientID, byAdmin, rid(r))
		})
		t.Run("user.deleted", func(t *testing.T) {
			r := call("DELETE", "/customers/"+dora, nil, http.StatusNoContent)
			wantEvent(t, s, "user.deleted", dora, byAdmin, rid(r))
		})

		t.Run("the audit log filters and pages", func(t *testing.T) {
			items := call("GET", "/events?subject="+url.QueryEscape(dora)+"&type=user.updated", nil, http.StatusOK).items(t)
			if len(items) != 2 || items[0]["type"] != "user.updated" || items[0]["subject"] != dora {
				t.Fatalf("filtered = %v", items)
			}
			actor, _ := items[0]["actor"].(map[string]any)
			if actor["type"] != "client" || actor["id"] != ops.Client.ID || items[0]["request_id"] == "" {
				t.Errorf("event = %v", items[0])
			}
			var all []string
			cursor := ""
			for range 100 {
				r := call("GET", "/events?subject="+url.QueryEscape(dora)+"&limit=2&cursor="+cursor, nil, http.StatusOK)
				for _, it := range r.items(t) {
					all = append(all, it["id"].(string))
				}
				cursor, _ = r.body["next_cursor"].(string)
				if cursor == "" {
					break
				}
			}
			want := eventsOf(t, s, "", dora)
			if len(all) != len(want) || len(want) < 6 || !slices.IsSorted(all) {
				t.Errorf("paged through %d events in order %v, want %d", len(all), slices.IsSorted(all), len(want))
			}
			future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			if items := call("GET", "/events?from="+future, nil, http.StatusOK).items(t); len(items) != 0 {
				t.Errorf("events from the future: %v", items)
			}
			if items := call("GET", "/events?to="+future+"&type=user.deleted", nil, http.StatusOK).items(t); len(items) != 1 {
				t.Errorf("to: %v", items)
			}
			wantProblem(t, adminCall(t, s, "GET", "/events?type=user.exploded", tok, nil), http.StatusBadRequest)
			wantProblem(t, adminCall(t, s, "GET", "/events?from=yesterday", tok, nil), http.StatusBadRequest)
		})
	})
}

func toStrings(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestRegistrationRecordsEvents(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		status, reg := register(t, s, mintRegistrationToken(t, s, 1), map[string]any{
			"client_name": "Partner", "grant_types": []string{"client_credentials"},
		})
		if status != http.StatusCreated {
			t.Fatalf("status %d: %v", status, reg)
		}
		id, rat, secret := reg["client_id"].(string), reg["registration_access_token"].(string), reg["client_secret"].(string)
		itself := storage.Actor{Type: storage.ActorClient, ID: id}
		t.Run("client.created", func(t *testing.T) {
			wantEvent(t, s, "client.created", id, itself, "", secret, rat)
		})
		t.Run("client.updated", func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"client_id": id, "client_name": "Partner 2", "grant_types": []string{"client_credentials"}})
			if status, out := jsonCall(t, http.MethodPut, s.URL+"/oauth2/register/"+id, rat, body); status != http.StatusOK {
				t.Fatalf("status %d: %v", status, out)
			}
			if data := wantEvent(t, s, "client.updated", id, itself, "", secret, rat); data["client_name"] != "Partner 2" {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("client.deleted", func(t *testing.T) {
			if status, out := jsonCall(t, http.MethodDelete, s.URL+"/oauth2/register/"+id, rat, nil); status != http.StatusNoContent {
				t.Fatalf("status %d: %v", status, out)
			}
			wantEvent(t, s, "client.deleted", id, itself, "", secret, rat)
		})
	})
}

func TestPagesRecordEvents(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		alice := createAlice(t, s)
		rp := newRelyingParty(t, s, webClient(false))
		client := rp.reg.Client.ID
		anon := storage.Actor{Type: storage.ActorCustomer}
		byAlice := storage.Actor{Type: storage.ActorCustomer, ID: alice}

		t.Run("user.login.failed does not tell whether the account exists", func(t *testing.T) {
			rp.browser.Header.Set("X-Request-Id", "req-unknown")
			rp.login(rp.start(newFlow()), "nobody@example.com", "wrong password!")
			unknown := wantEvent(t, s, "user.login.failed", "", anon, "req-unknown", "wrong password!")
			rp.browser.Header.Set("X-Request-Id", "req-wrong")
			rp.login(rp.start(newFlow()), "alice@example.com", "wrong password!")
			known := wantEvent(t, s, "user.login.failed", alice, anon, "req-wrong", "wrong password!")
			if unknown["email"] != "n***@example.com" || known["email"] != "a***@example.com" {
				t.Errorf("emails %v, %v: want them masked", unknown["email"], known["email"])
			}
			for _, d := range []map[string]any{unknown, known} {
				if d["method"] != "pwd" || d["client_id"] != client || d["ip"] != "127.0.0.1" || d["reason"] != "invalid_credentials" {
					t.Errorf("data = %v", d)
				}
			}
			if len(unknown) != len(known) {
				t.Errorf("the data differ in shape: %v against %v", unknown, known)
			}
		})

		t.Run("user.login.succeeded and consent.granted", func(t *testing.T) {
			rp.browser.Header.Set("X-Request-Id", "req-login")
			page := rp.login(rp.start(newFlow()), "alice@example.com", alicePassword)
			data := wantEvent(t, s, "user.login.succeeded", alice, byAlice, "req-login", alicePassword)
			if data["method"] != "pwd" || data["client_id"] != client || data["ip"] != "127.0.0.1" {
				t.Errorf("data = %v", data)
			}
			rp.browser.Header.Set("X-Request-Id", "req-consent")
			rp.callback(rp.decide(page, "allow"))
			data = wantEvent(t, s, "consent.granted", alice, byAlice, "req-consent")
			if data["client_id"] != client || data["remembered"] != true || !slices.Contains(toStrings(data["scopes"]), "openid") {
				t.Errorf("data = %v", data)
			}
		})

		t.Run("session.ended when a new sign-in replaces the session", func(t *testing.T) {
			rp.browser.Header.Set("X-Request-Id", "req-again")
			page, err := rp.browser.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			if page.URL.Path != "/account" {
				t.Fatalf("a signed-in browser was not sent to the account page: %s", page.URL)
			}
			b := browser.New(s.URL)
			b.Header.Set("X-Request-Id", "req-account")
			page, err = b.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form, err := page.FormWith("password")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", ""); err != nil {
				t.Fatal(err)
			}
			es := eventsOf(t, s, "user.login.succeeded", alice)
			last := es[len(es)-1]
			if len(es) != 2 || last.RequestID != "req-account" || strings.Contains(string(last.Data), "client_id") {
				t.Errorf("the account page's sign-in: %+v", es)
			}
			// Signing in again in the first browser replaces its session.
			rp.browser.Header.Set("X-Request-Id", "req-replace")
			rp.login(rp.start(newFlow(), oauth2.SetAuthURLParam("prompt", "login")), "alice@example.com", alicePassword)
			wantEvent(t, s, "session.ended", alice, byAlice, "req-replace")
		})
	})
}

func TestFederationRecordsEvents(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
		facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
		s := startSocialServer(t, db.URL, func(c *config.Config) { withGoogle(c); withFacebook(c) }, google, facebook)
		b := browser.New(s.URL)
		b.Client.Transport = federationtest.Transport(nil, google, facebook)

		google.SetAccount(federationtest.Account{ID: "g-sam", Email: "sam@example.com", EmailVerified: true, Name: "Sam"})
		b.Header.Set("X-Request-Id", "req-google")
		continueWith(t, b, accountPage(t, b, s), "google")
		link, err := s.Store().GetIdentity(ctx, "google", "g-sam")
		if err != nil {
			t.Fatal(err)
		}
		sam := link.UserID
		anon := storage.Actor{Type: storage.ActorCustomer}
		bySam := storage.Actor{Type: storage.ActorCustomer, ID: sam}

		t.Run("user.created from a provider", func(t *testing.T) {
			data := wantEvent(t, s, "user.created", sam, anon, "req-google")
			if data["provider"] != "google" || data["email"] != "sam@example.com" || data["email_verified"] != true {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("identity.linked on sign-up", func(t *testing.T) {
			if data := wantEvent(t, s, "identity.linked", sam, anon, "req-google"); data["provider"] != "google" {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("user.login.succeeded with a provider", func(t *testing.T) {
			data := wantEvent(t, s, "user.login.succeeded", sam, bySam, "req-google")
			if data["method"] != "fed" || data["provider"] != "google" {
				t.Errorf("data = %v", data)
			}
		})
		t.Run("identity.linked from the account page, and identity.unlinked", func(t *testing.T) {
			facebook.SetAccount(federationtest.Account{ID: "fb-sam", Email: "sam@example.com", Name: "Sam"})
			b.Header.Set("X-Request-Id", "req-link")
			accountForm(t, b, accountPage(t, b, s), "/account/link", "facebook")
			linked := eventsOf(t, s, "identity.linked", sam)
			if len(linked) != 2 || linked[1].Actor != bySam || linked[1].RequestID != "req-link" || !strings.Contains(string(linked[1].Data), `"provider":"facebook"`) {
				t.Errorf("identity.linked = %+v", linked)
			}
			b.Header.Set("X-Request-Id", "req-unlink")
			accountForm(t, b, accountPage(t, b, s), "/account/unlink", "facebook")
			if data := wantEvent(t, s, "identity.unlinked", sam, bySam, "req-unlink"); data["provider"] != "facebook" {
				t.Errorf("data = %v", data)
			}
		})
	})
}
