// Package mail sends the mails Gatehouse writes to customers: email
// verification and password-reset links, one-time codes, and the notices
// of a changed password, a used recovery code and a new sign-in.
//
// A mail is queued, never sent from a page: Service.Queue writes a job of
// the durable queue (pkg/jobs, kind JobKind) in the transaction of the
// change that causes it, so a mail exists exactly when its change
// committed, survives a restart, and is retried (with back-off, for a day)
// while the mail server is away. The job holds the kind, the recipient, the
// language and the data sealed with the system secret (the data may carry
// a one-time link or code); the mail is rendered from templates/mail when
// the job runs, in the customer's language, with a text and an HTML part,
// and handed to a Transport: SMTP, or, with no SMTP server configured, an
// outbox folder of .eml files for development.
//
// Mails of one kind to one recipient are throttled when sent: beyond the
// limit in an hour a mail is dropped and logged, not retried, so nobody
// can flood an inbox through Gatehouse. Logs name the recipient (masked),
// the kind and where the mail went; never a link or a code.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/redact"
	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// JobKind is the storage.Job kind of a mail to send.
const JobKind = "mail"

// ThrottleKind is the ratelimit kind that counts the mails of one kind to
// one recipient.
const ThrottleKind ratelimit.Kind = "mail_recipient"

// Kind names one kind of mail; each has its templates
// (templates/mail/KIND.html and KIND.txt) and its subject
// (mail.KIND.subject in every locale).
type Kind string

// The kinds of mail.
const (
	// EmailVerification asks the customer to confirm their address by
	// opening Data.Link, valid Data.ExpiresIn.
	EmailVerification Kind = "email_verification"
	// PasswordReset sends Data.Link to choose a new password, valid
	// Data.ExpiresIn.
	PasswordReset Kind = "password_reset"
	// EmailCode sends a one-time code (Data.Code) to sign in or to confirm
	// the address, valid Data.ExpiresIn.
	EmailCode Kind = "email_code"
	// PasswordChanged tells the customer their password was changed at
	// Data.Time.
	PasswordChanged Kind = "password_changed"
	// RecoveryCodeUsed tells the customer a recovery code was used at
	// Data.Time, and how many are left (Data.RecoveryCodesLeft).
	RecoveryCodeUsed Kind = "recovery_code_used"
	// NewSignIn tells the customer of a sign-in from a new device at
	// Data.Time (Data.Device and Data.Address when known).
	NewSignIn Kind = "new_sign_in"
	// AccountExists tells the owner of an address that someone tried to
	// sign up with it (sign-up answers alike for known and unknown
	// addresses); Data.Link, when set, leads to the password reset.
	AccountExists Kind = "account_exists"
	// EmailChanged tells the customer, at their old address, that their
	// account's email was changed at Data.Time.
	EmailChanged Kind = "email_changed"
)

// Kinds returns every kind of mail.
func Kinds() []Kind {
	return []Kind{EmailVerification, PasswordReset, EmailCode, PasswordChanged, RecoveryCodeUsed, NewSignIn, AccountExists, EmailChanged}
}

// Message is one mail to queue.
type Message struct {
	Kind Kind
	// To is the recipient's address ("jane@example.com").
	To string
	// Language is the customer's language (a BCP 47 tag); an unsupported
	// one gives English.
	Language string
	Data     Data
}

// Data fills a mail's template. Which fields a kind needs is said at its
// Kind; the others are ignored.
type Data struct {
	// Name greets the customer; empty gives a greeting without a name.
	Name string `json:"name,omitempty"`
	// Link is the one-time link of EmailVerification and PasswordReset
	// (absolute, http or https).
	Link string `json:"link,omitempty"`
	// Code is the one-time code of EmailCode, and the code that may stand
	// in for the link of EmailVerification.
	Code string `json:"code,omitempty"`
	// ExpiresIn is how long the link or code stays valid.
	ExpiresIn time.Duration `json:"expires_in,omitempty"`
	// Time is when the notified event happened; zero is when queued.
	Time time.Time `json:"time,omitzero"`
	// Device describes the device of a NewSignIn ("Firefox on Linux").
	Device string `json:"device,omitempty"`
	// Address is the client address of a NewSignIn.
	Address string `json:"address,omitempty"`
	// RecoveryCodesLeft is how many recovery codes remain (RecoveryCodeUsed).
	RecoveryCodesLeft int `json:"recovery_codes_left,omitempty"`
}

// ErrInvalid is returned by Queue for a message that could not be sent:
// an unknown kind, a bad address, or data its kind needs missing.
var ErrInvalid = errors.New("mail: invalid message")

// Validate checks a message before it is queued.
func (m Message) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, m.Kind, fmt.Sprintf(format, args...))
	}
	if !knownKind(m.Kind) {
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, m.Kind)
	}
	if a, err := mail.ParseAddress(m.To); err != nil || a.Address != m.To || a.Name != "" {
		return bad("the recipient is not a plain email address")
	}
	switch m.Kind {
	case EmailVerification, PasswordReset:
		u, err := url.Parse(m.Data.Link)
		if m.Data.Link == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("needs an absolute http(s) link")
		}
	case EmailCode:
		if strings.TrimSpace(m.Data.Code) == "" {
			return bad("needs a code")
		}
	}
	switch m.Kind {
	case EmailVerification, PasswordReset, EmailCode:
		if m.Data.ExpiresIn < time.Minute {
			return bad("needs ExpiresIn of a minute or more")
		}
	}
	return nil
}

func knownKind(k Kind) bool {
	for _, known := range Kinds() {
		if k == known {
			return true
		}
	}
	return false
}

// Store is what the mail service needs of the store.
type Store interface {
	EnqueueJobs(ctx context.Context, jobs ...storage.Job) error
}

// Options are a Service's dependencies.
type Options struct {
	Store Store
	// Secrets seal the data of queued mails.
	Secrets  *secret.Keys
	Renderer *Renderer
	// Transport sends the rendered mails: an *SMTP or an *Outbox.
	Transport Transport
	// From is the sender ("Gatehouse <no-reply@example.com>").
	From string
	// Limiter throttles mails per kind and recipient by the rule of
	// ThrottleKind (see HourlyRule); nil sends everything.
	Limiter *ratelimit.Limiter
	Logger  *slog.Logger
	// Retry overrides DefaultRetry (for tests).
	Retry jobs.Retry
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultRetry retries a mail from 10 seconds apart up to 30 minutes apart,
// for a day; then the job is dead (kept for inspection).
func DefaultRetry() jobs.Retry {
	return jobs.Retry{Base: 10 * time.Second, Max: 30 * time.Minute, Horizon: 24 * time.Hour}
}

// HourlyRule is the ratelimit rule that lets perHour mails of one kind go
// to one recipient in an hour and refuses the rest until the hour is over.
func HourlyRule(perHour int) ratelimit.Rule {
	return ratelimit.Rule{Free: perHour, Base: time.Hour, Max: time.Hour, Window: time.Hour}
}

// Service queues mails and sends them when their jobs run.
type Service struct {
	store     Store
	secrets   *secret.Keys
	renderer  *Renderer
	transport Transport
	from      *mail.Address
	limiter   *ratelimit.Limiter
	log       *slog.Logger
	retry     jobs.Retry
	now       func() time.Time
}

// New returns a Service. It fails on a sender that is not an address.
func New(opts Options) (*Service, error) {
	from, err := mail.ParseAddress(opts.From)
	if err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", opts.From, err)
	}
	if opts.Store == nil || opts.Secrets == nil || opts.Renderer == nil || opts.Transport == nil {
		return nil, errors.New("mail: New needs a store, secrets, a renderer and a transport")
	}
	s := &Service{
		store: opts.Store, secrets: opts.Secrets, renderer: opts.Renderer, transport: opts.Transport,
		from: from, limiter: opts.Limiter, log: opts.Logger, retry: opts.Retry, now: opts.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.retry == (jobs.Retry{}) {
		s.retry = DefaultRetry()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Queue validates msg and writes its job. It joins the transaction in ctx:
// call it inside Store.InTx with the change that causes the mail, so that
// a rolled-back change sends nothing. It does not send, and does not wake
// the job runner: the caller's service does that after its commit (or the
// runner finds the job on its next poll).
func (s *Service) Queue(ctx context.Context, msg Message) error {
	if err := msg.Validate(); err != nil {
		return err
	}
	if msg.Data.Time.IsZero() {
		msg.Data.Time = s.now()
	}
	msg.Language = s.renderer.Language(msg.Language)
	job := jobs.NewJob(JobKind, "", nil)
	payload, err := seal(s.secrets, job.ID, msg)
	if err != nil {
		return err
	}
	job.Payload = payload
	if err := s.store.EnqueueJobs(ctx, job); err != nil {
		return fmt.Errorf("mail: queue %s: %w", msg.Kind, err)
	}
	return nil
}

// Kind is the job kind that sends queued mails.
func (s *Service) Kind() jobs.Kind {
	return jobs.Kind{Name: JobKind, Handle: s.send, Retry: s.retry}
}

// Transport is where rendered mails go. It says, for the log, where the
// mail went (a server's address, a file).
type Transport interface {
	Send(ctx context.Context, m Envelope) (where string, err error)
}

// send renders a queued mail and hands it to the transport. A throttled
// mail is dropped (the job completes); a payload that cannot be opened or
// rendered is a permanent failure; a transport failure is retried, unless
// the server refused the recipient for good.
func (s *Service) send(ctx context.Context, job storage.Job) error {
	msg, err := open(s.secrets, job)
	if err != nil {
		return jobs.Permanent(err)
	}
	to := redact.Email(msg.To)
	// Throttle on the first attempt only: a retry is the same mail.
	if job.Attempts <= 1 {
		d, err := s.limiter.Take(ctx, ratelimit.Key{Kind: ThrottleKind, Subject: ratelimit.Join(string(msg.Kind), strings.ToLower(msg.To))})
		if err != nil {
			s.log.WarnContext(ctx, "mail throttle unavailable; sending", "kind", string(msg.Kind), "to", to, "error", err.Error())
		} else if !d.Allowed {
			s.log.WarnContext(ctx, "mail dropped: too many of this kind to this recipient in the last hour", "kind", string(msg.Kind), "to", to, "job_id", job.ID)
			return nil
		}
	}
	r, err := s.renderer.Render(msg)
	if err != nil {
		return jobs.Permanent(err)
	}
	where, err := s.transport.Send(ctx, Envelope{ID: job.ID, From: s.from, To: msg.To, Kind: msg.Kind, Language: msg.Language, Rendered: r})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "mail sent", "kind", string(msg.Kind), "to", to, "via", where, "job_id", job.ID)
	return nil
}
