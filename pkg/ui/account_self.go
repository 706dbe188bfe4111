package ui

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Paths of the account's self-service pages, relative to the issuer.
const (
	// PathAccountProfile shows and saves the profile (GET, POST).
	PathAccountProfile = "/account/profile"
	// PathAccountEmail starts a change of email (POST, a recent sign-in
	// needed); PathAccountEmailConfirm is the link mailed to the new
	// address (GET asks to confirm, POST confirms).
	PathAccountEmail        = "/account/email"
	PathAccountEmailConfirm = "/account/email/confirm"
	// PathAccountPassword changes or sets the password (GET, POST with a
	// recent sign-in).
	PathAccountPassword = "/account/password"
	// PathAccountSessions lists the browser sessions; PathAccountSessionsEnd
	// ends one or all others (POST, a recent sign-in needed).
	PathAccountSessions    = "/account/sessions"
	PathAccountSessionsEnd = "/account/sessions/end"
	// PathAccountApps lists the allowed apps; PathAccountAppsRevoke
	// withdraws one (POST).
	PathAccountApps       = "/account/apps"
	PathAccountAppsRevoke = "/account/apps/revoke"
	// PathAccountData offers the download and the deletion;
	// PathAccountDataDownload and PathAccountDelete do them (POST, a
	// recent sign-in needed).
	PathAccountData         = "/account/data"
	PathAccountDataDownload = "/account/data/download"
	PathAccountDelete       = "/account/delete"
	// PathAccountDevicesForget forgets a browser remembered for the
	// second factor (POST).
	PathAccountDevicesForget = "/account/devices/forget"
)

// registerAccountSelfService mounts the account's self-service pages.
func (h *Handler) registerAccountSelfService(r *mux.Router) {
	if h.opts.Accounts == nil || h.opts.SignIn == nil {
		return
	}
	b := h.opts.BasePath
	r.HandleFunc(b+PathAccountProfile, h.accountProfile).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathAccountEmail, h.accountEmail).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountEmailConfirm, h.accountEmailConfirm).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathAccountPassword, h.accountPassword).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathAccountSessions, h.accountSessions).Methods(http.MethodGet)
	r.HandleFunc(b+PathAccountSessionsEnd, h.accountSessionsEnd).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountApps, h.accountApps).Methods(http.MethodGet)
	r.HandleFunc(b+PathAccountAppsRevoke, h.accountAppsRevoke).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountData, h.accountData).Methods(http.MethodGet)
	r.HandleFunc(b+PathAccountDataDownload, h.accountDataDownload).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountDelete, h.accountDelete).Methods(http.MethodPost)
	if h.opts.MFA != nil {
		r.HandleFunc(b+PathAccountDevicesForget, h.accountDevicesForget).Methods(http.MethodPost)
	}
}

// sectionNotices maps the notice parameter of the self-service pages to
// their messages.
func sectionNotices() map[string]notice {
	return map[string]notice{
		"profile_saved":    {"account.notice.profile_saved", true},
		"email_sent":       {"account.notice.email_sent", true},
		"password_saved":   {"account.notice.password_saved", true},
		"session_ended":    {"account.notice.session_ended", true},
		"sessions_ended":   {"account.notice.sessions_ended", true},
		"app_revoked":      {"account.notice.app_revoked", true},
		"delete_unsure":    {"account.error.delete_unconfirmed", false},
		"session_missing":  {"account.error.session_missing", false},
		"device_forgotten": {"account.notice.device_forgotten", true},
	}
}

// section is the common part of a self-service page for a GET.
func (h *Handler) section(r *http.Request) AccountSection {
	s := AccountSection{BackURL: h.URL(PathAccount)}
	if n, ok := sectionNotices()[r.URL.Query().Get(noticeParam)]; ok {
		if n.good {
			s.NoticeID = n.id
		} else {
			s.ErrorID = n.id
		}
	}
	return s
}

// accountUser reads the signed-in customer for a self-service page; on
// false an answer was written.
func (h *Handler) accountUser(w http.ResponseWriter, r *http.Request) (storage.BrowserSession, storage.User, bool) {
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return storage.BrowserSession{}, storage.User{}, false
	}
	bs, ok := h.accountSession(w, r)
	if !ok {
		return bs, storage.User{}, false
	}
	u, err := h.opts.Store.GetUser(r.Context(), bs.UserID)
	if err != nil {
		h.serverError(w, r, "reading customer", err)
		return bs, u, false
	}
	return bs, u, true
}

// renderSection writes a self-service page, never cached.
func (h *Handler) renderSection(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	lang := h.language(w, r, "")
	csrf := h.opts.Sessions.CSRFToken(w, r, accountCSRFPurpose)
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, page, lang, csrf, data)
}

// accountForm reads a form posted from the account page: its fields, the
// browser's session and the form's CSRF token. On false an answer was
// written.
func (h *Handler) accountForm(w http.ResponseWriter, r *http.Request) (storage.BrowserSession, bool) {
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return storage.BrowserSession{}, false
	}
	bs, ok := h.accountSession(w, r)
	if !ok || !h.checkAccountCSRF(w, r) {
		return bs, false
	}
	return bs, true
}

// checkAccountCSRF checks a self-service form's CSRF token; on false an
// answer was written.
func (h *Handler) checkAccountCSRF(w http.ResponseWriter, r *http.Request) bool {
	if !h.opts.Sessions.CheckCSRF(w, r, accountCSRFPurpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return false
	}
	return true
}
