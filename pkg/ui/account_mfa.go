package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Paths of the account page's second factors, relative to the issuer.
const (
	// PathAccountMFA enrols an authenticator app (GET shows the key, POST
	// confirms the first code); PathAccountMFAQR draws its QR code.
	PathAccountMFA   = "/account/mfa"
	PathAccountMFAQR = "/account/mfa/qr"
	// PathAccountMFARemove and PathAccountRecovery take the forms that
	// turn second factors off and make new recovery codes (POST); both
	// need a recent sign-in.
	PathAccountMFARemove = "/account/mfa/remove"
	PathAccountRecovery  = "/account/mfa/recovery"
)

// reauthParam asks the account's sign-in page for a fresh sign-in even
// with a session.
const reauthParam = "reauth"

// registerMFA mounts the second-factor pages.
func (h *Handler) registerMFA(r *mux.Router) {
	if h.opts.SignIn == nil || h.opts.MFA == nil {
		return
	}
	b := h.opts.BasePath
	r.HandleFunc(b+PathMFA, h.mfaSignIn).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathMFAEnrol, h.mfaEnrol).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathMFAEnrolQR, h.mfaEnrolQR).Methods(http.MethodGet)
	r.HandleFunc(b+PathAccountMFA, h.accountMFA).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathAccountMFAQR, h.accountMFAQR).Methods(http.MethodGet)
	r.HandleFunc(b+PathAccountMFARemove, h.accountMFARemove).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountRecovery, h.accountRecovery).Methods(http.MethodPost)
}

// accountMFAFields fills the account page's second-factor part.
func (h *Handler) accountMFAFields(r *http.Request, page *AccountPage, userID string) error {
	if h.opts.MFA == nil {
		return nil
	}
	on, left, err := h.opts.MFA.Enrolled(r.Context(), userID)
	if err != nil {
		return err
	}
	page.MFA, page.RecoveryCodesLeft = on, left
	page.EnrolURL = h.URL(PathAccountMFA)
	page.RemoveMFAAction = h.URL(PathAccountMFARemove)
	page.RecoveryAction = h.URL(PathAccountRecovery)
	return nil
}

// accountMFA enrols an authenticator app from the account page.
func (h *Handler) accountMFA(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	bs, ok := h.accountSession(w, r)
	if !ok {
		return
	}
	user, err := h.opts.Store.GetUser(ctx, bs.UserID)
	if err != nil {
		h.serverError(w, r, "reading customer", err)
		return
	}
	// The MFA flag is set by passkeys too: ask for the authenticator app.
	if on, _, err := h.opts.MFA.Enrolled(ctx, user.ID); err != nil || on {
		http.Redirect(w, r, h.URL(PathAccount), http.StatusSeeOther)
		return
	}
	lang := h.language(w, r, "")
	csrf := h.opts.Sessions.CSRFToken(w, r, accountCSRFPurpose)
	if r.Method == http.MethodPost {
		if !h.checkAccountCSRF(w, r) {
			return
		}
		codes, err := h.opts.MFA.ConfirmTOTP(accounts.Actor(ctx, user.ID), user.ID, r.PostForm.Get("code"))
		done := h.URL(PathAccount) + "?" + url.Values{noticeParam: {"mfa_enrolled"}}.Encode()
		switch {
		case err == nil && len(codes) > 0:
			h.render(w, r, http.StatusOK, "recovery_codes", lang, "", RecoveryCodesPage{Codes: codes, ContinueURL: done})
			return
		case err == nil, errors.Is(err, mfa.ErrNotEnrolled):
			http.Redirect(w, r, done, http.StatusSeeOther)
			return
		}
		page := h.accountEnrolPage(w, r, user)
		if page == nil {
			return
		}
		if status, ok := h.codeError(w, err, &page.ErrorID, &page.ErrorData); ok {
			h.render(w, r, status, "mfa_enrol", lang, csrf, *page)
			return
		}
		h.serverError(w, r, "confirming an authenticator app", err)
		return
	}
	e, err := h.opts.MFA.PendingTOTP(ctx, user)
	if errors.Is(err, mfa.ErrNotEnrolled) {
		e, err = h.opts.MFA.BeginTOTP(ctx, user)
	}
	if err != nil {
		h.serverError(w, r, "starting an authenticator app", err)
		return
	}
	h.render(w, r, http.StatusOK, "mfa_enrol", lang, csrf, EnrolPage{
		Action: h.URL(PathAccountMFA), QRURL: h.URL(PathAccountMFAQR), Secret: groupKey(e.Secret), CancelURL: h.URL(PathAccount),
	})
}

// accountEnrolPage is the enrolment page of the key under way, shown again
// after a wrong code; nil when an answer was written.
func (h *Handler) accountEnrolPage(w http.ResponseWriter, r *http.Request, user storage.User) *EnrolPage {
	e, err := h.opts.MFA.PendingTOTP(r.Context(), user)
	if err != nil {
		h.serverError(w, r, "reading an authenticator app", err)
		return nil
	}
	return &EnrolPage{Action: h.URL(PathAccountMFA), QRURL: h.URL(PathAccountMFAQR), Secret: groupKey(e.Secret), CancelURL: h.URL(PathAccount)}
}

// accountMFAQR draws the QR code of the account's enrolment under way.
func (h *Handler) accountMFAQR(w http.ResponseWriter, r *http.Request) {
	bs, ok := h.accountSession(w, r)
	if !ok {
		return
	}
	user, err := h.opts.Store.GetUser(r.Context(), bs.UserID)
	if err != nil {
		h.serverError(w, r, "reading customer", err)
		return
	}
	e, err := h.opts.MFA.PendingTOTP(r.Context(), user)
	if errors.Is(err, mfa.ErrNotEnrolled) {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		h.serverError(w, r, "reading an authenticator app", err)
		return
	}
	h.writeQR(w, r, e)
}

// freshAccountChange checks what a sensitive change on the account page
// needs: a session, the form's CSRF token, and a sign-in within the
// reauthentication age; without the last, the browser is sent to sign in
// again. It reports whether the change may go ahead.
func (h *Handler) freshAccountChange(w http.ResponseWriter, r *http.Request) (storage.BrowserSession, bool) {
	bs, ok := h.accountForm(w, r)
	if !ok {
		return bs, false
	}
	if !h.opts.SignIn.Fresh(bs) {
		h.redirectWith(w, r, h.URL(PathAccountLogin), reauthParam, "1")
		return bs, false
	}
	return bs, true
}

// accountMFARemove turns the customer's second factors off (a recent
// sign-in needed).
func (h *Handler) accountMFARemove(w http.ResponseWriter, r *http.Request) {
	bs, ok := h.freshAccountChange(w, r)
	if !ok {
		return
	}
	if err := h.opts.MFA.RemoveTOTP(accounts.Actor(r.Context(), bs.UserID), bs.UserID); err != nil {
		h.serverError(w, r, "removing second factors", err)
		return
	}
	h.redirectWith(w, r, h.URL(PathAccount), noticeParam, "mfa_removed")
}

// accountRecovery makes new recovery codes and shows them once (a recent
// sign-in needed).
func (h *Handler) accountRecovery(w http.ResponseWriter, r *http.Request) {
	bs, ok := h.freshAccountChange(w, r)
	if !ok {
		return
	}
	codes, err := h.opts.MFA.RegenerateRecoveryCodes(accounts.Actor(r.Context(), bs.UserID), bs.UserID)
	if errors.Is(err, mfa.ErrNotEnrolled) {
		http.Redirect(w, r, h.URL(PathAccount), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.serverError(w, r, "making recovery codes", err)
		return
	}
	h.render(w, r, http.StatusOK, "recovery_codes", h.language(w, r, ""), "", RecoveryCodesPage{Codes: codes, ContinueURL: h.URL(PathAccount)})
}
