package ui

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/selfservice"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
)

// emailCode signs in with a one-time code sent to a verified email: GET
// asks the email, a POST with "send" mails the code (the same answer
// whether a verified customer has the email or not), a POST with the
// code checks it and hands the customer to the pipeline as a first
// factor (amr "otp"), which asks a second factor if one is enrolled.
func (h *Handler) emailCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.checkSelfServiceForm(w, r) {
		return
	}
	authID, _, lang := h.optionalRequest(w, r, r.Form.Get("auth"))
	page := EmailCodePage{Action: h.URL(PathEmailCode), AuthRequestID: authID, PasswordURL: h.signInURL(authID)}
	csrf := h.opts.Sessions.CSRFToken(w, r, selfServiceCSRFPurpose)
	actions := h.appActions(ctx, authID)
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "email_code", lang, csrf, page, actions...)
		return
	}
	page.Email = strings.TrimSpace(r.PostForm.Get("email"))
	if page.Email == "" {
		page.ErrorID = "signup.error.required"
		h.render(w, r, http.StatusBadRequest, "email_code", lang, csrf, page, actions...)
		return
	}
	if r.PostForm.Get("send") != "" {
		err := h.takeMailRequest(ctx)
		if err == nil {
			err = h.opts.SelfService.SendSignInCode(ctx, page.Email, lang)
		}
		if status, ok := h.selfServiceError(w, err, &page.ErrorID, &page.ErrorData); ok {
			h.render(w, r, status, "email_code", lang, csrf, page, actions...)
			return
		}
		if err != nil {
			h.serverError(w, r, "sending a sign-in code", err)
			return
		}
		page.Sent = true
		h.render(w, r, http.StatusOK, "email_code", lang, csrf, page, actions...)
		return
	}
	page.Sent = true
	// The password sign-in's throttle counts these tries too, and says
	// whether the browser is new to the account.
	account, err := identity.NormalizeEmail(page.Email)
	if err != nil {
		account = strings.ToLower(page.Email)
	}
	guard, d, err := h.opts.Throttle.BeginSignIn(ctx, ratelimit.Attempt{Account: account, IP: clientip.String(ctx), Device: h.opts.Sessions.Device(w, r)})
	if err != nil && !outage.Is(err) {
		h.log.ErrorContext(ctx, "throttling a code sign-in", "error", err.Error())
	}
	if !d.Allowed {
		err = &selfservice.ThrottledError{RetryAfter: d.RetryAfter}
	} else {
		user, cerr := h.opts.SelfService.CheckSignInCode(ctx, page.Email, strings.TrimSpace(r.PostForm.Get("code")))
		if cerr == nil {
			if err := guard.Succeeded(context.WithoutCancel(ctx)); err != nil {
				h.log.ErrorContext(ctx, "remembering the signed-in device", "error", err.Error())
			}
			in := signin.FirstFactor{
				User: &user, Method: signin.EmailCode, AuthRequestID: authID,
				NewDevice: h.opts.Throttle != nil && !guard.KnownDevice() && h.opts.SelfServiceSettings.NewDeviceAlert,
			}
			// Codes go to verified emails only; the gate holds should the
			// email have changed meanwhile.
			if !h.verifiedFirst(w, r, &in, lang, actions) {
				return
			}
			next, err := h.opts.SignIn.FirstFactor(ctx, h.browser(w, r), in)
			h.goNext(w, r, next, err)
			return
		}
		if errors.Is(cerr, selfservice.ErrInvalidCode) {
			if err := guard.Failed(ctx); err != nil {
				h.log.ErrorContext(ctx, "counting a failed code sign-in", "error", err.Error())
			}
		}
		err = cerr
	}
	if status, ok := h.selfServiceError(w, err, &page.ErrorID, &page.ErrorData); ok {
		h.render(w, r, status, "email_code", lang, csrf, page, actions...)
		return
	}
	h.serverError(w, r, "checking a sign-in code", err)
}
