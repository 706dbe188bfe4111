package federation

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/markbates/goth"
	"golang.org/x/oauth2"
)

// The helpers below are for connectors that wrap a goth provider.

// GothAuthorize restores the goth session Begin stored and exchanges the
// callback's code on it. Only the code, and the PKCE verifier when not empty,
// are passed to goth: a callback parameter such as redirect_uri is not
// forwarded to the token request. A panic inside goth is returned as an
// error.
func GothAuthorize(p goth.Provider, session, code, verifier string) (sess goth.Session, err error) {
	defer recoverInto(p, &err)
	sess, err = p.UnmarshalSession(session)
	if err != nil {
		return nil, fmt.Errorf("%s: read session: %w", p.Name(), err)
	}
	params := url.Values{"code": {code}}
	if verifier != "" {
		params.Set("code_verifier", verifier)
	}
	if _, err := sess.Authorize(p, params); err != nil {
		return nil, fmt.Errorf("%s: exchange the code: %w", p.Name(), err)
	}
	return sess, nil
}

// GothFetchUser fetches the customer's profile on an authorized session. A
// panic inside goth is returned as an error.
func GothFetchUser(p goth.Provider, sess goth.Session) (u goth.User, err error) {
	defer recoverInto(p, &err)
	u, err = p.FetchUser(sess)
	if err != nil {
		return u, fmt.Errorf("%s: fetch the profile: %w", p.Name(), err)
	}
	return u, nil
}

func recoverInto(p goth.Provider, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: the provider library failed on the answer: %v", p.Name(), r)
	}
}

// GothBegin starts a goth sign-in with the state and returns the
// authorization URL, with extra parameters added, and the session to keep.
func GothBegin(p goth.Provider, state string, extra url.Values) (authURL, session string, err error) {
	sess, err := p.BeginAuth(state)
	if err != nil {
		return "", "", fmt.Errorf("%s: begin: %w", p.Name(), err)
	}
	raw, err := sess.GetAuthURL()
	if err != nil {
		return "", "", fmt.Errorf("%s: authorization URL: %w", p.Name(), err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("%s: authorization URL: %w", p.Name(), err)
	}
	if len(extra) > 0 {
		q := u.Query()
		for k, vs := range extra {
			q[k] = vs
		}
		// Encode spaces as %20, which every provider accepts (Apple refuses
		// "+").
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	return u.String(), sess.Marshal(), nil
}

// PKCEParams returns the parameters that send the S256 challenge of the
// verifier (RFC 7636 §4.3).
func PKCEParams(verifier string) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	return url.Values{
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
}

// Redact returns an error's message fit for a log line: a URL keeps only
// its scheme, host and path (goth puts access tokens in query strings), a
// token endpoint's error only its status and error code, and any parameter
// that carries a secret is blanked. It is at most 500 bytes.
func Redact(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		msg = fmt.Sprintf("token request refused: status %d, error %q", status, errorCode(re.ErrorCode))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		where := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			where = u.Scheme + "://" + u.Host + u.Path
		}
		msg = fmt.Sprintf("%s %s: %v", ue.Op, where, ue.Err)
	}
	msg = secretParams().ReplaceAllString(msg, "${1}=REDACTED")
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

// secretParams matches query or form parameters whose value is a secret.
func secretParams() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|code|code_verifier|client_secret|appsecret_proof|state|nonce)=[^&\s"']*`)
}

// ClaimBool reads a boolean claim from a provider's raw profile, accepting
// true and "true" (some providers send booleans as strings).
func ClaimBool(raw map[string]any, name string) bool {
	switch v := raw[name].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// ClaimString reads a string claim from a provider's raw profile, or "".
func ClaimString(raw map[string]any, name string) string {
	s, _ := raw[name].(string)
	return s
}

// GothAuthOrigin returns the origin of a goth provider's authorization
// endpoint, read from the URL it builds.
func GothAuthOrigin(p goth.Provider) string {
	raw, _, err := GothBegin(p, "origin", nil)
	if err != nil {
		return ""
	}
	return Origin(raw)
}

// Origin returns the scheme://host[:port] of an absolute URL, or "".
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
