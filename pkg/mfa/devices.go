package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// MethodRememberedDevice names a browser remembered for the second factor
// in user.mfa.enrolled and user.mfa.removed, and in user.login.succeeded's
// second_factor when one was skipped for it.
const MethodRememberedDevice = "remembered_device"

// DeviceID is the stored ID of a customer's browser: SHA-256 over the
// customer and the hash of the browser's device cookie, so the store
// holds nothing that rides the cookie, and one browser has a different ID
// for each customer.
func DeviceID(userID, device string) string {
	h := sha256.New()
	h.Write([]byte("gatehouse mfa device\x00"))
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(device))
	return hex.EncodeToString(h.Sum(nil))
}

// RememberDays is how many days a browser is remembered for; 0 when
// remembering is off.
func (s *Service) RememberDays() int { return int(s.remember / (24 * time.Hour)) }

// RememberDevice remembers the browser (device is the hash of its device
// cookie) for the customer's second factor, for the configured time from
// now, with its User-Agent (as session.UserAgent keeps it) and address for
// the customer's list, and records user.mfa.enrolled (method remembered_device). It joins
// the caller's transaction: the sign-in that checked the second factor.
// It does nothing while remembering is off.
func (s *Service) RememberDevice(ctx context.Context, userID, device, userAgent, ip string) error {
	if s.remember <= 0 || device == "" {
		return nil
	}
	now := s.now().UTC()
	err := s.store.PutMFADevice(ctx, storage.MFADevice{
		ID: DeviceID(userID, device), UserID: userID, UserAgent: userAgent, IP: ip,
		VerifiedAt: now, ExpiresAt: now.Add(s.remember),
	})
	if err != nil {
		return fmt.Errorf("mfa: remember device: %w", err)
	}
	return s.events.Record(ctx, events.New(ctx, events.UserMFAEnrolled, userID, events.MFAData{Method: MethodRememberedDevice}))
}

// RememberedFor returns how long ago the second factor was checked in
// this browser, while the browser is remembered for the customer; false
// when it is not (or remembering is off).
func (s *Service) RememberedFor(ctx context.Context, userID, device string) (time.Duration, bool, error) {
	if s.remember <= 0 || device == "" {
		return 0, false, nil
	}
	now := s.now()
	d, err := s.store.GetMFADevice(ctx, userID, DeviceID(userID, device), now)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("mfa: read remembered device: %w", err)
	}
	age := now.Sub(d.VerifiedAt)
	// Remembered for longer than the setting allows now (it was
	// shortened): not any more.
	if age > s.remember {
		return 0, false, nil
	}
	return age, true, nil
}

// Devices lists the customer's remembered browsers, most recent first.
func (s *Service) Devices(ctx context.Context, userID string) ([]storage.MFADevice, error) {
	list, err := s.store.ListMFADevices(ctx, userID, s.now())
	if err != nil {
		return nil, fmt.Errorf("mfa: list remembered devices: %w", err)
	}
	return list, nil
}

// ForgetDevice forgets one of the customer's remembered browsers (its
// DeviceID) and records user.mfa.removed (method remembered_device,
// reason customer) in one transaction; storage.ErrNotFound when they have
// no such one. The next sign-in there asks the second factor again.
func (s *Service) ForgetDevice(ctx context.Context, userID, id string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteMFADevice(ctx, userID, id); err != nil {
			return fmt.Errorf("mfa: forget device: %w", err)
		}
		return s.events.Record(ctx, events.New(ctx, events.UserMFARemoved, userID, events.MFAData{Method: MethodRememberedDevice, Reason: "customer"}))
	})
}
