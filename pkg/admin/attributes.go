package admin

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/storage"
)

// customer is the customer's JSON with their attributes typed by the
// declarations.
func (a *API) customer(u storage.User) customerJSON {
	out := toCustomerJSON(u)
	if len(u.Attributes) > 0 {
		out.Attributes = a.accounts.Attributes().JSON(u.Attributes)
	}
	return out
}

// listAttributes answers the declared customer attributes, in their
// order, as the configuration declares them.
func (a *API) listAttributes(w http.ResponseWriter, _ *http.Request) {
	items := a.accounts.Attributes().All()
	if items == nil {
		items = []attributes.Declaration{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// updateAttributes changes the customer's attributes as an operator: the
// body is a JSON object whose members set attributes (a value typed as
// declared) or remove them (null), as in a JSON merge patch (RFC 7396).
// It answers the customer.
func (a *API) updateAttributes(w http.ResponseWriter, r *http.Request) {
	var change map[string]any
	if !decodeBody(w, r, &change) {
		return
	}
	if change == nil {
		writeProblem(w, http.StatusBadRequest, "The body must be a JSON object of attribute values.")
		return
	}
	u, err := a.accounts.SetAttributes(r.Context(), mux.Vars(r)["customer_id"], attributes.Change(change), attributes.EditorOperator)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.customer(u))
}

// attributeFilter reads the attribute_name and attribute_value query
// parameters of a listing: an exact value of a declared attribute, in
// its stored form. Neither given is no filter; on a bad pair it writes a
// 400 problem and returns false.
func (a *API) attributeFilter(w http.ResponseWriter, r *http.Request) (storage.AttributeValue, bool) {
	q := r.URL.Query()
	name, value := q.Get("attribute_name"), q.Get("attribute_value")
	if name == "" && !q.Has("attribute_value") {
		return storage.AttributeValue{}, true
	}
	if name == "" || !q.Has("attribute_value") {
		writeFieldProblem(w, http.StatusBadRequest, "attribute_name", "Give attribute_name and attribute_value together.")
		return storage.AttributeValue{}, false
	}
	stored, err := a.accounts.Attributes().Normalize(name, value)
	if err != nil {
		writeFieldProblem(w, http.StatusBadRequest, "attribute_value", err.Error())
		return storage.AttributeValue{}, false
	}
	return storage.AttributeValue{Name: name, Value: stored}, true
}
