package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/selfservice"
)

// Paths of the self-service pages, relative to the issuer.
const (
	// PathSignUp is the sign-up form (prompt=create lands there);
	// PathSignUpCode and PathSignUpResend take the code of the
	// verification mail and send a new one.
	PathSignUp       = "/signup"
	PathSignUpCode   = "/signup/code"
	PathSignUpResend = "/signup/resend"
	// PathVerify confirms an email from the mail's link.
	PathVerify = "/verify"
	// PathReset asks for a reset link; PathResetPassword sets the new
	// password from it.
	PathReset         = "/reset"
	PathResetPassword = "/reset/password"
	// PathEmailCode signs in with a code sent by mail.
	PathEmailCode = "/login/code"
)

// selfServiceCSRFPurpose names the self-service forms' CSRF token.
const selfServiceCSRFPurpose = "selfservice"

// SelfService are the self-service settings the pages follow
// (config: signup_enabled, signup_required_fields, terms_url,
// unverified_sign_in, email_code_sign_in, new_device_alert).
type SelfService struct {
	SignUp           bool
	NameRequired     bool
	TermsURL         string
	UnverifiedSignIn bool
	EmailCodes       bool
	NewDeviceAlert   bool
}

// registerSelfService mounts the self-service pages.
func (h *Handler) registerSelfService(r *mux.Router) {
	if h.opts.SelfService == nil {
		return
	}
	b := h.opts.BasePath
	if h.opts.SelfServiceSettings.SignUp {
		r.HandleFunc(b+PathSignUp, h.signUp).Methods(http.MethodGet, http.MethodPost)
	}
	r.HandleFunc(b+PathSignUpCode, h.signUpCode).Methods(http.MethodPost)
	r.HandleFunc(b+PathSignUpResend, h.signUpResend).Methods(http.MethodPost)
	r.HandleFunc(b+PathVerify, h.verifyEmail).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathReset, h.resetRequest).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathResetPassword, h.resetPassword).Methods(http.MethodGet, http.MethodPost)
	if h.opts.SelfServiceSettings.EmailCodes {
		r.HandleFunc(b+PathEmailCode, h.emailCode).Methods(http.MethodGet, http.MethodPost)
	}
}

// selfServiceLinks sets the sign-in page's self-service links.
func (h *Handler) selfServiceLinks(page *LoginPage) {
	if h.opts.SelfService == nil {
		return
	}
	q := "?" + url.Values{"auth": {page.AuthRequestID}}.Encode()
	page.ForgotPasswordURL = h.URL(PathReset) + q
	if h.opts.SelfServiceSettings.SignUp {
		page.RegisterURL = h.URL(PathSignUp) + q
	}
	if h.opts.SelfServiceSettings.EmailCodes {
		page.EmailCodeURL = h.URL(PathEmailCode) + q
	}
}

// optionalRequest reads the authorization request a self-service page
// continues, if any and if this browser started it; "" otherwise. Such a
// page works without an app too.
func (h *Handler) optionalRequest(w http.ResponseWriter, r *http.Request, id string) (authID, clientName, lang string) {
	if id != "" {
		if a, form, err := h.pendingRequest(w, r, id); err == nil {
			client, _ := h.opts.Store.LookupClient(r.Context(), a.ClientID)
			lang = h.language(w, r, form.Get("ui_locales"))
			return a.ID, displayName(client, lang), lang
		}
	}
	return "", "", h.language(w, r, "")
}

// signInURL is the sign-in page for the request, or the account page.
func (h *Handler) signInURL(authID string) string {
	if authID == "" {
		return h.URL(PathAccount)
	}
	return h.URL(PathLogin) + "?" + url.Values{"auth": {authID}}.Encode()
}

// checkSelfServiceForm parses a posted self-service form and checks its
// CSRF token; false when it answered.
func (h *Handler) checkSelfServiceForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return false
	}
	if r.Method == http.MethodPost && !h.opts.Sessions.CheckCSRF(w, r, selfServiceCSRFPurpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return false
	}
	return true
}

// selfServiceError turns a throttled request, a wrong code or a password
// the policy refuses into the page's message and status; false for any
// other outcome.
func (h *Handler) selfServiceError(w http.ResponseWriter, err error, id *string, data *map[string]any) (int, bool) {
	var th *selfservice.ThrottledError
	var pe *identity.PasswordError
	var ie *identity.InvalidError
	switch {
	case errors.As(err, &th):
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(th.RetryAfter)))
		*id, *data = waitMessage(th.RetryAfter)
		return http.StatusTooManyRequests, true
	case errors.Is(err, selfservice.ErrInvalidCode):
		*id = "selfservice.error.code"
		return http.StatusUnauthorized, true
	case errors.As(err, &pe):
		*id, *data = pe.MessageID(), pe.MessageData()
		return http.StatusBadRequest, true
	case errors.As(err, &ie) && ie.Field == "email":
		*id = "selfservice.error.email"
		return http.StatusBadRequest, true
	}
	return 0, false
}

// takeMailRequest counts a request for a mail from the client's address.
func (h *Handler) takeMailRequest(ctx context.Context) error {
	return h.opts.SelfService.Take(ctx, selfservice.MailRequestIP, clientip.String(ctx))
}
