package gormstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// identityRow is the identities table: one upstream account linked to one
// customer. The primary key is (provider, subject); a unique index on
// (user_id, provider) keeps a customer to one account per provider.
type identityRow struct {
	Provider   string    `gorm:"column:provider;primaryKey"`
	Subject    string    `gorm:"column:subject;primaryKey"`
	UserID     string    `gorm:"column:user_id"`
	Email      string    `gorm:"column:email"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	LastUsedAt time.Time `gorm:"column:last_used_at"`
}

func (identityRow) TableName() string { return "identities" }

func toIdentityRow(id storage.Identity) identityRow {
	return identityRow{
		Provider:   id.Provider,
		Subject:    id.Subject,
		UserID:     id.UserID,
		Email:      id.Email,
		CreatedAt:  id.CreatedAt.UTC(),
		LastUsedAt: id.LastUsedAt.UTC(),
	}
}

func (r identityRow) toIdentity() storage.Identity {
	return storage.Identity{
		Provider:   r.Provider,
		Subject:    r.Subject,
		UserID:     r.UserID,
		Email:      r.Email,
		CreatedAt:  r.CreatedAt.UTC(),
		LastUsedAt: r.LastUsedAt.UTC(),
	}
}

// newIdentityRow fills the times of a link about to be created: a zero
// CreatedAt is now, a zero LastUsedAt is CreatedAt.
func newIdentityRow(id storage.Identity) (identityRow, error) {
	if id.Provider == "" || id.Subject == "" || id.UserID == "" {
		return identityRow{}, errors.New("identity needs a provider, a subject and a customer")
	}
	if id.CreatedAt.IsZero() {
		id.CreatedAt = time.Now().UTC()
	}
	if id.LastUsedAt.IsZero() {
		id.LastUsedAt = id.CreatedAt
	}
	return toIdentityRow(id), nil
}

// CreateIdentity links an upstream account to a customer. An account linked
// already, or a second account of one provider for the customer, is
// storage.ErrAlreadyExists.
func (s *Store) CreateIdentity(ctx context.Context, id storage.Identity) error {
	row, err := newIdentityRow(id)
	if err != nil {
		return fmt.Errorf("gormstore: create identity: %w", err)
	}
	return mapError("gormstore: create identity", s.writer(ctx).Create(&row).Error)
}

// CreateUserWithIdentity stores the customer and the link in one
// transaction; the link's UserID is the customer's ID.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u storage.User, id storage.Identity) error {
	now := time.Now().UTC()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.UpdatedAt = now
	user, err := toUserRow(u)
	if err != nil {
		return fmt.Errorf("gormstore: create user with identity: %w", err)
	}
	id.UserID = u.ID
	link, err := newIdentityRow(id)
	if err != nil {
		return fmt.Errorf("gormstore: create user with identity: %w", err)
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&user).Error; err != nil {
			return err
		}
		return tx.Create(&link).Error
	})
	return mapError("gormstore: create user with identity", err)
}

// GetIdentity returns the link of the upstream account.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (storage.Identity, error) {
	var row identityRow
	if err := s.reader(ctx).Where("provider = ? AND subject = ?", provider, subject).Take(&row).Error; err != nil {
		return storage.Identity{}, mapError("gormstore: get identity", err)
	}
	return row.toIdentity(), nil
}

// ListIdentities returns the customer's links ordered by provider (sorted
// here, bytewise, not by the database's collation).
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]storage.Identity, error) {
	var rows []identityRow
	if err := s.reader(ctx).Where("user_id = ?", userID).Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list identities", err)
	}
	out := make([]storage.Identity, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toIdentity())
	}
	slices.SortFunc(out, func(a, b storage.Identity) int { return strings.Compare(a.Provider, b.Provider) })
	return out, nil
}

// UpdateIdentity applies update to the stored link in one transaction. The
// provider, subject, customer and creation time cannot change. When update
// fails, its error is returned as it is and nothing is written.
func (s *Store) UpdateIdentity(ctx context.Context, provider, subject string, update func(storage.Identity) (storage.Identity, error)) error {
	var updateErr error
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var row identityRow
		if err := s.forUpdate(tx).Where("provider = ? AND subject = ?", provider, subject).Take(&row).Error; err != nil {
			return err
		}
		old := row.toIdentity()
		updated, err := update(old)
		if err != nil {
			updateErr = err
			return err
		}
		updated.Provider, updated.Subject, updated.UserID, updated.CreatedAt = old.Provider, old.Subject, old.UserID, old.CreatedAt
		next := toIdentityRow(updated)
		return tx.Model(&identityRow{}).Where("provider = ? AND subject = ?", provider, subject).
			Updates(map[string]any{"email": next.Email, "last_used_at": next.LastUsedAt}).Error
	})
	if updateErr != nil {
		return updateErr
	}
	return mapError("gormstore: update identity", err)
}

// DeleteIdentity removes the customer's link to the provider after check
// accepts the customer and the links that would remain. The customer's row
// is locked (PostgreSQL; SQLite's write transactions are exclusive), so two
// concurrent removals are checked one after the other.
func (s *Store) DeleteIdentity(ctx context.Context, userID, provider string, check func(storage.User, []storage.Identity) error) error {
	var checkErr error
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var urow userRow
		if err := s.forUpdate(tx).Where("id = ?", userID).Take(&urow).Error; err != nil {
			return err
		}
		u, err := urow.toUser()
		if err != nil {
			return err
		}
		var rows []identityRow
		if err := tx.Where("user_id = ?", userID).Find(&rows).Error; err != nil {
			return err
		}
		var remaining []storage.Identity
		found := false
		for _, r := range rows {
			if r.Provider == provider {
				found = true
				continue
			}
			remaining = append(remaining, r.toIdentity())
		}
		if !found {
			return gorm.ErrRecordNotFound
		}
		slices.SortFunc(remaining, func(a, b storage.Identity) int { return strings.Compare(a.Provider, b.Provider) })
		if check != nil {
			if err := check(u, remaining); err != nil {
				checkErr = err
				return err
			}
		}
		return tx.Exec("DELETE FROM identities WHERE user_id = ? AND provider = ?", userID, provider).Error
	})
	if checkErr != nil {
		return checkErr
	}
	return mapError("gormstore: delete identity", err)
}

// federationStateRow is the federation_states table.
type federationStateRow struct {
	ID             string    `gorm:"column:id;primaryKey"`
	Provider       string    `gorm:"column:provider"`
	Purpose        string    `gorm:"column:purpose"`
	Session        string    `gorm:"column:session"`
	Nonce          string    `gorm:"column:nonce"`
	CodeVerifier   string    `gorm:"column:code_verifier"`
	BrowserBinding string    `gorm:"column:browser_binding"`
	AuthRequestID  string    `gorm:"column:auth_request_id"`
	UserID         string    `gorm:"column:user_id"`
	PendingLinkID  string    `gorm:"column:pending_link_id"`
	Callback       string    `gorm:"column:callback"`
	CreatedAt      time.Time `gorm:"column:created_at"`
	ExpiresAt      time.Time `gorm:"column:expires_at"`
}

func (federationStateRow) TableName() string { return "federation_states" }

func (r federationStateRow) toState() storage.FederationState {
	return storage.FederationState{
		ID:             r.ID,
		Provider:       r.Provider,
		Purpose:        r.Purpose,
		Session:        r.Session,
		Nonce:          r.Nonce,
		CodeVerifier:   r.CodeVerifier,
		BrowserBinding: r.BrowserBinding,
		AuthRequestID:  r.AuthRequestID,
		UserID:         r.UserID,
		PendingLinkID:  r.PendingLinkID,
		Callback:       r.Callback,
		CreatedAt:      r.CreatedAt.UTC(),
		ExpiresAt:      r.ExpiresAt.UTC(),
	}
}

// CreateFederationState stores a sign-in in progress; a zero CreatedAt is
// now. A taken ID is storage.ErrAlreadyExists.
func (s *Store) CreateFederationState(ctx context.Context, st storage.FederationState) error {
	if st.CreatedAt.IsZero() {
		st.CreatedAt = time.Now().UTC()
	}
	row := federationStateRow{
		ID:             st.ID,
		Provider:       st.Provider,
		Purpose:        st.Purpose,
		Session:        st.Session,
		Nonce:          st.Nonce,
		CodeVerifier:   st.CodeVerifier,
		BrowserBinding: st.BrowserBinding,
		AuthRequestID:  st.AuthRequestID,
		UserID:         st.UserID,
		PendingLinkID:  st.PendingLinkID,
		Callback:       st.Callback,
		CreatedAt:      st.CreatedAt.UTC(),
		ExpiresAt:      st.ExpiresAt.UTC(),
	}
	return mapError("gormstore: create federation state", s.writer(ctx).Create(&row).Error)
}

// SetFederationCallback records a form_post callback's parameters on a live
// state that has none yet, in one conditional statement, so a callback is
// recorded once. Anything else is storage.ErrNotFound.
func (s *Store) SetFederationCallback(ctx context.Context, id, callback string) error {
	res := s.writer(ctx).Exec("UPDATE federation_states SET callback = ? WHERE id = ? AND callback = '' AND expires_at > ?",
		callback, id, time.Now().UTC())
	if res.Error != nil {
		return mapError("gormstore: set federation callback", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: set federation callback: %w", storage.ErrNotFound)
	}
	return nil
}

// TakeFederationState deletes the state and returns it, in one statement
// (DELETE ... RETURNING), so of two concurrent callbacks one gets it. An
// expired state is deleted and is storage.ErrNotFound.
func (s *Store) TakeFederationState(ctx context.Context, id string) (storage.FederationState, error) {
	var rows []federationStateRow
	if err := s.writer(ctx).Raw("DELETE FROM federation_states WHERE id = ? RETURNING *", id).Scan(&rows).Error; err != nil {
		return storage.FederationState{}, mapError("gormstore: take federation state", err)
	}
	if len(rows) == 0 || !rows[0].ExpiresAt.After(time.Now()) {
		return storage.FederationState{}, fmt.Errorf("gormstore: take federation state: %w", storage.ErrNotFound)
	}
	return rows[0].toState(), nil
}

// pendingLinkRow is the pending_links table.
type pendingLinkRow struct {
	ID             string    `gorm:"column:id;primaryKey"`
	Provider       string    `gorm:"column:provider"`
	Subject        string    `gorm:"column:subject"`
	UserID         string    `gorm:"column:user_id"`
	Email          string    `gorm:"column:email"`
	BrowserBinding string    `gorm:"column:browser_binding"`
	AuthRequestID  string    `gorm:"column:auth_request_id"`
	CreatedAt      time.Time `gorm:"column:created_at"`
	ExpiresAt      time.Time `gorm:"column:expires_at"`
}

func (pendingLinkRow) TableName() string { return "pending_links" }

func (r pendingLinkRow) toPendingLink() storage.PendingLink {
	return storage.PendingLink{
		ID:             r.ID,
		Provider:       r.Provider,
		Subject:        r.Subject,
		UserID:         r.UserID,
		Email:          r.Email,
		BrowserBinding: r.BrowserBinding,
		AuthRequestID:  r.AuthRequestID,
		CreatedAt:      r.CreatedAt.UTC(),
		ExpiresAt:      r.ExpiresAt.UTC(),
	}
}

// CreatePendingLink stores a link waiting for confirmation; a zero
// CreatedAt is now. A taken ID is storage.ErrAlreadyExists.
func (s *Store) CreatePendingLink(ctx context.Context, l storage.PendingLink) error {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = time.Now().UTC()
	}
	row := pendingLinkRow{
		ID:             l.ID,
		Provider:       l.Provider,
		Subject:        l.Subject,
		UserID:         l.UserID,
		Email:          l.Email,
		BrowserBinding: l.BrowserBinding,
		AuthRequestID:  l.AuthRequestID,
		CreatedAt:      l.CreatedAt.UTC(),
		ExpiresAt:      l.ExpiresAt.UTC(),
	}
	return mapError("gormstore: create pending link", s.writer(ctx).Create(&row).Error)
}

// GetPendingLink returns a pending link that has not expired.
func (s *Store) GetPendingLink(ctx context.Context, id string) (storage.PendingLink, error) {
	var row pendingLinkRow
	if err := s.reader(ctx).Where("id = ? AND expires_at > ?", id, time.Now().UTC()).Take(&row).Error; err != nil {
		return storage.PendingLink{}, mapError("gormstore: get pending link", err)
	}
	return row.toPendingLink(), nil
}

// TakePendingLink deletes the pending link and returns it, in one
// statement; an expired one is deleted and is storage.ErrNotFound.
func (s *Store) TakePendingLink(ctx context.Context, id string) (storage.PendingLink, error) {
	var rows []pendingLinkRow
	if err := s.writer(ctx).Raw("DELETE FROM pending_links WHERE id = ? RETURNING *", id).Scan(&rows).Error; err != nil {
		return storage.PendingLink{}, mapError("gormstore: take pending link", err)
	}
	if len(rows) == 0 || !rows[0].ExpiresAt.After(time.Now()) {
		return storage.PendingLink{}, fmt.Errorf("gormstore: take pending link: %w", storage.ErrNotFound)
	}
	return rows[0].toPendingLink(), nil
}
