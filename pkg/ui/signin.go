package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Paths of the second step of a sign-in, relative to the issuer.
const (
	// PathMFA asks for the second factor; PathMFAEnrol enrols one during a
	// sign-in, PathMFAEnrolQR draws its QR code.
	PathMFA        = "/login/mfa"
	PathMFAEnrol   = "/login/mfa/enrol"
	PathMFAEnrolQR = "/login/mfa/enrol/qr"
)

// mfaCSRFPurpose names the second-step forms' CSRF token.
const mfaCSRFPurpose = "mfa"

// pendingParam carries a pending sign-in's signed state.
const pendingParam = "pending"

// qrSize is the QR code's width and height in pixels.
const qrSize = 200

// browser is the request's browser as pkg/signin sees it.
type browser struct {
	h *Handler
	w http.ResponseWriter
	r *http.Request
}

func (h *Handler) browser(w http.ResponseWriter, r *http.Request) signin.Browser {
	return browser{h: h, w: w, r: r}
}

func (b browser) Device() string { return b.h.opts.Sessions.Device(b.w, b.r) }
func (b browser) IP() string     { return clientip.String(b.r.Context()) }
func (b browser) UserAgent() string {
	return session.UserAgent(b.r)
}
func (b browser) Current(ctx context.Context) (storage.BrowserSession, error) {
	return b.h.opts.Sessions.Current(ctx, b.r)
}
func (b browser) Begin(ctx context.Context, a session.Authentication) (storage.BrowserSession, error) {
	return b.h.opts.Sessions.Begin(ctx, b.w, b.r, a)
}

// goNext sends the browser where the sign-in pipeline says.
func (h *Handler) goNext(w http.ResponseWriter, r *http.Request, next signin.Next, err error) {
	switch {
	case errors.Is(err, signin.ErrExpired), errors.Is(err, storage.ErrNotFound):
		h.Error(w, r, http.StatusBadRequest, "error.expired_request")
		return
	case errors.Is(err, signin.ErrDisabled):
		// Neutral: the page does not say why, nor that the proof was right.
		h.Error(w, r, http.StatusForbidden, "error.signin_refused")
		return
	case err != nil:
		h.serverError(w, r, "signing in", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next.URL, http.StatusSeeOther)
}

// mfaSignIn asks for a pending sign-in's second factor (GET) and checks
// it (POST).
func (h *Handler) mfaSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	token := r.Form.Get(pendingParam)
	b := h.browser(w, r)
	p, err := h.opts.SignIn.Pending(token, b)
	if err != nil || p.Enrol {
		h.Error(w, r, http.StatusBadRequest, "error.expired_request")
		return
	}
	lang := h.language(w, r, "")
	csrf := h.opts.Sessions.CSRFToken(w, r, mfaCSRFPurpose)
	page := MFAPage{
		Action: h.URL(PathMFA), Pending: token, StepUp: h.isStepUp(ctx, r, p), Passkey: h.mfaPasskeyOffered(r, p.UserID),
		RememberDays: p.RememberDays,
	}
	actions := h.appActions(ctx, p.AuthRequestID)
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "mfa", lang, csrf, page, actions...)
		return
	}
	if !h.opts.Sessions.CheckCSRF(w, r, mfaCSRFPurpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	method := r.PostForm.Get("method")
	page.Recovery = method == signin.RecoveryCode.Name
	proof := r.PostForm.Get("code")
	if method == signin.PasskeyName {
		proof = h.passkeyProof(w, r)
	}
	page.Remember = r.PostForm.Get("remember") == "1"
	next, err := h.opts.SignIn.SecondFactor(ctx, b, token, method, proof, page.Remember)
	if status, ok := h.codeError(w, err, &page.ErrorID, &page.ErrorData); ok {
		h.render(w, r, status, "mfa", lang, csrf, page, actions...)
		return
	}
	if errors.Is(err, signin.ErrUnknownMethod) {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	h.goNext(w, r, next, err)
}

// isStepUp says a pending sign-in adds a factor to the browser's session.
func (h *Handler) isStepUp(ctx context.Context, r *http.Request, p signin.Pending) bool {
	bs, err := h.opts.Sessions.Current(ctx, r)
	return err == nil && bs.UserID == p.UserID && p.AuthRequestID != ""
}

// codeError turns a wrong or throttled code into the page's message and
// status; false for any other outcome.
func (h *Handler) codeError(w http.ResponseWriter, err error, id *string, data *map[string]any) (int, bool) {
	var th *mfa.ThrottledError
	switch {
	case errors.As(err, &th):
		s := retrySeconds(th.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(s))
		if s < 60 {
			*id, *data = "mfa.error.throttled_seconds", map[string]any{"Seconds": s}
		} else {
			*id, *data = "mfa.error.throttled", map[string]any{"Minutes": (s + 59) / 60}
		}
		return http.StatusTooManyRequests, true
	case errors.Is(err, mfa.ErrInvalidCode):
		*id = "mfa.error.invalid"
		return http.StatusUnauthorized, true
	}
	return 0, false
}

// appActions are the origins a second-step form may lead to: the app's,
// for the redirect that follows the last step.
func (h *Handler) appActions(ctx context.Context, authID string) []string {
	if authID == "" {
		return nil
	}
	ar, err := h.opts.Store.GetAuthRequest(ctx, authID)
	if err != nil {
		return nil
	}
	client, _ := h.opts.Store.CachedClient(ctx, ar.ClientID)
	form, _ := url.ParseQuery(ar.Form)
	return []string{redirectOrigin(client, form)}
}

// mfaEnrol walks a pending sign-in through enrolling an authenticator app
// (GET shows the key, POST checks the first code).
func (h *Handler) mfaEnrol(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	token := r.Form.Get(pendingParam)
	b := h.browser(w, r)
	p, err := h.opts.SignIn.Pending(token, b)
	if err != nil || !p.Enrol {
		h.Error(w, r, http.StatusBadRequest, "error.expired_request")
		return
	}
	e, err := h.opts.SignIn.Enrolment(ctx, b, token)
	if err != nil {
		h.goNext(w, r, signin.Next{}, err)
		return
	}
	lang := h.language(w, r, "")
	csrf := h.opts.Sessions.CSRFToken(w, r, mfaCSRFPurpose)
	page := EnrolPage{
		Action: h.URL(PathMFAEnrol), Pending: token, Required: true, Secret: groupKey(e.Secret),
		QRURL: h.URL(PathMFAEnrolQR) + "?" + pendingParam + "=" + token,
	}
	actions := h.appActions(ctx, p.AuthRequestID)
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "mfa_enrol", lang, csrf, page, actions...)
		return
	}
	if !h.opts.Sessions.CheckCSRF(w, r, mfaCSRFPurpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	next, err := h.opts.SignIn.ConfirmEnrolment(ctx, b, token, r.PostForm.Get("code"))
	if status, ok := h.codeError(w, err, &page.ErrorID, &page.ErrorData); ok {
		h.render(w, r, status, "mfa_enrol", lang, csrf, page, actions...)
		return
	}
	if err != nil || len(next.RecoveryCodes) == 0 {
		h.goNext(w, r, next, err)
		return
	}
	h.render(w, r, http.StatusOK, "recovery_codes", lang, "", RecoveryCodesPage{Codes: next.RecoveryCodes, ContinueURL: next.URL}, actions...)
}

// mfaEnrolQR draws the QR code of a pending sign-in's enrolment, from this
// server (the pages' img-src is 'self').
func (h *Handler) mfaEnrolQR(w http.ResponseWriter, r *http.Request) {
	e, err := h.opts.SignIn.Enrolment(r.Context(), h.browser(w, r), r.URL.Query().Get(pendingParam))
	if err != nil {
		h.goNext(w, r, signin.Next{}, err)
		return
	}
	h.writeQR(w, r, e)
}

// writeQR answers the QR code's PNG, never cached: it holds the key.
func (h *Handler) writeQR(w http.ResponseWriter, r *http.Request, e mfa.Enrolment) {
	png, err := e.PNG(qrSize)
	if err != nil {
		h.serverError(w, r, "drawing the QR code", err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(png)
}

// groupKey writes a base32 key in groups of four, for reading.
func groupKey(k string) string {
	out := make([]byte, 0, len(k)+len(k)/4)
	for i := 0; i < len(k); i++ {
		if i > 0 && i%4 == 0 {
			out = append(out, ' ')
		}
		out = append(out, k[i])
	}
	return string(out)
}
