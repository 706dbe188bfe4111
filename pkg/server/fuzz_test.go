package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/outbound/outboundtest"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// The fuzz targets here send whatever the fuzzer makes to a real server on
// a real listener with a SQLite database, built once per target. Inputs
// name the server's clients and addresses by placeholders ({client},
// {secret}, {issuer}, …) that fill() replaces, so a saved input means the
// same thing in every run.

// startFuzzServer starts a server for fuzzing: throttling off (the
// fuzzer's failed client authentications would soon be answered 429),
// registration open, and a DNS resolver that knows no name, so no input
// makes the server fetch from the network.
func startFuzzServer(f *testing.F) *testServer {
	return startServerWith(f, gormstoretest.SQLiteURL(f), func(c *config.Config) {
		c.ThrottleEnabled = false
		c.RegistrationPolicy = "open"
	}, server.WithOutboundOptions(outbound.WithResolver(outboundtest.Resolver(nil))))
}

// noRedirects is a client that reports redirects instead of following them.
func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fuzzCall sends req and reads the answer. ok is false when net/http
// refuses to send the request at all (a header with a newline, say): the
// server never sees such a request.
func fuzzCall(t *testing.T, c *http.Client, req *http.Request) (resp *http.Response, body []byte, ok bool) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "invalid") {
			return nil, nil, false
		}
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body, true
}

// failWithLogs fails t, showing the end of the server's log, where a
// server error's cause is.
func failWithLogs(t *testing.T, s *testServer, format string, args ...any) {
	t.Helper()
	logs := s.logs.String()
	if len(logs) > 4000 {
		logs = logs[len(logs)-4000:]
	}
	t.Fatalf(format+"\nserver log (end):\n%s", append(args, logs)...)
}

// tokenErrorRegistered reports whether code is an error code RFC 6749 §5.2
// registers for the token endpoint.
func tokenErrorRegistered(code string) bool {
	switch code {
	case "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope":
		return true
	}
	return false
}

// checkTokenAnswer checks a token endpoint answer: 200 with a token, or a
// 4xx JSON error with a registered code (invalid_client with 401 carries
// its challenge); never a server error.
func checkTokenAnswer(t *testing.T, s *testServer, resp *http.Response, body []byte, input string) {
	t.Helper()
	if resp.StatusCode >= 500 {
		failWithLogs(t, s, "%s: %d %s", input, resp.StatusCode, body)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: %d with Content-Type %q", input, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %d answer is not a JSON object: %q", input, resp.StatusCode, body)
	}
	if resp.StatusCode == http.StatusOK {
		if tok, _ := m["access_token"].(string); tok == "" || m["token_type"] == nil {
			t.Fatalf("%s: 200 without a token: %s", input, body)
		}
		return
	}
	code, _ := m["error"].(string)
	switch {
	case resp.StatusCode == http.StatusUnauthorized && code == "invalid_client":
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: 401 without WWW-Authenticate", input)
		}
	case resp.StatusCode == http.StatusBadRequest && tokenErrorRegistered(code):
	case resp.StatusCode == http.StatusRequestEntityTooLarge && code == "invalid_request":
	default:
		t.Fatalf("%s: %d %q is not a registered token error: %s", input, resp.StatusCode, code, body)
	}
}

// FuzzToken sends any form body with Basic credentials, or with any
// Authorization header, to the token endpoint (checkTokenAnswer).
func FuzzToken(f *testing.F) {
	s := startFuzzServer(f)
	machine := s.createClientB(f, machineClient("api:read", "api:write"))
	web := s.createClientB(f, clients.Spec{Name: "web", RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"openid", "offline_access"}})
	fill := strings.NewReplacer("{client}", machine.Client.ID, "{secret}", machine.Secret, "{web}", web.Client.ID, "{websecret}", web.Secret,
		"{basic}", base64.StdEncoding.EncodeToString([]byte(machine.Client.ID+":"+machine.Secret))).Replace

	for _, seed := range []struct {
		body, user, pass string
		basic            bool
		header           string // a raw Authorization header instead
	}{
		{"grant_type=client_credentials&scope=api%3Aread", "{client}", "{secret}", true, ""},
		{"grant_type=client_credentials&scope=api%3Aread+api%3Awrite&audience=x", "{client}", "{secret}", true, ""},
		{"grant_type=client_credentials&client_id={client}&client_secret={secret}", "", "", false, ""},
		{"grant_type=client_credentials", "{client}", "wrong", true, ""},
		{"grant_type=client_credentials", "nobody", "x", true, ""},
		{"grant_type=client_credentials", "", "", false, ""},
		{"grant_type=authorization_code&code=gate_ac_AAAA.BBBB&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=abc", "{web}", "{websecret}", true, ""},
		{"grant_type=refresh_token&refresh_token=gate_rt_AAAA.BBBB&scope=openid", "{web}", "{websecret}", true, ""},
		{"grant_type=password&username=a&password=b", "{client}", "{secret}", true, ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c", "{client}", "{secret}", true, ""},
		{"grant_type=client_credentials&scope=api%3Aread&scope=api%3Aread", "{client}", "{secret}", true, ""},
		{"grant_type=%zz&&", "{client}", "{secret}", true, ""},
		{"grant_type=client_credentials&client_id=other", "{client}", "{secret}", true, ""},
		{"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z", "", "", false, ""},
		{"grant_type=client_credentials", "%zz", "%", true, ""},
		{"grant_type=client_credentials", "{client}:extra", "", true, ""},
		{"grant_type=client_credentials", "", "", false, "Basic {basic}"},
		{"grant_type=client_credentials", "", "", false, "basic   {basic}"},
		{"grant_type=client_credentials", "", "", false, "Basic !!!not-base64"},
		{"grant_type=client_credentials", "", "", false, "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon"))},
		{"grant_type=client_credentials", "", "", false, "Basic " + base64.StdEncoding.EncodeToString([]byte(":"))},
		{"grant_type=client_credentials&client_id={client}", "", "", false, "Bearer gate_at_x.y"},
		{"grant_type=client_credentials", "", "", false, "Basic"},
	} {
		f.Add(seed.body, seed.user, seed.pass, seed.basic, seed.header)
	}
	c := noRedirects()
	f.Fuzz(func(t *testing.T, body, user, pass string, basic bool, header string) {
		req, err := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(fill(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(fill(user), fill(pass))
		}
		if header != "" {
			req.Header.Set("Authorization", fill(header))
		}
		resp, got, ok := fuzzCall(t, c, req)
		if !ok {
			return
		}
		checkTokenAnswer(t, s, resp, got, "body "+body)
	})
}

// FuzzClientAssertion sends JWT-shaped client assertions (RFC 7523,
// private_key_jwt) to the token endpoint: parts the fuzzer writes, signed
// with the client's registered key or not, or a raw string. Only an
// assertion signed with the client's key may ever authenticate.
func FuzzClientAssertion(f *testing.F) {
	s := startFuzzServer(f)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		f.Fatal(err)
	}
	reg := s.createClientB(f, clients.Spec{
		Name: "signed", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"},
		TokenEndpointAuthMethod: "private_key_jwt", TokenEndpointAuthSigningAlg: "ES256", JWKS: jwks,
	})
	fill := strings.NewReplacer("{client}", reg.Client.ID, "{aud}", s.URL+"/oauth2/token", "{issuer}", s.URL).Replace
	b64 := base64.RawURLEncoding.EncodeToString

	good := `{"iss":"{client}","sub":"{client}","aud":"{aud}","jti":"jti-1","exp":4102444800,"iat":1764000000}`
	for _, seed := range []struct {
		header, payload string
		sig             []byte
		sign            bool
		raw             string
	}{
		{`{"alg":"ES256","kid":"k1","typ":"JWT"}`, good, nil, true, ""},
		{`{"alg":"ES256"}`, `{"iss":"{client}","sub":"{client}","aud":["{issuer}"],"jti":"jti-2","exp":4102444800}`, nil, true, ""},
		{`{"alg":"ES256","kid":"k1"}`, `{"iss":"{client}","sub":"{client}","aud":"{aud}","jti":"old","exp":1000}`, nil, true, ""},
		{`{"alg":"ES256","kid":"k1"}`, `{"iss":"{client}","sub":"someone-else","aud":"{aud}","jti":"j","exp":4102444800}`, nil, true, ""},
		{`{"alg":"ES256","kid":"k1"}`, `{"iss":"{client}","sub":"{client}","aud":"https://elsewhere.example/token","jti":"j3","exp":4102444800}`, nil, true, ""},
		{`{"alg":"ES256","kid":"k1"}`, good, []byte("not a signature"), false, ""},
		{`{"alg":"none"}`, good, nil, false, ""},
		{`{"alg":"HS256","kid":"k1"}`, good, []byte("0123456789abcdef0123456789abcdef"), false, ""},
		{`{"alg":"RS256","kid":"k1"}`, good, make([]byte, 256), false, ""},
		{`{"alg":"ES256","kid":"k1","crit":["exp"]}`, good, nil, true, ""},
		{`{"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}`, good, make([]byte, 64), false, ""},
		{`not json`, `also not`, nil, false, ""},
		{"", "", nil, false, "a.b.c"},
		{"", "", nil, false, "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d"},
		{"", "", nil, false, "...."},
		{"", "", nil, false, "eyJhbGciOiJFUzI1NiJ9..sig"},
	} {
		f.Add(seed.header, seed.payload, seed.sig, seed.sign, seed.raw)
	}
	c := noRedirects()
	f.Fuzz(func(t *testing.T, header, payload string, sig []byte, sign bool, raw string) {
		signed := sign && raw == ""
		assertion := raw
		if raw == "" {
			input := b64([]byte(header)) + "." + b64([]byte(fill(payload)))
			if signed {
				sig = signES256(t, key, input)
			}
			assertion = input + "." + b64(sig)
		}
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"client_id":             {reg.Client.ID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		}
		req, err := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, got, ok := fuzzCall(t, c, req)
		if !ok {
			return
		}
		checkTokenAnswer(t, s, resp, got, "assertion "+assertion)
		if resp.StatusCode == http.StatusOK && !signed {
			t.Fatalf("an assertion not signed with the client's key authenticated: %s", assertion)
		}
	})
}

// signES256 signs a JWS signing input with key (RFC 7518 §3.4: r and s,
// 32 bytes each).
func signES256(t *testing.T, key *ecdsa.PrivateKey, input string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

// authorizeErrorRegistered reports whether code is an error the
// authorization endpoint may send back to a client (RFC 6749 §4.1.2.1,
// OpenID Connect Core §3.1.2.6, and the request object codes).
func authorizeErrorRegistered(code string) bool {
	switch code {
	case "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type", "invalid_scope",
		"temporarily_unavailable", "interaction_required", "login_required", "account_selection_required",
		"consent_required", "invalid_request_uri", "invalid_request_object", "request_not_supported",
		"request_uri_not_supported", "registration_not_supported":
		return true
	}
	return false
}

// formAction finds the form_post page's target.
func formAction(page []byte) (string, bool) {
	m := regexp.MustCompile(`<form method="post" action="([^"]*)">`).FindSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(string(m[1])), true
}

// FuzzAuthorize sends any query (by GET or as a POST form) to the
// authorization endpoint, with an id_token_hint the fuzzer writes, signed
// with the server's own key or not. The endpoint answers a page, or sends
// the browser to the sign-in page or to the client's registered redirect
// URI with a registered error code; never a server error, never an
// unregistered URI; and a hint the server did not sign never gets past the
// hint check.
func FuzzAuthorize(f *testing.F) {
	s := startFuzzServer(f)
	const redirect = "https://app.example/cb"
	web := s.createClientB(f, clients.Spec{
		Name: "web", RedirectURIs: []string{redirect}, Scopes: []string{"openid", "email", "profile", "offline_access"},
		GrantTypes:    []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken, clients.GrantImplicit},
		ResponseTypes: []string{"code", "id_token", "code id_token", "id_token token"},
	})
	km := keys.NewManager(s.Store(), s.Secrets(), keys.Options{})
	if err := km.Refresh(context.Background()); err != nil {
		f.Fatal(err)
	}
	signing, err := km.Active(context.Background(), keys.ES256)
	if err != nil {
		f.Fatal(err)
	}
	fill := strings.NewReplacer("{client}", url.QueryEscape(web.Client.ID), "{issuer}", s.URL, "{kid}", signing.ID).Replace
	b64 := base64.RawURLEncoding.EncodeToString

	base := "response_type=code&client_id={client}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+email&state=abcdefgh12&nonce=n-0S6_WzA2Mj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
	hintHeader := `{"alg":"ES256","kid":"{kid}","typ":"JWT"}`
	hintClaims := `{"iss":"{issuer}","sub":"customer-1","aud":"{client}","exp":1000,"iat":900}`
	for _, seed := range []struct {
		query, header, payload string
		sign, post             bool
	}{
		{base, "", "", false, false},
		{base + "&prompt=none", "", "", false, false},
		{base + "&prompt=none", hintHeader, hintClaims, true, false},
		{base, hintHeader, hintClaims, true, true},
		{base + "&prompt=none", hintHeader, hintClaims, false, false},
		{base + "&prompt=none", `{"alg":"none"}`, hintClaims, false, false},
		{base + "&prompt=none", `{"alg":"HS256","kid":"{kid}"}`, hintClaims, false, false},
		{base + "&prompt=none", hintHeader, `{"iss":"https://evil.example","sub":"x"}`, true, false},
		{base + "&prompt=none", hintHeader, `{"iss":"{issuer}"}`, true, false},
		{base + "&prompt=none", `{"alg":"ES256","kid":"unknown"}`, hintClaims, true, false},
		{base + "&prompt=login+none", "", "", false, false},
		{base + "&max_age=-5", "", "", false, false},
		{base + "&claims=%7Bnot", "", "", false, false},
		{base + "&scope=openid", "", "", false, false},
		{base + "&response_mode=form_post&prompt=none", "", "", false, false},
		{base + "&response_mode=fragment&prompt=bogus", "", "", false, false},
		{base + "&request=eyJhbGciOiJub25lIn0.e30.", "", "", false, false},
		{base + "&request_uri=https%3A%2F%2Fevil.example%2Fr", "", "", false, false},
		{"response_type=id_token+token&client_id={client}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&nonce=abcdefgh&state=abcdefgh12&prompt=none", "", "", false, false},
		{"response_type=code&client_id={client}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&state=abcdefgh12", "", "", false, false},
		{"response_type=code&client_id={client}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcb&scope=openid&state=abcdefgh12&prompt=none&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", "", "", false, false},
		{"response_type=code&client_id=unknown&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "", "", false, false},
		{"response_type=code&client_id={client}&client_id={client}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&state=abcdefgh12", "", "", false, false},
		{"%zz", "", "", false, false},
		{"", "", "", false, true},
	} {
		f.Add(seed.query, seed.header, seed.payload, seed.sign, seed.post)
	}
	c := noRedirects()
	f.Fuzz(func(t *testing.T, query, hintHeaderJSON, hintPayload string, sign, post bool) {
		// A "#" would end the query: what follows, the hint too, would
		// never reach the server.
		query = strings.ReplaceAll(fill(query), "#", "%23")
		hint := ""
		if hintHeaderJSON != "" || hintPayload != "" {
			input := b64([]byte(fill(hintHeaderJSON))) + "." + b64([]byte(fill(hintPayload)))
			var sig []byte
			if sign {
				sig = signWith(t, signing, input)
			}
			hint = input + "." + b64(sig)
			query += "&id_token_hint=" + hint
		}
		var req *http.Request
		var err error
		if post {
			req, err = http.NewRequest(http.MethodPost, s.URL+"/oauth2/auth", strings.NewReader(query))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequest(http.MethodGet, s.URL+"/oauth2/auth?"+query, nil)
		}
		if err != nil {
			return // not a URL a browser could send
		}
		resp, body, ok := fuzzCall(t, c, req)
		if !ok {
			return
		}
		if resp.StatusCode >= 500 {
			failWithLogs(t, s, "%q: %d %s", query, resp.StatusCode, body)
		}
		unsignedHint := hint != "" && !sign
		var answer url.Values // what was sent back to the client
		switch resp.StatusCode {
		case http.StatusBadRequest:
			return // an error page: the client could not be trusted
		case http.StatusOK:
			action, isFormPost := formAction(body)
			if !isFormPost {
				t.Fatalf("%q: 200 that is not a form_post answer: %s", query, body)
			}
			if action != redirect {
				t.Fatalf("%q: form_post to %q, which is not registered", query, action)
			}
			answer = url.Values{}
			for _, m := range regexp.MustCompile(`name="([^"]*)" value="([^"]*)"`).FindAllSubmatch(body, -1) {
				answer.Add(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
			}
		case http.StatusSeeOther, http.StatusFound:
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatalf("%q: Location %q: %v", query, resp.Header.Get("Location"), err)
			}
			if loc.Host == "" && loc.Path == "/login" {
				if unsignedHint {
					t.Fatalf("%q: a hint the server did not sign led to the sign-in page", query)
				}
				return
			}
			if loc.Scheme+"://"+loc.Host+loc.Path != redirect {
				t.Fatalf("%q: redirect to %q, which is not registered", query, loc)
			}
			answer = loc.Query()
			if loc.Fragment != "" {
				if answer, err = url.ParseQuery(loc.Fragment); err != nil {
					t.Fatalf("%q: fragment %q: %v", query, loc.Fragment, err)
				}
			}
		default:
			t.Fatalf("%q: status %d: %s", query, resp.StatusCode, body)
		}
		if answer.Get("iss") != s.URL {
			t.Fatalf("%q: answer without iss: %v", query, answer)
		}
		code := answer.Get("error")
		if !authorizeErrorRegistered(code) {
			t.Fatalf("%q: answer %v has no registered error", query, answer)
		}
		if unsignedHint && (code == "login_required" || code == "consent_required") {
			t.Fatalf("%q: a hint the server did not sign passed the hint check (%s)", query, code)
		}
	})
}

// signWith signs a JWS signing input with one of the server's keys.
func signWith(t *testing.T, k keys.Key, input string) []byte {
	t.Helper()
	priv, ok := k.Private.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("key %s is not ECDSA", k.ID)
	}
	return signES256(t, priv, input)
}

// FuzzRegister sends any body under any content type to the registration
// endpoint (registration_policy: open): 201 with a client, or a 4xx with a
// code RFC 7591 §3.2.2 registers; never a server error.
func FuzzRegister(f *testing.F) {
	s := startFuzzServer(f)
	for _, seed := range []string{
		`{"redirect_uris":["https://app.example/cb"],"client_name":"App","client_name#fr":"Appli","scope":"openid email"}`,
		`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post","scope":"api:read"}`,
		`{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none","application_type":"native"}`,
		`{"redirect_uris":["com.example.app:/cb"],"application_type":"native","response_types":["code"]}`,
		`{"response_types":["code id_token","token"],"redirect_uris":["https://app.example/cb"]}`,
		`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRjmGp6ecwc8YBadQ1KhxBy-FbMnp89nE-gTwMQ"}]}}`,
		`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://keys.example/jwks"}`,
		`{"redirect_uris":["https://app.example/cb"],"subject_type":"pairwise","sector_identifier_uri":"https://app.example/sector.json"}`,
		`{"redirect_uris":["https://app.example/cb"],"backchannel_logout_uri":"https://app.example/bc","post_logout_redirect_uris":["https://app.example/bye"]}`,
		`{"redirect_uris":["http://10.0.0.1/cb"]}`,
		`{"redirect_uris":["https://app.example/cb#frag"]}`,
		`{"grant_types":["client_credentials"],"scope":"gatehouse:admin"}`,
		`{"grant_types":["password"]}`,
		`{"redirect_uris":"https://app.example/cb"}`,
		`{"default_max_age":-1,"grant_types":["client_credentials"]}`,
		`{"allowed_cors_origins":["https://app.example","null"],"redirect_uris":["https://app.example/cb"]}`,
		`{"scope":"a","scope":"b"}`,
		`{"Scope":"gatehouse:admin","grant_types":["client_credentials"]}`,
		`{"contacts":["a@example.com"],"logo_uri":"javascript:alert(1)","redirect_uris":["https://app.example/cb"]}`,
		`[]`,
		`{} {}`,
		``,
	} {
		f.Add("application/json", []byte(seed))
	}
	f.Add("text/plain", []byte(`{"grant_types":["client_credentials"]}`))
	f.Add("application/json; charset=utf-8", bytes.Repeat([]byte(" "), 70<<10))
	c := noRedirects()
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req, err := http.NewRequest(http.MethodPost, s.URL+"/oauth2/register", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, got, ok := fuzzCall(t, c, req)
		if !ok {
			return
		}
		if resp.StatusCode >= 500 {
			failWithLogs(t, s, "%q: %d %s", body, resp.StatusCode, got)
		}
		var m map[string]any
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatalf("%q: %d answer is not a JSON object: %q", body, resp.StatusCode, got)
		}
		code, _ := m["error"].(string)
		switch {
		case resp.StatusCode == http.StatusCreated:
			if id, _ := m["client_id"].(string); id == "" {
				t.Fatalf("%q: 201 without a client_id: %s", body, got)
			}
		case resp.StatusCode == http.StatusBadRequest && (code == "invalid_client_metadata" || code == "invalid_redirect_uri"):
		case (resp.StatusCode == http.StatusUnsupportedMediaType || resp.StatusCode == http.StatusRequestEntityTooLarge) && code == "invalid_request":
		default:
			t.Fatalf("%q: %d %q is not a registered registration error: %s", body, resp.StatusCode, code, got)
		}
	})
}
