package ui

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/internal/redact"
	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/storage"
)

// passwordForm is a posted sign-in form, with what its page needs to be
// shown again.
type passwordForm struct {
	email, password string
	// clientID is the app the customer signs in to ("" on the account
	// page), for the log.
	clientID string
	page     *LoginPage
	lang     string
	csrf     string
	actions  []string
	// newDevice, when set, learns whether the browser never signed in to
	// the customer before (known only while throttling is on).
	newDevice *bool
	// app is the app the customer signs in to, nil on the account page.
	app *App
}

// checkPassword checks a posted email and password through the throttle.
// A throttled attempt is answered 429, with the wait in the page's language,
// before any password hash is computed; a wrong password or unknown email
// is counted, logged (masked) and answered 401. On any answer written it
// returns false.
func (h *Handler) checkPassword(w http.ResponseWriter, r *http.Request, f passwordForm) (storage.User, bool) {
	ctx := r.Context()
	ip := clientip.String(ctx)
	account, err := identity.NormalizeEmail(f.email)
	if err != nil {
		// Counted under what was typed, so a malformed email is no way
		// around the account's counter.
		account = strings.ToLower(strings.TrimSpace(f.email))
	}
	guard, d, err := h.opts.Throttle.BeginSignIn(ctx, ratelimit.Attempt{
		Account: account, IP: ip, Device: h.opts.Sessions.Device(w, r),
	})
	if err != nil && !outage.Is(err) {
		// Throttling fails open: sign-in keeps working without it. (A
		// database outage is reported once per burst by serverError when
		// the sign-in itself fails on it.)
		h.log.ErrorContext(ctx, "throttling sign-in", "error", err.Error())
	}
	if !d.Allowed {
		h.log.DebugContext(ctx, "sign-in throttled", "ip", ip, "client_id", f.clientID,
			"account", redact.Email(account), "kind", string(d.Kind), "retry_after_s", retrySeconds(d.RetryAfter))
		f.page.ErrorID, f.page.ErrorData = waitMessage(d.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(d.RetryAfter)))
		h.renderApp(w, r, http.StatusTooManyRequests, "login", f.lang, f.csrf, *f.page, f.app, f.actions...)
		return storage.User{}, false
	}
	user, err := h.opts.Identity.Authenticate(ctx, f.email, f.password)
	reason := "invalid_credentials"
	if err == nil && user.Disabled {
		// A disabled customer's right password is answered as a wrong
		// one, so the refusal does not confirm it (pkg/signin refuses
		// them on every other way in).
		err, reason = identity.ErrInvalidCredentials, "disabled"
	}
	switch {
	case errors.Is(err, identity.ErrInvalidCredentials):
		if err := guard.Failed(ctx); err != nil {
			h.log.ErrorContext(ctx, "counting a failed sign-in", "error", err.Error())
		}
		h.log.WarnContext(ctx, "sign-in failed", "ip", ip, "client_id", f.clientID,
			"account", redact.Email(account), "known_device", guard.KnownDevice())
		// user is empty for an unknown email, and holds only the ID of a
		// customer whose password was wrong; the event's data is the same
		// for both.
		h.signInFailed(ctx, user.ID, redact.Email(account), reason, accounts.SignIn{
			Method: accounts.MethodPassword, ClientID: f.clientID,
		})
		// The same message for an unknown email and a wrong password.
		f.page.ErrorID = "login.error.invalid"
		h.renderApp(w, r, http.StatusUnauthorized, "login", f.lang, f.csrf, *f.page, f.app, f.actions...)
		return storage.User{}, false
	case err != nil && ctx.Err() != nil:
		// The browser gave up while the sign-in waited for a hashing slot.
		h.log.DebugContext(ctx, "sign-in abandoned", "error", err.Error())
		h.Error(w, r, http.StatusServiceUnavailable, "error.server")
		return storage.User{}, false
	case err != nil:
		h.serverError(w, r, "authenticating", err)
		return storage.User{}, false
	}
	if f.newDevice != nil {
		*f.newDevice = h.opts.Throttle != nil && !guard.KnownDevice()
	}
	if err := guard.Succeeded(context.WithoutCancel(ctx)); err != nil {
		h.log.ErrorContext(ctx, "remembering the signed-in device", "error", err.Error())
	}
	return user, true
}

// signInFailed records a failed sign-in (user.login.failed): one small
// insert, whose failure is only logged, so that it never changes the
// answer. userID is "" when no customer is known.
func (h *Handler) signInFailed(ctx context.Context, userID, maskedEmail, reason string, in accounts.SignIn) {
	in.IP = clientip.String(ctx)
	if err := h.opts.Accounts.SignInFailed(accounts.Actor(ctx, ""), userID, maskedEmail, reason, in); err != nil {
		h.log.WarnContext(ctx, "recording a failed sign-in", "error", err.Error())
	}
}

// retrySeconds rounds a wait up to whole seconds, at least one
// (RFC 9110 §10.2.3 delay-seconds).
func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// waitMessage is the message, and its data, that says how long to wait:
// in seconds under a minute, else in minutes (rounded up).
func waitMessage(d time.Duration) (string, map[string]any) {
	s := retrySeconds(d)
	if s < 60 {
		return "login.error.throttled_seconds", map[string]any{"Seconds": s}
	}
	return "login.error.throttled", map[string]any{"Minutes": (s + 59) / 60}
}
