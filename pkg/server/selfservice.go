package server

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/selfservice"
	"github.com/gatehouse-id/gatehouse/pkg/ui"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// newSelfService builds the self-service flows (docs/self-service.md).
func newSelfService(cfg config.Config, store *gormstore.Store, services *Services, secrets *secret.Keys, limiter *ratelimit.Limiter, now func() time.Time, log *slog.Logger) *selfservice.Service {
	return selfservice.New(selfservice.Options{
		Store: store, Accounts: services.Accounts, Mail: services.Mail, Secrets: secrets,
		Links: selfServiceLinks{issuer: cfg.Issuer}, Throttle: limiter,
		VerificationLifetime: cfg.EmailVerificationLifetime,
		ResetLifetime:        cfg.PasswordResetLifetime,
		CodeLifetime:         cfg.EmailCodeLifetime,
		Now:                  now,
		Logger:               log,
	})
}

// WithSelfServiceClock sets the clock that mailed links and codes expire
// by, for tests of expiry.
func WithSelfServiceClock(now func() time.Time) Option {
	return func(o *options) { o.selfServiceClock = now }
}

// selfServiceSettings are the pages' self-service settings.
func selfServiceSettings(cfg config.Config) ui.SelfService {
	return ui.SelfService{
		SignUp: cfg.SignUpEnabled, NameRequired: cfg.SignUpRequired("name"), TermsURL: cfg.TermsURL,
		UnverifiedSignIn: cfg.UnverifiedSignIn, EmailCodes: cfg.EmailCodeSignIn, NewDeviceAlert: cfg.NewDeviceAlert,
	}
}

// signUpPath is where prompt=create sends the browser, "" with sign-up
// off.
func signUpPath(cfg config.Config, base string) string {
	if !cfg.SignUpEnabled {
		return ""
	}
	return base + ui.PathSignUp
}

// newDeviceAlert is the sign-in pipeline's OnNewDevice: the "new
// sign-in" mail, queued in the sign-in's transaction; nil when the
// setting is off.
func newDeviceAlert(cfg config.Config, store *gormstore.Store, svc *selfservice.Service) func(ctx context.Context, userID, ip string) error {
	if !cfg.NewDeviceAlert {
		return nil
	}
	return func(ctx context.Context, userID, ip string) error {
		u, err := store.GetUser(ctx, userID)
		if err != nil {
			return err
		}
		return svc.AlertNewDevice(ctx, u, ip, "")
	}
}

// withSelfServiceRules adds the self-service counters' rules: sign-ups
// and mail requests per address for an hour, wrong codes per customer
// for a day, with the configured waits.
func withSelfServiceRules(rules ratelimit.Rules, cfg config.Config) ratelimit.Rules {
	rule := func(free int64, window time.Duration) ratelimit.Rule {
		return ratelimit.Rule{Free: int(free), Base: cfg.ThrottleBackoffBase, Max: cfg.ThrottleBackoffMax, Window: window}
	}
	rules[selfservice.SignUpIP] = rule(cfg.ThrottleSignUpsPerIP, time.Hour)
	rules[selfservice.MailRequestIP] = rule(cfg.ThrottleMailRequestsPerIP, time.Hour)
	rules[selfservice.CodeFailures] = rule(cfg.ThrottleEmailCodeFailures, 24*time.Hour)
	return rules
}

// selfServiceLinks are the absolute URLs the mails carry.
type selfServiceLinks struct{ issuer string }

func (l selfServiceLinks) Verify(token string) string {
	return l.issuer + ui.PathVerify + "?" + url.Values{"token": {token}}.Encode()
}

func (l selfServiceLinks) Reset(token string) string {
	return l.issuer + ui.PathResetPassword + "?" + url.Values{"token": {token}}.Encode()
}

func (l selfServiceLinks) ResetRequest() string { return l.issuer + ui.PathReset }
