package server_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestSignUpAsksRequiredAttributes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, declareAttributes)
		b := browser.New(s.URL)
		b.Header.Set("Accept-Language", "de")
		form, err := b.Get(s.URL + "/signup")
		if err != nil {
			t.Fatal(err)
		}
		body := html.UnescapeString(form.Body)
		if !strings.Contains(body, `name="attr.shoe_size"`) || !strings.Contains(body, "Schuhgröße") {
			t.Fatalf("the sign-up form lacks the required attribute, labelled in German: %.2000s", form.Body)
		}
		if strings.Contains(body, `name="attr.loyalty_tier"`) || strings.Contains(body, `name="attr.internal_note"`) {
			t.Fatal("the sign-up form shows an operator-only attribute")
		}

		t.Run("missing: a localized error and no customer", func(t *testing.T) {
			page := submit(t, b, form, "password", url.Values{"email": {"nina@example.com"}, "password": {ninaPassword}}, "")
			if page.Status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(page.Body), "Bitte füllen Sie „Schuhgröße“ aus.") {
				t.Fatalf("sign-up without the required attribute: %d %.2000s", page.Status, page.Body)
			}
			if _, err := s.Store().GetUserByEmail(context.Background(), "nina@example.com"); err == nil {
				t.Fatal("a customer was created without a required attribute")
			}
		})

		t.Run("invalid: a localized error", func(t *testing.T) {
			page := submit(t, b, form, "password", url.Values{"email": {"nina@example.com"}, "password": {ninaPassword}, "attr.shoe_size": {"large"}}, "")
			if page.Status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(page.Body), "Der Wert für „Schuhgröße“ ist ungültig.") {
				t.Fatalf("sign-up with an invalid attribute: %d %.2000s", page.Status, page.Body)
			}
		})

		t.Run("a forged operator-only attribute is refused", func(t *testing.T) {
			page := submit(t, b, form, "password", url.Values{"email": {"nina@example.com"}, "password": {ninaPassword},
				"attr.shoe_size": {"38"}, "attr.loyalty_tier": {"gold"}}, "")
			if page.Status != http.StatusBadRequest {
				t.Fatalf("sign-up with a forged attribute: %d", page.Status)
			}
		})

		t.Run("given: stored in its stored form", func(t *testing.T) {
			page := submit(t, b, form, "password", url.Values{"email": {"nina@example.com"}, "password": {ninaPassword}, "attr.shoe_size": {" 38.0 "}}, "")
			if page.Status != http.StatusOK {
				t.Fatalf("sign-up: %d %.1500s", page.Status, page.Body)
			}
			s.nextMail(t, "nina@example.com")
			u, err := s.Store().GetUserByEmail(context.Background(), "nina@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Attributes) != 1 || u.Attributes["shoe_size"] != "38" {
				t.Fatalf("attributes = %v", u.Attributes)
			}
			evs, err := s.Store().ListEvents(context.Background(), storage.EventFilter{Subject: u.ID, Type: events.UserCreated}, storage.Page{})
			if err != nil || len(evs) != 1 {
				t.Fatalf("user.created events = %v, %v", evs, err)
			}
			var data events.UserCreatedData
			if err := json.Unmarshal(evs[0].Data, &data); err != nil || !slices.Equal(data.Attributes, []string{"shoe_size"}) || strings.Contains(string(evs[0].Data), "38") {
				t.Fatalf("user.created data = %s (want the attribute's name, not its value)", evs[0].Data)
			}
		})
	})
}

func TestAccountPageEditsCustomerAttributes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, func(c *config.Config) {
			declareAttributes(c)
			c.Attributes = append(c.Attributes, attributes.Declaration{Name: "newsletter", Type: attributes.TypeBoolean, EditableBy: attributes.EditorCustomer,
				Label: map[string]string{"en": "Newsletter", "fr": "Lettre d’information"}})
		})
		ctx := context.Background()
		alice := createAlice(t, s)
		if _, err := s.Services().Accounts.SetAttributes(ctx, alice, attributes.Change{"loyalty_tier": "silver"}, attributes.EditorOperator); err != nil {
			t.Fatal(err)
		}
		b := browser.New(s.URL)
		b.Header.Set("Accept-Language", "fr")
		signInToAccount(t, b, s, "alice@example.com", alicePassword)

		page, err := b.Get(s.URL + "/account/profile")
		if err != nil {
			t.Fatal(err)
		}
		body := html.UnescapeString(page.Body)
		if !strings.Contains(body, "Pointure") || !strings.Contains(body, "Lettre d’information") || strings.Contains(body, `name="attr.loyalty_tier"`) {
			t.Fatalf("profile page fields: %.3000s", page.Body)
		}

		t.Run("a customer-editable attribute is saved with the profile", func(t *testing.T) {
			page := submitOn(t, b, s, "/account/profile", "/account/profile", url.Values{"attr.shoe_size": {"41"}, "attr.newsletter": {"true"}})
			if page.Status != http.StatusOK && page.Status != http.StatusSeeOther {
				t.Fatalf("saving: %d %.1500s", page.Status, page.Body)
			}
			u, err := s.Store().GetUser(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			if u.Attributes["shoe_size"] != "41" || u.Attributes["newsletter"] != "true" || u.Attributes["loyalty_tier"] != "silver" {
				t.Fatalf("attributes = %v", u.Attributes)
			}
		})

		t.Run("an operator-only attribute is refused and nothing changes", func(t *testing.T) {
			page := submitOn(t, b, s, "/account/profile", "/account/profile", url.Values{"attr.shoe_size": {"42"}, "attr.loyalty_tier": {"gold"}})
			if page.Status != http.StatusBadRequest {
				t.Fatalf("a forged operator-only attribute: %d %.1500s", page.Status, page.Body)
			}
			u, err := s.Store().GetUser(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			if u.Attributes["loyalty_tier"] != "silver" || u.Attributes["shoe_size"] != "41" {
				t.Fatalf("a refused change changed %v", u.Attributes)
			}
		})

		t.Run("an invalid value shows the localized error", func(t *testing.T) {
			page := submitOn(t, b, s, "/account/profile", "/account/profile", url.Values{"attr.shoe_size": {"grande"}})
			if page.Status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(page.Body), "La valeur de « Pointure » n’est pas valide.") {
				t.Fatalf("an invalid value: %d %.2000s", page.Status, page.Body)
			}
		})

		t.Run("clearing removes the value", func(t *testing.T) {
			submitOn(t, b, s, "/account/profile", "/account/profile", url.Values{"attr.newsletter": {""}})
			u, err := s.Store().GetUser(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := u.Attributes["newsletter"]; ok {
				t.Fatalf("newsletter still set: %v", u.Attributes)
			}
		})
	})
}
