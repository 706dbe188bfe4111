package ui

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/storage"
)

// accountData offers the download of the customer's data and the
// deletion of the account.
func (h *Handler) accountData(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.accountUser(w, r); !ok {
		return
	}
	h.renderSection(w, r, http.StatusOK, "account_data", AccountDataPage{
		AccountSection: h.section(r),
		DownloadAction: h.URL(PathAccountDataDownload), DeleteAction: h.URL(PathAccountDelete),
	})
}

// accountDataDownload sends everything stored about the customer as a
// JSON file (accounts.ExportCustomer: no secret), a recent sign-in
// needed.
func (h *Handler) accountDataDownload(w http.ResponseWriter, r *http.Request) {
	bs, ok := h.freshAccountChange(w, r)
	if !ok {
		return
	}
	x, err := accounts.ExportCustomer(r.Context(), h.opts.Store, bs.UserID)
	if err != nil {
		h.serverError(w, r, "exporting the customer's data", err)
		return
	}
	body, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		h.serverError(w, r, "encoding the customer's data", err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-account.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(append(body, '\n'))
}

// accountDelete deletes the account, a recent sign-in and the confirming
// checkbox needed, through accounts.DeleteCustomer, and signs the browser
// out.
func (h *Handler) accountDelete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, ok := h.freshAccountChange(w, r)
	if !ok {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.redirectWith(w, r, h.URL(PathAccountData), noticeParam, "delete_unsure")
		return
	}
	err := h.opts.Accounts.DeleteCustomer(accounts.Actor(ctx, bs.UserID), bs.UserID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, "deleting the account", err)
		return
	}
	// The session is gone with the customer; this clears the cookie.
	if _, _, err := h.opts.Sessions.End(ctx, w, r); err != nil && !errors.Is(err, session.ErrNoSession) {
		h.log.WarnContext(ctx, "clearing the session cookie of a deleted account", "error", err.Error())
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "account_message", h.language(w, r, ""), "", AccountMessagePage{
		TitleID: "account.deleted.title", MessageID: "account.deleted.message",
	})
}
