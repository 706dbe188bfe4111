package ui

import "time"

// The data of the account page's self-service pages (View.Page).

// AccountSection is what every self-service page of the account has: the
// way back, and the outcome of the last change.
type AccountSection struct {
	// BackURL is the account page.
	BackURL string
	// NoticeID and ErrorID, when set, are the message IDs of the outcome
	// of the last change; ErrorData the error's data.
	NoticeID  string
	ErrorID   string
	ErrorData map[string]any
}

// AccountProfilePage edits the profile and starts a change of email
// (templates/account_profile.html).
type AccountProfilePage struct {
	AccountSection
	Action      string
	EmailAction string
	// The profile's members as stored, or as posted after an error.
	Name, GivenName, FamilyName, Locale, Picture, PhoneNumber string
	// Email is the current address; EmailVerified whether it is confirmed.
	Email         string
	EmailVerified bool
	// Field names the member an error is about.
	Field string
	// Locales are the languages to choose from.
	Locales []LocaleOption
	// Attributes are the customer-editable attributes.
	Attributes []AttributeField
}

// LocaleOption is one choice of the profile's language.
type LocaleOption struct {
	Tag, Name string
	Selected  bool
}

// AccountPasswordPage changes the password, or sets a first one for a
// customer who signs in only with a provider
// (templates/account_password.html).
type AccountPasswordPage struct {
	AccountSection
	Action string
	// HasPassword asks for the current password.
	HasPassword bool
	// Email is the account's address, for password managers.
	Email string
}

// AccountSessionsPage lists the customer's browser sessions
// (templates/account_sessions.html).
type AccountSessionsPage struct {
	AccountSection
	EndAction string
	Sessions  []AccountSessionItem
	// Others says there are sessions besides this one.
	Others bool
	// Devices are the browsers remembered for the second factor;
	// ForgetAction takes the form that forgets one.
	Devices      []AccountDeviceItem
	ForgetAction string
}

// AccountDeviceItem is one browser remembered for the second factor.
type AccountDeviceItem struct {
	// ID is posted to forget it.
	ID string
	// Device describes the browser, "" when unknown; IP is its address
	// when it was remembered.
	Device string
	IP     string
	// Since is when the second factor was checked there, Until when the
	// remembering ends; both shown in UTC.
	Since, Until time.Time
	// Current is this browser.
	Current bool
}

// AccountSessionItem is one browser session.
type AccountSessionItem struct {
	// SID is posted to end it (its public identifier).
	SID string
	// Device describes the browser ("Firefox on Linux"), "" when unknown.
	Device string
	IP     string
	// Started and LastSeen are shown in UTC.
	Started, LastSeen time.Time
	// Current is this browser's session.
	Current bool
	// Place is the address's approximate place ("City, Country"), ""
	// without a GeoIP database or for an unknown address.
	Place string
}

// AccountAppsPage lists the apps the customer allowed
// (templates/account_apps.html).
type AccountAppsPage struct {
	AccountSection
	RevokeAction string
	Apps         []AccountApp
}

// AccountApp is one allowed app.
type AccountApp struct {
	ClientID, Name string
	// Scopes are the allowed permissions, one sentence each.
	Scopes []ScopeItem
	// Since is when the customer first allowed it.
	Since time.Time
}

// AccountDataPage downloads the customer's data and deletes the account
// (templates/account_data.html).
type AccountDataPage struct {
	AccountSection
	DownloadAction string
	DeleteAction   string
}

// AccountMessagePage says how a step ended, with a form to go on when
// there is one (templates/account_message.html): confirming a new email
// address, an account deleted.
type AccountMessagePage struct {
	TitleID   string
	MessageID string
	// Action and Token make the form that goes on (a link's token posted
	// back as "token"), with ButtonID its button; none when Action is "".
	Action   string
	Token    string
	ButtonID string
	// ContinueURL, when set, is a link onward.
	ContinueURL string
	// Error marks the message as a problem.
	Error bool
}

// AccountManageLink is a link from the account page to one of its
// self-service pages.
type AccountManageLink struct {
	ID, URL, LabelID string
}

// accountManageLinks are the account page's links to its self-service
// pages; none when they are not mounted.
func (h *Handler) accountManageLinks() []AccountManageLink {
	if h.opts.Accounts == nil || h.opts.SignIn == nil {
		return nil
	}
	return []AccountManageLink{
		{"manage-profile", h.URL(PathAccountProfile), "account.manage.profile"},
		{"manage-password", h.URL(PathAccountPassword), "account.manage.password"},
		{"manage-sessions", h.URL(PathAccountSessions), "account.manage.sessions"},
		{"manage-apps", h.URL(PathAccountApps), "account.manage.apps"},
		{"manage-data", h.URL(PathAccountData), "account.manage.data"},
	}
}

// accountSamplePages are the self-service pages' samples for samplePages.
func accountSamplePages(page string) []any {
	s := AccountSection{BackURL: "/account", NoticeID: "account.notice.profile_saved", ErrorID: "password.error.too_short", ErrorData: map[string]any{"Min": 8}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	switch page {
	case "account_profile":
		return []any{AccountProfilePage{}, AccountProfilePage{AccountSection: s, Action: "/account/profile", EmailAction: "/account/email",
			Name: "A", GivenName: "A", FamilyName: "B", Locale: "fr", Picture: "https://a.example/p.png", PhoneNumber: "+33 1", Email: "a@example.com",
			EmailVerified: true, Field: "picture", Locales: []LocaleOption{{Tag: "fr", Name: "Français", Selected: true}}}}
	case "account_password":
		return []any{AccountPasswordPage{}, AccountPasswordPage{AccountSection: s, Action: "/account/password", HasPassword: true, Email: "a@example.com"}}
	case "account_sessions":
		return []any{AccountSessionsPage{}, AccountSessionsPage{AccountSection: s, EndAction: "/account/sessions/end", Others: true, Sessions: []AccountSessionItem{
			{SID: "s", Device: "Firefox · Linux", IP: "192.0.2.1", Started: now, LastSeen: now, Current: true, Place: "Berlin, Deutschland"}, {SID: "t", Started: now, LastSeen: now}},
			ForgetAction: "/account/devices/forget", Devices: []AccountDeviceItem{{ID: "d", Device: "Firefox · Linux", IP: "192.0.2.1", Since: now, Until: now, Current: true}}}}
	case "account_apps":
		return []any{AccountAppsPage{}, AccountAppsPage{AccountSection: s, RevokeAction: "/account/apps/revoke", Apps: []AccountApp{
			{ClientID: "c", Name: "App", Since: now, Scopes: []ScopeItem{{Scope: "openid", MessageID: "scope.openid"}, {Scope: "x", MessageID: "scope.other"}}}}}}
	case "account_data":
		return []any{AccountDataPage{}, AccountDataPage{AccountSection: s, DownloadAction: "/account/data/download", DeleteAction: "/account/delete"}}
	case "account_message":
		return []any{AccountMessagePage{TitleID: "account.deleted.title", MessageID: "account.deleted.message"},
			AccountMessagePage{TitleID: "account.email_confirm.title", MessageID: "account.email_confirm.invalid", Action: "/account/email/confirm",
				Token: "t", ButtonID: "account.email_confirm.submit", ContinueURL: "/account", Error: true}}
	}
	return nil
}
