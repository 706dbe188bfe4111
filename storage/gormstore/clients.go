package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// clientRow is the clients table. List-valued metadata lives in one JSON
// column so that adding a metadata field needs no migration.
type clientRow struct {
	ID                      string    `gorm:"column:id;primaryKey"`
	SecretHash              []byte    `gorm:"column:secret_hash"`
	Name                    string    `gorm:"column:name"`
	Public                  bool      `gorm:"column:public"`
	TokenEndpointAuthMethod string    `gorm:"column:token_endpoint_auth_method"`
	SkipConsent             bool      `gorm:"column:skip_consent"`
	Metadata                string    `gorm:"column:metadata"`
	CreatedAt               time.Time `gorm:"column:created_at"`
	UpdatedAt               time.Time `gorm:"column:updated_at"`
}

func (clientRow) TableName() string { return "clients" }

type clientMetadata struct {
	RedirectURIs           []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string `json:"grant_types,omitempty"`
	ResponseTypes          []string `json:"response_types,omitempty"`
	Scopes                 []string `json:"scopes,omitempty"`
	Audience               []string `json:"audience,omitempty"`
	LogoURI                string   `json:"logo_uri,omitempty"`
	BackchannelLogoutURI   string   `json:"backchannel_logout_uri,omitempty"`

	ApplicationType             string            `json:"application_type,omitempty"`
	LocalizedNames              map[string]string `json:"localized_names,omitempty"`
	ClientURI                   string            `json:"client_uri,omitempty"`
	PolicyURI                   string            `json:"policy_uri,omitempty"`
	TOSURI                      string            `json:"tos_uri,omitempty"`
	Contacts                    []string          `json:"contacts,omitempty"`
	JWKS                        json.RawMessage   `json:"jwks,omitempty"`
	JWKSURI                     string            `json:"jwks_uri,omitempty"`
	TokenEndpointAuthSigningAlg string            `json:"token_endpoint_auth_signing_alg,omitempty"`
	SubjectType                 string            `json:"subject_type,omitempty"`
	SectorIdentifierURI         string            `json:"sector_identifier_uri,omitempty"`
	IDTokenSignedResponseAlg    string            `json:"id_token_signed_response_alg,omitempty"`
	UserinfoSignedResponseAlg   string            `json:"userinfo_signed_response_alg,omitempty"`
	DefaultMaxAge               int               `json:"default_max_age,omitempty"`
	DefaultACRValues            []string          `json:"default_acr_values,omitempty"`
	RequireMFA                  bool              `json:"require_mfa,omitempty"`
	RequireAuthTime             bool              `json:"require_auth_time,omitempty"`
	RegistrationAccessTokenHash []byte            `json:"registration_access_token_hash,omitempty"`
	AllowedCORSOrigins          []string          `json:"allowed_cors_origins,omitempty"`
	// Admin is always written; rows from before it existed lack it (see
	// legacyAdmin).
	Admin *bool `json:"admin,omitempty"`
	// AccessTokenFormat is left out when opaque, so rows read the same.
	AccessTokenFormat string `json:"access_token_format,omitempty"`
}

// legacyAdminScope is the admin API's scope (pkg/clients.AdminScope).
const legacyAdminScope = "gatehouse:admin"

// legacyAdmin decides the admin mark of a row written before the mark
// existed: an operator made admin clients by giving them the admin scope,
// while a client that registered itself (it has a registration access
// token) and holds that scope got it through a hole since closed, so it
// is not one.
func legacyAdmin(md clientMetadata) bool {
	return len(md.RegistrationAccessTokenHash) == 0 && slices.Contains(md.Scopes, legacyAdminScope)
}

func toClientRow(c storage.Client) (clientRow, error) {
	md, err := json.Marshal(clientMetadata{
		RedirectURIs:           c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes:             c.GrantTypes,
		ResponseTypes:          c.ResponseTypes,
		Scopes:                 c.Scopes,
		Audience:               c.Audience,
		LogoURI:                c.LogoURI,
		BackchannelLogoutURI:   c.BackchannelLogoutURI,

		ApplicationType:             c.ApplicationType,
		LocalizedNames:              c.LocalizedNames,
		ClientURI:                   c.ClientURI,
		PolicyURI:                   c.PolicyURI,
		TOSURI:                      c.TOSURI,
		Contacts:                    c.Contacts,
		JWKS:                        json.RawMessage(c.JWKS),
		JWKSURI:                     c.JWKSURI,
		TokenEndpointAuthSigningAlg: c.TokenEndpointAuthSigningAlg,
		SubjectType:                 c.SubjectType,
		SectorIdentifierURI:         c.SectorIdentifierURI,
		IDTokenSignedResponseAlg:    c.IDTokenSignedResponseAlg,
		UserinfoSignedResponseAlg:   c.UserinfoSignedResponseAlg,
		DefaultMaxAge:               c.DefaultMaxAge,
		DefaultACRValues:            c.DefaultACRValues,
		RequireMFA:                  c.RequireMFA,
		RequireAuthTime:             c.RequireAuthTime,
		RegistrationAccessTokenHash: c.RegistrationAccessTokenHash,
		AllowedCORSOrigins:          c.AllowedCORSOrigins,
		Admin:                       &c.Admin,
		AccessTokenFormat:           c.AccessTokenFormat,
	})
	if err != nil {
		return clientRow{}, err
	}
	return clientRow{
		ID:                      c.ID,
		SecretHash:              c.SecretHash,
		Name:                    c.Name,
		Public:                  c.Public,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		SkipConsent:             c.SkipConsent,
		Metadata:                string(md),
		CreatedAt:               c.CreatedAt.UTC(),
		UpdatedAt:               c.UpdatedAt.UTC(),
	}, nil
}

func (r clientRow) toClient() (storage.Client, error) {
	var md clientMetadata
	if err := json.Unmarshal([]byte(r.Metadata), &md); err != nil {
		return storage.Client{}, fmt.Errorf("client %s metadata: %w", r.ID, err)
	}
	admin := legacyAdmin(md)
	if md.Admin != nil {
		admin = *md.Admin
	}
	return storage.Client{
		ID:                      r.ID,
		SecretHash:              r.SecretHash,
		Name:                    r.Name,
		RedirectURIs:            md.RedirectURIs,
		PostLogoutRedirectURIs:  md.PostLogoutRedirectURIs,
		GrantTypes:              md.GrantTypes,
		ResponseTypes:           md.ResponseTypes,
		Scopes:                  md.Scopes,
		Audience:                md.Audience,
		Public:                  r.Public,
		TokenEndpointAuthMethod: r.TokenEndpointAuthMethod,
		SkipConsent:             r.SkipConsent,
		LogoURI:                 md.LogoURI,
		BackchannelLogoutURI:    md.BackchannelLogoutURI,

		ApplicationType:             md.ApplicationType,
		LocalizedNames:              md.LocalizedNames,
		ClientURI:                   md.ClientURI,
		PolicyURI:                   md.PolicyURI,
		TOSURI:                      md.TOSURI,
		Contacts:                    md.Contacts,
		JWKS:                        []byte(md.JWKS),
		JWKSURI:                     md.JWKSURI,
		TokenEndpointAuthSigningAlg: md.TokenEndpointAuthSigningAlg,
		SubjectType:                 md.SubjectType,
		SectorIdentifierURI:         md.SectorIdentifierURI,
		IDTokenSignedResponseAlg:    md.IDTokenSignedResponseAlg,
		UserinfoSignedResponseAlg:   md.UserinfoSignedResponseAlg,
		DefaultMaxAge:               md.DefaultMaxAge,
		DefaultACRValues:            md.DefaultACRValues,
		RequireMFA:                  md.RequireMFA,
		RequireAuthTime:             md.RequireAuthTime,
		RegistrationAccessTokenHash: md.RegistrationAccessTokenHash,
		AllowedCORSOrigins:          md.AllowedCORSOrigins,
		Admin:                       admin,
		CreatedAt:                   r.CreatedAt.UTC(),
		UpdatedAt:                   r.UpdatedAt.UTC(),
		AccessTokenFormat:           md.AccessTokenFormat,
	}, nil
}

// CreateClient stores a new client.
func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	now := time.Now().UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.UpdatedAt = now
	row, err := toClientRow(c)
	if err != nil {
		return fmt.Errorf("gormstore: create client: %w", err)
	}
	return mapError("gormstore: create client", s.writer(ctx).Create(&row).Error)
}

// LookupClient returns the client with the ID, read from the database.
func (s *Store) LookupClient(ctx context.Context, id string) (storage.Client, error) {
	var row clientRow
	if err := s.reader(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return storage.Client{}, mapError("gormstore: lookup client", err)
	}
	return row.toClient()
}

// CachedClient returns the client through the client cache, as GetClient.
func (s *Store) CachedClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := s.cachedClient(ctx, id)
	if err != nil {
		return storage.Client{}, err
	}
	return *c, nil
}

// cachedClient returns the cached client, reading it on a miss. Inside a
// transaction it reads the client in it and leaves the cache alone (see
// inTransaction).
func (s *Store) cachedClient(ctx context.Context, id string) (*storage.Client, error) {
	if inTransaction(ctx) {
		c, err := s.LookupClient(ctx, id)
		if err != nil {
			return nil, err
		}
		return &c, nil
	}
	if c := s.clients.get(id); c != nil {
		return c, nil
	}
	gen := s.clients.generation()
	c, err := s.LookupClient(ctx, id)
	if err != nil {
		return nil, err
	}
	s.clients.put(&c, gen)
	return &c, nil
}

// GetClient implements fosite.ClientManager, through the client cache.
func (s *Store) GetClient(ctx context.Context, id string) (fositeClient, error) {
	c, err := s.cachedClient(ctx, id)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListClients returns clients ordered by ID.
func (s *Store) ListClients(ctx context.Context, page storage.Page) ([]storage.Client, error) {
	limit := page.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var rows []clientRow
	q := s.reader(ctx).Order("id").Limit(limit)
	if page.After != "" {
		q = q.Where("id > ?", page.After)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list clients", err)
	}
	out := make([]storage.Client, 0, len(rows))
	for _, r := range rows {
		c, err := r.toClient()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// UpdateClient applies update to the stored client in one transaction.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(storage.Client) (storage.Client, error)) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var row clientRow
		q := tx
		if s.kind == Postgres {
			q = q.Clauses(lockForUpdate)
		}
		if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		old, err := row.toClient()
		if err != nil {
			return err
		}
		updated, err := update(old)
		if err != nil {
			return err
		}
		updated.ID, updated.CreatedAt, updated.UpdatedAt = old.ID, old.CreatedAt, time.Now().UTC()
		newRow, err := toClientRow(updated)
		if err != nil {
			return err
		}
		return tx.Select("*").Save(&newRow).Error
	})
	s.changeCached(ctx, func() { s.clients.forget(id) })
	return mapError("gormstore: update client", err)
}

// DeleteClient removes the client and its tokens in one transaction.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&clientRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if err := tx.Exec("DELETE FROM tokens WHERE client_id = ?", id).Error; err != nil {
			return err
		}
		return deleteRolesOf(tx, id)
	})
	s.changeCached(ctx, func() { s.clients.forget(id) })
	s.forgetAccessTokens(ctx, "")
	s.changeCached(ctx, func() { s.revocations.change(id) })
	return mapError("gormstore: delete client", err)
}

// clientCache keeps clients for a bounded time. A change made through this
// Store is seen at once; a change made by another replica within ttl.
//
// A change forgets the client when it is made and again when its
// transaction commits (changeCached), and each forget starts a new
// generation: a read that began before one does not put what it read
// (perhaps the row as it was before the change) back after it.
type clientCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]cachedClient
	gen uint64 // forgets so far
}

type cachedClient struct {
	client  *storage.Client
	expires time.Time
}

func newClientCache(ttl time.Duration) *clientCache {
	return &clientCache{ttl: ttl, m: map[string]cachedClient{}}
}

func (c *clientCache) get(id string) *storage.Client {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.expires) {
		return nil
	}
	return e.client
}

// generation is the generation a read of a client starts in; put it back
// to put.
func (c *clientCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches cl, read in generation gen, unless a client was forgotten
// since.
func (c *clientCache) put(cl *storage.Client, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedClients {
		now := time.Now()
		for id, e := range c.m {
			if now.After(e.expires) {
				delete(c.m, id)
			}
		}
		if len(c.m) >= maxCachedClients {
			clear(c.m)
		}
	}
	c.m[cl.ID] = cachedClient{client: cl, expires: time.Now().Add(c.ttl)}
}

func (c *clientCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.gen++
	c.mu.Unlock()
}

// maxCachedClients bounds the cache's memory.
const maxCachedClients = 10000
