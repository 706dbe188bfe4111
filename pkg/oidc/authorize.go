package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
)

// authRequestLifetime is how long a customer has to sign in and consent.
const authRequestLifetime = 30 * time.Minute

// handleAuthorize is the authorization endpoint (RFC 6749 §3.1, OpenID
// Connect Core §3.1.2), for GET and POST.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.pages.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	p.authorize(w, r, r.Form, nil)
}

// handleResume continues an authorization request after the customer signed
// in or consented on Gatehouse's pages.
func (p *Provider) handleResume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pending, err := p.store.GetAuthRequest(ctx, r.URL.Query().Get("auth"))
	if p.unavailablePage(w, r, endpointAuthorize, err) {
		return
	}
	if err != nil || pending.BrowserBinding != p.sessions.Device(w, r) {
		// Unknown, expired, or started in another browser.
		p.pages.Error(w, r, http.StatusBadRequest, "error.expired_request")
		return
	}
	form, err := url.ParseQuery(pending.Form)
	if err != nil {
		p.pages.Error(w, r, http.StatusBadRequest, "error.expired_request")
		return
	}
	p.authorize(w, r, form, &pending)
}

// authorize runs an authorization request from its parameters. pending is
// the stored request when the customer comes back from a page, nil the
// first time.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request, form url.Values, pending *storage.AuthRequest) {
	ctx := r.Context()
	// fosite reads the parameters from r.Form; give it exactly the request's,
	// but for a missing state: state is only RECOMMENDED (RFC 6749 §4.1.1,
	// OpenID Connect Core §3.1.2.1), while fosite demands one. It gets a
	// stand-in, which no answer carries back (see absentState).
	fr := r.Clone(ctx)
	fr.Method = http.MethodGet
	fosForm := form
	if form.Get("state") == "" {
		fosForm = cloneValues(form)
		fosForm.Set("state", absentState)
	}
	// fosite knows no prompt=create (OpenID Connect Prompt Create 1.0):
	// it gets the request without it, and parseOIDCParams reads it.
	if p.signUpPath != "" && slices.Contains(strings.Fields(form.Get("prompt")), "create") {
		fosForm = cloneValues(fosForm)
		rest := slices.DeleteFunc(strings.Fields(form.Get("prompt")), func(v string) bool { return v == "create" })
		if len(rest) == 0 {
			fosForm.Del("prompt")
		} else {
			fosForm.Set("prompt", strings.Join(rest, " "))
		}
	}
	// A copy: what fosite's request drops (id_token_hint, below) stays in
	// the form that is stored for the way back.
	fosForm = cloneValues(fosForm)
	fr.Form, fr.PostForm = fosForm, url.Values{}
	fr.URL.RawQuery = fosForm.Encode()

	// Request objects are not supported yet (OpenID Connect Core §6). Answer
	// so before fosite tries to fetch or parse one.
	if form.Has("request") || form.Has("request_uri") {
		unsupported := fosite.ErrRequestNotSupported
		if !form.Has("request") {
			unsupported = fosite.ErrRequestURINotSupported
		}
		stripped := cloneValues(fosForm)
		stripped.Del("request")
		stripped.Del("request_uri")
		fr.Form = stripped
		fr.URL.RawQuery = stripped.Encode()
		ar, err := p.oauth.NewAuthorizeRequest(ctx, fr)
		if err != nil {
			p.writeAuthorizeError(w, r, ar, err)
			return
		}
		p.writeAuthorizeError(w, r, ar, unsupported)
		return
	}

	ar, err := p.oauth.NewAuthorizeRequest(ctx, fr)
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	if !exactRedirectURI(ar, form.Get("redirect_uri")) {
		// Never redirect to a URI that was not registered: a page instead.
		p.refuseAuthorize(w, r, ar, fosite.ErrInvalidRequest.WithHint("The redirect_uri is not one the client registered: only a native app may use any port of a loopback redirect URI."))
		return
	}
	if name := repeatedParam(form); name != "" {
		p.writeAuthorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHintf("The %s parameter was sent more than once.", name))
		return
	}
	req, err := parseOIDCParams(form, p.promptValues())
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	// RFC 8707: the resources named become audiences requested (and, once
	// the customer allows, granted) with the rest.
	resources, err := resourceIndicators(form, ar.GetClient().GetAudience())
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	ar.SetRequestedAudience(append(slices.Clone(ar.GetRequestedAudience()), resources...))
	// A client's default_max_age stands in for an absent max_age (OpenID
	// Connect Dynamic Client Registration §2).
	if c, ok := ar.GetClient().(*storage.Client); ok && req.maxAge < 0 && c.DefaultMaxAge > 0 {
		req.maxAge = c.DefaultMaxAge
	}
	// Check PKCE before the customer is asked anything: fosite would only
	// notice after the sign-in (RFC 7636 §4.4.1, RFC 9700 §2.1.1).
	if err := p.checkPKCE(ar); err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	requestedAt := time.Now().UTC()
	if pending != nil {
		requestedAt = pending.RequestedAt
	}
	// Compare in whole seconds, as the ID token does.
	requestedAt = requestedAt.Truncate(time.Second)

	bs, err := p.sessions.Current(ctx, r)
	signedIn := err == nil
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err).WithDebug("reading browser session: "+err.Error()))
		return
	}
	// A sign-in made for this very request satisfies prompt=login, max_age
	// and select_account; an older one does not.
	freshLogin := signedIn && pending != nil && pending.SessionID == bs.ID

	if req.idTokenHint != "" {
		sub, err := p.verifyIDTokenHint(ctx, req.idTokenHint)
		if err != nil {
			p.writeAuthorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("The id_token_hint is not an ID token issued by this server."))
			return
		}
		// OpenID Connect Core §3.1.2.1: a token for the customer the hint
		// names, or none. Another customer's session is not used, nor
		// stepped up: with prompt=none that is login_required; otherwise
		// the person is asked to sign in (as the hinted customer), and a
		// sign-in made for this request as someone else is
		// login_required too.
		if signedIn && p.subjectFor(ar.GetClient(), bs.UserID) != sub {
			switch {
			case req.prompt["none"]:
				p.writeAuthorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("Another customer is signed in."))
				return
			case freshLogin:
				p.finishPending(ctx, pending)
				p.writeAuthorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("The customer who signed in is not the one the id_token_hint names."))
				return
			}
			signedIn = false
		}
		// fosite checks the hint against its current key only; ours
		// accepted any published key, so fosite need not look again.
		ar.GetRequestForm().Del("id_token_hint")
	}

	needLogin := !signedIn
	if signedIn && !freshLogin {
		switch {
		case req.prompt["login"], req.prompt["select_account"]:
			needLogin = true
		case req.maxAge >= 0 && time.Since(bs.AuthTime) > time.Duration(req.maxAge)*time.Second:
			needLogin = true
		}
	}
	// The class the sign-in must reach. One no sign-in here can reach is
	// refused before the customer is asked anything.
	client, ok := ar.GetClient().(*storage.Client)
	if !ok {
		p.writeAuthorizeError(w, r, ar, fosite.ErrServerError)
		return
	}
	demand, err := p.acr.Demand(form, *client)
	if err != nil {
		p.writeAuthorizeError(w, r, ar, errUnmetAuthenticationRequirements.WithWrap(err).WithHint(err.Error()))
		return
	}
	// Step-up: a session whose class is too weak needs only the missing
	// factor; the sign-in page asks for it.
	if !needLogin && !demand.Satisfied(acr.Of(bs)) {
		needLogin = true
	}
	// prompt=create (OpenID Connect Prompt Create 1.0): the customer
	// starts at sign-up, whether signed in or not, until a sign-in is
	// made for this request (a sign-up ends in one).
	if req.prompt["create"] && !freshLogin {
		p.sendToPage(w, r, ar, form, pending, p.signUpPath)
		return
	}
	if needLogin {
		if req.prompt["none"] {
			p.writeAuthorizeError(w, r, ar, fosite.ErrLoginRequired)
			return
		}
		p.sendToPage(w, r, ar, form, pending, p.loginPath)
		return
	}

	user, err := p.store.GetUser(ctx, bs.UserID)
	if err != nil {
		p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err).WithDebug("reading the signed-in customer: "+err.Error()))
		return
	}
	if user.Disabled {
		// Disabling ended the customer's sessions; this one raced it.
		p.writeAuthorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The sign-in was refused."))
		return
	}
	// Consent: a decision made on the consent page for this request wins;
	// otherwise a remembered consent that covers every requested scope.
	decision := ""
	if pending != nil {
		decision = p.sessions.VerifyDecision(r, pending.ID, r.URL.Query().Get("decision"), r.URL.Query().Get("sig"))
	}
	switch decision {
	case "deny":
		p.finishPending(ctx, pending)
		p.writeAuthorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The customer denied the request."))
		return
	case "allow":
	default:
		consented := client.SkipConsent
		if !consented && !req.prompt["consent"] {
			c, err := p.store.GetConsent(ctx, user.ID, client.ID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err).WithDebug("reading consent: "+err.Error()))
				return
			}
			consented = err == nil && coversScopes(c.Scopes, ar.GetRequestedScopes())
		}
		if !consented {
			if req.prompt["none"] {
				p.writeAuthorizeError(w, r, ar, fosite.ErrConsentRequired)
				return
			}
			p.sendToPage(w, r, ar, form, pending, p.consentPath)
			return
		}
	}

	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	for _, aud := range ar.GetRequestedAudience() {
		ar.GrantAudience(aud)
	}
	sess := p.newIDSession(user, bs, requestedAt, ar, req, demand.ACRFor(acr.Of(bs)))
	if ar.GetGrantedScopes().Has(RolesScope) {
		// Read once, here: the code's tokens and ID token carry them.
		names, err := p.store.RoleNames(ctx, user.ID, client.ID)
		if err != nil {
			p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err).WithDebug("reading the customer's roles: "+err.Error()))
			return
		}
		sess.setRoles(names)
	}
	resp, err := p.oauth.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	if err := p.store.AddSessionClient(ctx, bs.ID, client.ID); err != nil {
		p.log.WarnContext(ctx, "recording the session's client", "error", err.Error())
	}
	p.finishPending(ctx, pending)
	// RFC 9207: say who answers, so a client talking to several servers
	// cannot be confused.
	resp.AddParameter("iss", p.issuer)
	if ar.GetState() == absentState {
		resp.GetParameters().Del("state")
	}
	if ar.GetResponseMode() == fosite.ResponseModeFormPost {
		w.Header().Set("Content-Security-Policy", formPostCSP())
	}
	p.oauth.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// newIDSession builds the session of a grant: the subject, the sign-in's
// time and methods, and the claims the ID token must carry.
func (p *Provider) newIDSession(u storage.User, bs storage.BrowserSession, requestedAt time.Time, ar fosite.AuthorizeRequester, req oidcParams, class string) *Session {
	s := newSession()
	s.Subject = u.ID
	s.Username = u.Email
	// azp names the client the token was issued to (OpenID Connect Core §2).
	extra := map[string]interface{}{"sid": bs.SID, "azp": ar.GetClient().GetID()}
	// idp names the upstream identity provider of a federated sign-in
	// (whose amr says "fed").
	if bs.IDP != "" {
		extra["idp"] = bs.IDP
	}
	// Scope claims go to the userinfo endpoint; into the ID token only when
	// no access token is issued to fetch them with, or when the claims
	// parameter asks (OpenID Connect Core §5.4, §5.5).
	var idTokenScopes []string
	if !ar.GetResponseTypes().Has("token") && !ar.GetResponseTypes().Has("code") {
		idTokenScopes = ar.GetGrantedScopes()
	}
	if ar.GetGrantedScopes().Has("openid") {
		for name, v := range userClaims(u, idTokenScopes, ar.GetGrantedScopes(), req.claims.IDToken, p.attrs) {
			extra[name] = v
		}
		s.UserinfoClaims = req.claims.UserInfo
	}
	s.Claims = &jwt.IDTokenClaims{
		Subject:                             p.subjectFor(ar.GetClient(), u.ID),
		Issuer:                              p.issuer,
		AuthTime:                            bs.AuthTime.UTC(),
		RequestedAt:                         requestedAt,
		AuthenticationMethodsReferences:     bs.AMR,
		AuthenticationContextClassReference: class,
		Extra:                               extra,
	}
	return s
}

// sendToPage stores the request (once) and sends the browser to a page.
func (p *Provider) sendToPage(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, form url.Values, pending *storage.AuthRequest, page string) {
	ctx := r.Context()
	id := ""
	if pending != nil {
		id = pending.ID
	} else {
		now := time.Now().UTC()
		a := storage.AuthRequest{
			ID:             secret.NewRandomString(24),
			ClientID:       ar.GetClient().GetID(),
			Form:           form.Encode(),
			RequestedAt:    now,
			BrowserBinding: p.sessions.Device(w, r),
			ExpiresAt:      now.Add(authRequestLifetime),
		}
		if err := p.store.CreateAuthRequest(ctx, a); err != nil {
			p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err).WithDebug("storing the authorization request: "+err.Error()))
			return
		}
		id = a.ID
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, page+"?auth="+url.QueryEscape(id), http.StatusSeeOther)
}

func (p *Provider) finishPending(ctx context.Context, pending *storage.AuthRequest) {
	if pending == nil {
		return
	}
	if err := p.store.DeleteAuthRequest(ctx, pending.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		p.log.WarnContext(ctx, "deleting the answered authorization request", "error", err.Error())
	}
}

// errUnmetAuthenticationRequirements is the answer to a request whose
// demanded authentication context no sign-in here can reach (OpenID
// Connect Unmet Authentication Requirements 1.0 §2; OpenID Connect Core
// §5.5.1.1 for an essential acr).
var errUnmetAuthenticationRequirements = &fosite.RFC6749Error{
	ErrorField:       "unmet_authentication_requirements",
	DescriptionField: "The authorization server cannot meet the requested authentication requirements.",
	CodeField:        http.StatusBadRequest,
}

// absentState stands in for the state a request did not send, for fosite,
// which requires one; answers leave it out, as the request did.
const absentState = "gatehouse:no-state-sent"

// writeAuthorizeError answers an authorization error: a page that says
// what was wrong when the client or redirect URI cannot be trusted (RFC
// 6749 §4.1.2.1: never redirect then; refuseAuthorize), otherwise a
// redirect to the client with error, error_description, state and iss
// (RFC 9207, OpenID Connect Core §3.1.2.6). Either way the request's log
// line names the error, its description and the client_id.
//
// A failure of the store is neither: the customer sees the "try again in
// a moment" page (503), and the app is not told the request failed.
func (p *Provider) writeAuthorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	if p.unavailablePage(w, r, endpointAuthorize, err) {
		return
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.StatusCode() >= 500 {
		p.log.ErrorContext(r.Context(), "authorization failed", "error", rfc.ErrorField, "cause", rfc.GetDescription()+" "+rfc.DebugField)
	}
	if ar == nil || !ar.IsRedirectURIValid() {
		p.refuseAuthorize(w, r, ar, err)
		return
	}
	params := url.Values{}
	params.Set("error", rfc.ErrorField)
	d := describe(rfc.GetDescription())
	if d != "" {
		params.Set("error_description", d)
	}
	annotateProtocolError(w, rfc.ErrorField, d, ar.GetClient().GetID())
	if st := ar.GetState(); st != "" && st != absentState {
		params.Set("state", st)
	}
	params.Set("iss", p.issuer)
	redirect := *ar.GetRedirectURI()
	redirect.Fragment = ""
	w.Header().Set("Cache-Control", "no-store")
	switch mode := responseMode(ar); mode {
	case fosite.ResponseModeFormPost:
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.Header().Set("Content-Security-Policy", formPostCSP())
		fosite.WriteAuthorizeFormPostResponse(redirect.String(), params, formPostTemplate, w)
	case fosite.ResponseModeFragment:
		http.Redirect(w, r, redirect.String()+"#"+params.Encode(), http.StatusSeeOther)
	default:
		q := redirect.Query()
		for k, vs := range params {
			q[k] = vs
		}
		redirect.RawQuery = q.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusSeeOther)
	}
}

// responseMode is the mode an answer must use: the requested one, or the
// response type's default (OAuth 2.0 Multiple Response Type Encoding
// Practices §5: fragment whenever a token or ID token is returned).
func responseMode(ar fosite.AuthorizeRequester) fosite.ResponseModeType {
	if m := ar.GetResponseMode(); m != fosite.ResponseModeDefault {
		return m
	}
	if rt := ar.GetResponseTypes(); rt.Has("token") || rt.Has("id_token") {
		return fosite.ResponseModeFragment
	}
	return fosite.ResponseModeQuery
}

// oidcParams are the OpenID Connect parameters fosite leaves to us.
type oidcParams struct {
	prompt      map[string]bool
	maxAge      int // -1 when absent
	idTokenHint string
	claims      claimsParameter
}

func parseOIDCParams(form url.Values, supported []string) (oidcParams, error) {
	p := oidcParams{prompt: map[string]bool{}, maxAge: -1, idTokenHint: form.Get("id_token_hint")}
	for _, v := range strings.Fields(form.Get("prompt")) {
		// OpenID Connect Prompt Create 1.0 §4.1: a value not in
		// prompt_values_supported is invalid_request.
		if !slices.Contains(supported, v) {
			return p, fosite.ErrInvalidRequest.WithHintf("Unknown prompt value %q.", v)
		}
		p.prompt[v] = true
	}
	// OpenID Connect Core §3.1.2.1: none with any other value is an error.
	if p.prompt["none"] && len(p.prompt) > 1 {
		return p, fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values.")
	}
	if raw := form.Get("max_age"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return p, fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative integer.")
		}
		p.maxAge = n
	}
	c, err := parseClaimsParameter(form.Get("claims"))
	if err != nil {
		return p, fosite.ErrInvalidRequest.WithHint(err.Error())
	}
	p.claims = c
	return p, nil
}

// checkPKCE applies the PKCE rules to a request that asks for a code: a
// public client must send a challenge, and only S256 is accepted unless
// plain is allowed.
func (p *Provider) checkPKCE(ar fosite.AuthorizeRequester) error {
	if !ar.GetResponseTypes().Has("code") {
		return nil
	}
	form := ar.GetRequestForm()
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	if challenge == "" {
		if ar.GetClient().IsPublic() {
			return fosite.ErrInvalidRequest.WithHint("Public clients must use PKCE: code_challenge is required.")
		}
		if method != "" {
			return fosite.ErrInvalidRequest.WithHint("code_challenge_method was sent without code_challenge.")
		}
		return nil
	}
	switch method {
	case "S256":
	case "", "plain":
		if !p.pkcePlain {
			return fosite.ErrInvalidRequest.WithHint("Only code_challenge_method=S256 is accepted.")
		}
	default:
		return fosite.ErrInvalidRequest.WithHintf("Unknown code_challenge_method %q.", method)
	}
	return nil
}

// coversScopes reports whether the consented scopes include every requested
// one.
func coversScopes(consented, requested []string) bool {
	for _, s := range requested {
		if !slices.Contains(consented, s) {
			return false
		}
	}
	return true
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// exactRedirectURI reports whether the redirect_uri a request sent (empty
// when it sent none) is one the client registered. fosite also accepts a
// loopback URI on any port for every client; that exception of RFC 8252
// §7.3 is for native apps, which open whatever port is free, so a
// confidential web client must match exactly (RFC 6749 §3.1.2.3, RFC 9700
// §4.1.3).
func exactRedirectURI(ar fosite.AuthorizeRequester, sent string) bool {
	c, ok := ar.GetClient().(*storage.Client)
	if sent == "" || !ok || clients.AllowsAnyLoopbackPort(*c) {
		return true
	}
	return slices.Contains(c.RedirectURIs, sent)
}
