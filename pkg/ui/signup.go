package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/selfservice"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/storage"
)

// signUp shows the sign-up form (GET) and creates the account (POST).
// Whether the email was free or taken, the answer is the "check your
// inbox" page; only the mail differs.
func (h *Handler) signUp(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.checkSelfServiceForm(w, r) {
		return
	}
	authID, clientName, lang := h.optionalRequest(w, r, r.Form.Get("auth"))
	set := h.opts.SelfServiceSettings
	page := SignUpPage{
		Action: h.URL(PathSignUp), AuthRequestID: authID, ClientName: clientName,
		NameRequired: set.NameRequired, TermsURL: set.TermsURL, SignInURL: h.signInURL(authID),
	}
	attrs := h.opts.Accounts.Attributes()
	page.Attributes = attributeFields(attrs, nil, lang, true, "")
	csrf := h.opts.Sessions.CSRFToken(w, r, selfServiceCSRFPurpose)
	actions := h.appActions(ctx, authID)
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "signup", lang, csrf, page, actions...)
		return
	}
	page.Email, page.Name = strings.TrimSpace(r.PostForm.Get("email")), strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	posted := postedAttributes(r.PostForm)
	page.Attributes = attributeFields(attrs, posted, lang, true, "")
	status := http.StatusBadRequest
	switch {
	case page.Email == "" || password == "" || (set.NameRequired && page.Name == ""):
		page.ErrorID = "signup.error.required"
	case set.TermsURL != "" && r.PostForm.Get("terms") != "accepted":
		page.ErrorID = "signup.error.terms"
	}
	if page.ErrorID == "" {
		err := h.opts.SelfService.Take(ctx, selfservice.SignUpIP, clientip.String(ctx))
		var userID string
		if err == nil {
			userID, err = h.opts.SelfService.SignUp(ctx, selfservice.SignUp{
				Email: page.Email, Password: password, Name: page.Name, Language: lang, AuthRequestID: authID,
				Attributes: posted,
			})
		}
		if id, data, attr, ok := attributeError(err, attrs, lang); ok {
			page.ErrorID, page.ErrorData = id, data
			page.Attributes = attributeFields(attrs, posted, lang, true, attr)
		} else if s, ok := h.selfServiceError(w, err, &page.ErrorID, &page.ErrorData); ok {
			status = s
		} else if err != nil {
			h.serverError(w, r, "signing up", err)
			return
		} else {
			st := selfservice.State{UserID: userID, Email: strings.ToLower(page.Email), AuthRequestID: authID}
			h.showCheckEmail(w, r, lang, CheckEmailPage{State: h.opts.SelfService.SealState(st, h.opts.Sessions.Device(w, r)), Email: st.Email}, actions)
			return
		}
	}
	h.render(w, r, status, "signup", lang, csrf, page, actions...)
}

// showCheckEmail renders the "check your inbox" page.
func (h *Handler) showCheckEmail(w http.ResponseWriter, r *http.Request, lang string, page CheckEmailPage, actions []string) {
	h.showCheckEmailStatus(w, r, http.StatusOK, lang, page, actions)
}

func (h *Handler) showCheckEmailStatus(w http.ResponseWriter, r *http.Request, status int, lang string, page CheckEmailPage, actions []string) {
	page.CodeAction, page.ResendAction = h.URL(PathSignUpCode), h.URL(PathSignUpResend)
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "check_email", lang, h.opts.Sessions.CSRFToken(w, r, selfServiceCSRFPurpose), page, actions...)
}

// mustVerifyFirst says a customer whose email is not confirmed may not
// sign in yet (unverified_sign_in off).
func (h *Handler) mustVerifyFirst(u storage.User) bool {
	return h.opts.SelfService != nil && !h.opts.SelfServiceSettings.UnverifiedSignIn && !u.EmailVerified && u.Email != ""
}

// verifiedFirst lets a verified first factor on to the pipeline unless
// the customer must confirm their email first (unverified_sign_in off):
// then it answers the "check your inbox" page and reports false. Every
// first factor passes it — a password on an app's or the account's
// sign-in page, a passkey, a mailed code, a provider — so none is a way
// around the setting. It reads the customer into in.User when only the
// ID is known; a read that fails is answered too.
func (h *Handler) verifiedFirst(w http.ResponseWriter, r *http.Request, in *signin.FirstFactor, lang string, actions []string) bool {
	if h.opts.SelfService == nil || h.opts.SelfServiceSettings.UnverifiedSignIn {
		return true
	}
	if in.User == nil {
		u, err := h.opts.Store.GetUser(r.Context(), in.UserID)
		if err != nil {
			h.goNext(w, r, signin.Next{}, err)
			return false
		}
		in.User = &u
	}
	if !h.mustVerifyFirst(*in.User) {
		return true
	}
	h.askVerification(w, r, *in.User, in.AuthRequestID, lang, actions)
	return false
}

// askVerification answers a sign-in that waits for the email to be
// confirmed: the "check your inbox" page, whose code signs the customer
// in, and whose button sends a new mail.
func (h *Handler) askVerification(w http.ResponseWriter, r *http.Request, u storage.User, authID, lang string, actions []string) {
	st := selfservice.State{UserID: u.ID, Email: u.Email, AuthRequestID: authID}
	h.showCheckEmailStatus(w, r, http.StatusForbidden, lang, CheckEmailPage{
		State: h.opts.SelfService.SealState(st, h.opts.Sessions.Device(w, r)), Email: u.Email, Unverified: true,
	}, actions)
}

// signUpState opens the posted state of a "check your inbox" page.
func (h *Handler) signUpState(w http.ResponseWriter, r *http.Request) (selfservice.State, bool) {
	st, err := h.opts.SelfService.OpenState(r.PostForm.Get("state"), h.opts.Sessions.Device(w, r))
	if err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.expired_request")
		return st, false
	}
	return st, true
}

// signUpCode checks the code of the verification mail: the email is
// confirmed and the customer signed in through the pipeline (they chose
// their password in this very browser), then sent back to the app.
func (h *Handler) signUpCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.checkSelfServiceForm(w, r) {
		return
	}
	st, ok := h.signUpState(w, r)
	if !ok {
		return
	}
	authID, _, lang := h.optionalRequest(w, r, st.AuthRequestID)
	actions := h.appActions(ctx, authID)
	v, err := h.opts.SelfService.VerifySignUpCode(ctx, st, strings.TrimSpace(r.PostForm.Get("code")))
	page := CheckEmailPage{State: r.PostForm.Get("state"), Email: st.Email}
	if status, ok := h.selfServiceError(w, err, &page.ErrorID, &page.ErrorData); ok {
		h.showCheckEmailStatus(w, r, status, lang, page, actions)
		return
	}
	if errors.Is(err, selfservice.ErrInvalidToken) {
		h.Error(w, r, http.StatusBadRequest, "error.expired_request")
		return
	}
	if err != nil {
		h.serverError(w, r, "verifying an email by code", err)
		return
	}
	next, err := h.opts.SignIn.FirstFactor(ctx, h.browser(w, r), signin.FirstFactor{
		User: &v.User, Method: signin.Password, AuthRequestID: authID,
	})
	h.goNext(w, r, next, err)
}

// signUpResend sends a new verification mail; the page says so whatever
// the state holds.
func (h *Handler) signUpResend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.checkSelfServiceForm(w, r) {
		return
	}
	st, ok := h.signUpState(w, r)
	if !ok {
		return
	}
	authID, _, lang := h.optionalRequest(w, r, st.AuthRequestID)
	page := CheckEmailPage{State: r.PostForm.Get("state"), Email: st.Email, Resent: true}
	actions := h.appActions(ctx, authID)
	err := h.takeMailRequest(ctx)
	if err == nil && st.UserID != "" {
		err = h.opts.SelfService.ResendVerification(ctx, st.UserID, authID, lang)
	}
	if status, ok := h.selfServiceError(w, err, &page.ErrorID, &page.ErrorData); ok {
		page.Resent = false
		h.showCheckEmailStatus(w, r, status, lang, page, actions)
		return
	}
	if err != nil {
		h.serverError(w, r, "resending a verification mail", err)
		return
	}
	h.showCheckEmail(w, r, lang, page, actions)
}
