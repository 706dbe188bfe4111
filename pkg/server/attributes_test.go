package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// declareAttributes declares the attributes the tests of this file use:
// two released under "loyalty", one customer-editable and required at
// sign-up, one operator-only and unreleased.
func declareAttributes(c *config.Config) {
	c.Attributes = []attributes.Declaration{
		{Name: "loyalty_tier", Type: attributes.TypeOneOf, Values: []string{"bronze", "silver", "gold"}, Scope: "loyalty", Searchable: true,
			Label: map[string]string{"en": "Loyalty tier", "de": "Treuestufe"}},
		{Name: "points", Type: attributes.TypeNumber, Scope: "loyalty"},
		{Name: "shoe_size", Type: attributes.TypeNumber, EditableBy: attributes.EditorCustomer, RequiredAtSignUp: true,
			Label: map[string]string{"en": "Shoe size", "de": "Schuhgröße", "fr": "Pointure"}},
		{Name: "internal_note", Type: attributes.TypeString},
	}
}

func TestAttributeClaimsPerScope(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, declareAttributes)
		ctx := context.Background()

		t.Run("discovery lists the attribute scope and claims", func(t *testing.T) {
			resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var md struct {
				Scopes []string `json:"scopes_supported"`
				Claims []string `json:"claims_supported"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(md.Scopes, "loyalty") || !slices.Contains(md.Claims, "loyalty_tier") || !slices.Contains(md.Claims, "points") {
				t.Fatalf("discovery: scopes %v, claims %v", md.Scopes, md.Claims)
			}
			if slices.Contains(md.Claims, "internal_note") || slices.Contains(md.Claims, "shoe_size") {
				t.Fatalf("unreleased attributes in claims_supported: %v", md.Claims)
			}
		})

		alice := createAlice(t, s)
		if _, err := s.Services().Accounts.SetAttributes(ctx, alice, attributes.Change{
			"loyalty_tier": "gold", "points": float64(1250), "shoe_size": "38", "internal_note": "VIP",
		}, attributes.EditorOperator); err != nil {
			t.Fatal(err)
		}
		spec := webClient(true)
		spec.Scopes = []string{"openid", "profile", "email", "offline_access", "loyalty"}
		rp := newRelyingParty(t, s, spec)

		userinfo := func(t *testing.T, tok *oauth2.Token) map[string]any {
			t.Helper()
			ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			if err := ui.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			return claims
		}
		idClaims := func(t *testing.T, idt *gooidc.IDToken) map[string]any {
			t.Helper()
			var claims map[string]any
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			return claims
		}

		t.Run("granted loyalty: userinfo has the typed claims, the ID token those asked by name", func(t *testing.T) {
			rp.oauth.Scopes = []string{gooidc.ScopeOpenID, "loyalty"}
			f := newFlow()
			cb := rp.signIn(f, oauth2.SetAuthURLParam("claims", `{"id_token":{"loyalty_tier":null}}`))
			tok, idt := rp.exchange(f, cb.Get("code"))
			info := userinfo(t, tok)
			if info["loyalty_tier"] != "gold" || info["points"] != float64(1250) {
				t.Fatalf("userinfo = %v", info)
			}
			if _, ok := info["internal_note"]; ok {
				t.Fatalf("an attribute without a scope was released: %v", info)
			}
			if _, ok := info["shoe_size"]; ok {
				t.Fatalf("an attribute without a scope was released: %v", info)
			}
			claims := idClaims(t, idt)
			if claims["loyalty_tier"] != "gold" {
				t.Fatalf("ID token lacks the requested attribute: %v", claims)
			}
			if _, ok := claims["points"]; ok {
				t.Fatalf("ID token of a code flow carries an attribute not asked by name: %v", claims)
			}
		})

		t.Run("loyalty not granted: no attribute, even asked by name", func(t *testing.T) {
			rp.oauth.Scopes = []string{gooidc.ScopeOpenID, "profile"}
			f := newFlow()
			cb := rp.signIn(f, oauth2.SetAuthURLParam("claims", `{"id_token":{"loyalty_tier":null},"userinfo":{"points":null}}`))
			tok, idt := rp.exchange(f, cb.Get("code"))
			info := userinfo(t, tok)
			if _, ok := info["loyalty_tier"]; ok {
				t.Fatalf("userinfo released loyalty_tier without its scope: %v", info)
			}
			if _, ok := info["points"]; ok {
				t.Fatalf("userinfo released points without its scope: %v", info)
			}
			if _, ok := idClaims(t, idt)["loyalty_tier"]; ok {
				t.Fatal("the ID token released loyalty_tier without its scope")
			}
		})

		t.Run("implicit id_token: the granted scope's attributes are in the ID token", func(t *testing.T) {
			implicit := spec
			implicit.GrantTypes = []string{"implicit"}
			irp := newRelyingParty(t, s, implicit)
			f := newFlow()
			page, err := irp.browser.Get(irp.oauth.AuthCodeURL(f.state, gooidc.Nonce(f.nonce),
				oauth2.SetAuthURLParam("response_type", "id_token"), oauth2.SetAuthURLParam("scope", "openid loyalty")))
			if err != nil {
				t.Fatal(err)
			}
			cb := irp.callback(irp.login(page, "alice@example.com", alicePassword))
			idt, err := irp.verifier.Verify(ctx, cb.Get("id_token"))
			if err != nil {
				t.Fatalf("id_token: %v (callback %v)", err, cb)
			}
			claims := idClaims(t, idt)
			if claims["loyalty_tier"] != "gold" || claims["points"] != float64(1250) {
				t.Fatalf("implicit ID token claims = %v", claims)
			}
		})
	})
}

func TestAdminAPIAttributes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, declareAttributes)
		token := adminToken(t, s)

		decls := adminCall(t, s, http.MethodGet, "/attributes", token, nil).want(t, http.StatusOK).items(t)
		if len(decls) != 4 || decls[0]["name"] != "loyalty_tier" || decls[0]["scope"] != "loyalty" || decls[0]["searchable"] != true {
			t.Fatalf("declarations = %v", decls)
		}

		var ids []string
		for _, email := range []string{"c1@example.com", "c2@example.com", "c3@example.com", "c4@example.com", "c5@example.com"} {
			// shoe_size is required at sign-up only: an operator may leave it out.
			c := adminCall(t, s, http.MethodPost, "/customers", token, map[string]any{
				"email": email, "password": "a long enough passphrase",
			}).want(t, http.StatusCreated)
			ids = append(ids, c.body["id"].(string))
		}
		gold := []string{ids[0], ids[2], ids[3], ids[4]}
		for _, id := range gold {
			got := adminCall(t, s, http.MethodPatch, "/customers/"+id+"/attributes", token, map[string]any{"loyalty_tier": "gold", "points": 10.5}).want(t, http.StatusOK)
			attrs, _ := got.body["attributes"].(map[string]any)
			if attrs["loyalty_tier"] != "gold" || attrs["points"] != 10.5 {
				t.Fatalf("attributes after PATCH = %v", got.body)
			}
		}
		adminCall(t, s, http.MethodPatch, "/customers/"+ids[1]+"/attributes", token, map[string]any{"loyalty_tier": "silver"}).want(t, http.StatusOK)

		t.Run("a value the declaration refuses is a 400 naming the attribute", func(t *testing.T) {
			r := adminCall(t, s, http.MethodPatch, "/customers/"+ids[1]+"/attributes", token, map[string]any{"loyalty_tier": "platinum"})
			wantProblem(t, r, http.StatusBadRequest)
			if r.body["field"] != "attributes.loyalty_tier" || r.body["rule"] != "invalid" {
				t.Fatalf("problem = %s", r.raw)
			}
			r = adminCall(t, s, http.MethodPatch, "/customers/"+ids[1]+"/attributes", token, map[string]any{"points": "many"})
			wantProblem(t, r, http.StatusBadRequest)
			r = adminCall(t, s, http.MethodPatch, "/customers/"+ids[1]+"/attributes", token, map[string]any{"hat_size": 7})
			if wantProblem(t, r, http.StatusBadRequest); r.body["rule"] != "unknown" {
				t.Fatalf("an undeclared attribute: %s", r.raw)
			}
			got := adminCall(t, s, http.MethodGet, "/customers/"+ids[1], token, nil).want(t, http.StatusOK)
			if attrs, _ := got.body["attributes"].(map[string]any); attrs["loyalty_tier"] != "silver" {
				t.Fatalf("a refused change changed %v", got.body)
			}
		})

		t.Run("null removes a value", func(t *testing.T) {
			got := adminCall(t, s, http.MethodPatch, "/customers/"+ids[4]+"/attributes", token, map[string]any{"points": nil}).want(t, http.StatusOK)
			if attrs, _ := got.body["attributes"].(map[string]any); attrs["loyalty_tier"] != "gold" || attrs["points"] != nil {
				t.Fatalf("after removing points: %v", got.body)
			}
		})

		t.Run("search by value pages with the cursor", func(t *testing.T) {
			var found []string
			cursor := ""
			for pages := 0; ; pages++ {
				q := url.Values{"attribute_name": {"loyalty_tier"}, "attribute_value": {"gold"}, "limit": {"3"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				r := adminCall(t, s, http.MethodGet, "/customers?"+q.Encode(), token, nil).want(t, http.StatusOK)
				for _, it := range r.items(t) {
					found = append(found, it["id"].(string))
				}
				cursor, _ = r.body["next_cursor"].(string)
				if cursor == "" {
					if pages != 1 {
						t.Fatalf("%d pages, want 2 (3 then 1)", pages+1)
					}
					break
				}
			}
			want := slices.Clone(gold)
			slices.Sort(want)
			if !slices.Equal(found, want) {
				t.Fatalf("gold customers = %v, want %v", found, want)
			}
		})

		t.Run("an unsearchable attribute or a lone half is a 400", func(t *testing.T) {
			wantProblem(t, adminCall(t, s, http.MethodGet, "/customers?attribute_name=points&attribute_value=10.5", token, nil), http.StatusBadRequest)
			wantProblem(t, adminCall(t, s, http.MethodGet, "/customers?attribute_name=loyalty_tier", token, nil), http.StatusBadRequest)
			wantProblem(t, adminCall(t, s, http.MethodGet, "/customers?attribute_name=loyalty_tier&attribute_value=platinum", token, nil), http.StatusBadRequest)
		})

		t.Run("user.updated names the changed attributes, not their values", func(t *testing.T) {
			r := adminCall(t, s, http.MethodGet, "/events?type=user.updated&limit=200", token, nil).want(t, http.StatusOK)
			var seen bool
			for _, ev := range r.items(t) {
				if ev["subject"] != ids[4] {
					continue
				}
				raw, _ := json.Marshal(ev["data"])
				var data struct {
					Attributes []string `json:"attributes"`
				}
				_ = json.Unmarshal(raw, &data)
				if slices.Equal(data.Attributes, []string{"points"}) {
					seen = true
				}
				if containsValue(raw) {
					t.Fatalf("an event carries an attribute value: %s", raw)
				}
			}
			if !seen {
				t.Fatalf("no user.updated naming points for %s in %s", ids[4], r.raw)
			}
		})

		t.Run("the store holds the stored forms", func(t *testing.T) {
			u, err := s.Store().GetUser(context.Background(), ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if u.Attributes["points"] != "10.5" || u.Attributes["loyalty_tier"] != "gold" {
				t.Fatalf("stored attributes = %v", u.Attributes)
			}
			page, err := s.Store().ListUsers(context.Background(), storage.UserFilter{Attribute: storage.AttributeValue{Name: "loyalty_tier", Value: "silver"}}, storage.Page{})
			if err != nil || len(page) != 1 || page[0].ID != ids[1] {
				t.Fatalf("silver = %v, %v", page, err)
			}
		})

		t.Run("create with attributes: stored, answered, readable and searchable", func(t *testing.T) {
			c := adminCall(t, s, http.MethodPost, "/customers", token, map[string]any{
				"email": "newcomer@example.com", "password": "a long enough passphrase",
				"attributes": map[string]any{"loyalty_tier": "bronze", "points": "007.50", "shoe_size": 41.5, "internal_note": "  met at the fair "},
			}).want(t, http.StatusCreated)
			id, _ := c.body["id"].(string)
			want := map[string]any{"loyalty_tier": "bronze", "points": 7.5, "shoe_size": 41.5, "internal_note": "met at the fair"}
			for _, got := range []adminResponse{c, adminCall(t, s, http.MethodGet, "/customers/"+id, token, nil).want(t, http.StatusOK)} {
				attrs, _ := got.body["attributes"].(map[string]any)
				if len(attrs) != len(want) {
					t.Fatalf("attributes = %v, want %v", attrs, want)
				}
				for k, v := range want {
					if attrs[k] != v {
						t.Fatalf("attributes[%s] = %v, want %v (all: %v)", k, attrs[k], v, attrs)
					}
				}
			}
			found := adminCall(t, s, http.MethodGet, "/customers?attribute_name=loyalty_tier&attribute_value=bronze", token, nil).want(t, http.StatusOK).items(t)
			if len(found) != 1 || found[0]["id"] != id {
				t.Fatalf("bronze customers = %v, want only %s", found, id)
			}
			evs := adminCall(t, s, http.MethodGet, "/events?type=user.created&subject="+id, token, nil).want(t, http.StatusOK).items(t)
			if len(evs) != 1 {
				t.Fatalf("user.created events = %v", evs)
			}
			raw, _ := json.Marshal(evs[0]["data"])
			var data struct {
				Attributes []string `json:"attributes"`
			}
			if err := json.Unmarshal(raw, &data); err != nil || !slices.Equal(data.Attributes, []string{"internal_note", "loyalty_tier", "points", "shoe_size"}) {
				t.Fatalf("user.created data = %s", raw)
			}
			if strings.Contains(string(raw), "bronze") || strings.Contains(string(raw), "fair") {
				t.Fatalf("user.created carries attribute values: %s", raw)
			}
		})

		t.Run("create with a refused attribute is a 400 naming it, and creates nobody", func(t *testing.T) {
			for _, tc := range []struct {
				attrs       map[string]any
				field, rule string
			}{
				{map[string]any{"loyalty_tier": "platinum", "shoe_size": 40}, "attributes.loyalty_tier", "invalid"},
				{map[string]any{"points": true, "shoe_size": 40}, "attributes.points", "invalid"},
				{map[string]any{"hat_size": 7, "shoe_size": 40}, "attributes.hat_size", "unknown"},
			} {
				body := map[string]any{"email": "refused@example.com", "password": "a long enough passphrase"}
				if tc.attrs != nil {
					body["attributes"] = tc.attrs
				}
				r := adminCall(t, s, http.MethodPost, "/customers", token, body)
				wantProblem(t, r, http.StatusBadRequest)
				if r.body["field"] != tc.field || r.body["rule"] != tc.rule {
					t.Fatalf("attributes %v: problem %s, want field %s rule %s", tc.attrs, r.raw, tc.field, tc.rule)
				}
			}
			if got := adminCall(t, s, http.MethodGet, "/customers?email_prefix=refused", token, nil).want(t, http.StatusOK).items(t); len(got) != 0 {
				t.Fatalf("a refused create created %v", got)
			}
			if _, err := s.Store().GetUserByEmail(context.Background(), "refused@example.com"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("the store has the refused customer: %v", err)
			}
		})
	})
}

// containsValue reports whether an event's data holds one of the
// attribute values the test set.
func containsValue(raw []byte) bool {
	var data map[string]any
	if json.Unmarshal(raw, &data) != nil {
		return false
	}
	for _, v := range data {
		if v == "gold" || v == 10.5 || v == "silver" {
			return true
		}
	}
	return false
}
