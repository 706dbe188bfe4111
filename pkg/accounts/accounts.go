// Package accounts holds the operations on a customer's account that
// other systems must hear of: creating, changing and deleting the
// customer, setting their password, their consents, their sign-ins, and
// ending their browser sessions. Each runs in one short database
// transaction that also writes its events (pkg/events) and the
// back-channel logout jobs it causes (pkg/backchannel), so nothing is
// half-done and nothing is told that did not happen; password hashes are
// computed before the transaction. The pages, the protocol endpoints, the
// admin API and the command line all call these methods; none assembles
// its own.
package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/backchannel"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Store is what the account operations need of the store.
type Store interface {
	storage.Transactor
	LookupClient(ctx context.Context, id string) (storage.Client, error)
	ListSessionsByUser(ctx context.Context, userID string) ([]storage.BrowserSession, error)
	DeleteSession(ctx context.Context, id string) (storage.BrowserSession, []string, error)
	GetUser(ctx context.Context, id string) (storage.User, error)
	CreateUser(ctx context.Context, u storage.User) error
	UpdateUser(ctx context.Context, id string, update func(storage.User) (storage.User, error)) error
	DeleteUser(ctx context.Context, id string) error
	GrantConsent(ctx context.Context, userID, clientID string, scopes []string) error
	DeleteConsent(ctx context.Context, userID, clientID string) error
	RevokeTokensOf(ctx context.Context, subject, clientID string) error
	EnqueueJobs(ctx context.Context, jobs ...storage.Job) error
	GetUserByEmail(ctx context.Context, email string) (storage.User, error)
	storage.EmailChangeStore
	storage.EventScrubber
	SessionClientIDs(ctx context.Context, sessionID string) ([]string, error)
	storage.ImportStore
	CreateIdentity(ctx context.Context, id storage.Identity) error
	ListIdentities(ctx context.Context, userID string) ([]storage.Identity, error)
	// AfterCommit runs fn once the transaction in ctx commits.
	AfterCommit(ctx context.Context, fn func())
	storage.RoleStore
	DeleteMFADevices(ctx context.Context, userID string) (int, error)
}

// Options are a Service's dependencies.
type Options struct {
	Store   Store
	Events  events.Sink
	Secrets *secret.Keys
	// Identity checks new customers and hashes their passwords.
	Identity *identity.Service
	// Notify, when set, is called after a commit that enqueued jobs, so
	// that the job runner starts on them at once.
	Notify func()
	// Mail queues the mails a change sends (a changed password, a change
	// of email), in its transaction; nil sends none.
	Mail Mailer
	// Attributes are the declared customer attributes; nil declares none.
	Attributes *attributes.Set
}

// Mailer queues a mail in the transaction in ctx (pkg/mail's Service).
type Mailer interface {
	Queue(ctx context.Context, msg mail.Message) error
}

// Service performs account operations.
type Service struct {
	store    Store
	events   events.Sink
	secrets  *secret.Keys
	identity *identity.Service
	notify   func()
	mail     Mailer
	attrs    *attributes.Set
}

// New returns a Service.
func New(opts Options) *Service {
	notify := opts.Notify
	if notify == nil {
		notify = func() {}
	}
	return &Service{store: opts.Store, events: opts.Events, secrets: opts.Secrets, identity: opts.Identity, notify: notify, mail: opts.Mail, attrs: opts.Attributes}
}

// sessionEndedData is the data of a session.ended event.
type sessionEndedData struct {
	SID       string   `json:"sid"`
	ClientIDs []string `json:"client_ids"`
}

// EndSession ends the browser session with the ID (its cookie's hash):
// deletes it, records session.ended, and queues a back-channel logout for
// each of its clients that asked for one. It returns the ended session and
// its clients; a session already gone is storage.ErrNotFound.
func (s *Service) EndSession(ctx context.Context, id string) (storage.BrowserSession, []string, error) {
	var bs storage.BrowserSession
	var clientIDs []string
	err := s.inTx(ctx, func(ctx context.Context) (err error) {
		bs, clientIDs, err = s.endSession(ctx, id)
		return err
	})
	return bs, clientIDs, err
}

// endSession does EndSession's work in the transaction in ctx.
func (s *Service) endSession(ctx context.Context, id string) (storage.BrowserSession, []string, error) {
	bs, clientIDs, err := s.store.DeleteSession(ctx, id)
	if err != nil {
		return bs, nil, err
	}
	jobs, err := backchannel.Jobs(ctx, s.store, s.secrets, bs, clientIDs)
	if err != nil {
		return bs, nil, err
	}
	if err := s.store.EnqueueJobs(ctx, jobs...); err != nil {
		return bs, nil, fmt.Errorf("queue back-channel logout: %w", err)
	}
	if len(jobs) > 0 {
		s.store.AfterCommit(ctx, s.notify)
	}
	if clientIDs == nil {
		clientIDs = []string{}
	}
	ev := events.New(ctx, events.SessionEnded, bs.UserID, sessionEndedData{SID: bs.SID, ClientIDs: clientIDs})
	if err := s.events.Record(ctx, ev); err != nil {
		return bs, nil, fmt.Errorf("record session.ended: %w", err)
	}
	return bs, clientIDs, nil
}

// EndSessionsOf ends every browser session of the customer (signing them
// out everywhere) and forgets the browsers remembered for their second
// factor, in one transaction, and returns how many sessions it ended.
func (s *Service) EndSessionsOf(ctx context.Context, userID string) (int, error) {
	return s.EndOtherSessions(ctx, userID, "")
}

// EndOtherSessions ends every browser session of the customer but the one
// with the ID keep (the browser asking; "" keeps none), and forgets every
// browser remembered for their second factor — this one's too: whoever
// signs out their other devices wants every one of them to ask both
// factors again. One transaction; it returns how many sessions it ended.
func (s *Service) EndOtherSessions(ctx context.Context, userID, keep string) (int, error) {
	n := 0
	err := s.inTx(ctx, func(ctx context.Context) error {
		n = 0
		return s.endSessionsOf(ctx, userID, keep, &n)
	})
	return n, err
}

// endSessionsOf ends the customer's sessions but keep and forgets their
// remembered browsers, in the transaction in ctx.
func (s *Service) endSessionsOf(ctx context.Context, userID, keep string, n *int) error {
	sessions, err := s.store.ListSessionsByUser(ctx, userID)
	if err != nil {
		return err
	}
	for _, bs := range sessions {
		if bs.ID == keep {
			continue
		}
		if _, _, err := s.endSession(ctx, bs.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		} else if err == nil {
			*n++
		}
	}
	return s.forgetDevices(ctx, userID)
}

// forgetDevices forgets the browsers remembered for the customer's second
// factor, in the transaction in ctx.
func (s *Service) forgetDevices(ctx context.Context, userID string) error {
	if _, err := s.store.DeleteMFADevices(ctx, userID); err != nil {
		return fmt.Errorf("forget remembered devices: %w", err)
	}
	return nil
}

// DeleteCustomer deletes the customer with their sessions (their clients
// told by back-channel logout), consents, linked identities, tokens,
// second factors and pending email change, removes the personal data
// (events.Scrub) from the audit log's events about them, which keep only
// the opaque subject ID, and records user.deleted; an unknown customer is
// storage.ErrNotFound.
func (s *Service) DeleteCustomer(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.GetUser(ctx, userID); err != nil {
			return err
		}
		var n int
		if err := s.endSessionsOf(ctx, userID, "", &n); err != nil {
			return err
		}
		if err := s.store.DeleteUser(ctx, userID); err != nil {
			return err
		}
		if err := s.store.DeleteEmailChanges(ctx, userID); err != nil {
			return err
		}
		if err := s.store.ScrubEvents(ctx, userID, events.Scrub); err != nil {
			return err
		}
		return s.events.Record(ctx, events.New(ctx, events.UserDeleted, userID, nil))
	})
}

// inTx runs fn in a transaction. It does NOT wake the job runner: what
// enqueues jobs in fn asks for that with AfterCommit (the back-channel
// logouts here, the webhook fan-out in events.Recorder), so that a commit
// that queued nothing, such as every sign-in's and consent's, costs the
// runner no claim.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.store.InTx(ctx, fn)
}
