package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/pkg/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// queueMail queues a mail through the server's services, in a
// transaction, as a page would with its change.
func queueMail(t *testing.T, s *testServer, m mail.Message) {
	t.Helper()
	err := s.Store().InTx(context.Background(), func(ctx context.Context) error {
		return s.Services().Mail.Queue(ctx, m)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTheServersJobRunnerSendsQueuedMailsThroughSMTP(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		smtpd := mailtest.Start(t, mailtest.Options{})
		s := startServerWith(t, db.URL, func(c *config.Config) {
			c.SMTPHost, c.SMTPPort, c.SMTPTLS = smtpd.Host, int64(smtpd.Port), config.SMTPTLSNone
			c.SMTPFrom = "Example <no-reply@example.com>"
		})
		queueMail(t, s, mail.Message{Kind: mail.EmailVerification, To: "lucia@example.com.br", Language: "pt-BR", Data: mail.Data{
			Link: "https://id.example.com/verify?token=verify-token", ExpiresIn: time.Hour,
		}})
		s.Jobs().RunDue(context.Background())
		got := smtpd.Wait(t, 1)[0]
		if got.Subject != "Confirme seu endereço de e-mail" || !strings.Contains(got.Text, "verify-token") || got.From != "no-reply@example.com" {
			t.Errorf("from %q subject %q text:\n%s", got.From, got.Subject, got.Text)
		}
		if logs := s.logs.String(); !strings.Contains(logs, "mails are sent through SMTP") || strings.Contains(logs, "verify-token") {
			t.Errorf("logs:\n%s", logs)
		}
	})
}

func TestWithoutSMTPTheServerWritesMailsToTheOutbox(t *testing.T) {
	dbURL := gormstoretest.SQLiteURL(t)
	s := startServerWith(t, dbURL, nil)
	outbox := filepath.Join(filepath.Dir(strings.TrimPrefix(dbURL, "sqlite://")), "outbox")
	queueMail(t, s, mail.Message{Kind: mail.EmailCode, To: "sam@example.com", Language: "en", Data: mail.Data{Code: "640212", ExpiresIn: 10 * time.Minute}})
	s.Jobs().RunDue(context.Background())
	files, err := filepath.Glob(filepath.Join(outbox, "*-email_code.eml"))
	if err != nil || len(files) != 1 {
		t.Fatalf("outbox %s holds %v (%v)", outbox, files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mailtest.Parse(raw); err != nil || got.Subject != "Your one-time code" || !strings.Contains(got.Text, "640212") {
		t.Errorf("mail %+v %v", got, err)
	}
	logs := s.logs.String()
	for _, want := range []string{"mails are written to the outbox folder", outbox, files[0], "s***@example.com"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if strings.Contains(logs, "640212") || strings.Contains(logs, "sam@example.com") {
		t.Errorf("the log holds the code or the address:\n%s", logs)
	}
}
