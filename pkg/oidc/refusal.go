package oidc

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/internal/reqlog"
	"github.com/gatehouse-id/gatehouse/storage"
)

// The messages of the page that refuses an authorization request which
// cannot be answered at the app (templates/locales: error.request.*).
const (
	msgMissingParameter       = "error.request.missing_parameter"
	msgUnknownClient          = "error.request.unknown_client"
	msgUnregisteredRedirect   = "error.request.unregistered_redirect_uri"
	msgUnsupportedParameter   = "error.request.unsupported_parameter"
	maxShownRedirectURILength = 2000
)

// refuseAuthorize answers an authorization request whose app or redirect
// URI cannot be trusted, so that the error cannot go back to the app (RFC
// 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6): a page that names the
// problem in plain words — no client_id, an unknown app, no redirect_uri
// where one is needed, a redirect URI not registered for the app (shown as
// text), an unsupported response_mode — with the app's name when it is
// known. The request's log line gets the error, its description and the
// client_id.
func (p *Provider) refuseAuthorize(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	form := r.Form
	if ar != nil && ar.GetRequestForm() != nil {
		form = ar.GetRequestForm()
	}
	var client *storage.Client
	if ar != nil {
		client, _ = ar.GetClient().(*storage.Client)
	}
	clientID, redirect := form.Get("client_id"), form.Get("redirect_uri")
	data := map[string]string{}
	msg := "error.invalid_request"
	switch {
	case clientID == "":
		msg, data["Param"] = msgMissingParameter, "client_id"
	case client == nil:
		msg, data["ClientID"] = msgUnknownClient, clientID
	case errors.Is(err, fosite.ErrUnsupportedResponseMode):
		msg, data["Param"] = msgUnsupportedParameter, "response_mode"
	case redirect == "":
		msg, data["Param"] = msgMissingParameter, "redirect_uri"
	default:
		msg, data["RedirectURI"] = msgUnregisteredRedirect, shorten(redirect, maxShownRedirectURILength)
	}
	if client != nil {
		data["ClientName"] = client.Name
		if client.Name == "" {
			data["ClientName"] = client.ID
		}
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	attrs := []slog.Attr{
		slog.String("error", rfc.ErrorField),
		slog.String("error_description", rfc.GetDescription()),
		slog.String("client_id", shorten(clientID, 200)),
	}
	// fosite's debug text names the store's or the parser's complaint;
	// it carries no code or secret, as no such parameter reaches here.
	if rfc.DebugField != "" {
		attrs = append(attrs, slog.String("error_debug", rfc.DebugField))
	}
	reqlog.Annotate(w, attrs...)
	p.pages.RequestRefused(w, r, msg, data)
}

// annotateProtocolError puts a protocol error answered to a client on its
// request's log line: the registered code, the description the client
// got, and the client_id it named.
func annotateProtocolError(w http.ResponseWriter, code, description, clientID string) {
	reqlog.Annotate(w,
		slog.String("error", code),
		slog.String("error_description", description),
		slog.String("client_id", shorten(clientID, 200)),
	)
}

// shorten cuts s to at most n bytes at a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = strings.ToValidUTF8(s[:n], "")
	return s + "…"
}

// formClientID is the client_id a request named, in its form or its Basic
// credentials (RFC 6749 §2.3.1 form-encodes it there).
func formClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if unescaped, err := url.QueryUnescape(id); err == nil {
			return unescaped
		}
		return id
	}
	return r.Form.Get("client_id")
}
