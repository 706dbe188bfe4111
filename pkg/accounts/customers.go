package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/storage"
)

// CreateCustomer validates a new customer and hashes their password
// (outside any transaction), then stores them with their attributes (as
// CheckNewCustomerAttributes returned them), gives them the default roles
// and records user.created, naming the attributes, in one. A taken email
// is identity's *InvalidError for "email" (and records nothing).
func (s *Service) CreateCustomer(ctx context.Context, n identity.NewUser) (storage.User, error) {
	u, err := s.identity.Prepare(ctx, n)
	if err != nil {
		return storage.User{}, err
	}
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			return identity.StoreError(err)
		}
		u, err = s.store.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		roles, err := s.assignDefaultRoles(ctx, u.ID)
		if err != nil {
			return err
		}
		return s.events.Record(ctx, events.New(ctx, events.UserCreated, u.ID,
			events.UserCreatedData{Email: u.Email, EmailVerified: u.EmailVerified, Roles: roles, Attributes: attributeNames(u.Attributes)}))
	})
	if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// ErrPasswordField is returned by UpdateCustomer for an update that
// changes the password: SetPassword does that.
var ErrPasswordField = errors.New("accounts: the password is changed with SetPassword")

// UpdateCustomer applies update to the customer (a compare-and-swap, see
// storage.UserStore.UpdateUser) and, in the same transaction, records
// user.updated with the names of the members and of the attributes that
// changed (none changed, no event), and user.email_verified when the
// email became verified. It returns the customer as stored.
func (s *Service) UpdateCustomer(ctx context.Context, id string, update func(storage.User) (storage.User, error)) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		var old, updated storage.User
		err := s.store.UpdateUser(ctx, id, func(u storage.User) (storage.User, error) {
			n, err := update(cloneAttributes(u))
			if err != nil {
				return u, err
			}
			if n.PasswordHash != u.PasswordHash {
				return u, ErrPasswordField
			}
			old, updated = u, n
			return n, nil
		})
		if err != nil {
			return err
		}
		var evs []storage.Event
		fields, attrs := changedFields(old, updated), changedAttributes(old, updated)
		if len(fields) > 0 || len(attrs) > 0 {
			data := events.UserUpdatedData{Fields: fields, Attributes: attrs}
			if old.Email != updated.Email {
				data.Email = updated.Email
			}
			evs = append(evs, events.New(ctx, events.UserUpdated, id, data))
		}
		if updated.EmailVerified && (!old.EmailVerified || old.Email != updated.Email) {
			evs = append(evs, events.New(ctx, events.UserEmailVerified, id, events.UserEmailVerifiedData{Email: updated.Email}))
		}
		if err := s.events.Record(ctx, evs...); err != nil {
			return err
		}
		out, err = s.store.GetUser(ctx, id)
		return err
	})
	return out, err
}

// changedFields names the profile members that differ, as the admin API
// spells them. The password is not a profile member.
func changedFields(a, b storage.User) []string {
	fields := []string{}
	add := func(changed bool, name string) {
		if changed {
			fields = append(fields, name)
		}
	}
	add(a.Email != b.Email, "email")
	add(a.EmailVerified != b.EmailVerified, "email_verified")
	add(a.Name != b.Name, "name")
	add(a.GivenName != b.GivenName, "given_name")
	add(a.FamilyName != b.FamilyName, "family_name")
	add(a.Picture != b.Picture, "picture")
	add(a.Locale != b.Locale, "locale")
	add(a.PhoneNumber != b.PhoneNumber, "phone_number")
	add(a.PhoneNumberVerified != b.PhoneNumberVerified, "phone_number_verified")
	add(a.Address != b.Address, "address")
	return fields
}

// SetPassword gives the customer a new password: it checks it against
// the policy and hashes it before the transaction, then stores the hash,
// records user.password_changed, forgets the browsers remembered for the
// second factor and queues the "password changed" mail (when the customer
// has an email) in one. The password reset and
// change pages call it. A password the policy refuses is identity's
// *InvalidError for "password"; an unknown customer storage.ErrNotFound.
func (s *Service) SetPassword(ctx context.Context, userID, password string) error {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	hash, err := s.identity.HashNewPassword(ctx, u, password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context) error { return s.storePasswordHash(ctx, u, hash) })
}

// storePasswordHash stores a new password's hash for u, records
// user.password_changed and queues the "password changed" mail to u's
// email, in the transaction in ctx.
func (s *Service) storePasswordHash(ctx context.Context, u storage.User, hash string) error {
	err := s.store.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
		u.PasswordHash = hash
		return u, nil
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := s.events.Record(ctx, events.New(ctx, events.UserPasswordChanged, u.ID, nil)); err != nil {
		return err
	}
	// A new password ends the remembering of browsers for the second
	// factor: they were trusted under the old one.
	if err := s.forgetDevices(ctx, u.ID); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.queueMail(ctx, u, mail.PasswordChanged, u.Email, mail.Data{})
}
