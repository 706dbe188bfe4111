package config

import (
	"fmt"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
)

// SMTP TLS modes, the values of SMTPTLS.
const (
	SMTPTLSNone     = "none"
	SMTPTLSStartTLS = "starttls"
	SMTPTLSImplicit = "tls"
)

// maxMailHourlyLimit caps MailHourlyLimit.
const maxMailHourlyLimit = 10000

// MailOutboxPath returns the folder mails are written to when no SMTP
// server is set: MailOutboxDir, or else "outbox" in the folder of the
// SQLite database file, or "outbox" in the working directory on
// PostgreSQL.
func (c Config) MailOutboxPath() string {
	if c.MailOutboxDir != "" {
		return c.MailOutboxDir
	}
	if db, err := c.Database(); err == nil && db.Kind == DatabaseSQLite {
		return filepath.Join(filepath.Dir(db.Path), "outbox")
	}
	return "outbox"
}

// mailChecks are the rules of the mail settings.
func (c Config) mailChecks() []check {
	from, fromErr := mail.ParseAddress(c.SMTPFrom)
	localSender := fromErr == nil && strings.HasSuffix(strings.ToLower(from.Address), "@localhost")
	return []check{
		{c.SMTPHost != "" && strings.ContainsAny(c.SMTPHost, " /:@"), fmt.Sprintf("GATEHOUSE_SMTP_HOST: must be a host name or address, without a port or scheme (got %q); the port is GATEHOUSE_SMTP_PORT", c.SMTPHost)},
		{c.SMTPPort < 1 || c.SMTPPort > 65535, fmt.Sprintf("GATEHOUSE_SMTP_PORT: must be between 1 and 65535 (got %d)", c.SMTPPort)},
		{!slices.Contains([]string{SMTPTLSNone, SMTPTLSStartTLS, SMTPTLSImplicit}, c.SMTPTLS), fmt.Sprintf("GATEHOUSE_SMTP_TLS: must be none, starttls or tls (got %q)", c.SMTPTLS)},
		{c.SMTPPassword != "" && c.SMTPUsername == "", "GATEHOUSE_SMTP_PASSWORD: set GATEHOUSE_SMTP_USERNAME too, or leave both empty"},
		{fromErr != nil, fmt.Sprintf("GATEHOUSE_SMTP_FROM: must be an email address, optionally with a name: \"Example <no-reply@example.com>\" (got %q)", c.SMTPFrom)},
		{c.SMTPHost != "" && localSender, "GATEHOUSE_SMTP_FROM: set a sender address of your own domain when GATEHOUSE_SMTP_HOST is set (a @localhost sender is refused by most mail servers)"},
		{c.MailHourlyLimit < 1 || c.MailHourlyLimit > maxMailHourlyLimit, fmt.Sprintf("GATEHOUSE_MAIL_HOURLY_LIMIT: must be between 1 and %d (got %d)", maxMailHourlyLimit, c.MailHourlyLimit)},
	}
}
