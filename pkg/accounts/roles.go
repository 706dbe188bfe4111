package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Role names: at most this many bytes, of letters, digits and the
// punctuation below, so that a name is one word on a command line and in
// a query string.
const (
	maxRoleName         = 64
	maxRoleDescription  = 500
	roleNamePunctuation = "._:-/"
)

// NewRole is what creating a role takes.
type NewRole struct {
	// Name is what the roles claim carries (CheckRoleName).
	Name string
	// ClientID makes the role the client's own; "" makes it global.
	ClientID    string
	Description string
	// Default gives the role to every customer created one by one from
	// now on (not to those who exist, nor to imported ones).
	Default bool
}

// CheckRoleName refuses a role name the claim and the command line could
// not carry: empty, longer than 64 bytes, or with anything but ASCII
// letters, digits and . _ : - /.
func CheckRoleName(name string) error {
	if name == "" || len(name) > maxRoleName {
		return &identity.InvalidError{Field: "name", Reason: fmt.Sprintf("a role name has 1 to %d characters", maxRoleName)}
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(roleNamePunctuation, c)) {
			return &identity.InvalidError{Field: "name", Reason: "a role name has only letters, digits and " + roleNamePunctuation}
		}
	}
	return nil
}

// CreateRole checks and stores a new role and records role.created in
// one transaction. A client that does not exist is identity's
// *InvalidError for "client_id"; a name taken (within the client or among
// the global roles), a client role named like a global one, or a global
// role named like a client's is storage.ErrAlreadyExists.
func (s *Service) CreateRole(ctx context.Context, n NewRole) (storage.Role, error) {
	if err := CheckRoleName(n.Name); err != nil {
		return storage.Role{}, err
	}
	if len(n.Description) > maxRoleDescription {
		return storage.Role{}, &identity.InvalidError{Field: "description", Reason: fmt.Sprintf("a description has at most %d bytes", maxRoleDescription)}
	}
	r := storage.Role{ID: uuid.Must(uuid.NewV7()).String(), Name: n.Name, ClientID: n.ClientID, Description: n.Description, Default: n.Default}
	err := s.inTx(ctx, func(ctx context.Context) error {
		if r.ClientID != "" {
			if _, err := s.store.LookupClient(ctx, r.ClientID); errors.Is(err, storage.ErrNotFound) {
				return &identity.InvalidError{Field: "client_id", Reason: "no such client"}
			} else if err != nil {
				return fmt.Errorf("create role: read client: %w", err)
			}
		}
		if err := s.store.CreateRole(ctx, r); err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		var err error
		if r, err = s.store.GetRole(ctx, r.ID); err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		return s.events.Record(ctx, events.New(ctx, events.RoleCreated, r.ID, roleData(r)))
	})
	if err != nil {
		return storage.Role{}, err
	}
	return r, nil
}

// DeleteRole deletes the role and takes it from every customer who had
// it, recording role.deleted, in one transaction. Tokens issued before
// keep the name until they are refreshed. An unknown role is
// storage.ErrNotFound.
func (s *Service) DeleteRole(ctx context.Context, roleID string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		r, err := s.store.GetRole(ctx, roleID)
		if err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		if err := s.store.DeleteRole(ctx, roleID); err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		return s.events.Record(ctx, events.New(ctx, events.RoleDeleted, r.ID, roleData(r)))
	})
}

// AssignRole gives the customer the role and records user.role.assigned,
// in one transaction; a role the customer has already changes nothing and
// records nothing. The role is in the customer's next token. An unknown
// customer or role is storage.ErrNotFound.
func (s *Service) AssignRole(ctx context.Context, userID, roleID string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		r, err := s.store.GetRole(ctx, roleID)
		if err != nil {
			return fmt.Errorf("assign role: %w", err)
		}
		added, err := s.store.AssignRole(ctx, userID, roleID)
		if err != nil || !added {
			return err
		}
		return s.events.Record(ctx, events.New(ctx, events.UserRoleAssigned, userID, roleData(r)))
	})
}

// UnassignRole takes the role from the customer and records
// user.role.unassigned, in one transaction. Tokens issued before keep the
// name until they are refreshed. A customer without the role, or an
// unknown role, is storage.ErrNotFound.
func (s *Service) UnassignRole(ctx context.Context, userID, roleID string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		r, err := s.store.GetRole(ctx, roleID)
		if err != nil {
			return fmt.Errorf("unassign role: %w", err)
		}
		if err := s.store.UnassignRole(ctx, userID, roleID); err != nil {
			return fmt.Errorf("unassign role: %w", err)
		}
		return s.events.Record(ctx, events.New(ctx, events.UserRoleUnassigned, userID, roleData(r)))
	})
}

// assignDefaultRoles gives a customer just created in the transaction in
// ctx the default roles, and returns their names for user.created.
func (s *Service) assignDefaultRoles(ctx context.Context, userID string) ([]string, error) {
	names, err := s.store.AssignDefaultRoles(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("assign default roles: %w", err)
	}
	return names, nil
}

func roleData(r storage.Role) events.RoleData {
	return events.RoleData{RoleID: r.ID, Name: r.Name, ClientID: r.ClientID, Default: r.Default}
}
