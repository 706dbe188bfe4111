package ui

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/pkg/selfservice"
)

// verifyEmail confirms an email from the mail's link: GET asks the
// customer to confirm (so a mail scanner that opens links confirms
// nothing), POST uses the link.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.checkSelfServiceForm(w, r) {
		return
	}
	lang := h.language(w, r, "")
	token := r.Form.Get("token")
	page := VerifyEmailPage{Action: h.URL(PathVerify), Token: token}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodGet {
		err := h.opts.SelfService.CheckVerifyLink(ctx, token)
		switch {
		case errors.Is(err, selfservice.ErrInvalidToken):
			page.Invalid = true
			h.render(w, r, http.StatusBadRequest, "verify_email", lang, "", page)
		case err != nil:
			h.serverError(w, r, "checking a verification link", err)
		default:
			h.render(w, r, http.StatusOK, "verify_email", lang, h.opts.Sessions.CSRFToken(w, r, selfServiceCSRFPurpose), page)
		}
		return
	}
	v, err := h.opts.SelfService.VerifyLink(ctx, token)
	switch {
	case errors.Is(err, selfservice.ErrInvalidToken):
		page.Invalid = true
		h.render(w, r, http.StatusBadRequest, "verify_email", lang, "", page)
		return
	case err != nil:
		h.serverError(w, r, "verifying an email", err)
		return
	}
	authID, _, _ := h.optionalRequest(w, r, v.AuthRequestID)
	page.Done, page.ContinueURL = true, h.signInURL(authID)
	h.render(w, r, http.StatusOK, "verify_email", lang, "", page)
}
