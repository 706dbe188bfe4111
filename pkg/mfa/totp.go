package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Methods named in events.
const (
	MethodTOTP          = "totp"
	MethodRecoveryCodes = "recovery_codes"
	// MethodPasskey is a passkey (pkg/passkey), removed by a reset.
	MethodPasskey = "passkey"
)

// RFC 6238's parameters as every authenticator app reads them: 30-second
// steps, six digits, HMAC-SHA1 (§4, §5.2), a 160-bit key (RFC 4226 §4
// recommends at least that).
const (
	period  = 30
	digits  = otp.DigitsSix
	keySize = 20
	// skew is how many steps either side of now a code may be from: one,
	// the one step RFC 6238 §5.2 recommends for network delay and clocks
	// that drift.
	skew = 1
)

// validateOpts are the parameters of every code check.
func validateOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: period, Digits: digits, Algorithm: otp.AlgorithmSHA1}
}

// Enrolment is an authenticator-app key waiting for its first code.
type Enrolment struct {
	// Secret is the key in base32, for typing in by hand.
	Secret string
	// URL is the otpauth:// URL the QR code holds.
	URL string
	key *otp.Key
}

// PNG draws the QR code of the enrolment (size pixels square).
func (e Enrolment) PNG(size int) ([]byte, error) {
	img, err := e.key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("mfa: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: qr code: %w", err)
	}
	return buf.Bytes(), nil
}

// BeginTOTP makes a new key for the customer, kept unconfirmed (it counts
// for nothing until ConfirmTOTP), replacing an unconfirmed one.
// storage.ErrAlreadyExists when the customer has a confirmed key.
func (s *Service) BeginTOTP(ctx context.Context, u storage.User) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.issuer, AccountName: accountName(u), Period: period, SecretSize: keySize,
		Digits: digits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: generate key: %w", err)
	}
	t := storage.TOTP{UserID: u.ID, SealedKey: s.secrets.Seal([]byte(key.Secret()), []byte(u.ID))}
	if err := s.store.PutTOTP(ctx, t); err != nil {
		return Enrolment{}, fmt.Errorf("mfa: begin totp: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), key: key}, nil
}

// PendingTOTP returns the customer's unconfirmed key, to show again (the
// QR code's image, a page reloaded); ErrNotEnrolled when there is none.
func (s *Service) PendingTOTP(ctx context.Context, u storage.User) (Enrolment, error) {
	t, secret, err := s.totp(ctx, u.ID)
	if err != nil {
		return Enrolment{}, err
	}
	if t.Confirmed {
		return Enrolment{}, ErrNotEnrolled
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: stored key: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.issuer, AccountName: accountName(u), Period: period, Secret: raw,
		Digits: digits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: key url: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), key: key}, nil
}

// accountName is what the authenticator app shows under the issuer.
func accountName(u storage.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.ID
}

// totp reads and opens the customer's key; ErrNotEnrolled when none.
func (s *Service) totp(ctx context.Context, userID string) (storage.TOTP, string, error) {
	t, err := s.store.GetTOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return t, "", ErrNotEnrolled
	}
	if err != nil {
		return t, "", fmt.Errorf("mfa: read key: %w", err)
	}
	secret, err := s.secrets.Open(t.SealedKey, []byte(userID))
	if err != nil {
		return t, "", fmt.Errorf("mfa: open key: %w", err)
	}
	return t, string(secret), nil
}

// ConfirmTOTP checks the first code of an enrolment and, when right,
// makes the key count: in one transaction it is confirmed (its step used),
// the customer's MFA flag set, user.mfa.enrolled recorded and, at the
// customer's first enrolment (no recovery codes yet), ten recovery codes
// stored and returned, to be shown once. Wrong codes are throttled.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) (recovery []string, err error) {
	err = s.check(ctx, userID, func() error {
		t, secret, err := s.totp(ctx, userID)
		if err != nil {
			return err
		}
		if t.Confirmed {
			return ErrNotEnrolled
		}
		step, ok := matchStep(secret, code, s.now(), -1)
		if !ok {
			return ErrInvalidCode
		}
		return s.store.InTx(ctx, func(ctx context.Context) error {
			if err := s.store.ConfirmTOTP(ctx, userID, step); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					return ErrNotEnrolled // confirmed meanwhile, in another tab
				}
				return fmt.Errorf("mfa: confirm: %w", err)
			}
			if err := s.events.Record(ctx, events.New(ctx, events.UserMFAEnrolled, userID, events.MFAData{Method: MethodTOTP})); err != nil {
				return err
			}
			recovery, err = s.FirstRecoveryCodes(ctx, userID)
			return err
		})
	})
	return recovery, err
}

// VerifyTOTP checks a sign-in's code: within one step of now either way,
// of a step later than the last one accepted (so each code is accepted
// once), throttled per customer. ErrInvalidCode for a wrong, old or
// reused code; ErrNotEnrolled without a confirmed key; *ThrottledError.
func (s *Service) VerifyTOTP(ctx context.Context, userID, code string) error {
	return s.check(ctx, userID, func() error {
		t, secret, err := s.totp(ctx, userID)
		if err != nil {
			return err
		}
		if !t.Confirmed {
			return ErrNotEnrolled
		}
		step, ok := matchStep(secret, code, s.now(), t.LastStep)
		if !ok {
			return ErrInvalidCode
		}
		// Conditional on the step: of two requests with one code, one wins.
		err = s.store.UseTOTPStep(ctx, userID, step)
		switch {
		case errors.Is(err, storage.ErrConflict):
			return ErrInvalidCode
		case errors.Is(err, storage.ErrNotFound):
			return ErrNotEnrolled
		case err != nil:
			return fmt.Errorf("mfa: use code: %w", err)
		}
		return nil
	})
}

// matchStep returns the latest time step within the skew of now, later
// than after, whose code is code, comparing in constant time.
func matchStep(secret, code string, now time.Time, after int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != digits.Length() {
		return 0, false
	}
	current := now.Unix() / period
	var found int64
	ok := false
	for step := current - skew; step <= current+skew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*period, 0), validateOpts())
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > after {
			found, ok = step, true
		}
	}
	return found, ok
}

// RemoveTOTP removes the customer's authenticator app and, with it, the
// recovery codes (they stand in for it), and records user.mfa.removed
// (reason "customer"). The caller checks that the customer signed in
// recently (pkg/signin's fresh sign-in rule).
func (s *Service) RemoveTOTP(ctx context.Context, userID string) error {
	return s.remove(ctx, userID, "customer")
}

// Enrolled reports whether the customer has a confirmed authenticator app,
// and how many recovery codes they have left.
func (s *Service) Enrolled(ctx context.Context, userID string) (bool, int, error) {
	t, err := s.store.GetTOTP(ctx, userID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, 0, fmt.Errorf("mfa: read key: %w", err)
	}
	left, err := s.store.CountRecoveryCodes(ctx, userID)
	if err != nil {
		return false, 0, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	return t.Confirmed, left, nil
}
