package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse-id/gatehouse/pkg/jobs"
)

// TLS modes of an SMTP connection.
const (
	// TLSNone sends in the clear. With a user name, only challenge-response
	// mechanisms (CRAM-MD5, SCRAM) are offered, so the password never
	// crosses in the clear.
	TLSNone = "none"
	// TLSStartTLS connects in the clear and requires STARTTLS (port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit connects with TLS from the first byte (port 465).
	TLSImplicit = "tls"
)

// SMTPOptions configure an SMTP transport.
type SMTPOptions struct {
	Host string
	Port int
	// TLS is TLSNone, TLSStartTLS or TLSImplicit.
	TLS string
	// Username and Password, when Username is set, authenticate
	// (the strongest mechanism the server offers).
	Username, Password string
	// RootCAs verify the server's certificate; nil uses the system's.
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each command (default 30 s).
	Timeout time.Duration
}

// SMTP sends mails to one SMTP server, a connection each. It is safe for
// concurrent use.
type SMTP struct {
	opts SMTPOptions
}

// NewSMTP returns an SMTP transport. It checks the options, without
// connecting.
func NewSMTP(opts SMTPOptions) (*SMTP, error) {
	if opts.Host == "" {
		return nil, errors.New("mail: SMTP needs a host")
	}
	if opts.Port < 1 || opts.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d out of range", opts.Port)
	}
	switch opts.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("mail: SMTP TLS mode %q: want none, starttls or tls", opts.TLS)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	return &SMTP{opts: opts}, nil
}

// Send delivers the mail to the server. A recipient the server refuses
// for good (a 5xx answer to RCPT TO) is a permanent failure; every other
// failure may be retried. The errors never repeat the recipient's
// address.
func (s *SMTP) Send(ctx context.Context, e Envelope) (string, error) {
	where := net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
	msg, err := e.Msg()
	if err != nil {
		return where, jobs.Permanent(err)
	}
	opts := []gomail.Option{
		gomail.WithPort(s.opts.Port),
		gomail.WithTimeout(s.opts.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.opts.Host, RootCAs: s.opts.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch s.opts.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if s.opts.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.opts.Username), gomail.WithPassword(s.opts.Password))
	}
	c, err := gomail.NewClient(s.opts.Host, opts...)
	if err != nil {
		return where, jobs.Permanent(fmt.Errorf("mail: SMTP client: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return where, deliveryError(where, err)
	}
	return where, nil
}

// smtpError is a failed delivery: its message names the server and the
// SMTP reply code, not the recipient go-mail's error lists.
type smtpError struct {
	msg string
	err error
}

func (e *smtpError) Error() string { return e.msg }
func (e *smtpError) Unwrap() error { return e.err }

func deliveryError(where string, err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return &smtpError{msg: fmt.Sprintf("mail: SMTP %s: %v", where, err), err: err}
	}
	e := &smtpError{msg: fmt.Sprintf("mail: SMTP %s refused the mail (reply %d %s, temporary %t)", where, se.ErrorCode(), se.EnhancedStatusCode(), se.IsTemp()), err: err}
	if se.Reason == gomail.ErrSMTPRcptTo && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return jobs.Permanent(e)
	}
	return e
}
