package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/storage"
)

// accountSessions lists the customer's browser sessions: the device, the
// address and when each was last used.
func (h *Handler) accountSessions(w http.ResponseWriter, r *http.Request) {
	bs, _, ok := h.accountUser(w, r)
	if !ok {
		return
	}
	sessions, err := h.opts.Store.ListSessionsByUser(r.Context(), bs.UserID)
	if err != nil {
		h.serverError(w, r, "listing sessions", err)
		return
	}
	page := AccountSessionsPage{AccountSection: h.section(r), EndAction: h.URL(PathAccountSessionsEnd)}
	lang := h.language(w, r, "")
	for _, s := range sessions {
		cur := s.ID == bs.ID
		page.Others = page.Others || !cur
		item := AccountSessionItem{
			SID: s.SID, Device: describeDevice(s.UserAgent), IP: s.IP,
			Started: s.CreatedAt, LastSeen: s.LastSeenAt, Current: cur,
		}
		if h.opts.Places != nil && s.IP != "" {
			item.Place = h.opts.Places.Place(s.IP, lang)
		}
		page.Sessions = append(page.Sessions, item)
	}
	// This browser first.
	for i, s := range page.Sessions {
		if s.Current && i > 0 {
			page.Sessions[0], page.Sessions[i] = page.Sessions[i], page.Sessions[0]
		}
	}
	if err := h.rememberedDevices(w, r, &page, bs.UserID); err != nil {
		h.serverError(w, r, "listing remembered devices", err)
		return
	}
	h.renderSection(w, r, http.StatusOK, "account_sessions", page)
}

// rememberedDevices fills the list of browsers remembered for the second
// factor.
func (h *Handler) rememberedDevices(w http.ResponseWriter, r *http.Request, page *AccountSessionsPage, userID string) error {
	if h.opts.MFA == nil {
		return nil
	}
	list, err := h.opts.MFA.Devices(r.Context(), userID)
	if err != nil {
		return err
	}
	this := mfa.DeviceID(userID, h.opts.Sessions.Device(w, r))
	page.ForgetAction = h.URL(PathAccountDevicesForget)
	for _, d := range list {
		page.Devices = append(page.Devices, AccountDeviceItem{
			ID: d.ID, Device: describeDevice(d.UserAgent), IP: d.IP, Since: d.VerifiedAt, Until: d.ExpiresAt, Current: d.ID == this,
		})
	}
	return nil
}

// accountDevicesForget forgets a browser remembered for the second factor
// (the field "id"): its next sign-in asks for the second factor again.
// Forgetting gives up a convenience, so no recent sign-in is needed.
func (h *Handler) accountDevicesForget(w http.ResponseWriter, r *http.Request) {
	bs, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	err := h.opts.MFA.ForgetDevice(accounts.Actor(r.Context(), bs.UserID), bs.UserID, r.PostForm.Get("id"))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, "forgetting a remembered device", err)
		return
	}
	h.redirectWith(w, r, h.URL(PathAccountSessions), noticeParam, "device_forgotten")
}

// accountSessionsEnd ends one other session (the field "sid") or every
// other one ("all"), a recent sign-in needed, through
// accounts.EndSession: each ended session's apps hear of it by
// back-channel logout. This browser's own session is ended by signing out.
func (h *Handler) accountSessionsEnd(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, ok := h.freshAccountChange(w, r)
	if !ok {
		return
	}
	all, sid := r.PostForm.Get("all") != "", r.PostForm.Get("sid")
	if all {
		// Signing out everywhere else also forgets the browsers remembered
		// for the second factor.
		if _, err := h.opts.Accounts.EndOtherSessions(accounts.Actor(ctx, bs.UserID), bs.UserID, bs.ID); err != nil {
			h.serverError(w, r, "ending sessions", err)
			return
		}
		h.redirectWith(w, r, h.URL(PathAccountSessions), noticeParam, "sessions_ended")
		return
	}
	sessions, err := h.opts.Store.ListSessionsByUser(ctx, bs.UserID)
	if err != nil {
		h.serverError(w, r, "listing sessions", err)
		return
	}
	var ended int
	for _, s := range sessions {
		if s.ID == bs.ID || s.SID != sid {
			continue
		}
		_, _, err := h.opts.Accounts.EndSession(accounts.Actor(ctx, bs.UserID), s.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.serverError(w, r, "ending a session", err)
			return
		}
		ended++
	}
	if ended == 0 {
		h.redirectWith(w, r, h.URL(PathAccountSessions), noticeParam, "session_missing")
		return
	}
	h.redirectWith(w, r, h.URL(PathAccountSessions), noticeParam, "session_ended")
}

// describeDevice names a browser and its system from a User-Agent header
// ("Firefox on Linux"): a short description for the customer, not a
// fingerprint; "" when neither is recognized.
func describeDevice(ua string) string {
	browser := firstMatch(ua, []match{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	})
	system := firstMatch(ua, []match{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"Macintosh", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser != "" && system != "":
		return browser + " · " + system
	case browser != "":
		return browser
	default:
		return system
	}
}

// match names what a User-Agent containing token is.
type match struct{ token, name string }

func firstMatch(ua string, ms []match) string {
	for _, m := range ms {
		if strings.Contains(ua, m.token) {
			return m.name
		}
	}
	return ""
}
