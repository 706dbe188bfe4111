package userimport

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/gatehouse-id/gatehouse/storage"
)

// exportPage is the customers read at a time: the export holds one page
// and its links, whatever the number of customers.
const exportPage = 1000

// ExportSource is what Export reads: the store.
type ExportSource interface {
	ListUsers(ctx context.Context, filter storage.UserFilter, page storage.Page) ([]storage.User, error)
	ListIdentitiesOfUsers(ctx context.Context, userIDs []string) ([]storage.Identity, error)
}

// ExportOptions shape an export.
type ExportOptions struct {
	// IncludePasswordHashes writes each customer's password hash; without
	// it no line has one.
	IncludePasswordHashes bool
}

// Export writes every customer to w as a Line, in ID order, reading the
// store a page at a time with a cursor, so its memory does not grow with
// the number of customers. It returns how many it wrote. A file it writes
// imports into another Gatehouse with the same IDs, emails, links and (with
// IncludePasswordHashes) passwords.
func Export(ctx context.Context, w io.Writer, src ExportSource, opts ExportOptions) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	for after := ""; ; {
		users, err := src.ListUsers(ctx, storage.UserFilter{}, storage.Page{After: after, Limit: exportPage})
		if err != nil {
			return n, fmt.Errorf("export after %d customers: %w", n, err)
		}
		if len(users) == 0 {
			break
		}
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		links, err := src.ListIdentitiesOfUsers(ctx, ids)
		if err != nil {
			return n, fmt.Errorf("export after %d customers: %w", n, err)
		}
		byUser := map[string][]storage.Identity{}
		for _, l := range links {
			byUser[l.UserID] = append(byUser[l.UserID], l)
		}
		for _, u := range users {
			if err := enc.Encode(LineOf(u, byUser[u.ID], opts.IncludePasswordHashes)); err != nil {
				return n, fmt.Errorf("export: write: %w", err)
			}
			n++
		}
		after = users[len(users)-1].ID
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export: write: %w", err)
	}
	return n, nil
}

// LineOf is the line of one stored customer and their links: their ID as
// id (so an import elsewhere keeps their subject), profile, verified
// flag, external ID, sign-up time, linked accounts, and their password
// hash only when withHash is set.
func LineOf(u storage.User, links []storage.Identity, withHash bool) Line {
	verified, created := u.EmailVerified, u.CreatedAt.UTC()
	l := Line{
		ID: u.ID, Email: u.Email, EmailVerified: &verified, Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Locale: u.Locale, PhoneNumber: u.PhoneNumber, ExternalID: u.ExternalID, CreatedAt: &created,
	}
	if withHash {
		l.PasswordHash = u.PasswordHash
	}
	for _, id := range links {
		l.Identities = append(l.Identities, LineIdentity{Provider: id.Provider, Subject: id.Subject, Email: id.Email})
	}
	return l
}
