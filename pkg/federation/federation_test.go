package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestRedactKeepsSecretsOutOfLogs(t *testing.T) {
	urlErr := &url.Error{Op: "Get", URL: "https://graph.facebook.com/me?fields=id&access_token=EAAB-secret&appsecret_proof=abc", Err: errors.New("dial tcp: i/o timeout")}
	retrieve := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, Body: []byte(`{"error":"invalid_grant","code":"4/0AX-secret"}`), ErrorCode: "invalid_grant"}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"a URL loses its query", fmt.Errorf("facebook: fetch the profile: %w", urlErr), "Get https://graph.facebook.com/me: dial tcp: i/o timeout"},
		{"a token endpoint's error keeps its status and code only", fmt.Errorf("google: exchange the code: %w", retrieve), `token request refused: status 400, error "invalid_grant"`},
		{"secret parameters in any message are blanked", errors.New(`oauth2: error decoding JWT token: code=4/abc&state=xyz id_token=eyJ.x.y`), "code=REDACTED&state=REDACTED id_token=REDACTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.err)
			if !strings.Contains(got, tc.want) {
				t.Errorf("Redact = %q, want it to contain %q", got, tc.want)
			}
			for _, secret := range []string{"EAAB-secret", "4/0AX-secret", "4/abc", "xyz", "eyJ.x.y"} {
				if strings.Contains(got, secret) {
					t.Errorf("Redact = %q shows %q", got, secret)
				}
			}
		})
	}
	if got := Redact(errors.New(strings.Repeat("x", 2000))); len(got) > 500 {
		t.Errorf("Redact kept %d bytes", len(got))
	}
}

func TestCallbackErrorCodes(t *testing.T) {
	for code, want := range map[string]bool{
		"access_denied": true, "user_cancelled_authorize": true, "user_denied": true,
		"server_error": false, "temporarily_unavailable": false, "invalid_scope": false,
	} {
		if cancelled(code) != want {
			t.Errorf("cancelled(%q) = %v", code, !want)
		}
	}
	if got := errorCode("bad\"\\code\x00\n" + strings.Repeat("y", 100)); len(got) > 64 || strings.ContainsAny(got, "\"\\\x00\n") {
		t.Errorf("errorCode = %q", got)
	}
}

func TestNewCustomerKeepsOnlyWellFormedClaims(t *testing.T) {
	u := newCustomer(UpstreamIdentity{
		Subject: "1", GivenName: "Ada", FamilyName: "Lovelace", Picture: "http://insecure.example/a.png", Locale: "pt_BR",
	}, "ada@example.com", true)
	if u.Name != "Ada Lovelace" || u.Picture != "" || u.Locale != "pt-BR" || !u.EmailVerified || u.ID == "" || u.PasswordHash != "" {
		t.Errorf("customer %+v", u)
	}
	u = newCustomer(UpstreamIdentity{
		Subject: "2", Name: "evil\u0000name", Picture: "javascript:alert(1)", Locale: "not a locale!",
	}, "", true)
	if u.Name != "" || u.Picture != "" || u.Locale != "" || u.EmailVerified || u.Email != "" {
		t.Errorf("customer %+v", u)
	}
	if got := profileText(strings.Repeat("é", 300)); len([]rune(got)) != maxProfileText {
		t.Errorf("a long name keeps %d characters", len([]rune(got)))
	}
	if got := normalizeEmail(" Ada@Example.COM "); got != "ada@example.com" {
		t.Errorf("normalizeEmail = %q", got)
	}
	if got := normalizeEmail("not an email"); got != "" {
		t.Errorf("normalizeEmail of garbage = %q", got)
	}
}

// nopConnector is a connector that is never called.
type nopConnector struct{}

func (nopConnector) Begin(context.Context, Auth) (string, string, error) { return "", "", nil }
func (nopConnector) Finish(context.Context, Auth, string, url.Values) (UpstreamIdentity, error) {
	return UpstreamIdentity{}, nil
}
func (nopConnector) AuthOrigin() string { return "" }

func TestNewRefusesBadProviders(t *testing.T) {
	ok := Provider{ID: "google", Name: "Google", Connector: nopConnector{}}
	for name, ps := range map[string][]Provider{
		"an ID with capitals":            {{ID: "Google", Name: "Google", Connector: nopConnector{}}},
		"an ID with a slash":             {{ID: "a/b", Name: "A", Connector: nopConnector{}}},
		"a repeated ID":                  {ok, ok},
		"a provider without a name":      {{ID: "x", Connector: nopConnector{}}},
		"a provider without a connector": {{ID: "x", Name: "X"}},
	} {
		if _, err := New(Options{Store: nilStore{}, Providers: ps}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Options{Store: nilStore{}, Providers: []Provider{ok}}); err != nil {
		t.Errorf("a good provider: %v", err)
	}
}

func TestNewTransportHonoursTheProxyEnvironment(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.internal:3128")
	t.Setenv("NO_PROXY", "idp.internal")
	tr := NewTransport()
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.RootCAs != nil || tr.TLSClientConfig.MinVersion == 0 {
		t.Errorf("TLS config %+v: want the system roots and a minimum version", tr.TLSClientConfig)
	}
	proxyOf := func(raw string) string {
		req, _ := http.NewRequest(http.MethodGet, raw, nil)
		u, err := tr.Proxy(req)
		if err != nil || u == nil {
			return ""
		}
		return u.String()
	}
	if got := proxyOf("https://oauth2.googleapis.com/token"); got != "http://proxy.internal:3128" {
		t.Errorf("proxy for Google = %q", got)
	}
	if got := proxyOf("https://idp.internal/token"); got != "" {
		t.Errorf("NO_PROXY ignored: %q", got)
	}
	if c := NewHTTPClient(7e9, nil); c.Timeout != 7e9 || c.Transport == nil {
		t.Errorf("client %+v", c)
	}
}
