package server_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// A mail queued by a sign-up on a server that stops before sending it (its
// job runner never ran: a crash) is sent once by the next server on the
// same database.
func TestAMailQueuedBeforeACrashIsSentAfterRestart(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		// A port nothing listens on: the first server could not send even
		// if its runner ran.
		dead, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		deadPort := dead.Addr().(*net.TCPAddr).Port
		_ = dead.Close()

		first := httptest.NewUnstartedServer(nil)
		cfg := config.Default()
		cfg.Issuer = "http://" + first.Listener.Addr().String()
		cfg.DatabaseURL = db.URL
		cfg.Secret = "test-secret-test-secret-test-secret-0123"
		cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPTLS = "127.0.0.1", int64(deadPort), config.SMTPTLSNone
		cfg.SMTPFrom = "Gatehouse <no-reply@example.com>"
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		first.Config.Handler = srv.Handler()
		first.Start()
		b := browser.New(first.URL)
		page, err := b.Get(first.URL + "/signup")
		if err != nil {
			t.Fatal(err)
		}
		form, err := page.FormWith("password")
		if err != nil {
			t.Fatal(err)
		}
		page, err = b.Submit(form, url.Values{"email": {"rita@example.com"}, "password": {ninaPassword}, "name": {"Rita"}}, "", "")
		if err != nil || page.Status != 200 {
			t.Fatalf("sign-up: %v %d", err, page.Status)
		}
		// The crash: the listener and the database connections go, the
		// queued mail was never sent.
		first.Close()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}

		smtpd := mailtest.Start(t, mailtest.Options{})
		next := startServerWith(t, db.URL, func(c *config.Config) {
			c.SMTPHost, c.SMTPPort, c.SMTPTLS = smtpd.Host, int64(smtpd.Port), config.SMTPTLSNone
			c.SMTPFrom = cfg.SMTPFrom
		})
		next.Jobs().RunDue(ctx)
		got := smtpd.Wait(t, 1)
		if len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != "rita@example.com" || !strings.Contains(got[0].Text, "/verify?token=") {
			t.Fatalf("mails after the restart: %+v", got)
		}
		// Sent once: running the queue again sends nothing more.
		next.Jobs().RunDue(ctx)
		time.Sleep(200 * time.Millisecond)
		if n := len(smtpd.Messages()); n != 1 {
			t.Fatalf("%d mails, want 1", n)
		}
	})
}
