package ui

// The data each page template receives, as View.Page. Message IDs name
// entries of the locale files (templates/locales); templates translate them
// with the "t" function.

// LoginPage is the sign-in form (templates/login.html).
type LoginPage struct {
	// Action is the URL the form posts to.
	Action string
	// AuthRequestID is posted back as the hidden field "auth".
	AuthRequestID string
	// Email pre-fills the email field (from login_hint or a failed try).
	Email string
	// ErrorID, when set, is the message ID of the error to show above the
	// form; ErrorData the message's data (the wait of a throttled sign-in).
	ErrorID   string
	ErrorData map[string]any
	// ClientName is the relying party the customer is signing in to.
	ClientName string
	// ForgotPasswordURL and RegisterURL are the self-service links, shown
	// when set; none is set until password recovery and sign-up exist.
	ForgotPasswordURL string
	RegisterURL       string
	// ProvidersAction is where the upstream providers' buttons post;
	// Providers are those buttons ("Continue with Google"), none when no
	// provider is enabled.
	ProvidersAction string
	Providers       []ProviderButton
	// Link, when set, asks the customer to sign in once to link an
	// upstream account whose email is theirs.
	Link *LinkPrompt
	// EmailCodeURL, when set, offers a one-time code by mail instead of
	// the password.
	EmailCodeURL string
	// Passkey offers "Sign in with a passkey" and the browser's passkey
	// autofill; nil when passkeys are off.
	Passkey *PasskeyForm
}

// ProviderButton is an upstream identity provider's button.
type ProviderButton struct {
	// ID is posted as the field "provider".
	ID string
	// Name is the provider's name, e.g. "Google".
	Name string
}

// LinkPrompt explains that signing in will link an upstream account.
type LinkPrompt struct {
	// Token is posted back as the hidden field "link".
	Token string
	// Provider is the upstream provider's name; Email the address it
	// reported.
	Provider string
	Email    string
}

// ConsentPage asks the customer to allow a client (templates/consent.html).
type ConsentPage struct {
	Action        string
	AuthRequestID string
	ClientName    string
	// LogoURI is the client's logo, or "".
	LogoURI string
	// PolicyURI and TOSURI are the client's privacy policy and terms of
	// service, or "".
	PolicyURI string
	TOSURI    string
	// UserEmail is who is signed in, so the customer sees which account
	// consents.
	UserEmail string
	// Scopes lists what the client asks for, one human sentence each.
	Scopes []ScopeItem
}

// ScopeItem is one requested permission on the consent page.
type ScopeItem struct {
	// Scope is the raw scope value, e.g. "profile".
	Scope string
	// MessageID is the sentence describing it, e.g. "scope.profile"; for an
	// unknown scope it is "scope.other", which takes {{.Scope}}.
	MessageID string
}

// ErrorPage is a friendly error (templates/error.html).
type ErrorPage struct {
	// TitleID and MessageID are message IDs.
	TitleID   string
	MessageID string
	// MessageData fills the message's placeholders ({{.ClientName}}).
	MessageData map[string]any
	// RedirectURI is the redirect URI a refused authorization request
	// sent, shown as text (never a link), or "".
	RedirectURI string
}

// LogoutConfirmPage asks whether to sign out (templates/logout_confirm.html).
type LogoutConfirmPage struct {
	Action string
	// ClientName is the app that asked for the sign-out, or "".
	ClientName string
	// Hidden are form fields to post back unchanged.
	Hidden map[string]string
	// CancelURL, when set, is where Cancel leads: the app's registered
	// client_uri. Without one the page has no Cancel (closing the tab
	// is the way out).
	CancelURL string
}

// LoggedOutPage says the customer is signed out (templates/logged_out.html).
type LoggedOutPage struct{}

// MFAPage asks for the second factor of a sign-in (templates/mfa.html):
// an authenticator app's code, or a recovery code.
type MFAPage struct {
	// Action is where both forms post; Pending is posted back as the
	// hidden field "pending".
	Action  string
	Pending string
	// ErrorID and ErrorData, when set, are the message of the last try.
	ErrorID   string
	ErrorData map[string]any
	// Recovery shows the recovery-code form first (the customer chose it).
	Recovery bool
	// StepUp says the app asked for a stronger sign-in than the session's:
	// only the second factor is asked.
	StepUp bool
	// Passkey offers the customer's passkeys as the second factor; nil
	// when they have none.
	Passkey *PasskeyForm
	// RememberDays, when not 0, offers the checkbox "remember" that skips
	// the second factor in this browser for that many days; Remember is
	// its last posted value.
	RememberDays int
	Remember     bool
}

// EnrolPage enrols an authenticator app (templates/mfa_enrol.html): the
// QR code, the key to type in instead, and the first code.
type EnrolPage struct {
	Action string
	// Pending is posted back as "pending" during a sign-in; "" on the
	// account page.
	Pending string
	// QRURL is the QR code's image, served by this server (img-src 'self').
	QRURL string
	// Secret is the key in base32, grouped by four for reading.
	Secret string
	// Required says the sign-in cannot go on without a second factor.
	Required  bool
	ErrorID   string
	ErrorData map[string]any
	// CancelURL leads back (the account page), "" during a sign-in.
	CancelURL string
}

// RecoveryCodesPage shows new recovery codes once
// (templates/recovery_codes.html).
type RecoveryCodesPage struct {
	Codes []string
	// ContinueURL is where the customer goes on to.
	ContinueURL string
}

// SignUpPage is the sign-up form (templates/signup.html).
type SignUpPage struct {
	Action string
	// AuthRequestID is posted back as "auth" ("" without an app).
	AuthRequestID string
	ClientName    string
	Email         string
	Name          string
	// NameRequired marks the name field required.
	NameRequired bool
	// TermsURL, when set, adds the terms checkbox.
	TermsURL string
	// SignInURL leads to the sign-in page instead.
	SignInURL string
	ErrorID   string
	ErrorData map[string]any
	// Attributes are the customer-editable attributes to fill in, those
	// required at sign-up marked.
	Attributes []AttributeField
}

// CheckEmailPage says a mail is on its way and takes its code
// (templates/check_email.html): after a sign-up, or a sign-in refused
// until the email is confirmed.
type CheckEmailPage struct {
	// CodeAction and ResendAction are where its two forms post; State is
	// posted back as "state".
	CodeAction   string
	ResendAction string
	State        string
	Email        string
	// Unverified says a sign-in waits for the email to be confirmed.
	Unverified bool
	// Resent says a new mail was asked for.
	Resent    bool
	ErrorID   string
	ErrorData map[string]any
}

// VerifyEmailPage confirms an email from the mail's link
// (templates/verify_email.html).
type VerifyEmailPage struct {
	Action string
	Token  string
	// Done says the email is confirmed; ContinueURL leads on.
	Done        bool
	ContinueURL string
	// Invalid says the link is unknown, used or expired.
	Invalid bool
}

// ResetRequestPage asks for the email to send a reset link to
// (templates/reset_request.html).
type ResetRequestPage struct {
	Action        string
	AuthRequestID string
	Email         string
	// Sent says the request was taken: the same page whether an account
	// has the email or not.
	Sent      bool
	SignInURL string
	ErrorID   string
	ErrorData map[string]any
}

// ResetPasswordPage sets a new password from a reset link
// (templates/reset_password.html).
type ResetPasswordPage struct {
	Action string
	Token  string
	// Invalid says the link is unknown, used or expired; RequestURL
	// asks for a new one.
	Invalid    bool
	RequestURL string
	ErrorID    string
	ErrorData  map[string]any
}

// EmailCodePage signs in with a mailed one-time code
// (templates/email_code.html): first the email, then the code.
type EmailCodePage struct {
	Action        string
	AuthRequestID string
	Email         string
	// Sent shows the code step.
	Sent bool
	// PasswordURL leads back to the password sign-in.
	PasswordURL string
	ErrorID     string
	ErrorData   map[string]any
}
