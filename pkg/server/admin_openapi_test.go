package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// openAPI is docs/openapi.yaml, read as plain maps: enough to check the
// routes, statuses, media types and required properties it documents.
type openAPI struct {
	root map[string]any
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi version %q, want 3.1.x", v)
	}
	return openAPI{root: root}
}

// resolve follows a local $ref ("#/components/...").
func (d openAPI) resolve(t *testing.T, node map[string]any) map[string]any {
	t.Helper()
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var cur any = d.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("$ref %s does not resolve", ref)
			}
			cur = m[part]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("$ref %s does not resolve", ref)
		}
		node = next
	}
	t.Fatal("$ref chain too long")
	return nil
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// operations returns the documented operations by "METHOD /path".
func (d openAPI) operations(t *testing.T) map[string]map[string]any {
	t.Helper()
	paths, _ := d.root["paths"].(map[string]any)
	out := map[string]map[string]any{}
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			m, _ := op.(map[string]any)
			out[strings.ToUpper(method)+" "+path] = m
		}
	}
	return out
}

// check fails the test unless the answer is one the operation documents:
// a documented status, the documented media type, and every required
// property of the schema (and of each listed item) present.
func (d openAPI) check(t *testing.T, key string, op map[string]any, r adminResponse) {
	t.Helper()
	responses, _ := op["responses"].(map[string]any)
	doc, ok := responses[fmt.Sprint(r.status)].(map[string]any)
	if !ok {
		t.Errorf("%s answered %d, which the document does not list; body %s", key, r.status, r.raw)
		return
	}
	doc = d.resolve(t, doc)
	content, _ := doc["content"].(map[string]any)
	if len(content) == 0 {
		if len(r.raw) != 0 {
			t.Errorf("%s %d: documented without a body, answered %s", key, r.status, r.raw)
		}
		return
	}
	ct := r.header.Get("Content-Type")
	media, ok := content[ct].(map[string]any)
	if !ok {
		t.Errorf("%s %d: Content-Type %q is not documented", key, r.status, ct)
		return
	}
	schema, _ := media["schema"].(map[string]any)
	d.requireProps(t, key, d.resolve(t, schema), r.body)
}

func (d openAPI) requireProps(t *testing.T, key string, schema map[string]any, body map[string]any) {
	t.Helper()
	req, _ := schema["required"].([]any)
	for _, p := range req {
		if _, ok := body[p.(string)]; !ok {
			t.Errorf("%s: the answer lacks the documented property %q: %v", key, p, body)
		}
	}
	props, _ := schema["properties"].(map[string]any)
	itemsProp, _ := props["items"].(map[string]any)
	if itemsProp["type"] != "array" {
		return
	}
	itemSchema, _ := itemsProp["items"].(map[string]any)
	itemSchema = d.resolve(t, itemSchema)
	list, _ := body["items"].([]any)
	for _, it := range list {
		m, _ := it.(map[string]any)
		d.requireProps(t, key+" item", itemSchema, m)
	}
}

// fill replaces the {params} of a path template.
func fill(template string, params map[string]string) string {
	for k, v := range params {
		template = strings.ReplaceAll(template, "{"+k+"}", v)
	}
	return template
}

func TestAdminAPIMatchesOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := doc.operations(t)

	t.Run("every route served is documented and every documented route is served", func(t *testing.T) {
		served := map[string]bool{}
		for _, r := range admin.New(admin.Options{}).Routes() {
			key := r.Method + " " + r.Path
			served[key] = true
			if _, ok := ops[key]; !ok {
				t.Errorf("%s is served but not documented", key)
			}
		}
		for key := range ops {
			if !served[key] {
				t.Errorf("%s is documented but not served", key)
			}
		}
	})

	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, declareAttributes)
		tok := adminToken(t, s)
		weak := machineToken(t, s, "api:read")
		ctx := context.Background()

		t.Run("every operation answers 401 and 403 as documented", func(t *testing.T) {
			for key, op := range ops {
				method, path, _ := strings.Cut(key, " ")
				concrete := fill(path, map[string]string{"client_id": "x", "customer_id": "x", "sid": "x", "kid": "x", "token_id": "x", "webhook_id": "x", "role_id": "x"})
				var body any
				if _, ok := op["requestBody"]; ok {
					body = map[string]any{}
				}
				r := adminCall(t, s, method, concrete, "", body)
				if r.status != http.StatusUnauthorized {
					t.Errorf("%s without a token: %d", key, r.status)
				}
				doc.check(t, key, op, r)
				r = adminCall(t, s, method, concrete, weak, body)
				if r.status != http.StatusForbidden {
					t.Errorf("%s with a token lacking the scope: %d", key, r.status)
				}
				doc.check(t, key, op, r)
			}
		})

		t.Run("every operation answers its documented success", func(t *testing.T) {
			succeeded := map[string]bool{}
			params := map[string]string{}
			call := func(method, path string, body any) adminResponse {
				t.Helper()
				key := method + " " + path
				op, ok := ops[key]
				if !ok {
					t.Fatalf("%s is not documented", key)
				}
				r := adminCall(t, s, method, fill(path, params), tok, body)
				doc.check(t, key, op, r)
				if r.status < 300 {
					succeeded[key] = true
				}
				return r
			}
			str := func(r adminResponse, k string) string {
				t.Helper()
				v, _ := r.body[k].(string)
				if v == "" {
					t.Fatalf("no %q in %s", k, r.raw)
				}
				return v
			}

			params["webhook_id"] = str(call("POST", "/webhooks", map[string]any{
				"url": "https://hooks.example.com/gatehouse", "event_types": []string{"user.deleted"},
			}), "id")
			call("POST", "/webhooks", map[string]any{"url": "http://hooks.example.com/plain"}) // 400
			call("GET", "/webhooks", nil)
			call("GET", "/webhooks/{webhook_id}", nil)
			call("PATCH", "/webhooks/{webhook_id}", map[string]any{"event_types": []string{}})
			call("POST", "/webhooks/{webhook_id}/ping", nil)
			call("POST", "/webhooks/{webhook_id}/rotate-secret", map[string]any{"overlap_seconds": 60})

			params["client_id"] = str(call("POST", "/clients", map[string]any{
				"client_name": "documented", "grant_types": []string{"client_credentials"}, "scope": "a",
			}), "client_id")
			call("POST", "/clients", map[string]any{"client_name": "second", "grant_types": []string{"client_credentials"}})
			call("GET", "/clients", nil)
			call("GET", "/clients/{client_id}", nil)
			call("PUT", "/clients/{client_id}", map[string]any{"client_name": "documented", "grant_types": []string{"client_credentials"}, "scope": "a b"})
			call("POST", "/clients/{client_id}/secret", nil)
			call("POST", "/clients", map[string]any{"grant_types": []string{"password"}}) // 400
			if r := call("POST", "/clients", map[string]any{"client_name": strings.Repeat("x", 128<<10)}); r.status != http.StatusRequestEntityTooLarge {
				t.Errorf("an oversized body: %d, want 413", r.status)
			}

			params["customer_id"] = str(call("POST", "/customers", map[string]any{
				"email": "doc@example.com", "password": "correct horse battery", "name": "Doc",
				"attributes": map[string]any{"loyalty_tier": "gold", "shoe_size": 42},
			}), "id")
			call("POST", "/customers", map[string]any{"email": "doc@example.com", "password": "correct horse battery", "attributes": map[string]any{"shoe_size": 42}})     // 409
			call("POST", "/customers", map[string]any{"email": "doc2@example.com", "password": "correct horse battery", "attributes": map[string]any{"shoe_size": "big"}}) // 400
			call("GET", "/customers", nil)
			importCall := func(contentType, query, body string) adminResponse {
				t.Helper()
				key := "POST /customers/import"
				r := adminRaw(t, s, "POST", "/customers/import"+query, tok, contentType, body)
				doc.check(t, key, ops[key], r)
				if r.status < 300 {
					succeeded[key] = true
				}
				return r
			}
			importCall("application/x-ndjson", "?on_conflict=update", `{"email":"doc@example.com","name":"Doc"}`+"\n"+`{"email":"imported@example.com","password_hash":"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}`+"\nnot json\n").want(t, http.StatusOK)
			importCall("application/jsonl", "?dry_run=true", `{"email":"dry@example.com"}`).want(t, http.StatusOK)
			if r := importCall("application/jsonl", "?create_roles=true", `{"email":"roles@example.com","roles":["imported-role"]}`).want(t, http.StatusOK); r.body["created"] != float64(1) {
				t.Errorf("import with create_roles: %s", r.raw)
			}
			if r := importCall("application/jsonl", "", `{"email":"noroles@example.com","roles":["no-such-role"]}`).want(t, http.StatusOK); r.body["failed"] != float64(1) {
				t.Errorf("import naming an unknown role: %s", r.raw)
			}
			importCall("application/jsonl", "?on_conflict=merge", `{}`).want(t, http.StatusBadRequest)
			importCall("application/json", "", `{}`).want(t, http.StatusUnsupportedMediaType)
			call("GET", "/customers/{customer_id}", nil)
			call("PATCH", "/customers/{customer_id}", map[string]any{"given_name": "Doc", "address": map[string]any{"country": "NZ"}})
			call("GET", "/attributes", nil)
			call("PATCH", "/customers/{customer_id}/attributes", map[string]any{"loyalty_tier": "gold", "points": 3})
			call("PATCH", "/customers/{customer_id}/attributes", map[string]any{"loyalty_tier": "platinum"}) // 400
			call("GET", "/customers/{customer_id}", nil)

			now := time.Now()
			for _, id := range []string{"one", "two"} {
				if err := s.Store().CreateSession(ctx, storage.BrowserSession{
					ID: "hash-" + id, SID: "sid-" + id, UserID: params["customer_id"], AuthTime: now, ExpiresAt: now.Add(time.Hour),
				}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Store().GrantConsent(ctx, params["customer_id"], params["client_id"], []string{"openid"}); err != nil {
				t.Fatal(err)
			}
			call("GET", "/customers/{customer_id}/sessions", nil)
			params["sid"] = "sid-one"
			call("DELETE", "/customers/{customer_id}/sessions/{sid}", nil)
			call("DELETE", "/customers/{customer_id}/sessions", nil)
			call("GET", "/customers/{customer_id}/consents", nil)
			call("DELETE", "/customers/{customer_id}/consents/{client_id}", nil)
			call("DELETE", "/customers/{customer_id}/mfa", nil)

			for _, it := range call("GET", "/keys", nil).items(t) {
				if it["alg"] == "ES256" && it["state"] == "active" {
					params["kid"] = it["kid"].(string)
				}
			}
			call("POST", "/keys/{kid}/retire", nil) // 409: still active
			call("POST", "/keys/rotate", map[string]any{"alg": "ES256"})
			call("POST", "/keys/{kid}/retire", nil)

			params["token_id"] = str(call("POST", "/registration-tokens", map[string]any{"expires_in": 600}), "id")
			call("GET", "/registration-tokens", nil)
			call("DELETE", "/registration-tokens/{token_id}", nil)
			call("DELETE", "/registration-tokens/{token_id}", nil) // 404

			call("GET", "/events", nil)
			call("POST", "/webhooks/{webhook_id}/replay", map[string]any{"from": time.Now().Add(-time.Hour)})
			call("POST", "/webhooks/{webhook_id}/replay", map[string]any{"event_id": "no-such-event"}) // 400
			call("GET", "/webhooks/{webhook_id}/deliveries", nil)
			call("DELETE", "/webhooks/{webhook_id}", nil)
			call("GET", "/webhooks/{webhook_id}", nil) // 404

			params["role_id"] = str(call("POST", "/roles", map[string]any{"name": "editor", "client_id": params["client_id"], "description": "edits"}), "id")
			call("POST", "/roles", map[string]any{"name": "editor", "client_id": params["client_id"]}) // 409
			call("POST", "/roles", map[string]any{"name": "no spaces please"})                         // 400
			call("GET", "/roles", nil)
			call("GET", "/roles/{role_id}", nil)
			call("POST", "/customers/{customer_id}/roles", map[string]any{"role_id": params["role_id"]})
			call("POST", "/customers/{customer_id}/roles", map[string]any{"name": "editor"}) // 422: not a global role
			call("GET", "/customers/{customer_id}/roles", nil)
			byRole := adminCall(t, s, "GET", "/customers?role=editor&client_id="+params["client_id"], tok, nil)
			doc.check(t, "GET /customers", ops["GET /customers"], byRole)
			if items := byRole.items(t); len(items) != 1 {
				t.Errorf("customers with the role: %s", byRole.raw)
			} else if attrs, _ := items[0]["attributes"].(map[string]any); attrs["loyalty_tier"] != "gold" || attrs["shoe_size"] != float64(42) {
				t.Errorf("a customer found by role lacks their attributes: %s", byRole.raw)
			}
			call("DELETE", "/customers/{customer_id}/roles/{role_id}", nil)
			call("DELETE", "/customers/{customer_id}/roles/{role_id}", nil) // 404
			for _, op := range []string{"disable", "enable"} {
				r := call("POST", "/customers/{customer_id}/"+op, nil)
				if attrs, _ := r.body["attributes"].(map[string]any); attrs["loyalty_tier"] != "gold" {
					t.Errorf("%s answered the customer without their attributes: %s", op, r.raw)
				}
			}
			call("DELETE", "/roles/{role_id}", nil)
			call("GET", "/roles/{role_id}", nil) // 404

			call("DELETE", "/customers/{customer_id}", nil)
			call("GET", "/customers/{customer_id}", nil) // 404
			call("DELETE", "/clients/{client_id}", nil)
			call("GET", "/clients/{client_id}", nil) // 404

			for key := range ops {
				if !succeeded[key] {
					t.Errorf("%s was never exercised with success", key)
				}
			}
		})
	})
}
