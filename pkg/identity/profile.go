package identity

import (
	"github.com/gatehouse-id/gatehouse/internal/safetext"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Limits of a customer's profile (docs/admin-api.md). An email address is
// at most 254 characters (RFC 5321 §4.5.3.1.3 with RFC 3696 erratum 1690).
const (
	maxEmailRunes   = 254
	maxNameRunes    = 200
	maxURIRunes     = 2000
	maxLocaleRunes  = 35 // a BCP 47 tag
	maxPhoneRunes   = 50
	maxAddressRunes = 500
)

// CheckProfile refuses a profile with a control character in any member
// (PostgreSQL cannot store NUL, and the rest forge log lines and pages) or
// one over its limit. Only the address's formatted member may hold line
// breaks, as OpenID Connect Core §5.1.1 allows.
func CheckProfile(u storage.User) error {
	for _, f := range []struct {
		field, value string
		max          int
		multiline    bool
	}{
		{"email", u.Email, maxEmailRunes, false},
		{"name", u.Name, maxNameRunes, false},
		{"given_name", u.GivenName, maxNameRunes, false},
		{"family_name", u.FamilyName, maxNameRunes, false},
		{"picture", u.Picture, maxURIRunes, false},
		{"locale", u.Locale, maxLocaleRunes, false},
		{"phone_number", u.PhoneNumber, maxPhoneRunes, false},
		{"address.formatted", u.Address.Formatted, maxAddressRunes, true},
		{"address.street_address", u.Address.StreetAddress, maxAddressRunes, true},
		{"address.locality", u.Address.Locality, maxNameRunes, false},
		{"address.region", u.Address.Region, maxNameRunes, false},
		{"address.postal_code", u.Address.PostalCode, maxNameRunes, false},
		{"address.country", u.Address.Country, maxNameRunes, false},
	} {
		if err := safetext.Check(f.value, f.max, f.multiline); err != nil {
			return &InvalidError{Field: f.field, Reason: err.Error()}
		}
	}
	return nil
}
