package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/passkey"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Paths of the passkey pages, relative to the issuer. The .../begin paths
// answer JSON (a ceremony's handle and options) to the page's script; the
// others take the forms the script submits.
const (
	// PathLoginPasskey signs in with a passkey (POST, the answer);
	// PathLoginPasskeyBegin starts it.
	PathLoginPasskey      = "/login/passkey"
	PathLoginPasskeyBegin = "/login/passkey/begin"
	// PathMFAPasskeyBegin starts a passkey as the second factor; the
	// answer is posted to PathMFA with method=passkey.
	PathMFAPasskeyBegin = "/login/mfa/passkey/begin"
	// PathAccountPasskeys lists the customer's passkeys (GET) and
	// registers one (POST, the answer); PathAccountPasskeysBegin starts a
	// registration; PathAccountPasskeysRename and
	// PathAccountPasskeysRemove take their forms (removing needs a recent
	// sign-in).
	PathAccountPasskeys       = "/account/passkeys"
	PathAccountPasskeysBegin  = "/account/passkeys/begin"
	PathAccountPasskeysRename = "/account/passkeys/rename"
	PathAccountPasskeysRemove = "/account/passkeys/remove"
)

// Kinds of ratelimit counters of passkey ceremonies begun: each stores a
// challenge until it expires, so the begin endpoints are throttled per
// client address and per browser (its device cookie's hash).
const (
	PasskeyBeginIP     ratelimit.Kind = "passkey_begin_ip"
	PasskeyBeginDevice ratelimit.Kind = "passkey_begin_device"
)

// passkeyFailedParam tells a sign-in page that a passkey sign-in failed.
const passkeyFailedParam = "passkey"

// The fields the passkey forms post.
const (
	ceremonyField = "ceremony"
	responseField = "response"
)

// PasskeyForm is what a page needs to offer a passkey ceremony: the
// script posts the form's fields to Begin, runs the ceremony, and submits
// the form to Action with the fields "ceremony" and "response".
type PasskeyForm struct {
	Begin  string
	Action string
}

// PasskeysPage is the account's passkeys (templates/passkeys.html).
type PasskeysPage struct {
	Passkeys []PasskeyRow
	// Register starts and finishes adding one.
	Register PasskeyForm
	// RenameAction and RemoveAction take those forms.
	RenameAction string
	RemoveAction string
	// BackURL is the account page.
	BackURL string
	// NoticeID and ErrorID are the outcome of the last change.
	NoticeID string
	ErrorID  string
}

// PasskeyRow is one passkey on the account page.
type PasskeyRow struct {
	ID   string
	Name string
	// Created and LastUsed are dates (YYYY-MM-DD, UTC); LastUsed "" when
	// never used.
	Created  string
	LastUsed string
	// Synced says the passkey is backup-eligible (synced between devices).
	Synced bool
}

// registerPasskeys mounts the passkey pages; none when passkeys are off.
func (h *Handler) registerPasskeys(r *mux.Router) {
	if h.opts.Passkeys == nil || h.opts.SignIn == nil {
		return
	}
	b := h.opts.BasePath
	r.HandleFunc(b+PathLoginPasskeyBegin, h.loginPasskeyBegin).Methods(http.MethodPost)
	r.HandleFunc(b+PathLoginPasskey, h.loginPasskey).Methods(http.MethodPost)
	r.HandleFunc(b+PathMFAPasskeyBegin, h.mfaPasskeyBegin).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountPasskeys, h.accountPasskeys).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathAccountPasskeysBegin, h.accountPasskeysBegin).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountPasskeysRename, h.accountPasskeysRename).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountPasskeysRemove, h.accountPasskeysRemove).Methods(http.MethodPost)
}

// passkeyLogin offers the passkey sign-in on a sign-in page, and says
// when the last one failed.
func (h *Handler) passkeyLogin(r *http.Request, page *LoginPage) {
	if h.opts.Passkeys == nil {
		return
	}
	page.Passkey = &PasskeyForm{Begin: h.URL(PathLoginPasskeyBegin), Action: h.URL(PathLoginPasskey)}
	if r.Method == http.MethodGet && r.URL.Query().Get(passkeyFailedParam) == "failed" && page.ErrorID == "" {
		page.ErrorID = "login.error.passkey"
	}
}

// beginThrottled counts a passkey ceremony begun against the address's
// and the browser's budgets and, when one says wait, answers 429 with
// Retry-After and the JSON the page's script shows ({"error":
// "slow_down", "retry_after": seconds, "message": the localized text})
// and reports true. Throttling fails open.
func (h *Handler) beginThrottled(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	for _, key := range []ratelimit.Key{
		{Kind: PasskeyBeginIP, Subject: clientip.String(ctx)},
		{Kind: PasskeyBeginDevice, Subject: h.opts.Sessions.Device(w, r)},
	} {
		d, err := h.opts.Throttle.Take(ctx, key)
		if err != nil && !outage.Is(err) {
			h.log.ErrorContext(ctx, "throttling a passkey ceremony", "error", err.Error())
		}
		if d.Allowed {
			continue
		}
		secs := retrySeconds(d.RetryAfter)
		msg := h.opts.Bundle.Translate(h.language(w, r, ""), "passkeys.error.throttled", map[string]any{"Seconds": secs})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": "slow_down", "retry_after": secs, "message": msg})
		return true
	}
	return false
}

// writeCeremony answers a ceremony's options to the page's script.
func (h *Handler) writeCeremony(w http.ResponseWriter, r *http.Request, c passkey.Ceremony, err error) {
	if err != nil {
		h.log.ErrorContext(r.Context(), "starting a passkey ceremony", "error", err.Error())
		http.Error(w, "passkeys are unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(c)
}

// loginPasskeyBegin starts a sign-in with a discoverable passkey.
func (h *Handler) loginPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !h.opts.Sessions.CheckCSRF(w, r, loginCSRFPurpose, r.PostForm.Get("csrf")) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if h.beginThrottled(w, r) {
		return
	}
	c, err := h.opts.Passkeys.BeginLogin(r.Context(), h.opts.Sessions.Device(w, r))
	h.writeCeremony(w, r, c, err)
}

// loginPasskey checks a passkey's answer and hands the customer to the
// sign-in pipeline as the first factor: for an app's request when the
// form names one, otherwise for the account page.
func (h *Handler) loginPasskey(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	if !h.opts.Sessions.CheckCSRF(w, r, loginCSRFPurpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	authID := r.PostForm.Get("auth")
	back := h.URL(PathAccountLogin)
	if authID != "" {
		if _, _, err := h.pendingRequest(w, r, authID); err != nil {
			h.expired(w, r, err)
			return
		}
		back = h.URL(PathLogin) + "?" + url.Values{"auth": {authID}}.Encode()
	}
	a, err := h.opts.Passkeys.FinishLogin(ctx, h.opts.Sessions.Device(w, r), r.PostForm.Get(ceremonyField), []byte(r.PostForm.Get(responseField)))
	if errors.Is(err, passkey.ErrInvalid) {
		in := accounts.SignIn{Method: signin.PasskeyName, IP: h.browser(w, r).IP()}
		if a.UserID != "" {
			_ = h.opts.Accounts.SignInFailed(accounts.Actor(ctx, ""), a.UserID, "", "invalid_passkey", in)
		}
		h.log.InfoContext(ctx, "a passkey sign-in was refused", "reason", err.Error())
		h.redirectWith(w, r, back, passkeyFailedParam, "failed")
		return
	}
	if err != nil {
		h.serverError(w, r, "signing in with a passkey", err)
		return
	}
	in := signin.FirstFactor{UserID: a.UserID, Method: signin.Passkey(a.AMR, a.UserVerified), AuthRequestID: authID}
	if !h.verifiedFirst(w, r, &in, h.language(w, r, ""), h.appActions(ctx, authID)) {
		return
	}
	next, err := h.opts.SignIn.FirstFactor(ctx, h.browser(w, r), in)
	h.goNext(w, r, next, err)
}

// mfaPasskeyBegin starts a passkey as a pending sign-in's second factor.
func (h *Handler) mfaPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !h.opts.Sessions.CheckCSRF(w, r, mfaCSRFPurpose, r.PostForm.Get("csrf")) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	p, err := h.opts.SignIn.Pending(r.PostForm.Get(pendingParam), h.browser(w, r))
	if err != nil || p.Enrol {
		http.Error(w, "the sign-in expired", http.StatusBadRequest)
		return
	}
	if h.beginThrottled(w, r) {
		return
	}
	c, err := h.opts.Passkeys.BeginSecondFactor(r.Context(), p.UserID, h.opts.Sessions.Device(w, r))
	h.writeCeremony(w, r, c, err)
}

// passkeyProof is the proof a second-factor passkey form carries to the
// pipeline's verifier: the answer, bound to this browser.
func (h *Handler) passkeyProof(w http.ResponseWriter, r *http.Request) string {
	return passkey.Proof(h.opts.Sessions.Device(w, r), r.PostForm.Get(ceremonyField), r.PostForm.Get("code"))
}

// mfaPasskeyOffered says a pending sign-in's customer has a passkey to
// offer as the second factor.
func (h *Handler) mfaPasskeyOffered(r *http.Request, userID string) *PasskeyForm {
	if h.opts.Passkeys == nil {
		return nil
	}
	list, err := h.opts.Passkeys.List(r.Context(), userID)
	if err != nil || len(list) == 0 {
		return nil
	}
	return &PasskeyForm{Begin: h.URL(PathMFAPasskeyBegin), Action: h.URL(PathMFA)}
}

// accountPasskeys lists the customer's passkeys (GET) and registers one
// (POST: the answer to accountPasskeysBegin's ceremony).
func (h *Handler) accountPasskeys(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	bs, ok := h.accountSession(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodPost {
		if !h.checkAccountCSRF(w, r) {
			return
		}
		reg, err := h.opts.Passkeys.FinishRegistration(accounts.Actor(ctx, bs.UserID), bs.UserID, h.opts.Sessions.Device(w, r),
			r.PostForm.Get(ceremonyField), r.PostForm.Get("name"), []byte(r.PostForm.Get(responseField)))
		switch {
		case errors.Is(err, passkey.ErrInvalid):
			h.log.InfoContext(ctx, "a passkey registration was refused", "reason", err.Error())
			h.redirectWith(w, r, h.URL(PathAccountPasskeys), noticeParam, "passkey_failed")
		case err != nil:
			h.serverError(w, r, "registering a passkey", err)
		case len(reg.RecoveryCodes) > 0:
			// The first second factor: its recovery codes, shown once.
			w.Header().Set("Cache-Control", "no-store")
			done := h.URL(PathAccountPasskeys) + "?" + url.Values{noticeParam: {"passkey_added"}}.Encode()
			h.render(w, r, http.StatusOK, "recovery_codes", h.language(w, r, ""), "", RecoveryCodesPage{Codes: reg.RecoveryCodes, ContinueURL: done})
		default:
			h.redirectWith(w, r, h.URL(PathAccountPasskeys), noticeParam, "passkey_added")
		}
		return
	}
	list, err := h.opts.Passkeys.List(ctx, bs.UserID)
	if err != nil {
		h.serverError(w, r, "listing passkeys", err)
		return
	}
	page := PasskeysPage{
		Register:     PasskeyForm{Begin: h.URL(PathAccountPasskeysBegin), Action: h.URL(PathAccountPasskeys)},
		RenameAction: h.URL(PathAccountPasskeysRename), RemoveAction: h.URL(PathAccountPasskeysRemove),
		BackURL: h.URL(PathAccount),
	}
	for _, p := range list {
		page.Passkeys = append(page.Passkeys, PasskeyRow{ID: p.ID, Name: p.Name, Created: day(p.CreatedAt), LastUsed: day(p.LastUsedAt), Synced: p.BackupEligible})
	}
	switch r.URL.Query().Get(noticeParam) {
	case "passkey_added":
		page.NoticeID = "passkeys.notice.added"
	case "passkey_removed":
		page.NoticeID = "passkeys.notice.removed"
	case "passkey_renamed":
		page.NoticeID = "passkeys.notice.renamed"
	case "passkey_failed":
		page.ErrorID = "passkeys.error.failed"
	}
	csrf := h.opts.Sessions.CSRFToken(w, r, accountCSRFPurpose)
	h.render(w, r, http.StatusOK, "passkeys", h.language(w, r, ""), csrf, page)
}

// day formats a time as a date, "" for the zero time.
func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// accountPasskeysBegin starts registering a passkey.
func (h *Handler) accountPasskeysBegin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !h.opts.Sessions.CheckCSRF(w, r, accountCSRFPurpose, r.PostForm.Get("csrf")) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	bs, err := h.opts.Sessions.Current(r.Context(), r)
	if err != nil {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	if h.beginThrottled(w, r) {
		return
	}
	c, err := h.opts.Passkeys.BeginRegistration(r.Context(), bs.UserID, h.opts.Sessions.Device(w, r))
	h.writeCeremony(w, r, c, err)
}

// accountPasskeysRename renames a passkey.
func (h *Handler) accountPasskeysRename(w http.ResponseWriter, r *http.Request) {
	bs, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	err := h.opts.Passkeys.Rename(r.Context(), bs.UserID, r.PostForm.Get("id"), r.PostForm.Get("name"))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, "renaming a passkey", err)
		return
	}
	h.redirectWith(w, r, h.URL(PathAccountPasskeys), noticeParam, "passkey_renamed")
}

// accountPasskeysRemove removes a passkey (a recent sign-in needed).
func (h *Handler) accountPasskeysRemove(w http.ResponseWriter, r *http.Request) {
	bs, ok := h.freshAccountChange(w, r)
	if !ok {
		return
	}
	err := h.opts.Passkeys.Remove(accounts.Actor(r.Context(), bs.UserID), bs.UserID, r.PostForm.Get("id"))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, "removing a passkey", err)
		return
	}
	h.redirectWith(w, r, h.URL(PathAccountPasskeys), noticeParam, "passkey_removed")
}
