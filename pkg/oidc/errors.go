package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ory/fosite"
)

// writeJSON writes v as JSON with the given status. Protocol answers are
// never cached (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// protocolError is the RFC 6749 §5.2 error body.
type protocolError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeError writes a protocol error. For invalid_client with 401 it adds
// the WWW-Authenticate challenge RFC 6749 §5.2 requires.
func writeError(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", charset="UTF-8"`)
	}
	writeJSON(w, status, protocolError{Error: code, Description: describe(description)})
}

// describe fits a description to the characters error_description may hold
// (RFC 6749 §4.1.2.1 and §5.2: %x20-21 / %x23-5B / %x5D-7E, printable
// ASCII without the double quote and the backslash): a double quote
// becomes a single one, a tab or line break a space, "§" the word
// "section", and anything else outside the set is dropped.
func describe(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !descriptionChar(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '"':
			b.WriteByte('\'')
		case c == '\t' || c == '\n' || c == '\r':
			b.WriteByte(' ')
		case c == '§':
			b.WriteString("section ")
		case c < 0x80 && descriptionChar(byte(c)):
			b.WriteRune(c)
		}
	}
	return strings.ReplaceAll(b.String(), "section  ", "section ")
}

// descriptionChar reports whether c may appear in an error_description.
func descriptionChar(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

// writeFositeError writes a fosite error with its registered code, status
// and description (never its debug detail).
func writeFositeError(w http.ResponseWriter, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	writeError(w, rfc.StatusCode(), rfc.ErrorField, rfc.GetDescription())
}

// errBodyTooLarge reports whether parsing failed because the body exceeded
// the server's limit.
func errBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// parsePostForm parses an application/x-www-form-urlencoded POST body and
// writes the protocol error itself when it cannot. It reports whether the
// handler should go on.
func parsePostForm(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "The request must use POST.")
		return false
	}
	if err := r.ParseForm(); err != nil {
		if errBodyTooLarge(err) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request", "The request body is too large.")
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
		return false
	}
	return true
}

// repeatedParam returns the name of a parameter sent more than once, or ""
// (RFC 6749 §3.1 and §3.2: "Request and response parameters MUST NOT be
// included more than once"). audience and resource may repeat: fosite and
// RFC 8707 §2 take one value each time. A nameless "=x" is no parameter,
// however often it comes (nothing reads it, and "" could not name it).
func repeatedParam(form url.Values) string {
	for name, values := range form {
		if len(values) > 1 && name != "" && name != "audience" && name != "resource" {
			return name
		}
	}
	return ""
}
