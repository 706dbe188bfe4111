package ui

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/storage"
)

// accountApps lists the apps the customer allowed (their stored
// consents), with what each may do.
func (h *Handler) accountApps(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, _, ok := h.accountUser(w, r)
	if !ok {
		return
	}
	consents, err := h.opts.Store.ListConsents(ctx, bs.UserID)
	if err != nil {
		h.serverError(w, r, "listing consents", err)
		return
	}
	page := AccountAppsPage{AccountSection: h.section(r), RevokeAction: h.URL(PathAccountAppsRevoke)}
	for _, c := range consents {
		name := c.ClientID
		if client, err := h.opts.Store.LookupClient(ctx, c.ClientID); err == nil && client.Name != "" {
			name = client.Name
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.serverError(w, r, "reading a client", err)
			return
		}
		app := AccountApp{ClientID: c.ClientID, Name: name, Since: c.CreatedAt}
		for _, s := range c.Scopes {
			id := "scope.other"
			if knownScopes[s] {
				id = "scope." + s
			}
			app.Scopes = append(app.Scopes, ScopeItem{Scope: s, MessageID: id})
		}
		page.Apps = append(page.Apps, app)
	}
	h.renderSection(w, r, http.StatusOK, "account_apps", page)
}

// accountAppsRevoke withdraws the consent of the app in the field
// "client_id" through accounts.RevokeConsent: its tokens are revoked and
// the sessions signed in to it are logged out of it by back-channel
// logout. The app must ask again.
func (h *Handler) accountAppsRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, _, ok := h.accountUser(w, r)
	if !ok || !h.checkAccountCSRF(w, r) {
		return
	}
	err := h.opts.Accounts.RevokeConsent(accounts.Actor(ctx, bs.UserID), bs.UserID, r.PostForm.Get("client_id"))
	switch {
	case err == nil:
		h.redirectWith(w, r, h.URL(PathAccountApps), noticeParam, "app_revoked")
	case errors.Is(err, storage.ErrNotFound):
		// Revoked already, perhaps in another tab.
		http.Redirect(w, r, h.URL(PathAccountApps), http.StatusSeeOther)
	default:
		h.serverError(w, r, "revoking a consent", err)
	}
}
