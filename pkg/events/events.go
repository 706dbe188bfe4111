// Package events names the events Gatehouse records for every committed
// change — the audit log, and what webhooks deliver — and builds them with
// the actor and request that caused them, taken from the context. An event
// is written in the transaction of its change (storage.Transactor), so a
// change that rolls back records nothing. Event data never holds a secret.
package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Event types. docs/events.md is the catalogue, with their data (data.go).
const (
	UserCreated         = "user.created"
	UserUpdated         = "user.updated"
	UserEmailVerified   = "user.email_verified"
	UserPasswordChanged = "user.password_changed"
	UserDeleted         = "user.deleted"
	UserImported        = "user.imported"
	UserLoginSucceeded  = "user.login.succeeded"
	UserLoginFailed     = "user.login.failed"
	UserMFAEnrolled     = "user.mfa.enrolled"
	UserMFARemoved      = "user.mfa.removed"
	// UserMFARecoveryCodeUsed is a sign-in that spent a recovery code.
	UserMFARecoveryCodeUsed = "user.mfa.recovery_code_used"
	IdentityLinked          = "identity.linked"
	IdentityUnlinked        = "identity.unlinked"
	SessionEnded            = "session.ended"
	ConsentGranted          = "consent.granted"
	ConsentRevoked          = "consent.revoked"
	ClientCreated           = "client.created"
	ClientUpdated           = "client.updated"
	ClientDeleted           = "client.deleted"
	KeyRotated              = "key.rotated"
	// UserDisabled and UserEnabled are an operator's disabling of a
	// customer (sessions ended, tokens revoked) and its undoing.
	UserDisabled = "user.disabled"
	UserEnabled  = "user.enabled"
	// RoleCreated and RoleDeleted are changes of the roles themselves;
	// UserRoleAssigned and UserRoleUnassigned of a customer's roles.
	RoleCreated        = "role.created"
	RoleDeleted        = "role.deleted"
	UserRoleAssigned   = "user.role.assigned"
	UserRoleUnassigned = "user.role.unassigned"
)

// Types lists every event type, for filters and validation.
func Types() []string {
	return []string{
		UserCreated, UserUpdated, UserEmailVerified, UserPasswordChanged, UserDeleted, UserImported,
		UserLoginSucceeded, UserLoginFailed, UserMFAEnrolled, UserMFARemoved,
		IdentityLinked, IdentityUnlinked, SessionEnded, ConsentGranted, ConsentRevoked,
		ClientCreated, ClientUpdated, ClientDeleted, KeyRotated, UserMFARecoveryCodeUsed,
		UserDisabled, UserEnabled, RoleCreated, RoleDeleted, UserRoleAssigned, UserRoleUnassigned,
	}
}

type actorKey struct{}
type requestKey struct{}

// WithActor returns a context whose changes are made by actor.
func WithActor(ctx context.Context, actor storage.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the context's actor; the system when none was set.
func ActorFrom(ctx context.Context) storage.Actor {
	if a, ok := ctx.Value(actorKey{}).(storage.Actor); ok {
		return a
	}
	return storage.Actor{Type: storage.ActorSystem}
}

// WithRequestID returns a context whose changes were caused by the HTTP
// request with the id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestIDFrom returns the context's request id, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

// New returns an event of the type about subject, now, with the
// context's actor and request id. data is marshalled to JSON; it must
// never hold a secret.
func New(ctx context.Context, typ, subject string, data any) storage.Event {
	raw, err := json.Marshal(data)
	if err != nil || data == nil {
		raw = []byte("{}")
	}
	return storage.Event{
		ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Time: time.Now().UTC(), Subject: subject,
		Actor: ActorFrom(ctx), RequestID: RequestIDFrom(ctx), Data: raw,
	}
}

// Sink stores events and what they cause (webhook deliveries) in the
// caller's transaction.
type Sink interface {
	Record(ctx context.Context, events ...storage.Event) error
}

// Fanout returns the jobs that events cause beyond the audit log, such as
// one webhook delivery per matching subscription.
type Fanout func(ctx context.Context, events []storage.Event) ([]storage.Job, error)

// Store is what a Recorder needs of the store.
type Store interface {
	AppendEvents(ctx context.Context, events ...storage.Event) error
	EnqueueJobs(ctx context.Context, jobs ...storage.Job) error
}

// Recorder is the Sink of the server: it appends events to the audit log
// and enqueues the jobs fanouts make of them, all in the transaction in
// ctx.
type Recorder struct {
	store   Store
	fanouts []Fanout
}

// NewRecorder returns a Recorder over the store.
func NewRecorder(store Store, fanouts ...Fanout) *Recorder {
	return &Recorder{store: store, fanouts: fanouts}
}

// AddFanout adds a fanout; call it before the server serves.
func (r *Recorder) AddFanout(f Fanout) { r.fanouts = append(r.fanouts, f) }

// Record stores events and their jobs. Call it inside the change's
// transaction (storage.Transactor.InTx).
func (r *Recorder) Record(ctx context.Context, events ...storage.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := r.store.AppendEvents(ctx, events...); err != nil {
		return err
	}
	for _, f := range r.fanouts {
		jobs, err := f(ctx, events)
		if err != nil {
			return err
		}
		if err := r.store.EnqueueJobs(ctx, jobs...); err != nil {
			return err
		}
	}
	return nil
}

// Discard is a Sink that records nothing, for services built by tests that
// do not look at events. The server and the command line never use it.
type Discard struct{}

// Record does nothing.
func (Discard) Record(context.Context, ...storage.Event) error { return nil }

// SinkOr returns sink, or Discard when it is nil.
func SinkOr(sink Sink) Sink {
	if sink == nil {
		return Discard{}
	}
	return sink
}
