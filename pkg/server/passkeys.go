package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/passkey"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/pkg/ui"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// newPasskeys returns the passkey service, or nil when passkeys are off:
// by configuration, or because the issuer is on an IP address, which
// WebAuthn refuses (the log says so, once, at start-up).
func newPasskeys(cfg config.Config, store *gormstore.Store, sink events.Sink, second *mfa.Service, log *slog.Logger) (*passkey.Service, error) {
	if !cfg.Passkeys {
		return nil, nil
	}
	svc, err := passkey.New(passkey.Options{
		Store: store, Events: sink, Issuer: cfg.Issuer, Logger: log,
		// A first passkey brings recovery codes, as a first authenticator
		// app does.
		RecoveryCodes: second.FirstRecoveryCodes,
	})
	if errors.Is(err, passkey.ErrUnavailable) {
		log.Warn("passkeys are off: the issuer is on an IP address, which WebAuthn refuses as a relying party ID; use a domain name (for development http://localhost:PORT)",
			"issuer", cfg.Issuer)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return svc, nil
}

// passkeySecondFactor is a passkey as pkg/signin's second factor: a proof
// that does not verify is a wrong code (counted, user.login.failed).
func passkeySecondFactor(svc *passkey.Service) signin.SecondFactor {
	return signin.SecondFactor{
		Method: signin.Method{Name: signin.PasskeyName},
		VerifyAMR: func(ctx context.Context, userID, proof string) ([]string, error) {
			amr, err := svc.VerifyProof(ctx, userID, proof)
			if errors.Is(err, passkey.ErrInvalid) {
				return nil, fmt.Errorf("%w: %w", mfa.ErrInvalidCode, err)
			}
			return amr, err
		},
	}
}

// reachableWithPasskeys are the classes a sign-in reaches with passkeys on.
func reachableWithPasskeys() []string {
	return []string{acr.Single, acr.Multi, acr.PhishingResistant}
}

// withPasskeyRules adds the rules of passkey ceremonies begun, per address
// and per browser for an hour, with the configured waits: each stores a
// challenge until it expires.
func withPasskeyRules(rules ratelimit.Rules, cfg config.Config) ratelimit.Rules {
	rule := ratelimit.Rule{Free: int(cfg.ThrottlePasskeyBegins), Base: cfg.ThrottleBackoffBase, Max: cfg.ThrottleBackoffMax, Window: time.Hour}
	rules[ui.PasskeyBeginIP] = rule
	rules[ui.PasskeyBeginDevice] = rule
	return rules
}
