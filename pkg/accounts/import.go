package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
)

// OnConflict says what an import does with a record whose customer exists
// already (the same external ID, or else the same email).
type OnConflict string

// The OnConflict choices.
const (
	// ConflictSkip leaves the existing customer as it is.
	ConflictSkip OnConflict = "skip"
	// ConflictUpdate sets the members the record gives on the existing
	// customer, and links the identities it names.
	ConflictUpdate OnConflict = "update"
	// ConflictFail reports the record as failed.
	ConflictFail OnConflict = "fail"
)

// ParseOnConflict returns the choice its name names.
func ParseOnConflict(s string) (OnConflict, error) {
	switch c := OnConflict(s); c {
	case ConflictSkip, ConflictUpdate, ConflictFail:
		return c, nil
	}
	return "", fmt.Errorf("on_conflict must be skip, update or fail, not %q", s)
}

// ImportRecord is one customer of an import (docs/import.md), as read from
// its line. Empty strings are members the line left out.
type ImportRecord struct {
	// Line is the record's line in the file, for reports.
	Line          int
	Email         string
	EmailVerified *bool
	Name          string
	GivenName     string
	FamilyName    string
	Locale        string
	PhoneNumber   string
	ExternalID    string
	// PasswordHash is a hash identity.CheckImportedHash accepts, kept as
	// it is until the first sign-in rehashes it.
	PasswordHash string
	Identities   []ImportIdentity
	// CreatedAt is when the customer signed up in the old system; zero
	// for now.
	CreatedAt time.Time
	// Roles names global roles to give the customer (created or
	// updated); an unknown one fails the record unless
	// ImportOptions.CreateRoles.
	Roles []string
	// Attributes are the customer's attribute values as decoded JSON, by
	// name (null removes a value of an existing customer); checked
	// against the declarations as an operator's; nil for none.
	Attributes map[string]any
	// ID, when set, is the customer's subject in the old system, kept as
	// their ID (and so the "sub" apps see); CheckImportedID says which
	// are allowed. Empty for a fresh one.
	ID string
}

// ImportIdentity is an upstream account to link to an imported customer.
type ImportIdentity struct {
	Provider string
	Subject  string
	// Email is the address the provider gave for the account, if known.
	Email string
}

// Key names the upstream account.
func (i ImportIdentity) Key() storage.IdentityKey {
	return storage.IdentityKey{Provider: i.Provider, Subject: i.Subject}
}

// MaxImportedIDBytes bounds an imported customer's kept ID.
const MaxImportedIDBytes = 255

// CheckImportedID reports whether id may be kept as a customer's ID: 1 to
// MaxImportedIDBytes bytes of ASCII letters, digits and - . _ ~ : | @ +,
// which cover the subjects of common identity systems (UUIDs, Auth0's
// "auth0|…", Firebase's and Cognito's IDs) and need no escaping in a URL
// path, a JSON string or a log line.
func CheckImportedID(id string) error {
	if id == "" || len(id) > MaxImportedIDBytes {
		return fmt.Errorf("id: 1 to %d bytes", MaxImportedIDBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:|@+", c) >= 0) {
			return errors.New("id: only ASCII letters, digits and - . _ ~ : | @ +")
		}
	}
	return nil
}

// ImportOptions shape an import.
type ImportOptions struct {
	OnConflict OnConflict
	// DryRun does everything but commit, and records no event.
	DryRun bool
	// ImportID names the import in its events (their subject); the
	// caller makes one per import and passes it with every batch.
	ImportID string
	// Batch numbers this batch within the import, from 1.
	Batch int
	// CreateRoles creates the global roles records name that do not
	// exist, instead of failing those records.
	CreateRoles bool
	// Fresh says that no customer has any of the records' keys (ID,
	// email, external ID, upstream accounts): the batch creates them all
	// without looking for them, as the load of an initial load must
	// (storage.ImportStore.InitialLoad), whose caller keeps the keys it
	// has seen. Kept IDs are still checked against the clients'.
	Fresh bool
}

// ImportOutcome is what became of one record.
type ImportOutcome string

// The outcomes.
const (
	ImportCreated ImportOutcome = "created"
	ImportUpdated ImportOutcome = "updated"
	ImportSkipped ImportOutcome = "skipped"
	ImportFailed  ImportOutcome = "failed"
)

// ImportResult is the outcome of one record: the customer it created,
// updated or skipped, or why it failed (never repeating a hash).
type ImportResult struct {
	Line       int
	Outcome    ImportOutcome
	CustomerID string
	Reason     string
}

// importRetries bounds the re-runs of a batch that lost a race with a
// concurrent writer (a customer or link created between the look-up and
// the insert).
const importRetries = 3

// ImportCustomers imports a batch of records in one transaction with one
// user.imported event for the lot: new customers are written by a few
// multi-row inserts, existing ones (found by external ID, else email)
// skipped, updated or failed as opts.OnConflict says. A record that
// cannot be imported fails alone, with its reason, and the others go on.
// Records are checked before the transaction; password hashes are kept as
// they are (no hashing happens here). The records of one batch must not
// share an email, external ID or upstream account (pkg/userimport splits
// batches there). It returns one result per record, in order.
func (s *Service) ImportCustomers(ctx context.Context, records []ImportRecord, opts ImportOptions) ([]ImportResult, error) {
	return s.ImportPrepared(ctx, s.PrepareImport(records), opts)
}

// PreparedImport is a batch of records checked and made into customers by
// PrepareImport, for one ImportPrepared.
type PreparedImport struct {
	records  []ImportRecord
	results  []ImportResult
	prepared []*storage.User // nil for a record that failed its checks
}

// PrepareImport checks records and makes the customers they describe: the
// part of ImportCustomers that needs no database, which a caller may run
// for the next batch, on another core, while the database writes this one
// (pkg/userimport does).
func (s *Service) PrepareImport(records []ImportRecord) *PreparedImport {
	p := &PreparedImport{records: records, results: make([]ImportResult, len(records)), prepared: make([]*storage.User, len(records))}
	for i, rec := range records {
		p.results[i] = ImportResult{Line: rec.Line}
		u, err := prepareImport(rec)
		if err == nil {
			u.Attributes, err = s.importAttributes(nil, rec)
		}
		if err != nil {
			p.results[i].Outcome, p.results[i].Reason = ImportFailed, err.Error()
			continue
		}
		p.prepared[i] = &u
	}
	return p
}

// ImportPrepared is ImportCustomers for a batch PrepareImport made; it
// returns one result per record, in order.
func (s *Service) ImportPrepared(ctx context.Context, p *PreparedImport, opts ImportOptions) ([]ImportResult, error) {
	var err error
	for range importRetries {
		err = s.inTx(ctx, func(ctx context.Context) error {
			if err := s.importBatch(ctx, p.records, p.prepared, p.results, opts); err != nil {
				return err
			}
			if opts.DryRun {
				return errDryRun
			}
			return nil
		})
		if !errors.Is(err, storage.ErrAlreadyExists) {
			break
		}
	}
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("import customers: %w", err)
	}
	return p.results, nil
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("accounts: dry run")

// prepareImport checks a record and makes the customer it describes. Its
// ID is a UUIDv7 (74 random bits after the time), so that a million new
// rows land at the end of the primary key's index instead of on a random
// page each.
func prepareImport(rec ImportRecord) (storage.User, error) {
	u := storage.User{
		ID: uuid.Must(uuid.NewV7()).String(), Name: strings.TrimSpace(rec.Name), GivenName: strings.TrimSpace(rec.GivenName),
		FamilyName: strings.TrimSpace(rec.FamilyName), Locale: strings.TrimSpace(rec.Locale),
		PhoneNumber: strings.TrimSpace(rec.PhoneNumber), ExternalID: rec.ExternalID,
		PasswordHash: rec.PasswordHash, CreatedAt: rec.CreatedAt,
	}
	if rec.EmailVerified != nil {
		u.EmailVerified = *rec.EmailVerified
	}
	if rec.ID != "" {
		if err := CheckImportedID(rec.ID); err != nil {
			return u, err
		}
		u.ID = rec.ID
	}
	switch {
	case rec.Email != "":
		email, err := identity.NormalizeEmail(rec.Email)
		if err != nil {
			return u, err
		}
		u.Email = email
	case len(rec.Identities) == 0:
		return u, errors.New("email: required unless the customer has identities")
	}
	if len(rec.ExternalID) > 255 || strings.TrimSpace(rec.ExternalID) != rec.ExternalID {
		return u, errors.New("external_id: at most 255 bytes, without surrounding spaces")
	}
	if rec.PasswordHash != "" {
		if err := identity.CheckImportedHash(rec.PasswordHash); err != nil {
			if errors.Is(err, identity.ErrUnsupportedHash) {
				return u, errors.New("password_hash: unsupported format (see docs/import.md)")
			}
			return u, errors.New("password_hash: malformed, or its parameters are out of bounds")
		}
	}
	providers := map[string]bool{}
	for _, id := range rec.Identities {
		if id.Provider == "" || id.Subject == "" || len(id.Provider) > 255 || len(id.Subject) > 255 {
			return u, errors.New("identities: each needs a provider and a subject of at most 255 bytes")
		}
		if id.Email != "" {
			if _, err := identity.NormalizeEmail(id.Email); err != nil {
				return u, fmt.Errorf("identities: the %s account's email is not a valid email address", id.Provider)
			}
		}
		if providers[id.Provider] {
			return u, fmt.Errorf("identities: two accounts at provider %q", id.Provider)
		}
		providers[id.Provider] = true
	}
	if err := checkImportRoles(rec.Roles); err != nil {
		return u, err
	}
	return u, identity.CheckProfile(u)
}

// importBatch does a batch's work in the transaction in ctx, filling
// results.
func (s *Service) importBatch(ctx context.Context, records []ImportRecord, prepared []*storage.User, results []ImportResult, opts ImportOptions) error {
	var extIDs, emails, ids []string
	var keys []storage.IdentityKey
	for i, u := range prepared {
		if u == nil {
			continue
		}
		extIDs, emails = append(extIDs, u.ExternalID), append(emails, u.Email)
		if records[i].ID != "" {
			ids = append(ids, u.ID)
		}
		for _, l := range records[i].Identities {
			keys = append(keys, l.Key())
		}
	}
	var found, kept []storage.User
	var err error
	if !opts.Fresh {
		if found, err = s.store.FindUsersForImport(ctx, extIDs, emails); err != nil {
			return err
		}
		if kept, err = s.store.FindUsersByIDs(ctx, ids); err != nil {
			return err
		}
	}
	clientIDs, err := s.store.FindClientIDs(ctx, ids)
	if err != nil {
		return err
	}
	m := importMatcher{byID: map[string]storage.User{}, byExt: map[string]storage.User{}, byEmail: map[string]storage.User{},
		clients: map[string]bool{}}
	for _, id := range clientIDs {
		m.clients[id] = true
	}
	for _, u := range kept {
		m.byID[u.ID] = u
	}
	byExt, byEmail := m.byExt, m.byEmail
	for _, u := range found {
		if u.ExternalID != "" {
			byExt[u.ExternalID] = u
		}
		if u.Email != "" {
			byEmail[u.Email] = u
		}
	}
	var links []storage.Identity
	if !opts.Fresh {
		if links, err = s.store.FindIdentities(ctx, keys); err != nil {
			return err
		}
	}
	linkedTo := map[storage.IdentityKey]string{}
	for _, l := range links {
		linkedTo[storage.IdentityKey{Provider: l.Provider, Subject: l.Subject}] = l.UserID
	}

	roles, unknownRoles, err := s.importRoles(ctx, records, prepared, opts)
	if err != nil {
		return err
	}
	var creates []storage.User
	var newLinks []storage.Identity
	counts := events.UserImportedData{ImportID: opts.ImportID, Batch: opts.Batch}
	if len(records) > 0 {
		counts.FirstLine, counts.LastLine = records[0].Line, records[len(records)-1].Line
	}
	for i, u := range prepared {
		res := &results[i]
		if u == nil {
			counts.Failed++
			continue
		}
		res.Outcome, res.CustomerID, res.Reason = "", "", ""
		existing, ok, reason := m.match(*u, records[i].ID != "")
		if reason == "" {
			reason = unknownRole(records[i], unknownRoles)
		}
		switch {
		case reason != "":
			res.Outcome, res.Reason = ImportFailed, reason
		case !ok:
			if reason := linkConflict(records[i].Identities, linkedTo, ""); reason != "" {
				res.Outcome, res.Reason = ImportFailed, reason
				break
			}
			creates = append(creates, *u)
			for _, k := range records[i].Identities {
				newLinks = append(newLinks, storage.Identity{Provider: k.Provider, Subject: k.Subject, UserID: u.ID, Email: k.Email})
			}
			res.Outcome, res.CustomerID = ImportCreated, u.ID
		case opts.OnConflict == ConflictSkip:
			res.Outcome, res.CustomerID = ImportSkipped, existing.ID
		case opts.OnConflict == ConflictUpdate:
			res.CustomerID = existing.ID
			res.Outcome, res.Reason = ImportUpdated, ""
			if reason, err := s.importUpdate(ctx, existing, records[i], *u, linkedTo); err != nil {
				return err
			} else if reason != "" {
				res.Outcome, res.Reason = ImportFailed, reason
			}
		default:
			res.Outcome, res.CustomerID, res.Reason = ImportFailed, existing.ID, "the customer exists (on_conflict=fail)"
		}
		switch res.Outcome {
		case ImportCreated:
			counts.Created++
		case ImportUpdated:
			counts.Updated++
		case ImportSkipped:
			counts.Skipped++
		default:
			counts.Failed++
		}
	}
	if err := s.store.CreateUsers(ctx, creates, newLinks); err != nil {
		return err
	}
	var assignments []storage.RoleAssignment
	for i, res := range results {
		if res.Outcome != ImportCreated && res.Outcome != ImportUpdated {
			continue
		}
		for _, name := range records[i].Roles {
			assignments = append(assignments, storage.RoleAssignment{UserID: res.CustomerID, RoleID: roles[name].ID})
		}
	}
	n, err := s.store.AssignRoles(ctx, assignments)
	if err != nil {
		return fmt.Errorf("assign roles: %w", err)
	}
	counts.RolesAssigned = n
	if opts.DryRun {
		return nil
	}
	return s.events.Record(ctx, events.New(ctx, events.UserImported, opts.ImportID, counts))
}

// importMatcher holds a batch's existing customers by ID, external ID and
// email.
type importMatcher struct {
	byID, byExt, byEmail map[string]storage.User
	// clients are the IDs of clients among the batch's kept IDs.
	clients map[string]bool
}

// match finds the existing customer a record is about: with keepID (the
// line gives an id), the one with that ID, whose email and external ID
// must then not belong to another customer; otherwise, or when no
// customer has the ID, as matchImport says. A line whose id is new but
// whose email or external ID is an existing customer's gets a reason:
// a customer's ID never changes.
func (m importMatcher) match(u storage.User, keepID bool) (storage.User, bool, string) {
	if !keepID {
		return matchImport(u, m.byExt, m.byEmail)
	}
	if m.clients[u.ID] {
		// A client-credentials token's subject is its client's ID: a
		// customer with the same ID would be mistaken for the client.
		return storage.User{}, false, "id: a client has this id"
	}
	if c, ok := m.byID[u.ID]; ok {
		if other, taken := m.byEmail[u.Email]; u.Email != "" && taken && other.ID != c.ID {
			return c, false, "email: another customer has it"
		}
		if other, taken := m.byExt[u.ExternalID]; u.ExternalID != "" && taken && other.ID != c.ID {
			return c, false, "external_id: another customer has it"
		}
		return c, true, ""
	}
	c, ok, reason := matchImport(u, m.byExt, m.byEmail)
	if ok {
		return c, false, "id: the customer with this email or external_id has another id"
	}
	return c, false, reason
}

// matchImport finds the existing customer a record is about: the one with
// its external ID, else the one with its email. A record whose external
// ID and email name two different customers, or whose email belongs to a
// customer imported under another external ID, gets a reason instead.
func matchImport(u storage.User, byExt, byEmail map[string]storage.User) (storage.User, bool, string) {
	byMail, mailTaken := byEmail[u.Email]
	if u.ExternalID != "" {
		if m, ok := byExt[u.ExternalID]; ok {
			if u.Email != "" && mailTaken && byMail.ID != m.ID {
				return m, false, "email: another customer has it"
			}
			return m, true, ""
		}
	}
	if u.Email == "" || !mailTaken {
		return storage.User{}, false, ""
	}
	if u.ExternalID != "" && byMail.ExternalID != "" {
		return byMail, false, "email: a customer with another external_id has it"
	}
	return byMail, true, ""
}

// linkConflict names the first upstream account linked to a customer
// other than owner.
func linkConflict(keys []ImportIdentity, linkedTo map[storage.IdentityKey]string, owner string) string {
	for _, k := range keys {
		if id, ok := linkedTo[k.Key()]; ok && id != owner {
			return fmt.Sprintf("identities: %s account %q is linked to another customer", k.Provider, k.Subject)
		}
	}
	return ""
}

// importUpdate sets the members the record gives on the existing customer
// and links its new identities, in the transaction in ctx. A reason
// reports a record that cannot be applied; an error aborts the batch.
func (s *Service) importUpdate(ctx context.Context, existing storage.User, rec ImportRecord, u storage.User, linkedTo map[storage.IdentityKey]string) (string, error) {
	if reason := linkConflict(rec.Identities, linkedTo, existing.ID); reason != "" {
		return reason, nil
	}
	var add []storage.Identity
	if len(rec.Identities) > 0 {
		have, err := s.store.ListIdentities(ctx, existing.ID)
		if err != nil {
			return "", err
		}
		byProvider := map[string]string{}
		for _, l := range have {
			byProvider[l.Provider] = l.Subject
		}
		for _, k := range rec.Identities {
			switch sub, ok := byProvider[k.Provider]; {
			case !ok:
				add = append(add, storage.Identity{Provider: k.Provider, Subject: k.Subject, UserID: existing.ID, Email: k.Email})
			case sub != k.Subject:
				return fmt.Sprintf("identities: the customer has another %s account", k.Provider), nil
			}
		}
	}
	err := s.store.UpdateUser(ctx, existing.ID, func(cur storage.User) (storage.User, error) {
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		if u.Email != "" && u.Email != cur.Email {
			cur.Email, cur.EmailVerified = u.Email, false
		}
		if rec.EmailVerified != nil {
			cur.EmailVerified = *rec.EmailVerified
		}
		set(&cur.Name, u.Name)
		set(&cur.GivenName, u.GivenName)
		set(&cur.FamilyName, u.FamilyName)
		set(&cur.Locale, u.Locale)
		set(&cur.PhoneNumber, u.PhoneNumber)
		set(&cur.ExternalID, u.ExternalID)
		set(&cur.PasswordHash, u.PasswordHash)
		attrs, err := s.importAttributes(cur.Attributes, rec)
		cur.Attributes = attrs
		return cur, err
	})
	if err != nil {
		return "", err
	}
	for _, l := range add {
		if err := s.store.CreateIdentity(ctx, l); err != nil {
			return "", err
		}
	}
	return "", nil
}

// importAttributes returns current with the record's attributes applied
// as an operator's change (every declared attribute may be set), or the
// reason the line fails: an undeclared attribute or a refused value.
func (s *Service) importAttributes(current map[string]string, rec ImportRecord) (map[string]string, error) {
	if len(rec.Attributes) == 0 {
		return current, nil
	}
	out, _, err := s.attrs.Apply(current, attributes.Change(rec.Attributes), attributes.EditorOperator)
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	return out, nil
}
