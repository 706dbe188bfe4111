package clients

import (
	"errors"
	"testing"
)

// Every way of registering a client (registration, admin API, command line)
// goes through build, so these rules hold for all three.
func TestClientRules(t *testing.T) {
	refuseInternal := func(raw string) error {
		if raw == "https://10.0.0.1/jwks" {
			return errors.New("refused: private address")
		}
		return nil
	}
	s := NewService(nil, nil, Options{ReservedScopes: []string{"billing:admin"}, CheckFetchedURL: refuseInternal})
	web := func(mod func(*Spec)) Spec {
		sp := Spec{Name: "web", RedirectURIs: []string{"https://app.example/cb"}}
		mod(&sp)
		return sp
	}
	for _, tc := range []struct {
		name  string
		spec  Spec
		field string // "" when accepted
	}{
		{"a web client with an https redirect", web(func(*Spec) {}), ""},
		{"an unknown application_type", web(func(s *Spec) { s.ApplicationType = "desktop" }), "application_type"},
		{"a native client with an https redirect", web(func(s *Spec) { s.ApplicationType = "native" }), "redirect_uri"},
		{"a native client on a loopback address", web(func(s *Spec) {
			s.ApplicationType, s.Public, s.RedirectURIs = "native", true, []string{"http://127.0.0.1/cb"}
		}), ""},
		{"a native client with a private-use scheme", web(func(s *Spec) {
			s.ApplicationType, s.Public, s.RedirectURIs = "native", true, []string{"com.example.app:/cb"}
		}), ""},
		{"a web client of the implicit grant on http localhost", web(func(s *Spec) {
			s.GrantTypes, s.RedirectURIs = []string{GrantImplicit}, []string{"http://localhost/cb"}
		}), "redirect_uri"},
		{"http on a public host", web(func(s *Spec) { s.RedirectURIs = []string{"http://app.example/cb"} }), "redirect_uri"},
		{"jwks and jwks_uri together", web(func(s *Spec) {
			s.TokenEndpointAuthMethod, s.JWKS, s.JWKSURI = "private_key_jwt", []byte(`{"keys":[]}`), "https://app.example/jwks"
		}), "jwks"},
		{"a jwks_uri the outbound rules refuse", web(func(s *Spec) {
			s.TokenEndpointAuthMethod, s.JWKSURI = "private_key_jwt", "https://10.0.0.1/jwks"
		}), "jwks_uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.build(tc.spec)
			var ie *InvalidError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && !errors.As(err, &ie):
				t.Fatalf("accepted, want a refusal of %s (err %v)", tc.field, err)
			case tc.field != "" && ie.Field != tc.field:
				t.Fatalf("refused %s (%v), want %s", ie.Field, err, tc.field)
			}
		})
	}
}

func TestAdminSpecGetsTheAdminScopeAndGrant(t *testing.T) {
	s := NewService(nil, nil, Options{})
	c, err := s.build(Spec{Name: "ops", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Admin || len(c.GrantTypes) != 1 || c.GrantTypes[0] != GrantClientCredentials || len(c.Scopes) != 1 || c.Scopes[0] != AdminScope {
		t.Fatalf("admin client = %+v", c)
	}
}

// The URLs the pages show or link must be https, unless the development
// switch is on.
func TestPageURLsMustUseHTTPS(t *testing.T) {
	strict := NewService(nil, nil, Options{})
	dev := NewService(nil, nil, Options{AllowHTTPPageURLs: true})
	for field, set := range map[string]func(*Spec, string){
		"logo_uri":   func(s *Spec, u string) { s.LogoURI = u },
		"client_uri": func(s *Spec, u string) { s.ClientURI = u },
		"policy_uri": func(s *Spec, u string) { s.PolicyURI = u },
		"tos_uri":    func(s *Spec, u string) { s.TOSURI = u },
	} {
		t.Run(field, func(t *testing.T) {
			spec := Spec{Name: "web", RedirectURIs: []string{"https://app.example/cb"}}
			set(&spec, "https://app.example/x")
			if _, err := strict.build(spec); err != nil {
				t.Fatalf("https refused: %v", err)
			}
			set(&spec, "http://localhost:3000/x")
			var ie *InvalidError
			if _, err := strict.build(spec); !errors.As(err, &ie) || ie.Field != field {
				t.Fatalf("http accepted without the development switch: %v", err)
			}
			if _, err := dev.build(spec); err != nil {
				t.Fatalf("http refused under the development switch: %v", err)
			}
		})
	}
}
