package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/storage"
)

// roleJSON is a role.
type roleJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ClientID    string    `json:"client_id,omitempty"`
	Description string    `json:"description,omitempty"`
	Default     bool      `json:"default"`
	CreatedAt   time.Time `json:"created_at"`
}

func toRoleJSON(r storage.Role) roleJSON {
	return roleJSON{ID: r.ID, Name: r.Name, ClientID: r.ClientID, Description: r.Description, Default: r.Default, CreatedAt: r.CreatedAt}
}

// listRoles lists roles by ID; ?client_id= keeps one client's.
func (a *API) listRoles(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := parsePage(w, r)
	if !ok {
		return
	}
	roles, err := a.store.ListRoles(r.Context(), r.URL.Query().Get("client_id"), page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(roles, limit, func(r storage.Role) string { return r.ID }, toRoleJSON))
}

// roleCreate is the body of a new role.
type roleCreate struct {
	Name        string `json:"name"`
	ClientID    string `json:"client_id"`
	Description string `json:"description"`
	Default     bool   `json:"default"`
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request) {
	var req roleCreate
	if !decodeBody(w, r, &req) {
		return
	}
	role, err := a.accounts.CreateRole(r.Context(), accounts.NewRole(req))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toRoleJSON(role))
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request) {
	role, err := a.store.GetRole(r.Context(), mux.Vars(r)["role_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRoleJSON(role))
}

// deleteRole deletes the role and takes it from every customer.
func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) {
	if err := a.accounts.DeleteRole(r.Context(), mux.Vars(r)["role_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listCustomerRoles lists the customer's roles, global and of every
// client (a short list: not paginated).
func (a *API) listCustomerRoles(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["customer_id"]
	if _, err := a.store.GetUser(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	roles, err := a.store.ListUserRoles(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := list[roleJSON]{Items: make([]roleJSON, 0, len(roles))}
	for _, role := range roles {
		out.Items = append(out.Items, toRoleJSON(role))
	}
	writeJSON(w, http.StatusOK, out)
}

// roleRef names a role by its ID, or by its name and client ("" for a
// global role).
type roleRef struct {
	RoleID   string `json:"role_id"`
	Name     string `json:"name"`
	ClientID string `json:"client_id"`
}

// assignCustomerRole gives the customer a role; one they have already is
// no error.
func (a *API) assignCustomerRole(w http.ResponseWriter, r *http.Request) {
	var ref roleRef
	if !decodeBody(w, r, &ref) {
		return
	}
	role, ok := a.resolveRole(w, r, ref)
	if !ok {
		return
	}
	if err := a.accounts.AssignRole(r.Context(), mux.Vars(r)["customer_id"], role.ID); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRoleJSON(role))
}

// resolveRole finds the role a request names; on failure it writes the
// problem and returns false.
func (a *API) resolveRole(w http.ResponseWriter, r *http.Request, ref roleRef) (storage.Role, bool) {
	var role storage.Role
	var err error
	switch {
	case ref.RoleID != "" && ref.Name == "" && ref.ClientID == "":
		role, err = a.store.GetRole(r.Context(), ref.RoleID)
	case ref.RoleID == "" && ref.Name != "":
		role, err = a.store.FindRole(r.Context(), ref.Name, ref.ClientID)
	default:
		writeFieldProblem(w, http.StatusBadRequest, "role_id", "Name the role by role_id, or by name (and client_id for a client's role).")
		return role, false
	}
	if err != nil {
		// The role, not the customer, is what is missing: a 404 would
		// read as "no such customer".
		a.writeRoleError(w, r, err)
		return role, false
	}
	return role, true
}

func (a *API) writeRoleError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, storage.ErrNotFound) {
		writeFieldProblem(w, http.StatusUnprocessableEntity, "role_id", "No such role.")
		return
	}
	a.writeError(w, r, err)
}

// unassignCustomerRole takes a role from the customer.
func (a *API) unassignCustomerRole(w http.ResponseWriter, r *http.Request) {
	if err := a.accounts.UnassignRole(r.Context(), mux.Vars(r)["customer_id"], mux.Vars(r)["role_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listCustomersByRole answers GET /customers?role=NAME[&client_id=ID]:
// the customers who have the role, paged by customer ID. It combines with
// no other filter.
func (a *API) listCustomersByRole(w http.ResponseWriter, r *http.Request, page storage.Page, limit int) {
	q := r.URL.Query()
	for _, other := range []string{"email_prefix", "name_prefix"} {
		if q.Has(other) {
			writeFieldProblem(w, http.StatusBadRequest, other, fmt.Sprintf("role does not combine with %s.", other))
			return
		}
	}
	role, err := a.store.FindRole(r.Context(), q.Get("role"), q.Get("client_id"))
	if errors.Is(err, storage.ErrNotFound) {
		writeFieldProblem(w, http.StatusBadRequest, "role", "No such role (a client's role needs its client_id).")
		return
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	us, err := a.store.ListUsersByRole(r.Context(), role.ID, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(us, limit, func(u storage.User) string { return u.ID }, a.customer))
}

// disableCustomer disables the customer: sign-in refused, sessions ended
// (back-channel logouts sent), tokens revoked.
func (a *API) disableCustomer(w http.ResponseWriter, r *http.Request) {
	u, err := a.accounts.DisableCustomer(r.Context(), mux.Vars(r)["customer_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.customer(u))
}

// enableCustomer lets a disabled customer sign in again.
func (a *API) enableCustomer(w http.ResponseWriter, r *http.Request) {
	u, err := a.accounts.EnableCustomer(r.Context(), mux.Vars(r)["customer_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.customer(u))
}
