package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/internal/strictjson"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
)

// FuzzAuthorizeParams feeds any query string to the authorization
// endpoint's own parsing (repeatedParam, parseOIDCParams): an error is
// always invalid_request, and what is accepted is what the query says.
func FuzzAuthorizeParams(f *testing.F) {
	for _, seed := range []string{
		"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+email&state=abcdefgh&nonce=n-0S6_WzA2Mj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"prompt=none&max_age=0",
		"prompt=login+consent+select_account&max_age=3600",
		"prompt=none+login",
		"prompt=bogus",
		"max_age=-1",
		"max_age=99999999999999999999",
		"max_age=%2B5",
		"claims=%7B%22id_token%22%3A%7B%22email%22%3A%7B%22essential%22%3Atrue%7D%7D%2C%22userinfo%22%3A%7B%22name%22%3Anull%7D%7D",
		"claims=%7Bnot+json",
		"claims=null",
		"claims=%5B1%5D",
		"id_token_hint=eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
		"scope=openid&scope=admin",
		"audience=a&audience=b&resource=https%3A%2F%2Fapi.example",
		"prompt=%00&prompt=",
		"%zz=1",
		"=&=&scope=openid&scope=gatehouse%3Aadmin",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return // handleAuthorize answers a page before these run
		}
		name := repeatedParam(form)
		for n, vs := range form {
			repeats := len(vs) > 1 && n != "" && n != "audience" && n != "resource"
			if repeats && name == "" {
				t.Fatalf("repeatedParam(%q) misses %q", query, n)
			}
		}
		if name != "" && (len(form[name]) < 2 || name == "audience" || name == "resource") {
			t.Fatalf("repeatedParam(%q) = %q, which is not repeated", query, name)
		}

		p, err := parseOIDCParams(form, promptValues(true))
		if err != nil {
			if rfc := fosite.ErrorToRFC6749Error(err); rfc.ErrorField != "invalid_request" || rfc.StatusCode() != http.StatusBadRequest {
				t.Fatalf("parseOIDCParams(%q) = %v (%s %d), want invalid_request", query, err, rfc.ErrorField, rfc.StatusCode())
			}
			return
		}
		for v := range p.prompt {
			if !slices.Contains(promptValues(true), v) {
				t.Fatalf("parseOIDCParams(%q) accepted prompt %q", query, v)
			}
		}
		if p.prompt["none"] && len(p.prompt) > 1 {
			t.Fatalf("parseOIDCParams(%q) accepted none with other prompts", query)
		}
		if raw := form.Get("max_age"); raw == "" {
			if p.maxAge != -1 {
				t.Fatalf("parseOIDCParams(%q): max_age %d without one sent", query, p.maxAge)
			}
		} else if n, err := strconv.Atoi(raw); err != nil || n != p.maxAge || n < 0 {
			t.Fatalf("parseOIDCParams(%q): max_age %d from %q", query, p.maxAge, raw)
		}
		if p.idTokenHint != form.Get("id_token_hint") {
			t.Fatalf("parseOIDCParams(%q): id_token_hint %q", query, p.idTokenHint)
		}
		if raw := form.Get("claims"); raw != "" && !json.Valid([]byte(raw)) {
			t.Fatalf("parseOIDCParams(%q) accepted claims that are not JSON", query)
		}
	})
}

// TestRepeatedParamSeesPastNamelessOnes: a nameless parameter sent twice
// once ended the search with "" (no repeat) whenever the map gave it first,
// so a repeated scope or client_secret next to it went through.
func TestRepeatedParamSeesPastNamelessOnes(t *testing.T) {
	form, err := url.ParseQuery("=&=&scope=openid&scope=gatehouse%3Aadmin")
	if err != nil {
		t.Fatal(err)
	}
	// Map order is random: ask often enough to meet every order.
	for range 64 {
		if got := repeatedParam(form); got != "scope" {
			t.Fatalf("repeatedParam = %q, want scope", got)
		}
	}
}

// FuzzParsePostForm sends any method, content type and body through the
// form parsing of the token, introspection and revocation endpoints: it
// goes on only for a POST whose form parsed, and otherwise answers JSON
// invalid_request with 405, 413 or 400.
func FuzzParsePostForm(f *testing.F) {
	const limit = 256
	f.Add("POST", "application/x-www-form-urlencoded", []byte("grant_type=client_credentials&scope=api%3Aread"))
	f.Add("POST", "application/x-www-form-urlencoded; charset=utf-8", []byte("token=gate_at_x.y&token_type_hint=access_token"))
	f.Add("POST", "application/x-www-form-urlencoded", []byte("grant_type=%zz&&"))
	f.Add("POST", "application/x-www-form-urlencoded", bytes.Repeat([]byte("a"), limit+1))
	f.Add("POST", "multipart/form-data; boundary=x", []byte("--x\r\n\r\n--x--"))
	f.Add("POST", "application/json", []byte(`{"grant_type":"client_credentials"}`))
	f.Add("POST", "", []byte("a=b"))
	f.Add("GET", "", []byte(""))
	f.Add("PUT", "application/x-www-form-urlencoded", []byte("a=b"))
	f.Fuzz(func(t *testing.T, method, contentType string, body []byte) {
		if !validMethod(method) {
			return // net/http refuses such a request line before any handler
		}
		r := httptest.NewRequest(http.MethodPost, "/oauth2/token?from=query", bytes.NewReader(body))
		r.Method = method
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		ok := parsePostForm(w, r)
		if ok {
			if method != http.MethodPost || w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("%s %q went on after answering %d", method, contentType, w.Code)
			}
			if r.PostForm == nil {
				t.Fatal("PostForm not parsed")
			}
			return
		}
		var answer protocolError
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || answer.Error != "invalid_request" {
			t.Fatalf("%s %q: answer %d %q", method, contentType, w.Code, w.Body)
		}
		switch w.Code {
		case http.StatusMethodNotAllowed:
			if method == http.MethodPost {
				t.Fatal("a POST answered 405")
			}
		case http.StatusRequestEntityTooLarge:
			if len(body) <= limit {
				t.Fatalf("a %d-byte body answered 413", len(body))
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("%s %q: status %d", method, contentType, w.Code)
		}
	})
}

// validMethod reports whether net/http's server would pass method on (an
// RFC 9110 token).
func validMethod(method string) bool {
	if method == "" {
		return false
	}
	for _, c := range []byte(method) {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}

// FuzzRegistrationMetadata sends any content type and body through the
// registration endpoint's decoding and its own rules: a refusal is JSON
// with a registered code (RFC 7591 §3.2.2) and a 4xx status, and what is
// accepted is one JSON object without a name twice.
func FuzzRegistrationMetadata(f *testing.F) {
	const limit = 4 << 10
	for _, seed := range []string{
		`{"redirect_uris":["https://app.example/cb"],"client_name":"App","client_name#fr":"Appli","scope":"openid email"}`,
		`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}`,
		`{"response_types":["code id_token","token"],"redirect_uris":["https://app.example/cb"]}`,
		`{"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRjmGp6ecwc8YBadQ1KhxBy-FbMnp89nE-gTwMQ"}]}}`,
		`{"subject_type":"pairwise","sector_identifier_uri":"https://app.example/sector.json"}`,
		`{"subject_type":"bogus"}`,
		`{"request_object_signing_alg":"RS256"}`,
		`{"client_name#":"x","client_name#de":5}`,
		`{"scope":"a","scope":"b"}`,
		`{"default_max_age":"soon"}`,
		`{"default_max_age":1e400}`,
		`{"Scope":"gatehouse:admin"}`,
		`{"scope":"openid","SCOPE":"gatehouse:admin"}`,
		"{\"\u017fcope\":\"openid\",\"client_name#de\":\"App\"}",
		`[]`,
		`null`,
		`{} {}`,
		``,
	} {
		f.Add("application/json", []byte(seed))
	}
	f.Add("application/json; charset=utf-8", []byte(`{"redirect_uris":["https://app.example/cb"]}`))
	f.Add("text/plain", []byte(`{}`))
	f.Add("application/json", []byte(`{"public":true,"token_endpoint_auth_method":"client_secret_basic","grant_types":["client_credentials"]}`))
	f.Add("", []byte(`{}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, PathRegistration, bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		md, ok := decodeMetadata(w, r)
		if !ok {
			var answer protocolError
			if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
				t.Fatalf("refusal %d is not JSON: %q", w.Code, w.Body)
			}
			switch {
			case w.Code == http.StatusUnsupportedMediaType && answer.Error == "invalid_request":
			case w.Code == http.StatusRequestEntityTooLarge && answer.Error == "invalid_request" && len(body) > limit:
			case w.Code == http.StatusBadRequest && answer.Error == "invalid_client_metadata":
			default:
				t.Fatalf("refusal %d %q for %q", w.Code, answer.Error, body)
			}
			return
		}
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Fatalf("decodeMetadata accepted %q after answering %d", body, w.Code)
		}
		if !strictjson.IsJSONContentType(contentType) {
			t.Fatalf("decodeMetadata accepted the content type %q", contentType)
		}
		if err := strictjson.Check(body); err != nil {
			t.Fatalf("decodeMetadata accepted %q: %v", body, err)
		}
		// Every member read comes from a member of exactly its name:
		// names are case-sensitive (RFC 8259), and a "Scope" that another
		// parser ignores must not become the scope here.
		var sent, read map[string]json.RawMessage
		_ = json.Unmarshal(body, &sent)
		out, err := json.Marshal(md)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(out, &read)
		for name, v := range read {
			switch string(v) {
			case "false", `""`, "0", "[]", "null", "{}":
				continue // written whether sent or not
			}
			if _, ok := sent[name]; !ok {
				t.Fatalf("decodeMetadata(%q) read %s from a member not named %q", body, read[name], name)
			}
		}
		spec, err := specFromMetadata(md)
		if err != nil {
			var ie *clients.InvalidError
			if !errors.As(err, &ie) || ie.Field == "" {
				t.Fatalf("specFromMetadata(%q) = %v, not a clients.InvalidError naming its field", body, err)
			}
			return
		}
		if !spec.Dynamic {
			t.Fatalf("specFromMetadata(%q) did not mark the client dynamic", body)
		}
		if len(spec.GrantTypes) == 0 && len(spec.ResponseTypes) == 0 {
			t.Fatalf("specFromMetadata(%q) left no grant type", body)
		}
		if spec.Public != (spec.TokenEndpointAuthMethod == "none") {
			t.Fatalf("specFromMetadata(%q): public %v with %q", body, spec.Public, spec.TokenEndpointAuthMethod)
		}
	})
}
