package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/storage"
)

// checkImportRoles refuses a record whose roles member names a role no
// role could have (CheckRoleName) or names one twice.
func checkImportRoles(names []string) error {
	seen := map[string]bool{}
	for _, name := range names {
		if err := CheckRoleName(name); err != nil {
			return fmt.Errorf("roles: %q: %w", name, err)
		}
		if seen[name] {
			return fmt.Errorf("roles: %q is named twice", name)
		}
		seen[name] = true
	}
	return nil
}

// importRoles resolves, in the transaction in ctx, the global roles the
// batch's records name: by name, or created (recording role.created) when
// opts.CreateRoles says so. It returns the roles by name and the names
// that stay unknown.
func (s *Service) importRoles(ctx context.Context, records []ImportRecord, prepared []*storage.User, opts ImportOptions) (map[string]storage.Role, map[string]bool, error) {
	roles, unknown := map[string]storage.Role{}, map[string]bool{}
	for i, rec := range records {
		if prepared[i] == nil {
			continue
		}
		for _, name := range rec.Roles {
			if _, ok := roles[name]; ok || unknown[name] {
				continue
			}
			r, err := s.store.FindRole(ctx, name, "")
			switch {
			case err == nil:
				roles[name] = r
			case !errors.Is(err, storage.ErrNotFound):
				return nil, nil, fmt.Errorf("read role %q: %w", name, err)
			case opts.CreateRoles:
				r, err = s.CreateRole(ctx, NewRole{Name: name})
				switch {
				case errors.Is(err, storage.ErrAlreadyExists):
					// A batch written beside this one created it, or a
					// client's role has the name (then no global one can).
					if r, err = s.store.FindRole(ctx, name, ""); err == nil {
						roles[name] = r
					} else if errors.Is(err, storage.ErrNotFound) {
						unknown[name] = true
					} else {
						return nil, nil, fmt.Errorf("read role %q: %w", name, err)
					}
				case err != nil:
					return nil, nil, fmt.Errorf("create role %q: %w", name, err)
				default:
					roles[name] = r
				}
			default:
				unknown[name] = true
			}
		}
	}
	return roles, unknown, nil
}

// unknownRole returns the failure reason of a record that names a role
// that does not exist, "" when every one does.
func unknownRole(rec ImportRecord, unknown map[string]bool) string {
	for _, name := range rec.Roles {
		if unknown[name] {
			return fmt.Sprintf("roles: no global role %q (create it first, or import with --create-roles / create_roles=true)", name)
		}
	}
	return ""
}
