package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/pkg/selfservice"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
)

// resetRequest asks for the email to send a reset link to (GET) and
// sends it (POST). The answer is the same whether an account has the
// email or not.
func (h *Handler) resetRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.checkSelfServiceForm(w, r) {
		return
	}
	authID, _, lang := h.optionalRequest(w, r, r.Form.Get("auth"))
	page := ResetRequestPage{Action: h.URL(PathReset), AuthRequestID: authID, SignInURL: h.signInURL(authID)}
	csrf := h.opts.Sessions.CSRFToken(w, r, selfServiceCSRFPurpose)
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "reset_request", lang, csrf, page)
		return
	}
	page.Email = strings.TrimSpace(r.PostForm.Get("email"))
	if page.Email == "" {
		page.ErrorID = "signup.error.required"
		h.render(w, r, http.StatusBadRequest, "reset_request", lang, csrf, page)
		return
	}
	err := h.takeMailRequest(ctx)
	if err == nil {
		err = h.opts.SelfService.RequestReset(ctx, page.Email, authID, lang)
	}
	if status, ok := h.selfServiceError(w, err, &page.ErrorID, &page.ErrorData); ok {
		h.render(w, r, status, "reset_request", lang, csrf, page)
		return
	}
	if err != nil {
		h.serverError(w, r, "requesting a password reset", err)
		return
	}
	page.Sent = true
	h.render(w, r, http.StatusOK, "reset_request", lang, "", page)
}

// resetPassword sets a new password from a reset link (GET shows the
// form if the link works; POST uses it). On success every session and
// token of the customer is gone, and the customer is signed in through
// the pipeline (which asks an enrolled second factor).
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.checkSelfServiceForm(w, r) {
		return
	}
	lang := h.language(w, r, "")
	token := r.Form.Get("token")
	page := ResetPasswordPage{Action: h.URL(PathResetPassword), Token: token, RequestURL: h.URL(PathReset)}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	csrf := h.opts.Sessions.CSRFToken(w, r, selfServiceCSRFPurpose)
	if r.Method == http.MethodGet {
		err := h.opts.SelfService.CheckReset(ctx, token)
		switch {
		case errors.Is(err, selfservice.ErrInvalidToken):
			page.Invalid = true
			h.render(w, r, http.StatusBadRequest, "reset_password", lang, "", page)
		case err != nil:
			h.serverError(w, r, "checking a reset link", err)
		default:
			h.render(w, r, http.StatusOK, "reset_password", lang, csrf, page)
		}
		return
	}
	res, err := h.opts.SelfService.ResetPassword(ctx, token, r.PostForm.Get("password"), lang)
	if status, ok := h.selfServiceError(w, err, &page.ErrorID, &page.ErrorData); ok {
		h.render(w, r, status, "reset_password", lang, csrf, page)
		return
	}
	switch {
	case errors.Is(err, selfservice.ErrInvalidToken):
		page.Invalid = true
		h.render(w, r, http.StatusBadRequest, "reset_password", lang, "", page)
		return
	case err != nil:
		h.serverError(w, r, "resetting a password", err)
		return
	}
	// Back to the app only in the browser that asked for the link.
	authID, _, _ := h.optionalRequest(w, r, res.AuthRequestID)
	next, err := h.opts.SignIn.FirstFactor(ctx, h.browser(w, r), signin.FirstFactor{
		UserID: res.UserID, Method: signin.Password, AuthRequestID: authID,
	})
	h.goNext(w, r, next, err)
}
