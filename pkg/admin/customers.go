package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
)

// customerJSON is a customer; the password hash is never shown.
type customerJSON struct {
	ID                  string           `json:"id"`
	Email               string           `json:"email"`
	EmailVerified       bool             `json:"email_verified"`
	HasPassword         bool             `json:"has_password"`
	MFA                 bool             `json:"mfa"`
	Name                string           `json:"name"`
	GivenName           string           `json:"given_name,omitempty"`
	FamilyName          string           `json:"family_name,omitempty"`
	Picture             string           `json:"picture,omitempty"`
	Locale              string           `json:"locale,omitempty"`
	PhoneNumber         string           `json:"phone_number,omitempty"`
	PhoneNumberVerified bool             `json:"phone_number_verified"`
	Address             *storage.Address `json:"address,omitempty"`
	ExternalID          string           `json:"external_id,omitempty"`
	CreatedAt           time.Time        `json:"created_at"`
	UpdatedAt           time.Time        `json:"updated_at"`
	Disabled            bool             `json:"disabled"`
	// Attributes are the customer's attribute values, typed by their
	// declarations (set by API.customer).
	Attributes map[string]any `json:"attributes,omitempty"`
}

func toCustomerJSON(u storage.User) customerJSON {
	out := customerJSON{
		ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, HasPassword: u.PasswordHash != "", MFA: u.MFA,
		Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName, Picture: u.Picture, Locale: u.Locale,
		PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified, ExternalID: u.ExternalID,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Disabled: u.Disabled,
	}
	if !u.Address.IsZero() {
		addr := u.Address
		out.Address = &addr
	}
	return out
}

func (a *API) listCustomers(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := parsePage(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if q.Has("role") {
		a.listCustomersByRole(w, r, page, limit)
		return
	}
	filter := storage.UserFilter{EmailPrefix: q.Get("email_prefix"), NamePrefix: q.Get("name_prefix")}
	if filter.Attribute, ok = a.attributeFilter(w, r); !ok {
		return
	}
	us, err := a.store.ListUsers(r.Context(), filter, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(us, limit, func(u storage.User) string { return u.ID }, a.customer))
}

// customerCreate is the body of a new customer.
type customerCreate struct {
	Email         string `json:"email"`
	Password      string `json:"password"`
	Name          string `json:"name"`
	EmailVerified bool   `json:"email_verified"`
	Locale        string `json:"locale"`
	// Attributes are the new customer's attribute values by name, typed
	// as declared (as PATCH /customers/{id}/attributes takes them).
	Attributes map[string]any `json:"attributes"`
}

// createCustomer creates a customer with a password and, in the same
// write, their attributes. The attributes are checked first (any declared
// one, and those required at sign-up present): a refused value is a 400
// problem naming attributes.NAME, and nothing is created.
func (a *API) createCustomer(w http.ResponseWriter, r *http.Request) {
	var req customerCreate
	if !decodeBody(w, r, &req) {
		return
	}
	attrs, err := a.accounts.CheckNewCustomerAttributes(attributes.Change(req.Attributes))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.accounts.CreateCustomer(r.Context(), identity.NewUser{
		Email: req.Email, Password: req.Password, Name: req.Name, EmailVerified: req.EmailVerified, Locale: req.Locale,
		Attributes: attrs,
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a.customer(u))
}

func (a *API) getCustomer(w http.ResponseWriter, r *http.Request) {
	u, err := a.store.GetUser(r.Context(), mux.Vars(r)["customer_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.customer(u))
}

// customerPatch is a partial update: members left out keep their value.
type customerPatch struct {
	Email               *string          `json:"email"`
	EmailVerified       *bool            `json:"email_verified"`
	Name                *string          `json:"name"`
	GivenName           *string          `json:"given_name"`
	FamilyName          *string          `json:"family_name"`
	Picture             *string          `json:"picture"`
	Locale              *string          `json:"locale"`
	PhoneNumber         *string          `json:"phone_number"`
	PhoneNumberVerified *bool            `json:"phone_number_verified"`
	Address             *storage.Address `json:"address"`
	// Password is a new password, checked against the password policy
	// (with the email as patched) and never echoed.
	Password *string `json:"password"`
}

// apply returns u changed by the patch. A new email is checked, and is
// unverified unless the patch says otherwise.
func (p customerPatch) apply(u storage.User) (storage.User, error) {
	if p.Email != nil {
		email, err := identity.NormalizeEmail(*p.Email)
		if err != nil {
			return u, err
		}
		if email != u.Email {
			u.Email, u.EmailVerified = email, false
		}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&u.Name, p.Name)
	set(&u.GivenName, p.GivenName)
	set(&u.FamilyName, p.FamilyName)
	set(&u.Picture, p.Picture)
	set(&u.Locale, p.Locale)
	set(&u.PhoneNumber, p.PhoneNumber)
	if p.EmailVerified != nil {
		u.EmailVerified = *p.EmailVerified
	}
	if p.PhoneNumberVerified != nil {
		u.PhoneNumberVerified = *p.PhoneNumberVerified
	}
	if p.Address != nil {
		u.Address = *p.Address
	}
	return u, identity.CheckProfile(u)
}

func (a *API) updateCustomer(w http.ResponseWriter, r *http.Request) {
	var patch customerPatch
	if !decodeBody(w, r, &patch) {
		return
	}
	id := mux.Vars(r)["customer_id"]
	var u storage.User
	var err error
	if patch.Password != nil {
		u, err = a.accounts.UpdateCustomerAndPassword(r.Context(), id, patch.apply, *patch.Password)
	} else {
		u, err = a.accounts.UpdateCustomer(r.Context(), id, patch.apply)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.customer(u))
}

// deleteCustomer removes the customer with their sessions (telling their
// clients by back-channel logout), consents, linked identities and tokens.
func (a *API) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	if err := a.accounts.DeleteCustomer(r.Context(), mux.Vars(r)["customer_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetMFA removes every second factor of the customer (an operator's
// reset when the customer lost them): their next sign-in asks only the
// first factor, or walks them through enrolment where a second is
// required.
func (a *API) resetMFA(w http.ResponseWriter, r *http.Request) {
	if err := a.mfa.Reset(r.Context(), mux.Vars(r)["customer_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
