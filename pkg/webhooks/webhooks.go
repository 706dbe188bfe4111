// Package webhooks sends Gatehouse's events to the URLs operators
// subscribe, signed by the Standard Webhooks specification
// (https://www.standardwebhooks.com): managing subscriptions and their
// secrets (Service), turning recorded events into one delivery job per
// matching subscription in the change's own transaction (Service.Fanout,
// an events.Fanout), and delivering them through the SSRF-safe outbound
// client (Deliverer, a pkg/jobs kind). docs/webhooks.md is the receiver's
// guide.
//
// A subscription's deliveries share a job queue (its ID), so they are sent
// one at a time in commit order; each carries the subscription's next
// sequence number. Delivery is at least once: receivers dedupe by the
// webhook-id header, the event's ID.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// JobKind is the storage.Job kind of a delivery.
const JobKind = "webhook_delivery"

// PingType is the type of the test event POST /webhooks/{id}/ping sends.
// It is not recorded in the audit log.
const PingType = "webhook.ping"

// MaxOverlap bounds how long a rotated-out secret keeps signing.
const MaxOverlap = 7 * 24 * time.Hour

// DefaultOverlap is how long a rotated-out secret keeps signing when the
// rotation does not say.
const DefaultOverlap = 24 * time.Hour

// MaxReplay bounds the events one replay sends.
const MaxReplay = 10000

// Store is what the webhooks need of the store.
type Store interface {
	storage.Transactor
	storage.WebhookStore
	EnqueueJobs(ctx context.Context, jobs ...storage.Job) error
	ListEvents(ctx context.Context, filter storage.EventFilter, page storage.Page) ([]storage.Event, error)
	// AfterCommit runs fn once the transaction in ctx commits (at once
	// outside one).
	AfterCommit(ctx context.Context, fn func())
}

// InvalidError is a refused request member.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// ErrDisabled is returned when a disabled subscription is asked to send.
var ErrDisabled = errors.New("webhooks: the subscription is disabled")

// Options are a Service's dependencies.
type Options struct {
	Store   Store
	Secrets *secret.Keys
	// CheckURL applies the outbound policy to a subscription's URL on its
	// face (outbound.Policy.CheckURL): https and a public host, or http
	// and loopback under the development switch.
	CheckURL func(raw string) error
	// Notify, when set, wakes the job runner after a commit that
	// enqueued deliveries.
	Notify func()
}

// Service manages subscriptions and fans events out to them.
type Service struct {
	store    Store
	secrets  *secret.Keys
	checkURL func(string) error
	notify   func()
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, secrets: opts.Secrets, checkURL: opts.CheckURL, notify: opts.Notify}
	if s.checkURL == nil {
		s.checkURL = func(string) error { return nil }
	}
	if s.notify == nil {
		s.notify = func() {}
	}
	return s
}

// Spec is what a new subscription asks for.
type Spec struct {
	URL        string
	EventTypes []string
	// Disabled creates the subscription switched off.
	Disabled bool
}

// Created is a new subscription with its secret, shown this once.
type Created struct {
	storage.Webhook
	Secret string
}

// additional binds a sealed secret to its subscription.
func additional(id string) []byte { return []byte("webhook:" + id) }

func (s *Service) checkSpec(url string, types []string) error {
	if url == "" {
		return &InvalidError{Field: "url", Reason: "is required"}
	}
	if err := s.checkURL(url); err != nil {
		return &InvalidError{Field: "url", Reason: err.Error()}
	}
	known := events.Types()
	for _, t := range types {
		if !slices.Contains(known, t) {
			return &InvalidError{Field: "event_types", Reason: fmt.Sprintf("%q is not an event type", t)}
		}
	}
	return nil
}

// normalTypes sorts and dedupes a filter; empty means every type.
func normalTypes(types []string) []string {
	if len(types) == 0 {
		return nil
	}
	out := slices.Clone(types)
	slices.Sort(out)
	return slices.Compact(out)
}

// Create stores a new subscription with a new secret.
func (s *Service) Create(ctx context.Context, spec Spec) (Created, error) {
	if err := s.checkSpec(spec.URL, spec.EventTypes); err != nil {
		return Created{}, err
	}
	key := newSecret()
	id := uuid.Must(uuid.NewV7()).String()
	w := storage.Webhook{
		ID: id, URL: spec.URL, EventTypes: normalTypes(spec.EventTypes), Enabled: !spec.Disabled,
		SealedSecret: s.secrets.Seal(key, additional(id)), CreatedAt: time.Now().UTC(),
	}
	if err := s.store.CreateWebhook(ctx, w); err != nil {
		return Created{}, fmt.Errorf("create webhook: %w", err)
	}
	w.UpdatedAt = w.CreatedAt
	return Created{Webhook: w, Secret: FormatSecret(key)}, nil
}

// Get returns the subscription, or storage.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (storage.Webhook, error) {
	return s.store.GetWebhook(ctx, id)
}

// List returns subscriptions in creation order after the cursor.
func (s *Service) List(ctx context.Context, page storage.Page) ([]storage.Webhook, error) {
	return s.store.ListWebhooks(ctx, page)
}

// Patch changes some of a subscription; nil members are left as they are.
type Patch struct {
	URL        *string
	EventTypes *[]string
	Enabled    *bool
}

// Update applies the patch. Disabling drops the queued deliveries.
func (s *Service) Update(ctx context.Context, id string, p Patch) (storage.Webhook, error) {
	return s.store.UpdateWebhook(ctx, id, func(w storage.Webhook) (storage.Webhook, error) {
		if p.URL != nil {
			w.URL = *p.URL
		}
		if p.EventTypes != nil {
			w.EventTypes = normalTypes(*p.EventTypes)
		}
		if p.Enabled != nil {
			w.Enabled = *p.Enabled
		}
		if err := s.checkSpec(w.URL, w.EventTypes); err != nil {
			return w, err
		}
		return w, nil
	})
}

// Delete removes the subscription with its deliveries; pending ones are
// dropped.
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.store.DeleteWebhook(ctx, id)
}

// RotateSecret gives the subscription a new secret, returned in its shown
// form; the old one keeps signing too (two signatures per delivery) for
// overlap, so receivers can switch without losing a delivery.
func (s *Service) RotateSecret(ctx context.Context, id string, overlap time.Duration) (storage.Webhook, string, error) {
	if overlap < 0 || overlap > MaxOverlap {
		return storage.Webhook{}, "", &InvalidError{Field: "overlap_seconds", Reason: fmt.Sprintf("must be between 0 and %d", int(MaxOverlap.Seconds()))}
	}
	key := newSecret()
	w, err := s.store.UpdateWebhook(ctx, id, func(w storage.Webhook) (storage.Webhook, error) {
		w.SealedPreviousSecret, w.PreviousSecretUntil = nil, time.Time{}
		if overlap > 0 {
			w.SealedPreviousSecret, w.PreviousSecretUntil = w.SealedSecret, time.Now().Add(overlap).UTC()
		}
		w.SealedSecret = s.secrets.Seal(key, additional(w.ID))
		return w, nil
	})
	if err != nil {
		return storage.Webhook{}, "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	return w, FormatSecret(key), nil
}

// signingKeys returns the keys that sign a delivery made at now: the
// current secret's, and the previous one's during its overlap.
func signingKeys(secrets *secret.Keys, w storage.Webhook, now time.Time) ([][]byte, error) {
	cur, err := secrets.Open(w.SealedSecret, additional(w.ID))
	if err != nil {
		return nil, fmt.Errorf("webhook %s: open secret: %w", w.ID, err)
	}
	keys := [][]byte{cur}
	if len(w.SealedPreviousSecret) > 0 && now.Before(w.PreviousSecretUntil) {
		prev, err := secrets.Open(w.SealedPreviousSecret, additional(w.ID))
		if err != nil {
			return nil, fmt.Errorf("webhook %s: open previous secret: %w", w.ID, err)
		}
		keys = append(keys, prev)
	}
	return keys, nil
}

// Deliveries lists a subscription's deliveries with their attempts.
func (s *Service) Deliveries(ctx context.Context, id string, page storage.Page) ([]storage.WebhookDelivery, error) {
	if _, err := s.store.GetWebhook(ctx, id); err != nil {
		return nil, err
	}
	return s.store.ListWebhookDeliveries(ctx, id, page)
}
