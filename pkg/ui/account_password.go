package ui

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
)

// accountPassword shows the password form (GET) and changes the password
// (POST, a recent sign-in needed) through accounts.SetPassword, which
// applies the policy, records user.password_changed and mails the
// customer. A customer with a password must give it; one who signs in
// only with a provider sets a first one.
func (h *Handler) accountPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var userID string
	if r.Method == http.MethodPost {
		bs, ok := h.freshAccountChange(w, r)
		if !ok {
			return
		}
		userID = bs.UserID
	}
	_, user, ok := h.accountUser(w, r)
	if !ok {
		return
	}
	page := AccountPasswordPage{AccountSection: h.section(r), Action: h.URL(PathAccountPassword), HasPassword: user.PasswordHash != "", Email: user.Email}
	if r.Method == http.MethodGet {
		h.renderSection(w, r, http.StatusOK, "account_password", page)
		return
	}
	if user.ID != userID {
		// The session changed between the two reads.
		h.Error(w, r, http.StatusConflict, "error.expired_request")
		return
	}
	page.NoticeID = ""
	current, password := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	if password == "" || (page.HasPassword && current == "") {
		page.ErrorID = "login.error.required"
		h.renderSection(w, r, http.StatusBadRequest, "account_password", page)
		return
	}
	if password != r.PostForm.Get("confirm_password") {
		page.ErrorID = "account.error.password_mismatch"
		h.renderSection(w, r, http.StatusBadRequest, "account_password", page)
		return
	}
	if page.HasPassword {
		u, err := h.opts.Identity.Authenticate(ctx, user.Email, current)
		if errors.Is(err, identity.ErrInvalidCredentials) || (err == nil && u.ID != user.ID) {
			page.ErrorID = "account.error.current_password"
			h.renderSection(w, r, http.StatusBadRequest, "account_password", page)
			return
		}
		if err != nil {
			h.serverError(w, r, "checking the current password", err)
			return
		}
	}
	err := h.opts.Accounts.SetPassword(accounts.Actor(ctx, user.ID), user.ID, password)
	var pe *identity.PasswordError
	switch {
	case err == nil:
		h.redirectWith(w, r, h.URL(PathAccountPassword), noticeParam, "password_saved")
	case errors.As(err, &pe):
		page.ErrorID, page.ErrorData = pe.MessageID(), pe.MessageData()
		h.renderSection(w, r, http.StatusBadRequest, "account_password", page)
	default:
		h.serverError(w, r, "changing the password", err)
	}
}
