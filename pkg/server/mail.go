package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// mailMemoryCounters caps the per-recipient mail counters kept in memory
// on SQLite.
const mailMemoryCounters = 10000

// newMail builds the mail service: the templates of templates/mail, or
// of templates_dir over them (checked now, so a broken one stops the
// start), SMTP when smtp_host is
// set and the outbox folder otherwise, and the per-recipient limit. On
// PostgreSQL its counters are the database's, shared by the replicas that
// run mail jobs; on SQLite they are in memory.
func newMail(cfg config.Config, store *gormstore.Store, secrets *secret.Keys, log *slog.Logger) (*mail.Service, error) {
	assets, err := templateTree(cfg)
	if err != nil {
		return nil, err
	}
	bundle, err := i18n.New(assets)
	if err != nil {
		return nil, templatesErr(cfg, "loading messages", err)
	}
	renderer, err := mail.NewRenderer(assets, bundle)
	if err != nil {
		return nil, templatesErr(cfg, "loading mail templates", err)
	}
	var transport mail.Transport = mail.NewOutbox(cfg.MailOutboxPath())
	if cfg.SMTPHost != "" {
		transport, err = mail.NewSMTP(mail.SMTPOptions{
			Host: cfg.SMTPHost, Port: int(cfg.SMTPPort), TLS: cfg.SMTPTLS,
			Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
		})
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_SMTP_HOST: %w", err)
		}
	}
	var counters storage.CounterStore = store
	if store.Kind() != gormstore.Postgres {
		counters = ratelimit.NewMemory(mailMemoryCounters)
	}
	// Recipients are counted under a key of their own, so the counters
	// table holds no address.
	mac := hmac.New(sha256.New, secrets.CSRFKey())
	mac.Write([]byte("gatehouse mail recipients"))
	svc, err := mail.New(mail.Options{
		Store:     store,
		Secrets:   secrets,
		Renderer:  renderer,
		Transport: transport,
		From:      cfg.SMTPFrom,
		Limiter: ratelimit.New(ratelimit.Options{
			Counters:   counters,
			SubjectKey: mac.Sum(nil),
			Rules:      ratelimit.Rules{mail.ThrottleKind: mail.HourlyRule(int(cfg.MailHourlyLimit))},
		}),
		Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_SMTP_FROM: %w", err)
	}
	return svc, nil
}

// logMailTransport says at start-up where mails go.
func logMailTransport(cfg config.Config, log *slog.Logger) {
	if cfg.SMTPHost == "" {
		log.Warn("no SMTP server set (GATEHOUSE_SMTP_HOST): mails are written to the outbox folder, not sent", "dir", cfg.MailOutboxPath())
		return
	}
	log.Info("mails are sent through SMTP", "host", cfg.SMTPHost, "port", cfg.SMTPPort, "tls", cfg.SMTPTLS)
}
