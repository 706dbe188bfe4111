package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
)

// defaultEmailChangeTTL is how long an email change link works when the
// handler's options set none.
const defaultEmailChangeTTL = time.Hour

// errProfileField is a posted profile member the page refuses.
type errProfileField struct{ field, messageID string }

func (e *errProfileField) Error() string { return e.field + ": " + e.messageID }

// accountProfile shows the profile (GET) and saves it (POST) through
// accounts.UpdateCustomer, which records user.updated.
func (h *Handler) accountProfile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, user, ok := h.accountUser(w, r)
	if !ok {
		return
	}
	page := h.profilePage(r, user)
	if r.Method == http.MethodGet {
		h.renderSection(w, r, http.StatusOK, "account_profile", page)
		return
	}
	if !h.checkAccountCSRF(w, r) {
		return
	}
	f := r.PostForm
	posted := storage.User{
		Name: strings.TrimSpace(f.Get("name")), GivenName: strings.TrimSpace(f.Get("given_name")),
		FamilyName: strings.TrimSpace(f.Get("family_name")), Locale: f.Get("locale"),
		Picture: strings.TrimSpace(f.Get("picture")), PhoneNumber: strings.TrimSpace(f.Get("phone_number")),
	}
	page.Name, page.GivenName, page.FamilyName = posted.Name, posted.GivenName, posted.FamilyName
	page.Picture, page.PhoneNumber, page.Locale = posted.Picture, posted.PhoneNumber, posted.Locale
	page.Locales = h.localeOptions(posted.Locale)
	attrs, lang := h.opts.Accounts.Attributes(), h.language(w, r, "")
	postedAttrs := postedAttributes(f)
	page.Attributes = attributeFields(attrs, postedAttrs, lang, false, "")
	err := h.checkProfileForm(posted)
	if err == nil {
		// The profile and the attributes change together: one
		// transaction, one user.updated naming both.
		_, err = h.opts.Accounts.UpdateCustomer(accounts.Actor(ctx, user.ID), user.ID, func(u storage.User) (storage.User, error) {
			if u.PhoneNumber != posted.PhoneNumber {
				u.PhoneNumberVerified = false
			}
			u.Name, u.GivenName, u.FamilyName = posted.Name, posted.GivenName, posted.FamilyName
			u.Locale, u.Picture, u.PhoneNumber = posted.Locale, posted.Picture, posted.PhoneNumber
			values, _, err := attrs.Apply(u.Attributes, attributeChange(postedAttrs), attributes.EditorCustomer)
			if err != nil {
				return u, err
			}
			u.Attributes = values
			return u, identity.CheckProfile(u)
		})
	}
	var fe *errProfileField
	var ie *identity.InvalidError
	if id, data, attr, ok := attributeError(err, attrs, lang); ok {
		page.ErrorID, page.ErrorData, page.Field = id, data, attributeFieldPrefix+attr
		page.Attributes = attributeFields(attrs, postedAttrs, lang, false, attr)
		h.renderSection(w, r, http.StatusBadRequest, "account_profile", page)
		return
	}
	switch {
	case err == nil:
		h.redirectWith(w, r, h.URL(PathAccountProfile), noticeParam, "profile_saved")
	case errors.As(err, &fe):
		page.Field, page.ErrorID = fe.field, fe.messageID
		h.renderSection(w, r, http.StatusBadRequest, "account_profile", page)
	case errors.As(err, &ie):
		page.Field, page.ErrorID = ie.Field, "account.error.profile_invalid"
		h.renderSection(w, r, http.StatusBadRequest, "account_profile", page)
	default:
		h.serverError(w, r, "saving the profile", err)
	}
}

// profilePage is the profile page of the customer as stored.
func (h *Handler) profilePage(r *http.Request, u storage.User) AccountProfilePage {
	return AccountProfilePage{
		AccountSection: h.section(r),
		Action:         h.URL(PathAccountProfile), EmailAction: h.URL(PathAccountEmail),
		Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName, Locale: u.Locale,
		Picture: u.Picture, PhoneNumber: u.PhoneNumber, Email: u.Email, EmailVerified: u.EmailVerified,
		Locales:    h.localeOptions(u.Locale),
		Attributes: attributeFields(h.opts.Accounts.Attributes(), u.Attributes, h.opts.Bundle.Negotiate(r.URL.Query().Get("lang"), h.opts.Sessions.Language(r), r.Header.Get("Accept-Language")), false, ""),
	}
}

// localeOptions are the languages the profile may name.
func (h *Handler) localeOptions(selected string) []LocaleOption {
	var out []LocaleOption
	for _, l := range h.opts.Bundle.Languages() {
		out = append(out, LocaleOption{Tag: l.Tag, Name: l.Name, Selected: l.Tag == selected})
	}
	return out
}

// checkProfileForm refuses a language Gatehouse does not offer, a picture
// that is not an https URL, and a phone number that is not one.
func (h *Handler) checkProfileForm(u storage.User) error {
	if u.Locale != "" && !h.opts.Bundle.Supported(u.Locale) {
		return &errProfileField{"locale", "account.error.profile_invalid"}
	}
	if u.Picture != "" {
		p, err := url.Parse(u.Picture)
		if err != nil || p.Scheme != "https" || p.Host == "" || p.User != nil {
			return &errProfileField{"picture", "account.error.picture_https"}
		}
	}
	if u.PhoneNumber != "" && !validPhone(u.PhoneNumber) {
		return &errProfileField{"phone_number", "account.error.phone"}
	}
	return nil
}

// validPhone accepts a phone number as people type one: an optional
// leading +, then 4 to 20 digits with spaces, dots, dashes or brackets
// between.
func validPhone(s string) bool {
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits >= 4 && digits <= 20
}

// accountEmail starts a change of email (a recent sign-in needed): the
// link goes to the new address; the address changes when it is opened.
func (h *Handler) accountEmail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, ok := h.freshAccountChange(w, r)
	if !ok {
		return
	}
	user, err := h.opts.Store.GetUser(ctx, bs.UserID)
	if err != nil {
		h.serverError(w, r, "reading customer", err)
		return
	}
	ttl := h.opts.EmailChangeTTL
	if ttl <= 0 {
		ttl = defaultEmailChangeTTL
	}
	newEmail := strings.TrimSpace(r.PostForm.Get("email"))
	err = h.opts.Accounts.RequestEmailChange(accounts.Actor(ctx, user.ID), accounts.EmailChangeRequest{
		UserID: user.ID, NewEmail: newEmail, TTL: ttl, Language: h.language(w, r, ""),
		Link: func(token string) string {
			return strings.TrimSuffix(h.opts.Issuer, "/") + PathAccountEmailConfirm + "?" + url.Values{"token": {token}}.Encode()
		},
	})
	page := h.profilePage(r, user)
	page.NoticeID, page.ErrorID, page.Field = "", "", "email"
	var ie *identity.InvalidError
	switch {
	case err == nil:
		h.redirectWith(w, r, h.URL(PathAccountProfile), noticeParam, "email_sent")
	case errors.Is(err, accounts.ErrSameEmail):
		page.ErrorID = "account.error.email_same"
		h.renderSection(w, r, http.StatusBadRequest, "account_profile", page)
	case errors.As(err, &ie) && errors.Is(err, identity.ErrEmailTaken):
		page.ErrorID = "account.error.email_taken"
		h.renderSection(w, r, http.StatusConflict, "account_profile", page)
	case errors.As(err, &ie):
		page.ErrorID = "account.error.email_invalid"
		h.renderSection(w, r, http.StatusBadRequest, "account_profile", page)
	default:
		h.serverError(w, r, "starting an email change", err)
	}
}

// accountEmailConfirm is the link mailed to the new address. A GET only
// asks to confirm (mail scanners open links); the POST spends the token.
// No session is needed: the token proves the address, and the change was
// asked with a recent sign-in.
func (h *Handler) accountEmailConfirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	lang := h.language(w, r, "")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := r.Form.Get("token")
	if r.Method == http.MethodGet {
		csrf := h.opts.Sessions.CSRFToken(w, r, accountCSRFPurpose)
		h.render(w, r, http.StatusOK, "account_message", lang, csrf, AccountMessagePage{
			TitleID: "account.email_confirm.title", MessageID: "account.email_confirm.ask",
			Action: h.URL(PathAccountEmailConfirm), Token: token, ButtonID: "account.email_confirm.submit",
		})
		return
	}
	if !h.checkAccountCSRF(w, r) {
		return
	}
	_, err := h.opts.Accounts.ConfirmEmailChange(ctx, r.PostForm.Get("token"))
	page := AccountMessagePage{TitleID: "account.email_confirm.title", ContinueURL: h.URL(PathAccount)}
	status := http.StatusOK
	switch {
	case err == nil:
		page.MessageID = "account.email_confirm.done"
	case errors.Is(err, accounts.ErrLinkInvalid):
		page.MessageID, page.Error, status = "account.email_confirm.invalid", true, http.StatusBadRequest
	case errors.Is(err, identity.ErrEmailTaken):
		page.MessageID, page.Error, status = "account.error.email_taken", true, http.StatusConflict
	default:
		h.serverError(w, r, "confirming an email change", err)
		return
	}
	h.render(w, r, status, "account_message", lang, "", page)
}
