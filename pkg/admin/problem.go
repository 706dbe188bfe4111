package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/internal/strictjson"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage"
)

// problem is an RFC 9457 problem details object. Type is about:blank, so
// Title is the status's phrase (RFC 9457 §4.2.1); Detail says what went
// wrong, and Field names the request member at fault, when one is. Rule,
// an extension member (RFC 9457 §3.2), names the rule a refused password
// broke (identity.PasswordRule: too_short, too_long, too_common,
// contains_email), or the reason a customer attribute's value was refused
// (attributes.ValueError: unknown, invalid, not_editable, required).
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	writeFieldProblem(w, status, "", detail)
}

func writeFieldProblem(w http.ResponseWriter, status int, field, detail string) {
	sendProblem(w, problem{Status: status, Detail: detail, Field: field})
}

// sendProblem writes p, filling in its type and title.
func sendProblem(w http.ResponseWriter, p problem) {
	p.Type, p.Title = "about:blank", http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeError turns a domain error into a problem: validation errors are
// 400 with the field (and a refused password's rule), a missing object 404,
// a conflict 409, anything else a logged 500 whose detail reveals nothing.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ce *clients.InvalidError
	var ie *identity.InvalidError
	var pe *identity.PasswordError
	var we *webhooks.InvalidError
	var ave *attributes.ValueError
	switch {
	case errors.As(err, &we):
		writeFieldProblem(w, http.StatusBadRequest, we.Field, we.Error())
	case errors.Is(err, webhooks.ErrDisabled):
		writeProblem(w, http.StatusConflict, "The webhook is disabled; enable it first.")
	case errors.As(err, &ce):
		writeFieldProblem(w, http.StatusBadRequest, ce.Field, ce.Error())
	case errors.As(err, &ie) && errors.As(err, &pe):
		sendProblem(w, problem{Status: http.StatusBadRequest, Detail: ie.Error(), Field: ie.Field, Rule: string(pe.Rule)})
	case errors.As(err, &ie):
		status := http.StatusBadRequest
		if errors.Is(err, identity.ErrEmailTaken) {
			status = http.StatusConflict
		}
		writeFieldProblem(w, status, ie.Field, ie.Error())
	case errors.Is(err, storage.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "No such resource.")
	case errors.Is(err, storage.ErrAlreadyExists):
		writeProblem(w, http.StatusConflict, "The change conflicts with an existing resource.")
	case errors.Is(err, storage.ErrKeyInUse):
		writeProblem(w, http.StatusConflict, "The key is active; rotate it before retiring it.")
	case errors.Is(err, storage.ErrConflict):
		writeProblem(w, http.StatusConflict, "A concurrent change won; retry.")
	case outage.Is(err):
		// The database cannot answer now: no verdict on the request, and
		// not a failure of this server to log at error level (the outage
		// reporter and the request log have it).
		outage.SetRetryAfter(w)
		writeProblem(w, http.StatusServiceUnavailable, "The database cannot answer for a moment; retry after the Retry-After delay.")
	case errors.As(err, &ave):
		sendProblem(w, problem{Status: http.StatusBadRequest, Detail: ave.Error(), Field: "attributes." + ave.Attribute, Rule: ave.Reason})
	case errors.Is(err, storage.ErrNotSearchable):
		writeFieldProblem(w, http.StatusBadRequest, "attribute_name", "Customers can be found only by a searchable attribute (declared searchable: true), and not together with a prefix.")
	default:
		a.log.ErrorContext(r.Context(), "admin request failed", "route", routeTemplate(r), "error", err.Error())
		writeProblem(w, http.StatusInternalServerError, "The server failed to complete the request.")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body into v, refusing unknown members
// and trailing data; on failure it writes a 400 problem and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if !strictjson.IsJSONContentType(r.Header.Get("Content-Type")) {
		writeProblem(w, http.StatusUnsupportedMediaType, "The body must be application/json.")
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "The body is too large.")
			return false
		}
		writeProblem(w, http.StatusBadRequest, "The body could not be read.")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeProblem(w, http.StatusBadRequest, "The body is empty; a JSON object is expected.")
		return false
	}
	if err := strictjson.Decode(body, v, true); err != nil {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("The body is not the expected JSON object: %v.", err))
		return false
	}
	return true
}
