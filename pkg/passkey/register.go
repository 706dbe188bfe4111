package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// maxName bounds a passkey's name, in characters.
const maxName = 64

// BeginRegistration starts registering a passkey for the customer in this
// browser (device is the hash of its device cookie). It asks for a
// discoverable credential (residentKey "required", WebAuthn §5.4.6) so the
// passkey signs in without an e-mail address, prefers user verification,
// accepts platform and roaming authenticators alike, asks no attestation,
// and excludes the customer's passkeys (§5.4 excludeCredentials) so one
// authenticator is not registered twice.
func (s *Service) BeginRegistration(ctx context.Context, userID, device string) (Ceremony, error) {
	wu, _, err := s.customer(ctx, userID)
	if err != nil {
		return Ceremony{}, err
	}
	required := true
	creation, sd, err := s.wa.BeginRegistration(wu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &required,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
	)
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return s.begin(ctx, kindRegister, device, userID, sd, creation.Response)
}

// Registered is a passkey just stored, and the recovery codes to show
// once when it was the customer's first second factor (nil otherwise).
type Registered struct {
	Passkey       storage.Passkey
	RecoveryCodes []string
}

// FinishRegistration verifies the browser's answer to a registration
// (WebAuthn §7.1) and stores the passkey under name, recording
// user.mfa.enrolled (method passkey) in the same transaction — with, when
// it is the customer's first second factor, their recovery codes
// (Options.RecoveryCodes). ErrInvalid for an answer that does not verify
// or a ceremony that is not this browser's.
func (s *Service) FinishRegistration(ctx context.Context, userID, device, ceremonyID, name string, response []byte) (Registered, error) {
	sd, err := s.take(ctx, ceremonyID, kindRegister, device, userID)
	if err != nil {
		return Registered{}, err
	}
	wu, _, err := s.customer(ctx, userID)
	if err != nil {
		return Registered{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Registered{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	cred, err := s.wa.CreateCredential(wu, sd, parsed)
	if err != nil {
		return Registered{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	enc, err := json.Marshal(cred)
	if err != nil {
		return Registered{}, fmt.Errorf("passkey: encode credential: %w", err)
	}
	p := storage.Passkey{
		ID: credentialID(cred.ID), UserID: userID, Name: cleanName(name), Credential: enc,
		SignCount: cred.Authenticator.SignCount, BackupEligible: cred.Flags.BackupEligible,
	}
	out := Registered{Passkey: p}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		u, err := s.store.GetUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("passkey: read customer: %w", err)
		}
		if err := s.store.CreatePasskey(ctx, p); err != nil {
			return fmt.Errorf("passkey: store: %w", err)
		}
		if err := s.events.Record(ctx, events.New(ctx, events.UserMFAEnrolled, userID, events.MFAData{Method: Method})); err != nil {
			return err
		}
		if u.MFA || s.recovery == nil {
			return nil
		}
		out.RecoveryCodes, err = s.recovery(ctx, userID)
		return err
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		// §7.1 step 26: a credential ID registered already is refused.
		return Registered{}, fmt.Errorf("%w: the credential is registered already", ErrInvalid)
	}
	if err != nil {
		return Registered{}, err
	}
	return out, nil
}

// cleanName trims a passkey's name to one line of at most maxName
// characters; an empty one becomes "Passkey".
func cleanName(name string) string {
	name = strings.Join(strings.Fields(name), " ")
	for utf8.RuneCountInString(name) > maxName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return "Passkey"
	}
	return name
}
