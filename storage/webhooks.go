package storage

import (
	"context"
	"time"
)

// Webhook is a subscription: a URL that is sent the events of the types it
// asks for, signed with its secret (Standard Webhooks).
type Webhook struct {
	// ID is unique and sorts by creation (a UUIDv7). It is also the job
	// queue of the subscription's deliveries, so they run one at a time, in
	// order.
	ID string
	// URL is where events are POSTed.
	URL string
	// EventTypes are the event types sent; empty sends every type.
	EventTypes []string
	// Enabled subscriptions are sent events; a disabled one is skipped
	// when events are recorded, and its pending deliveries are dropped.
	Enabled bool
	// SealedSecret is the signing secret's bytes, sealed (AES-256-GCM)
	// with the subscription's ID as additional data. Never shown again
	// after it is created or rotated.
	SealedSecret []byte
	// SealedPreviousSecret is the secret before the last rotation, also
	// sealed; it signs too until PreviousSecretUntil.
	SealedPreviousSecret []byte
	PreviousSecretUntil  time.Time
	// Sequence is the number of the last delivery made for the
	// subscription: each delivery takes the next, in the transaction of
	// its event, so the numbers follow commit order.
	Sequence  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Matches reports whether the subscription takes events of the type.
func (w Webhook) Matches(eventType string) bool {
	if len(w.EventTypes) == 0 {
		return true
	}
	for _, t := range w.EventTypes {
		if t == eventType {
			return true
		}
	}
	return false
}

// Delivery states, as a listing shows them.
const (
	DeliveryPending   = "pending"   // queued or being retried
	DeliverySucceeded = "succeeded" // the receiver answered 2xx
	DeliveryDead      = "dead"      // retried up to the horizon, or refused for good; replayable
	DeliveryDropped   = "dropped"   // the subscription was disabled before it was sent
)

// WebhookDelivery is one event to be sent to one subscription: a durable
// job (its ID is the job's) and a row of its own, kept after the job is
// done, for the deliveries listing.
type WebhookDelivery struct {
	// ID is the delivery job's ID.
	ID        string
	WebhookID string
	EventID   string
	EventType string
	// Sequence is the subscription's number for the delivery.
	Sequence  int64
	CreatedAt time.Time
	// Replay marks a delivery an operator asked for again.
	Replay bool
	// State is one of the Delivery* states (set when listed).
	State string
	// Attempts are the tries so far, oldest first (set when listed).
	Attempts []WebhookAttempt
	// NextAttemptAt is when a pending delivery is next due (set when
	// listed).
	NextAttemptAt time.Time
}

// WebhookAttempt is one try at a delivery.
type WebhookAttempt struct {
	DeliveryID string
	WebhookID  string
	EventID    string
	Time       time.Time
	// StatusCode is the receiver's answer; 0 when none came.
	StatusCode int
	// Error is a short reason for a failure (never a secret).
	Error    string
	Duration time.Duration
}

// WebhookStore keeps subscriptions, their deliveries and the attempts.
type WebhookStore interface {
	// CreateWebhook stores a new subscription.
	CreateWebhook(ctx context.Context, w Webhook) error
	// GetWebhook returns the subscription, or ErrNotFound.
	GetWebhook(ctx context.Context, id string) (Webhook, error)
	// ListWebhooks returns subscriptions in ID order after the cursor.
	ListWebhooks(ctx context.Context, page Page) ([]Webhook, error)
	// UpdateWebhook applies update to the stored subscription atomically
	// and returns the result. Disabling a subscription drops its queued
	// deliveries.
	UpdateWebhook(ctx context.Context, id string, update func(Webhook) (Webhook, error)) (Webhook, error)
	// DeleteWebhook removes the subscription, its deliveries, their
	// attempts and its pending jobs; ErrNotFound if there is none.
	DeleteWebhook(ctx context.Context, id string) error
	// EnabledWebhooks returns every enabled subscription, in one query,
	// for fan-out. It joins the transaction in ctx.
	EnabledWebhooks(ctx context.Context) ([]Webhook, error)
	// NextWebhookSequence adds n to the subscription's sequence and
	// returns the new value, so the caller owns the n numbers before it.
	// It joins the transaction in ctx, and on PostgreSQL holds the
	// subscription's row until that commits, so numbers follow commit
	// order.
	NextWebhookSequence(ctx context.Context, id string, n int) (int64, error)
	// AddWebhookDeliveries stores new deliveries (their jobs are enqueued
	// apart). It joins the transaction in ctx.
	AddWebhookDeliveries(ctx context.Context, deliveries ...WebhookDelivery) error
	// RecordWebhookAttempt stores an attempt and, when it succeeded, marks
	// its delivery succeeded.
	RecordWebhookAttempt(ctx context.Context, a WebhookAttempt, succeeded bool) error
	// ListWebhookDeliveries returns a subscription's deliveries in ID
	// order after the cursor, each with its attempts and its state.
	ListWebhookDeliveries(ctx context.Context, webhookID string, page Page) ([]WebhookDelivery, error)
	// EventByID returns the recorded event with the ID, or ErrNotFound.
	EventByID(ctx context.Context, id string) (Event, error)
	// DeleteWebhookAttemptsBefore removes at most limit attempts older than
	// the cut-off, and at most limit finished deliveries (none pending)
	// older than it, and returns how many rows it removed.
	DeleteWebhookAttemptsBefore(ctx context.Context, before time.Time, limit int) (int64, error)
}
