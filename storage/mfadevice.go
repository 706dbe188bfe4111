package storage

import (
	"context"
	"time"
)

// MFADevice is a browser on which a customer, after a second factor,
// asked not to be asked for one again for a while (mfa_remember_device_days).
type MFADevice struct {
	// ID is pkg/mfa's hash of the customer and the browser's device cookie
	// hash; neither the cookie nor its hash is stored.
	ID     string
	UserID string
	// UserAgent (truncated) and IP are the browser's when it was
	// remembered, for the customer's list.
	UserAgent string
	IP        string
	// VerifiedAt is when the second factor was last checked in this
	// browser; ExpiresAt when the remembering ends.
	VerifiedAt time.Time
	ExpiresAt  time.Time
}

// MFADeviceStore keeps the browsers remembered for the second factor.
type MFADeviceStore interface {
	// PutMFADevice stores a remembered browser, replacing the one with the
	// same ID.
	PutMFADevice(ctx context.Context, d MFADevice) error
	// GetMFADevice returns the customer's remembered browser with the ID;
	// ErrNotFound when there is none or it expired before now.
	GetMFADevice(ctx context.Context, userID, id string, now time.Time) (MFADevice, error)
	// ListMFADevices returns the customer's live remembered browsers,
	// most recently verified first.
	ListMFADevices(ctx context.Context, userID string, now time.Time) ([]MFADevice, error)
	// DeleteMFADevice forgets one of the customer's remembered browsers;
	// ErrNotFound when the customer has no such one.
	DeleteMFADevice(ctx context.Context, userID, id string) error
	// DeleteMFADevices forgets every remembered browser of the customer
	// and returns how many there were.
	DeleteMFADevices(ctx context.Context, userID string) (int, error)
}
