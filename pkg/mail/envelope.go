package mail

import (
	"fmt"
	"net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Envelope is a rendered mail with its sender and recipient, as a
// Transport gets it.
type Envelope struct {
	// ID is the job's ID: the Message-ID's left part and the outbox file's
	// name, so a retried mail is recognisably the same mail.
	ID       string
	From     *mail.Address
	To       string
	Kind     Kind
	Language string
	Rendered Rendered
}

// Msg builds the RFC 5322 message: multipart/alternative with the text
// part first and the HTML part second (quoted-printable, UTF-8), a
// Message-ID made of the job's ID and the sender's domain, the
// Content-Language, and Auto-Submitted (RFC 3834) so that auto-responders
// stay quiet.
func (e Envelope) Msg() (*gomail.Msg, error) {
	m := gomail.NewMsg()
	m.FromMailAddress(e.From)
	if err := m.To(e.To); err != nil {
		return nil, fmt.Errorf("mail: recipient: %w", err)
	}
	m.Subject(e.Rendered.Subject)
	m.SetDate()
	domain := "localhost"
	if _, d, ok := strings.Cut(e.From.Address, "@"); ok && d != "" {
		domain = d
	}
	m.SetMessageIDWithValue(e.ID + "@" + domain)
	m.SetGenHeader(gomail.HeaderContentLang, e.Language)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, e.Rendered.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, e.Rendered.HTML)
	return m, nil
}
