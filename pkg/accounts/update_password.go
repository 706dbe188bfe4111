package accounts

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/storage"
)

// UpdateCustomerAndPassword is UpdateCustomer and SetPassword in one
// transaction, for an operator who changes a customer's profile and
// password at once (the admin API's PATCH, `gatehouse users update`). The
// password is checked against the policy with the customer as update
// leaves them (a new email's local part counts) and hashed before the
// transaction; a refused password or update changes nothing. It records
// what each records (user.updated, user.email_verified,
// user.password_changed) and mails "password changed" to the address the
// customer had before, who owned the account until now.
func (s *Service) UpdateCustomerAndPassword(ctx context.Context, id string, update func(storage.User) (storage.User, error), password string) (storage.User, error) {
	before, err := s.store.GetUser(ctx, id)
	if err != nil {
		return storage.User{}, fmt.Errorf("update customer: %w", err)
	}
	after, err := update(before)
	if err != nil {
		return storage.User{}, err
	}
	hash, err := s.identity.HashNewPassword(ctx, after, password)
	if err != nil {
		return storage.User{}, err
	}
	var out storage.User
	err = s.inTx(ctx, func(ctx context.Context) error {
		if out, err = s.UpdateCustomer(ctx, id, update); err != nil {
			return err
		}
		if err := s.storePasswordHash(ctx, before, hash); err != nil {
			return err
		}
		out.PasswordHash = hash
		return nil
	})
	if err != nil {
		return storage.User{}, err
	}
	return out, nil
}
