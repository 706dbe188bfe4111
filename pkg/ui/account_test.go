package ui_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/gatehouse-id/gatehouse/pkg/ui"
)

// federationPages are the pages of federated sign-in and the account page,
// filled the ways they are shown.
func federationPages() []pageCase {
	providers := []ui.ProviderButton{{ID: "google", Name: "Google"}, {ID: "facebook", Name: "Facebook"}, {ID: "oidc", Name: "Acme SSO"}}
	return []pageCase{
		{"login with providers", "login", http.StatusOK, ui.LoginPage{
			Action: "/login", AuthRequestID: "ar_1", ClientName: "Acme Travel",
			ProvidersAction: "/login/federated", Providers: providers,
		}},
		{"login confirming a link", "login", http.StatusOK, ui.LoginPage{
			Action: "/login", AuthRequestID: "ar_1", ClientName: "Acme Travel", Email: "ana@example.com",
			ProvidersAction: "/login/federated", Providers: providers[:1],
			Link: &ui.LinkPrompt{Token: "tok", Provider: "Facebook", Email: "ana@example.com"},
		}},
		{"login after a cancel", "login", http.StatusOK, ui.LoginPage{
			Action: "/login", AuthRequestID: "ar_1", ErrorID: "login.federation.cancelled", ProvidersAction: "/login/federated", Providers: providers,
		}},
		{"login after a provider failed", "login", http.StatusOK, ui.LoginPage{Action: "/login", ErrorID: "login.federation.failed"}},
		{"login after a conflict", "login", http.StatusOK, ui.LoginPage{Action: "/login", ErrorID: "login.federation.conflict"}},
		{"login with an expired link", "login", http.StatusOK, ui.LoginPage{Action: "/account/login", ErrorID: "login.link.expired"}},
		{"account", "account", http.StatusOK, ui.AccountPage{
			Name: "Ana Souza", Email: "ana@example.com", HasPassword: true,
			Identities: []ui.AccountIdentity{
				{Provider: "google", Name: "Google", Email: "ana@gmail.example", CanUnlink: true},
				{Provider: "oidc", Name: "Acme SSO", CanUnlink: true},
			},
			Available: providers[1:2], LinkAction: "/account/link", UnlinkAction: "/account/unlink",
			NoticeID: "account.notice.linked",
		}},
		{"account with its last way to sign in", "account", http.StatusOK, ui.AccountPage{
			Email: "ana@example.com", LastMethod: true, ErrorID: "account.error.last_method",
			Identities: []ui.AccountIdentity{{Provider: "google", Name: "Google", Email: "ana@gmail.example"}},
			Available:  providers[1:], LinkAction: "/account/link", UnlinkAction: "/account/unlink",
		}},
		{"account notices", "account", http.StatusOK, ui.AccountPage{Name: "Ana", NoticeID: "account.notice.unlinked"}},
		{"account errors: cancelled", "account", http.StatusOK, ui.AccountPage{ErrorID: "account.error.link_cancelled"}},
		{"account errors: failed", "account", http.StatusOK, ui.AccountPage{ErrorID: "account.error.link_failed"}},
		{"account errors: conflict", "account", http.StatusOK, ui.AccountPage{ErrorID: "account.error.link_conflict"}},
		{"error: federation state", "error", http.StatusBadRequest, ui.ErrorPage{TitleID: "error.title", MessageID: "error.federation_state"}},
	}
}

func TestRenderFederationPagesInEveryLanguage(t *testing.T) {
	r, b := newRenderer(t)
	ids := englishIDs(t)
	current, err := url.Parse("/account")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range b.Languages() {
		for _, pc := range federationPages() {
			t.Run(l.Tag+"/"+pc.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				v := ui.View{Lang: l.Tag, Languages: r.LanguageLinks(current, l.Tag), CSRF: csrf, RequestID: "req-1", Page: pc.data}
				if err := r.Render(rec, pc.status, pc.page, v); err != nil {
					t.Fatalf("Render: %v", err)
				}
				checkHeaders(t, rec.Header())
				body := rec.Body.String()
				for _, id := range ids {
					if strings.Contains(body, id) {
						t.Errorf("message ID %q leaks into the page", id)
					}
				}
				for _, bad := range []string{"<no value>", "%!", "{{"} {
					if strings.Contains(body, bad) {
						t.Errorf("page contains %q", bad)
					}
				}
				doc, err := html.Parse(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				checkDocument(t, doc, l.Tag, len(b.Languages()))
			})
		}
	}
}

func TestLoginProviderButtons(t *testing.T) {
	r, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	page := federationPages()[1].data // confirming a link
	if err := r.Render(rec, http.StatusOK, "login", ui.View{Lang: "en", CSRF: csrf, Page: page}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	forms := find(doc, "form")
	if len(forms) != 2 {
		t.Fatalf("%d forms, want the password form and the providers' form", len(forms))
	}
	for i, f := range forms {
		fields := map[string]string{}
		for _, in := range find(f, "input") {
			fields[attr(in, "name")] = attr(in, "value")
		}
		if fields["link"] != "tok" || fields["auth"] != "ar_1" {
			t.Errorf("form %d does not carry the link and the request: %v", i, fields)
		}
	}
	if attr(forms[1], "action") != "/login/federated" {
		t.Errorf("providers' form posts to %q", attr(forms[1], "action"))
	}
	buttons := find(forms[1], "button")
	if len(buttons) != 1 || attr(buttons[0], "name") != "provider" || attr(buttons[0], "value") != "google" ||
		strings.TrimSpace(text(buttons[0])) != "Continue with Google" {
		t.Errorf("provider buttons %v", buttons)
	}
	main := text(find(doc, "main")[0])
	if !strings.Contains(main, "You already have an account with ana@example.com. To link your Facebook account to it") {
		t.Errorf("no link explanation in %q", main)
	}
}

func TestAccountPageForms(t *testing.T) {
	r, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	if err := r.Render(rec, http.StatusOK, "account", ui.View{Lang: "en", CSRF: csrf, Page: federationPages()[7].data}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range find(doc, "form") {
		if attr(f, "action") == "/account/unlink" {
			t.Fatal("the last way to sign in has an unlink form")
		}
	}
	main := text(find(doc, "main")[0])
	for _, want := range []string{"Google account", "ana@gmail.example", "You can’t unlink your only way to sign in. Link another account first.", "Link your Facebook account", "Link your Acme SSO account"} {
		if !strings.Contains(main, want) {
			t.Errorf("the page lacks %q: %q", want, main)
		}
	}
	if len(find(doc, "[role=alert]")) != 1 {
		t.Error("the error is not an alert")
	}
}
