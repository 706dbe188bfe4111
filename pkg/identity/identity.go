// Package identity manages customers: creating them, checking their
// passwords with argon2id, and upgrading password hashes made with weaker
// parameters. It knows nothing of HTTP.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/argon2"
	"github.com/gatehouse-id/gatehouse/storage"
)

// ErrInvalidCredentials is returned for an unknown email and for a wrong
// password alike, so a caller cannot tell which.
var ErrInvalidCredentials = errors.New("identity: invalid email or password")

// errPasswordChanged stops a rehash when the password changed since it was
// verified.
var errPasswordChanged = errors.New("identity: password changed meanwhile")

// ErrEmailTaken is returned, inside an InvalidError for the email field,
// when another customer has the email.
var ErrEmailTaken = errors.New("a customer with this email already exists")

// InvalidError says which field of a new customer is wrong.
type InvalidError struct {
	Field  string
	Reason string
	// Err, when set, is a sentinel the caller can test with errors.Is.
	Err error
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the sentinel, if any.
func (e *InvalidError) Unwrap() error { return e.Err }

// maxPasswordBytes bounds the work an attacker can make argon2 do at sign-in:
// MaxPasswordLength characters of at most four bytes each.
const maxPasswordBytes = 4 * MaxPasswordLength

// Service creates and authenticates customers.
//
// At most GOMAXPROCS argon2id hashes run at once, one in each hashing
// slot; the rest wait their turn (or until their request is cancelled). A
// hash keeps one core busy (its lanes are computed one after the other),
// so more at once would not finish sooner, but each would need its
// MemoryKiB: a burst of sign-ins (or an attacker's) queues instead of
// exhausting memory. Each slot keeps its work area of MemoryKiB from its
// first hash on and reuses it (internal/argon2), so a hash allocates no
// hash memory and leaves the garbage collector no large garbage. Once no
// hash has run for areaIdle, the free slots let their areas go: a server
// whose sign-ins have stopped does not carry them as live heap, which
// would leave the collector less room under the memory limit for the
// token endpoints' garbage.
type Service struct {
	users  storage.UserStore
	params Argon2Params
	policy PasswordPolicy
	slots  chan *argon2.Memory // the free hashing slots' work areas, nil until first used

	idle      time.Duration // areaIdle; shorter in tests
	lastUse   atomic.Int64  // when a slot was last released, Unix nanoseconds
	timerMu   sync.Mutex
	idleTimer *time.Timer // pending dropIdleAreas; nil when none

	dummyOnce sync.Once
	dummy     string // a hash to verify against when the email is unknown
}

// NewService returns a Service hashing new passwords with params and
// refusing those policy refuses.
func NewService(users storage.UserStore, params Argon2Params, policy PasswordPolicy) *Service {
	slots := make(chan *argon2.Memory, runtime.GOMAXPROCS(0))
	for range cap(slots) {
		slots <- nil
	}
	return &Service{users: users, params: params, policy: policy, slots: slots, idle: areaIdle}
}

// areaIdle is how long the hashing slots keep their work areas after the
// last hash (docs/benchmarks.md, "Sign-in: CPU per sign-in against one
// hash"): long enough that a steady trickle of sign-ins reuses them, short
// enough that the memory goes soon after a burst.
const areaIdle = 10 * time.Second

// acquire waits for a hashing slot, or for ctx to end, and returns the
// slot's work area.
func (s *Service) acquire(ctx context.Context) (*argon2.Memory, error) {
	select {
	case mem := <-s.slots:
		if mem == nil {
			mem = argon2.NewMemory(s.params.MemoryKiB)
		}
		return mem, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("identity: waiting to hash a password: %w", ctx.Err())
	}
}

// release gives a slot and its work area back, and makes sure the areas
// are let go once the slots have been idle for s.idle.
func (s *Service) release(mem *argon2.Memory) {
	s.lastUse.Store(time.Now().UnixNano())
	s.slots <- mem
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if s.idleTimer == nil {
		s.idleTimer = time.AfterFunc(s.idle, s.dropIdleAreas)
	}
}

// dropIdleAreas lets the free slots' work areas go if no slot was released
// for s.idle, and otherwise looks again when that will be so. A slot in
// use keeps its area; its release schedules the next look.
func (s *Service) dropIdleAreas() {
	s.timerMu.Lock()
	if wait := s.idle - time.Since(time.Unix(0, s.lastUse.Load())); wait > 0 {
		s.idleTimer.Reset(wait)
		s.timerMu.Unlock()
		return
	}
	s.idleTimer = nil
	s.timerMu.Unlock()
	taken := 0
drain:
	for taken < cap(s.slots) {
		select {
		case <-s.slots:
			taken++
		default:
			break drain
		}
	}
	// Every slot is either in the channel or in use, so the taken ones fit
	// back whatever was released meanwhile.
	for range taken {
		s.slots <- nil
	}
}

// hash hashes a new password with the service's parameters, in a slot.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	mem, err := s.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer s.release(mem)
	return hashPassword(mem, password, s.params)
}

// verify checks a password against a stored hash, in a slot.
func (s *Service) verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	mem, err := s.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer s.release(mem)
	if strings.HasPrefix(encoded, "$argon2id$") {
		return verifyPassword(mem, password, encoded, s.params)
	}
	// An imported hash (bcrypt, scrypt, PBKDF2, argon2i, Firebase's scrypt) is
	// replaced by argon2id at the first sign-in it lets through.
	ok, err = verifyImported(mem, password, encoded)
	return ok, ok, err
}

// verifyDummy spends on password what checking a real hash would, in a
// slot, so that an unknown email takes as long as a wrong password. The
// dummy hash itself is made, once, inside the same slot.
func (s *Service) verifyDummy(ctx context.Context, password string) error {
	mem, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release(mem)
	_, _, _ = verifyPassword(mem, password, s.dummyHash(mem), s.params)
	return nil
}

// NewUser is what creating a customer takes.
type NewUser struct {
	Email         string
	Password      string
	Name          string
	EmailVerified bool
	Locale        string
	// Attributes are the new customer's attribute values in their stored
	// form, checked by the caller against the declarations
	// (accounts.CheckSignUpAttributes); nil for none.
	Attributes map[string]string
}

// Create validates and stores a new customer with a fresh, random subject.
// A password the policy refuses is an *InvalidError for the field
// "password" wrapping the *PasswordError, found with errors.As; it is
// refused before it is hashed. Create records no event: the admin API and
// the command line create customers through accounts.Service, which uses
// Prepare and StoreError.
func (s *Service) Create(ctx context.Context, n NewUser) (storage.User, error) {
	u, err := s.Prepare(ctx, n)
	if err != nil {
		return storage.User{}, err
	}
	if err := s.users.CreateUser(ctx, u); err != nil {
		return storage.User{}, StoreError(err)
	}
	return s.users.GetUser(ctx, u.ID)
}

// Prepare validates a new customer and hashes their password: everything
// Create does before it stores the customer, so that a caller can store
// them in a short transaction of its own. The hash (tens of milliseconds)
// must never run inside one.
func (s *Service) Prepare(ctx context.Context, n NewUser) (storage.User, error) {
	email, err := NormalizeEmail(n.Email)
	if err != nil {
		return storage.User{}, err
	}
	if err := s.policy.Check(n.Password, email, n.Name); err != nil {
		return storage.User{}, &InvalidError{Field: "password", Reason: err.Error(), Err: err}
	}
	u := storage.User{
		ID:            uuid.NewString(),
		Email:         email,
		EmailVerified: n.EmailVerified,
		Name:          strings.TrimSpace(n.Name),
		Locale:        n.Locale,
		Attributes:    n.Attributes,
	}
	if err := CheckProfile(u); err != nil {
		return storage.User{}, err
	}
	if u.PasswordHash, err = s.hash(ctx, n.Password); err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// HashNewPassword checks a customer's new password against the policy
// (as Create does) and returns its hash, to be stored by the caller. Call
// it outside any transaction.
func (s *Service) HashNewPassword(ctx context.Context, u storage.User, password string) (string, error) {
	if err := s.policy.Check(password, u.Email, u.Name); err != nil {
		return "", &InvalidError{Field: "password", Reason: err.Error(), Err: err}
	}
	return s.hash(ctx, password)
}

// StoreError turns the store's answer to storing a new customer into
// Create's: a taken email is an *InvalidError for the field "email"
// wrapping ErrEmailTaken.
func StoreError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrAlreadyExists):
		return &InvalidError{Field: "email", Reason: ErrEmailTaken.Error(), Err: ErrEmailTaken}
	default:
		return fmt.Errorf("create customer: %w", err)
	}
}

// Authenticate checks an email and password. An unknown email costs the
// same time as a wrong password, and both give ErrInvalidCredentials. A
// correct password whose hash used weaker parameters, or was imported in
// another format (bcrypt, scrypt, PBKDF2-SHA256/512, argon2i, Firebase's scrypt; see
// CheckImportedHash), is rehashed with argon2id and the service's
// parameters.
//
// With ErrInvalidCredentials the returned user is empty for an unknown
// email and holds only the ID of the customer whose password was wrong, so
// that the failure can be recorded against them (pkg/accounts); what the
// caller shows must not tell the two apart.
func (s *Service) Authenticate(ctx context.Context, email, password string) (storage.User, error) {
	if len(password) > maxPasswordBytes {
		return storage.User{}, ErrInvalidCredentials
	}
	normalized, err := NormalizeEmail(email)
	if err != nil {
		return storage.User{}, ErrInvalidCredentials
	}
	u, err := s.users.GetUserByEmail(ctx, normalized)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if err := s.verifyDummy(ctx, password); err != nil {
			return storage.User{}, err
		}
		return storage.User{}, ErrInvalidCredentials
	case err != nil:
		return storage.User{}, fmt.Errorf("authenticate: %w", err)
	}
	if u.PasswordHash == "" {
		if err := s.verifyDummy(ctx, password); err != nil {
			return storage.User{}, err
		}
		return storage.User{ID: u.ID}, ErrInvalidCredentials
	}
	ok, rehash, err := s.verify(ctx, password, u.PasswordHash)
	if err != nil {
		return storage.User{}, fmt.Errorf("authenticate %s: %w", u.ID, err)
	}
	if !ok {
		return storage.User{ID: u.ID}, ErrInvalidCredentials
	}
	if rehash {
		if hash, err := s.hash(ctx, password); err == nil {
			_ = s.users.UpdateUser(ctx, u.ID, func(cur storage.User) (storage.User, error) {
				if cur.PasswordHash != u.PasswordHash {
					return cur, errPasswordChanged // changed meanwhile: keep the newer one
				}
				cur.PasswordHash = hash
				return cur, nil
			})
		}
	}
	return u, nil
}

// dummyHash is the hash verifyDummy checks against, made in mem the
// first time.
func (s *Service) dummyHash(mem *argon2.Memory) string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = hashPassword(mem, "gatehouse dummy password", s.params)
	})
	return s.dummy
}

// NormalizeEmail checks an email address and returns it trimmed and
// lower-cased.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || !strings.Contains(e[strings.LastIndex(e, "@")+1:], ".") && !strings.HasSuffix(e, "@localhost") {
		return "", &InvalidError{Field: "email", Reason: "not a valid email address"}
	}
	return e, nil
}

// IsInvalid reports whether err is a validation error.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}
