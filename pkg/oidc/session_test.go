package oidc

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// referenceClaims and referenceSession are the stored form written with
// encoding/json and omitzero tags, as Gatehouse wrote it before AppendJSON:
// rows already in a database hold this form.
type referenceClaims struct {
	JTI                                 string         `json:"jti,omitzero"`
	Issuer                              string         `json:"iss,omitzero"`
	Subject                             string         `json:"sub,omitzero"`
	Audience                            []string       `json:"aud,omitzero"`
	Nonce                               string         `json:"nonce,omitzero"`
	ExpiresAt                           time.Time      `json:"exp,omitzero"`
	IssuedAt                            time.Time      `json:"iat,omitzero"`
	RequestedAt                         time.Time      `json:"rat,omitzero"`
	AuthTime                            time.Time      `json:"auth_time,omitzero"`
	AccessTokenHash                     string         `json:"at_hash,omitzero"`
	AuthenticationContextClassReference string         `json:"acr,omitzero"`
	AuthenticationMethodsReferences     []string       `json:"amr,omitzero"`
	CodeHash                            string         `json:"c_hash,omitzero"`
	Extra                               map[string]any `json:"ext,omitzero"`
}

type referenceSession struct {
	Claims         *referenceClaims               `json:"id_token_claims,omitzero"`
	Headers        *jwt.Headers                   `json:"headers,omitzero"`
	ExpiresAt      map[fosite.TokenType]time.Time `json:"expires_at,omitzero"`
	Username       string                         `json:"username,omitzero"`
	Subject        string                         `json:"subject,omitzero"`
	UserinfoClaims map[string]*ClaimRequest       `json:"userinfo_claims,omitzero"`
	Roles          []string                       `json:"roles,omitzero"`
}

func referenceJSON(t *testing.T, s *Session) []byte {
	t.Helper()
	ref := referenceSession{ExpiresAt: s.ExpiresAt, Username: s.Username, Subject: s.Subject, UserinfoClaims: s.UserinfoClaims, Roles: s.Roles}
	if s.Claims != nil {
		c := referenceClaims(*s.Claims)
		ref.Claims = &c
	}
	if s.Headers != nil && len(s.Headers.Extra) > 0 {
		ref.Headers = s.Headers
	}
	b, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSessionJSON(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 30, 0, 123456789, time.UTC)
	full := &Session{
		DefaultSession: openid.DefaultSession{
			Claims: &jwt.IDTokenClaims{
				JTI: "j", Issuer: "https://id.example.com", Subject: "user-1", Audience: []string{"app", "api"},
				Nonce: "n<>&\"\\", ExpiresAt: now.Add(time.Hour), IssuedAt: now, RequestedAt: now, AuthTime: now.Add(-time.Minute),
				AccessTokenHash: "ath", AuthenticationContextClassReference: "urn:acr", AuthenticationMethodsReferences: []string{"pwd", "otp"},
				CodeHash: "ch", Extra: map[string]any{"sid": "s-1", "azp": "app", "n": 1.5},
			},
			Headers:   &jwt.Headers{Extra: map[string]any{"kid": "k1"}},
			ExpiresAt: map[fosite.TokenType]time.Time{fosite.RefreshToken: now.Add(48 * time.Hour), fosite.AccessToken: now.Add(time.Hour), fosite.AuthorizeCode: now.Add(time.Minute)},
			Username:  "alice@example.com",
			Subject:   "user-1",
		},
		UserinfoClaims: map[string]*ClaimRequest{"email": {Essential: true}, "name": nil},
		Roles:          []string{"admin", "r\"&<"},
	}
	noRoles := newSession()
	noRoles.Subject = "user-2"
	noRoles.Roles = []string{}
	machine := newSession()
	machine.Claims.RequestedAt = now
	machine.ExpiresAt = map[fosite.TokenType]time.Time{fosite.AccessToken: now.Add(time.Hour)}
	machine.Subject = "client-1"

	for name, s := range map[string]*Session{"full": full, "client credentials": machine, "empty": newSession(), "no claims": {}, "roles granted, none held": noRoles} {
		t.Run(name, func(t *testing.T) {
			got, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceJSON(t, s); string(got) != string(want) {
				t.Errorf("stored form changed:\n got %s\nwant %s", got, want)
			}
			back := &Session{}
			if err := json.Unmarshal(got, back); err != nil {
				t.Fatal(err)
			}
			// Empty headers are left out and come back nil; the rest round-trips.
			if s.Headers != nil && len(s.Headers.Extra) == 0 {
				back.Headers = s.Headers
			}
			if !reflect.DeepEqual(back, s) {
				t.Errorf("round trip:\n got %#v\nwant %#v", back, s)
			}
		})
	}
}

func TestNilSessionJSON(t *testing.T) {
	var s *Session
	got, err := json.Marshal(s)
	if err != nil || string(got) != "null" {
		t.Fatalf("a nil session encodes as %s, %v", got, err)
	}
	if got, err := s.AppendJSON(nil); err != nil || string(got) != "null" {
		t.Fatalf("AppendJSON of a nil session: %s, %v", got, err)
	}
}

func BenchmarkSessionJSON(b *testing.B) {
	s := newSession()
	s.Claims.RequestedAt = time.Now().UTC()
	s.ExpiresAt = map[fosite.TokenType]time.Time{fosite.AccessToken: time.Now().UTC().Add(time.Hour)}
	s.Subject = "client-1"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendJSON(make([]byte, 0, 256)); err != nil {
			b.Fatal(err)
		}
	}
}
