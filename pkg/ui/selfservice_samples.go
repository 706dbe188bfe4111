package ui

// selfServiceSamples returns an empty and a filled page struct for each
// self-service page, to try its template on at start-up.
func selfServiceSamples(page string) []any {
	errData := map[string]any{"Minutes": 2}
	switch page {
	case "signup":
		return []any{SignUpPage{}, SignUpPage{Action: "/signup", AuthRequestID: "a", ClientName: "App", Email: "a@example.com", Name: "A",
			NameRequired: true, TermsURL: "https://example.com/terms", SignInURL: "/login?auth=a", ErrorID: "login.error.throttled", ErrorData: errData}}
	case "check_email":
		return []any{CheckEmailPage{}, CheckEmailPage{CodeAction: "/signup/code", ResendAction: "/signup/resend", State: "s", Email: "a@example.com",
			Unverified: true, Resent: true, ErrorID: "login.error.throttled", ErrorData: errData}}
	case "verify_email":
		return []any{VerifyEmailPage{}, VerifyEmailPage{Action: "/verify", Token: "t", Done: true, ContinueURL: "/login?auth=a"}, VerifyEmailPage{Invalid: true}}
	case "reset_request":
		return []any{ResetRequestPage{}, ResetRequestPage{Action: "/reset", AuthRequestID: "a", Email: "a@example.com", Sent: true, SignInURL: "/login",
			ErrorID: "login.error.throttled", ErrorData: errData}}
	case "reset_password":
		return []any{ResetPasswordPage{}, ResetPasswordPage{Action: "/reset/password", Token: "t", RequestURL: "/reset", ErrorID: "login.error.throttled", ErrorData: errData},
			ResetPasswordPage{Invalid: true, RequestURL: "/reset"}}
	case "email_code":
		return []any{EmailCodePage{}, EmailCodePage{Action: "/login/code", AuthRequestID: "a", Email: "a@example.com", Sent: true, PasswordURL: "/login?auth=a",
			ErrorID: "login.error.throttled", ErrorData: errData}}
	}
	return nil
}
