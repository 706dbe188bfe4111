// Package federationtest gives tests fake upstream identity providers:
// httptest TLS servers that play Google, Facebook, GitHub, Apple or a
// generic OpenID provider closely enough for goth's providers and
// Gatehouse's connectors, and a transport that sends the real providers'
// host names to them. Nothing reaches the internet.
//
// A fake checks what the real provider would: the client's credentials,
// the redirect URI, single-use codes, the PKCE verifier, Facebook's
// appsecret_proof, Apple's client secret JWT. It can also misbehave on
// demand: refuse at the consent screen, answer 500, or answer nonsense.
package federationtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// Kind is the provider a fake plays.
type Kind string

// The providers a fake can play.
const (
	Google   Kind = "google"
	Facebook Kind = "facebook"
	GitHub   Kind = "github"
	Apple    Kind = "apple"
	// OIDC is a generic OpenID provider at the fake's own URL, with
	// discovery, JWKS, PKCE and a userinfo endpoint.
	OIDC Kind = "oidc"
)

// Account is the customer's account at the fake provider.
type Account struct {
	ID            string
	Email         string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Picture       string
	Locale        string
}

// Endpoint names a fake's endpoint for Fail.
type Endpoint string

// Endpoints that can be made to fail.
const (
	// Token is the token endpoint.
	Token Endpoint = "token"
	// Profile is where the account is read: Google's userinfo, Facebook's
	// /me, GitHub's /user, the OpenID userinfo endpoint.
	Profile Endpoint = "profile"
)

// Failure is how an endpoint misbehaves.
type Failure string

// Failures.
const (
	// Status500 answers 500 Internal Server Error.
	Status500 Failure = "500"
	// Malformed answers 200 with a body that is not the expected JSON.
	Malformed Failure = "malformed"
	// BadSignature (Token, Apple and OIDC) signs the ID token with a key
	// the JWKS does not publish.
	BadSignature Failure = "bad-signature"
	// WrongNonce (Token, Apple and OIDC) puts another nonce in the ID token.
	WrongNonce Failure = "wrong-nonce"
)

// Fake is a fake provider. Its methods are safe for concurrent use.
type Fake struct {
	// Kind is the provider it plays.
	Kind Kind
	// ClientID and ClientSecret are the credentials it accepts. For Apple,
	// ClientSecret is unused: the client secret must be a JWT signed with
	// ApplePrivateKeyPEM, whose key ID is AppleKeyID, from AppleTeamID.
	ClientID     string
	ClientSecret string
	// AppleTeamID, AppleKeyID and ApplePrivateKeyPEM configure Apple's
	// connector.
	AppleTeamID        string
	AppleKeyID         string
	ApplePrivateKeyPEM string
	// Server is the TLS server.
	Server *httptest.Server

	appleKey   *ecdsa.PrivateKey
	signingKey *rsa.PrivateKey
	otherKey   *rsa.PrivateKey

	mu       sync.Mutex
	account  Account
	deny     bool
	failures map[Endpoint]Failure
	codes    map[string]grant
	tokens   map[string]grant
	issued   []string
	lastAuth url.Values
}

// grant is what a code or an access token stands for.
type grant struct {
	account     Account
	redirectURI string
	nonce       string
	challenge   string
}

// New starts a fake provider of the kind that accepts the client's
// credentials, with a default account; the test's cleanup stops it.
func New(t testing.TB, kind Kind, clientID, clientSecret string) *Fake {
	t.Helper()
	f := &Fake{
		Kind: kind, ClientID: clientID, ClientSecret: clientSecret,
		failures: map[Endpoint]Failure{},
		codes:    map[string]grant{},
		tokens:   map[string]grant{},
		account: Account{
			ID: "10769150350006150715113082367", Email: "ada@example.com", EmailVerified: true,
			Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace",
			Picture: "https://pictures.example/ada.png", Locale: "en-GB",
		},
	}
	var err error
	if f.signingKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if f.otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if kind == Apple {
		if f.appleKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(f.appleKey)
		if err != nil {
			t.Fatal(err)
		}
		f.ApplePrivateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		f.AppleTeamID, f.AppleKeyID = "TEAM123456", "KEY1234567"
	}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Server.Close)
	return f
}

// Hosts returns the real host names the fake plays; the OpenID fake plays
// none (it is reached at its own URL).
func (f *Fake) Hosts() []string {
	switch f.Kind {
	case Google:
		return []string{"accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com"}
	case Facebook:
		return []string{"www.facebook.com", "graph.facebook.com"}
	case GitHub:
		return []string{"github.com", "api.github.com"}
	case Apple:
		return []string{"appleid.apple.com"}
	}
	return nil
}

// Issuer returns the issuer of the fake's ID tokens.
func (f *Fake) Issuer() string {
	if f.Kind == Apple {
		return "https://appleid.apple.com"
	}
	return f.Server.URL
}

// SetAccount sets the account the next sign-ins return.
func (f *Fake) SetAccount(a Account) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.account = a
}

// Deny makes the consent screen refuse (error=access_denied) or accept.
func (f *Fake) Deny(deny bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = deny
}

// Fail makes an endpoint misbehave; an empty Failure makes it behave.
func (f *Fake) Fail(e Endpoint, how Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if how == "" {
		delete(f.failures, e)
		return
	}
	f.failures[e] = how
}

// LastAuthorization returns the parameters of the last authorization
// request the fake received.
func (f *Fake) LastAuthorization() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

// Issued returns every code and access token the fake has issued, for
// tests that check logs keep them out.
func (f *Fake) Issued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

func (f *Fake) failure(e Endpoint) Failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failures[e]
}

// serve routes by path: the real providers' paths do not collide.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case f.Kind == OIDC && r.URL.Path == "/.well-known/openid-configuration":
		f.discovery(w)
	case f.Kind == Google && r.URL.Path == "/o/oauth2/auth",
		f.Kind == Facebook && r.URL.Path == "/dialog/oauth",
		f.Kind == GitHub && r.URL.Path == "/login/oauth/authorize",
		f.Kind == Apple && r.URL.Path == "/auth/authorize",
		f.Kind == OIDC && r.URL.Path == "/authorize":
		f.authorize(w, r)
	case f.Kind == Google && r.URL.Path == "/token",
		f.Kind == Facebook && r.URL.Path == "/oauth/access_token",
		f.Kind == GitHub && r.URL.Path == "/login/oauth/access_token",
		f.Kind == Apple && r.URL.Path == "/auth/token",
		f.Kind == OIDC && r.URL.Path == "/token":
		f.token(w, r)
	case f.Kind == Apple && r.URL.Path == "/auth/keys", f.Kind == OIDC && r.URL.Path == "/jwks":
		f.jwks(w)
	case f.Kind == Google && r.URL.Path == "/oauth2/v2/userinfo",
		f.Kind == Facebook && r.URL.Path == "/me",
		f.Kind == GitHub && r.URL.Path == "/user",
		f.Kind == OIDC && r.URL.Path == "/userinfo":
		f.profile(w, r)
	case f.Kind == GitHub && r.URL.Path == "/user/emails":
		f.githubEmails(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *Fake) discovery(w http.ResponseWriter) {
	u := f.Server.URL
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                u,
		"authorization_endpoint":                u + "/authorize",
		"token_endpoint":                        u + "/token",
		"userinfo_endpoint":                     u + "/userinfo",
		"jwks_uri":                              u + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

// authorize plays the consent screen: it sends the browser back at once
// with a code, or with error=access_denied when told to deny. Apple's
// answer is a page whose form posts to the callback (form_post).
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.lastAuth = q
	deny, account := f.deny, f.account
	f.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != f.ClientID || redirect == "" || q.Get("response_type") != "code" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if deny {
		back.Set("error", "access_denied")
		if f.Kind == Facebook {
			back.Set("error_reason", "user_denied")
			back.Set("error_description", "Permissions error")
		}
		if f.Kind == Apple {
			back.Set("error", "user_cancelled_authorize")
		}
	} else {
		code := randomString()
		g := grant{account: account, redirectURI: redirect, nonce: q.Get("nonce")}
		if q.Get("code_challenge_method") == "S256" {
			g.challenge = q.Get("code_challenge")
		}
		f.mu.Lock()
		f.codes[code] = g
		f.issued = append(f.issued, code)
		f.mu.Unlock()
		back.Set("code", code)
		if f.Kind == Apple && strings.Contains(q.Get("scope"), "name") {
			name, _ := json.Marshal(map[string]any{"name": map[string]string{"firstName": account.GivenName, "lastName": account.FamilyName}, "email": account.Email})
			back.Set("user", string(name))
		}
	}
	if q.Get("response_mode") == "form_post" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = formPost().Execute(w, map[string]any{"Action": redirect, "Fields": back})
		return
	}
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	http.Redirect(w, r, redirect+sep+back.Encode(), http.StatusFound)
}

func formPost() *template.Template {
	return template.Must(template.New("form_post").Parse(`<!doctype html><html><body>
<form method="post" action="{{.Action}}">{{range $k, $vs := .Fields}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<button type="submit">Continue</button></form></body></html>`))
}

// token exchanges a code once, checking the client and the verifier.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if !f.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	switch f.failure(Token) {
	case Status500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token": 42, "token_type": [`))
		return
	}
	code := r.PostForm.Get("code")
	f.mu.Lock()
	g, ok := f.codes[code]
	delete(f.codes, code)
	f.mu.Unlock()
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirectURI {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
	}
	access := randomString()
	f.mu.Lock()
	f.tokens[access] = g
	f.issued = append(f.issued, access)
	f.mu.Unlock()
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3599}
	if f.Kind == Apple || f.Kind == OIDC {
		idt, err := f.idToken(g, access, f.failure(Token))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp["id_token"] = idt
	}
	writeJSON(w, http.StatusOK, resp)
}

// clientOK checks the client's credentials, from Basic authentication or
// the form. Apple's client secret is a JWT signed with the Apple key.
func (f *Fake) clientOK(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != f.ClientID {
		return false
	}
	if f.Kind != Apple {
		return subtle.ConstantTimeCompare([]byte(secret), []byte(f.ClientSecret)) == 1
	}
	tok, err := josejwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 || tok.Headers[0].KeyID != f.AppleKeyID {
		return false
	}
	var c josejwt.Claims
	if err := tok.Claims(&f.appleKey.PublicKey, &c); err != nil {
		return false
	}
	return c.Issuer == f.AppleTeamID && c.Subject == f.ClientID && c.Audience.Contains("https://appleid.apple.com") &&
		c.ValidateWithLeeway(josejwt.Expected{Time: time.Now()}, time.Minute) == nil
}

// idToken signs the ID token of a grant.
func (f *Fake) idToken(g grant, access string, how Failure) (string, error) {
	key := f.signingKey
	if how == BadSignature {
		key = f.otherKey
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "RS256"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	nonce := g.nonce
	if how == WrongNonce {
		nonce = "not-" + nonce
	}
	sum := sha256.Sum256([]byte(access))
	now := time.Now()
	claims := map[string]any{
		"iss": f.Issuer(), "sub": g.account.ID, "aud": f.ClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix(),
		"at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
		"email":   g.account.Email,
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if f.Kind == Apple {
		claims["email_verified"] = fmt.Sprint(g.account.EmailVerified) // Apple sends a string
	} else {
		claims["email_verified"] = g.account.EmailVerified
		claims["name"] = g.account.Name
	}
	return josejwt.Signed(signer).Claims(claims).Serialize()
}

func (f *Fake) jwks(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &f.signingKey.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"},
	}})
}

// bearer returns the grant of the request's access token: from the
// Authorization header, or the access_token parameter (Google, Facebook).
func (f *Fake) bearer(r *http.Request) (grant, string, bool) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" || token == r.Header.Get("Authorization") {
		token = r.URL.Query().Get("access_token")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.tokens[token]
	return g, token, ok
}

func (f *Fake) profile(w http.ResponseWriter, r *http.Request) {
	g, token, ok := f.bearer(r)
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_token")
		return
	}
	switch f.failure(Profile) {
	case Status500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`<html><body>Service Unavailable</body></html>`))
		return
	}
	a := g.account
	switch f.Kind {
	case Google:
		writeJSON(w, http.StatusOK, map[string]any{
			"id": a.ID, "email": a.Email, "verified_email": a.EmailVerified, "name": a.Name,
			"given_name": a.GivenName, "family_name": a.FamilyName, "picture": a.Picture, "locale": a.Locale,
		})
	case Facebook:
		mac := hmac.New(sha256.New, []byte(f.ClientSecret))
		mac.Write([]byte(token))
		if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(r.URL.Query().Get("appsecret_proof"))) {
			oauthError(w, http.StatusBadRequest, "invalid appsecret_proof")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": a.ID, "email": a.Email, "name": a.Name, "first_name": a.GivenName, "last_name": a.FamilyName,
			"picture": map[string]any{"data": map[string]any{"url": a.Picture}},
		})
	case GitHub:
		id := 0
		_, _ = fmt.Sscan(a.ID, &id)
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "login": "ada", "name": a.Name, "email": a.Email, "avatar_url": a.Picture})
	case OIDC:
		writeJSON(w, http.StatusOK, map[string]any{
			"sub": a.ID, "email": a.Email, "email_verified": a.EmailVerified, "name": a.Name,
			"given_name": a.GivenName, "family_name": a.FamilyName, "picture": a.Picture, "locale": a.Locale,
		})
	}
}

func (f *Fake) githubEmails(w http.ResponseWriter, r *http.Request) {
	g, _, ok := f.bearer(r)
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_token")
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{
		{"email": g.account.Email, "primary": true, "verified": g.account.EmailVerified},
		{"email": "old@example.com", "primary": false, "verified": false},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Transport returns a RoundTripper that sends requests for the fakes' host
// names, and for their own addresses, to the fakes over TLS, trusting their
// certificates; every other request goes to next (a fresh default
// transport when nil). The Host header keeps the real host name.
func Transport(next http.RoundTripper, fakes ...*Fake) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	rt := &rewriter{next: next, routes: map[string]*Fake{}}
	for _, f := range fakes {
		for _, h := range f.Hosts() {
			rt.routes[h] = f
		}
		rt.routes[f.Server.Listener.Addr().String()] = f
	}
	return rt
}

type rewriter struct {
	next   http.RoundTripper
	routes map[string]*Fake
}

// RoundTrip implements http.RoundTripper.
func (rt *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	f, ok := rt.routes[req.URL.Host]
	if !ok {
		return rt.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = "https"
	out.URL.Host = f.Server.Listener.Addr().String()
	out.Host = req.URL.Host
	return f.Server.Client().Transport.RoundTrip(out)
}

// Consent plays the browser at the fake's consent screen: it follows
// authURL and returns the parameters the fake sends back to the callback,
// from the redirect's query or, for form_post, from the posted form.
func (f *Fake) Consent(t testing.TB, authURL string) url.Values {
	t.Helper()
	client := &http.Client{
		Transport:     Transport(nil, f),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query()
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent screen answered %d: %s", resp.StatusCode, body)
	}
	out := url.Values{}
	for _, m := range hiddenInput().FindAllStringSubmatch(string(body), -1) {
		out.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return out
}

func hiddenInput() *regexp.Regexp {
	return regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
}
