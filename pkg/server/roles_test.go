package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// claimRoles returns the roles claim of a claim set, and whether it has
// one.
func claimRoles(t *testing.T, claims map[string]any) ([]string, bool) {
	t.Helper()
	raw, ok := claims["roles"]
	if !ok {
		return nil, false
	}
	list, ok := raw.([]any)
	if !ok {
		t.Fatalf("roles is not an array: %#v", raw)
	}
	out := []string{}
	for _, v := range list {
		out = append(out, v.(string))
	}
	return out, true
}

// rolesOf reads the roles claim of a token's ID token, userinfo answer
// and introspection (as its own client), which must agree.
func rolesOf(t *testing.T, rp *relyingParty, tok *oauth2.Token) ([]string, bool) {
	t.Helper()
	ctx := context.Background()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var idClaims map[string]any
	if err := idt.Claims(&idClaims); err != nil {
		t.Fatal(err)
	}
	info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var infoClaims map[string]any
	if err := info.Claims(&infoClaims); err != nil {
		t.Fatal(err)
	}
	_, introspected := postForm(t, rp.s.URL+"/oauth2/introspect", rp.reg.Client.ID, rp.reg.Secret, url.Values{"token": {tok.AccessToken}})
	fromID, inID := claimRoles(t, idClaims)
	fromInfo, inInfo := claimRoles(t, infoClaims)
	fromIntro, inIntro := claimRoles(t, introspected)
	if inID != inInfo || inID != inIntro || !slices.Equal(fromID, fromInfo) || !slices.Equal(fromID, fromIntro) {
		t.Fatalf("the roles disagree: ID token %v (%v), userinfo %v (%v), introspection %v (%v)", fromID, inID, fromInfo, inInfo, fromIntro, inIntro)
	}
	return fromID, inID
}

// refresh trades the refresh token for new tokens.
func refresh(rp *relyingParty, tok *oauth2.Token) (*oauth2.Token, error) {
	stale := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	return rp.oauth.TokenSource(context.Background(), stale).Token()
}

func TestRolesClaimAndDisabling(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		s := startServer(t, db.URL)
		acct := s.Services().Accounts
		bc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer bc.Close()
		specA := webClient(true)
		specA.BackchannelLogoutURI = bc.URL
		rpA := newRelyingParty(t, s, specA)
		rpB := newRelyingParty(t, s, webClient(true))
		for _, rp := range []*relyingParty{rpA, rpB} {
			rp.oauth.Scopes = append(rp.oauth.Scopes, "roles")
		}

		mustRole := func(name, clientID string, isDefault bool) storage.Role {
			t.Helper()
			r, err := acct.CreateRole(ctx, accounts.NewRole{Name: name, ClientID: clientID, Default: isDefault})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		mustRole("member", "", true)
		staff := mustRole("staff", "", false)
		editor := mustRole("editor", rpA.reg.Client.ID, false)
		viewer := mustRole("viewer", rpB.reg.Client.ID, false)
		alice, err := acct.CreateCustomer(ctx, identity.NewUser{Email: "alice@example.com", Password: alicePassword, Name: "Alice", EmailVerified: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []storage.Role{staff, editor, viewer} {
			if err := acct.AssignRole(ctx, alice.ID, r.ID); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("a client role may not take a global role's name", func(t *testing.T) {
			if _, err := acct.CreateRole(ctx, accounts.NewRole{Name: "staff", ClientID: rpB.reg.Client.ID}); !errors.Is(err, storage.ErrAlreadyExists) {
				t.Fatalf("err = %v", err)
			}
		})

		var tokA *oauth2.Token
		t.Run("each client's token carries the global roles and its own, never another client's", func(t *testing.T) {
			f := newFlow()
			tokA, _ = rpA.exchange(f, rpA.signIn(f).Get("code"))
			if got, ok := rolesOf(t, rpA, tokA); !ok || !slices.Equal(got, []string{"editor", "member", "staff"}) {
				t.Errorf("client A sees %v (%v)", got, ok)
			}
			g := newFlow()
			tokB, _ := rpB.exchange(g, rpB.signIn(g).Get("code"))
			if got, ok := rolesOf(t, rpB, tokB); !ok || !slices.Equal(got, []string{"member", "staff", "viewer"}) {
				t.Errorf("client B sees %v (%v)", got, ok)
			}
		})

		t.Run("without the scope roles no answer carries the claim", func(t *testing.T) {
			plain := *rpA
			plain.oauth.Scopes = slices.DeleteFunc(slices.Clone(rpA.oauth.Scopes), func(s string) bool { return s == "roles" })
			f := newFlow()
			tok, _ := plain.exchange(f, plain.signIn(f).Get("code"))
			if got, ok := rolesOf(t, &plain, tok); ok {
				t.Errorf("roles without the scope: %v", got)
			}
		})

		t.Run("a role taken away is gone from the next token, not from the issued one", func(t *testing.T) {
			if err := acct.UnassignRole(ctx, alice.ID, editor.ID); err != nil {
				t.Fatal(err)
			}
			_, old := postForm(t, s.URL+"/oauth2/introspect", rpA.reg.Client.ID, rpA.reg.Secret, url.Values{"token": {tokA.AccessToken}})
			if got, _ := claimRoles(t, old); !slices.Contains(got, "editor") {
				t.Errorf("the issued token lost the role: %v", got)
			}
			next, err := refresh(rpA, tokA)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := rolesOf(t, rpA, next); !ok || !slices.Equal(got, []string{"member", "staff"}) {
				t.Errorf("after the refresh: %v (%v)", got, ok)
			}
			tokA = next
		})

		t.Run("disabling refuses sign-in neutrally, ends sessions, revokes tokens; enabling restores", func(t *testing.T) {
			before := len(queuedLogouts(t, s))
			if _, err := acct.DisableCustomer(ctx, alice.ID); err != nil {
				t.Fatal(err)
			}
			if ss, _ := s.Store().ListSessionsByUser(ctx, alice.ID); len(ss) != 0 {
				t.Errorf("sessions left: %d", len(ss))
			}
			logouts := queuedLogouts(t, s)
			if len(logouts) != before+1 || logouts[len(logouts)-1].Get("client_id") != rpA.reg.Client.ID {
				t.Errorf("back-channel logouts: %v", logouts)
			}
			if active(t, s, rpA, tokA.AccessToken) || active(t, s, rpA, tokA.RefreshToken) {
				t.Error("a disabled customer's token is active")
			}
			var re *oauth2.RetrieveError
			if _, err := refresh(rpA, tokA); !asRetrieveError(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Errorf("refresh: %v", err)
			}

			page := rpA.login(rpA.start(newFlow()), "alice@example.com", alicePassword)
			if page.Status != http.StatusUnauthorized || !strings.Contains(page.Body, "Incorrect email or password") {
				t.Errorf("the right password of a disabled customer: %d %.400s", page.Status, page.Body)
			}
			wrong := rpA.login(rpA.start(newFlow()), "alice@example.com", "a wrong password entirely")
			if wrong.Status != page.Status || errorText(wrong.Body) != errorText(page.Body) {
				t.Errorf("the answers differ: %d %q and %d %q", page.Status, errorText(page.Body), wrong.Status, errorText(wrong.Body))
			}
			failed, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserLoginFailed, Subject: alice.ID}, storage.Page{})
			if len(failed) == 0 || !strings.Contains(string(failed[0].Data), `"disabled"`) {
				t.Errorf("user.login.failed: %+v", failed)
			}
			if evs, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserDisabled, Subject: alice.ID}, storage.Page{}); len(evs) != 1 {
				t.Errorf("user.disabled: %+v", evs)
			}

			if _, err := acct.EnableCustomer(ctx, alice.ID); err != nil {
				t.Fatal(err)
			}
			f := newFlow()
			tok, _ := rpA.exchange(f, rpA.signIn(f).Get("code"))
			if !active(t, s, rpA, tok.AccessToken) {
				t.Error("the enabled customer's new token is not active")
			}
			if evs, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserEnabled, Subject: alice.ID}, storage.Page{}); len(evs) != 1 {
				t.Errorf("user.enabled: %+v", evs)
			}
		})
	})
}
