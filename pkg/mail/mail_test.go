package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/pkg/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// fastRetry retries at once-ish, for tests that wait for a retry.
func fastRetry() jobs.Retry {
	return jobs.Retry{Base: 20 * time.Millisecond, Max: 50 * time.Millisecond, Horizon: time.Hour}
}

// syncBuffer is a log destination that tests read while the runner writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	store  *gormstore.Store
	svc    *mail.Service
	runner *jobs.Runner
	log    *syncBuffer
}

// setup builds a mail service over a fresh store sending through tr.
func setup(t *testing.T, databaseURL string, tr mail.Transport, change func(*mail.Options)) fixture {
	t.Helper()
	store := gormstoretest.Open(t, databaseURL)
	keys, err := secret.Derive([]byte(strings.Repeat("k", secret.MinLength)))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newRenderer(t)
	logs := &syncBuffer{}
	opts := mail.Options{
		Store: store, Secrets: keys, Renderer: r, Transport: tr, From: "Gatehouse <no-reply@id.example.com>",
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Retry: fastRetry(),
	}
	if change != nil {
		change(&opts)
	}
	svc, err := mail.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	runner := jobs.NewRunner(store, jobs.Options{Kinds: []jobs.Kind{svc.Kind()}, PollInterval: 20 * time.Millisecond, Logger: opts.Logger})
	return fixture{store: store, svc: svc, runner: runner, log: logs}
}

// queue queues messages in one transaction, as a service would with its change.
func (f fixture) queue(t *testing.T, msgs ...mail.Message) {
	t.Helper()
	err := f.store.InTx(context.Background(), func(ctx context.Context) error {
		for _, m := range msgs {
			if err := f.svc.Queue(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func plainSMTP(t *testing.T, srv *mailtest.Server) *mail.SMTP {
	t.Helper()
	tr, err := mail.NewSMTP(mail.SMTPOptions{Host: srv.Host, Port: srv.Port, TLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func resetMessage(to, lang, token string) mail.Message {
	return mail.Message{Kind: mail.PasswordReset, To: to, Language: lang, Data: mail.Data{
		Name: "Élodie", Link: "https://id.example.com/reset?token=" + token, ExpiresIn: 30 * time.Minute,
	}}
}

func TestQueuedMailArrivesInTheCustomersLanguage(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		srv := mailtest.Start(t, mailtest.Options{})
		f := setup(t, db.URL, plainSMTP(t, srv), nil)
		f.queue(t, resetMessage("elodie@example.com", "fr", "reset-token-1"))
		if len(srv.Messages()) != 0 {
			t.Fatal("a mail went out before the runner ran")
		}
		if n := f.runner.RunDue(context.Background()); n != 1 {
			t.Fatalf("RunDue = %d, want 1", n)
		}
		got := srv.Wait(t, 1)[0]
		if got.Subject != "Réinitialisez votre mot de passe" {
			t.Errorf("subject = %q", got.Subject)
		}
		if len(got.To) != 1 || got.To[0] != "elodie@example.com" || got.From != "no-reply@id.example.com" {
			t.Errorf("envelope from %q to %v", got.From, got.To)
		}
		link := "https://id.example.com/reset?token=reset-token-1"
		if !strings.Contains(got.Text, link) || !strings.Contains(got.Text, "Bonjour Élodie,") || !strings.Contains(got.Text, "30 min") {
			t.Errorf("text part:\n%s", got.Text)
		}
		if !strings.Contains(got.HTML, `href="`+link+`"`) || !strings.Contains(got.HTML, "Choisir un nouveau mot de passe") {
			t.Errorf("HTML part:\n%s", got.HTML)
		}
		if got.Header.Get("Content-Language") != "fr" || got.Header.Get("Auto-Submitted") != "auto-generated" ||
			!strings.HasSuffix(got.Header.Get("Message-ID"), "@id.example.com>") {
			t.Errorf("header = %v", got.Header)
		}
		if left, err := f.store.ListJobs(context.Background(), mail.JobKind, storage.JobQueued, storage.Page{}); err != nil || len(left) != 0 {
			t.Errorf("jobs left: %v %v", left, err)
		}
	})
}

func TestTheStoredJobHoldsTheLinkSealed(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	f := setup(t, gormstoretest.SQLiteURL(t), plainSMTP(t, srv), nil)
	f.queue(t, resetMessage("elodie@example.com", "fr", "reset-token-sealed"))
	queued, err := f.store.ListJobs(context.Background(), mail.JobKind, storage.JobQueued, storage.Page{})
	if err != nil || len(queued) != 1 {
		t.Fatalf("queued = %v %v", queued, err)
	}
	p := string(queued[0].Payload)
	if strings.Contains(p, "reset-token-sealed") || strings.Contains(p, "Élodie") {
		t.Errorf("payload holds the data in the clear: %s", p)
	}
	if !strings.Contains(p, `"kind":"password_reset"`) || !strings.Contains(p, `"to":"elodie@example.com"`) {
		t.Errorf("payload = %s", p)
	}
}

func TestAMailQueuedInARolledBackTransactionIsNeverSent(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		srv := mailtest.Start(t, mailtest.Options{})
		f := setup(t, db.URL, plainSMTP(t, srv), nil)
		refused := errors.New("the change was refused")
		err := f.store.InTx(context.Background(), func(ctx context.Context) error {
			if err := f.svc.Queue(ctx, resetMessage("elodie@example.com", "en", "t")); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("InTx = %v", err)
		}
		if n := f.runner.RunDue(context.Background()); n != 0 {
			t.Errorf("RunDue = %d, want 0", n)
		}
		if got := srv.Messages(); len(got) != 0 {
			t.Errorf("received %d mails", len(got))
		}
	})
}

func TestSTARTTLSAndImplicitTLSWithAuthentication(t *testing.T) {
	for _, mode := range []string{mailtest.StartTLS, mailtest.Implicit} {
		t.Run(mode, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{TLS: mode, Username: "gatehouse", Password: "smtp-pass"})
			opts := mail.SMTPOptions{Host: srv.Host, Port: srv.Port, TLS: mode, Username: "gatehouse", Password: "smtp-pass", RootCAs: srv.RootCAs()}
			tr, err := mail.NewSMTP(opts)
			if err != nil {
				t.Fatal(err)
			}
			f := setup(t, gormstoretest.SQLiteURL(t), tr, nil)
			f.queue(t, mail.Message{Kind: mail.EmailCode, To: "kenji@example.jp", Language: "ja", Data: mail.Data{Code: "551234", ExpiresIn: 10 * time.Minute}})
			f.runner.RunDue(context.Background())
			got := srv.Wait(t, 1)[0]
			if got.Subject != "ワンタイムコード" || !strings.Contains(got.Text, "551234") || !strings.Contains(got.HTML, "551234") {
				t.Errorf("subject %q, text:\n%s", got.Subject, got.Text)
			}
			if strings.Contains(f.log.String(), "smtp-pass") {
				t.Error("the log holds the SMTP password")
			}

			// A server whose certificate is not trusted gets nothing.
			opts.RootCAs = nil
			untrusted, err := mail.NewSMTP(opts)
			if err != nil {
				t.Fatal(err)
			}
			env := mail.Envelope{
				ID: "untrusted", From: &netmail.Address{Address: "no-reply@id.example.com"}, To: "kenji@example.jp",
				Kind: mail.EmailCode, Language: "en", Rendered: mail.Rendered{Subject: "s", Text: "t", HTML: "<p>h</p>"},
			}
			if _, err := untrusted.Send(context.Background(), env); err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("Send to a server with an untrusted certificate = %v", err)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("the server received %d mails, want 1", n)
			}
		})
	}
}

func TestTheOutboxWritesWholeMailsAndLogsNoLinkOrCode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	f := setup(t, gormstoretest.SQLiteURL(t), mail.NewOutbox(dir), nil)
	f.queue(t,
		resetMessage("marta@example.de", "de", "outbox-reset-token"),
		mail.Message{Kind: mail.EmailCode, To: "marta@example.de", Language: "de", Data: mail.Data{Code: "774411", ExpiresIn: 10 * time.Minute}},
	)
	if n := f.runner.RunDue(context.Background()); n != 2 {
		t.Fatalf("RunDue = %d", n)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("outbox holds %v (%v)", files, err)
	}
	subjects := map[string]string{}
	for _, name := range files {
		info, err := os.Stat(name)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v)", name, info.Mode(), err)
		}
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mailtest.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Header.Get("To") != "<marta@example.de>" && got.Header.Get("To") != "marta@example.de" {
			t.Errorf("To = %q", got.Header.Get("To"))
		}
		subjects[got.Subject] = got.Text + got.HTML
	}
	if body := subjects["Setzen Sie Ihr Passwort zurück"]; !strings.Contains(body, "outbox-reset-token") {
		t.Errorf("no reset mail with its link: %v", subjects)
	}
	if body := subjects["Ihr Einmalcode"]; !strings.Contains(body, "774411") {
		t.Errorf("no code mail with its code: %v", subjects)
	}
	logs := f.log.String()
	for _, secret := range []string{"outbox-reset-token", "774411", "https://id.example.com/reset", "marta@example.de"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{`"kind":"email_code"`, `"kind":"password_reset"`, `"to":"m***@example.de"`, files[0], files[1]} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}

func TestAMailWaitsForTheServerToComeBack(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		// A free port where nothing listens yet.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().(*net.TCPAddr)
		ln.Close()
		tr, err := mail.NewSMTP(mail.SMTPOptions{Host: "127.0.0.1", Port: addr.Port, TLS: mail.TLSNone, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		f := setup(t, db.URL, tr, nil)
		f.queue(t, resetMessage("ana@example.es", "es", "down-token"))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() { f.runner.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		// Wait until an attempt failed and the job waits for a retry.
		deadline := time.Now().Add(20 * time.Second)
		for {
			queued, err := f.store.ListJobs(context.Background(), mail.JobKind, storage.JobQueued, storage.Page{})
			if err == nil && len(queued) == 1 && queued[0].Attempts >= 1 && queued[0].LastError != "" {
				if strings.Contains(queued[0].LastError, "ana@example.es") {
					t.Errorf("the job's error names the recipient: %s", queued[0].LastError)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the first attempt never failed")
			}
			time.Sleep(10 * time.Millisecond)
		}
		srv := mailtest.Start(t, mailtest.Options{Addr: addr.String()})
		got := srv.Wait(t, 1)[0]
		if got.Subject != "Restablece tu contraseña" || !strings.Contains(got.Text, "down-token") {
			t.Errorf("subject %q text:\n%s", got.Subject, got.Text)
		}
	})
}

func TestMailsBeyondTheHourlyLimitAreDropped(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		srv := mailtest.Start(t, mailtest.Options{})
		var counters storage.CounterStore = ratelimit.NewMemory(1000)
		f := setup(t, db.URL, plainSMTP(t, srv), func(o *mail.Options) {
			if st, ok := o.Store.(*gormstore.Store); ok && db.Name == "postgres" {
				counters = st // as on a server: counters shared by the replicas
			}
			o.Limiter = ratelimit.New(ratelimit.Options{
				Counters: counters, SubjectKey: []byte("test"),
				Rules: ratelimit.Rules{mail.ThrottleKind: mail.HourlyRule(2)},
			})
		})
		code := func(to string) mail.Message {
			return mail.Message{Kind: mail.EmailCode, To: to, Language: "en", Data: mail.Data{Code: "111222", ExpiresIn: 5 * time.Minute}}
		}
		f.queue(t, code("flooded@example.com"), code("flooded@example.com"), code("flooded@example.com"), code("FLOODED@example.com"),
			code("other@example.com"),
			mail.Message{Kind: mail.PasswordChanged, To: "flooded@example.com", Language: "en"})
		if n := f.runner.RunDue(context.Background()); n != 6 {
			t.Fatalf("RunDue = %d, want 6", n)
		}
		got := srv.Wait(t, 4)
		perSubject := map[string]int{}
		for _, m := range got {
			perSubject[m.To[0]+" "+m.Subject]++
		}
		if len(got) != 4 || perSubject["flooded@example.com Your one-time code"] != 2 || perSubject["other@example.com Your one-time code"] != 1 ||
			perSubject["flooded@example.com Your password was changed"] != 1 {
			t.Errorf("received %v", perSubject)
		}
		if n := strings.Count(f.log.String(), "mail dropped"); n != 2 {
			t.Errorf("%d drops logged, want 2:\n%s", n, f.log.String())
		}
		for _, state := range []string{storage.JobQueued, storage.JobDead} {
			if left, err := f.store.ListJobs(context.Background(), mail.JobKind, state, storage.Page{}); err != nil || len(left) != 0 {
				t.Errorf("%s jobs: %v %v", state, left, err)
			}
		}
	})
}

func TestARefusedRecipientIsNotRetried(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{RejectRecipients: true})
	f := setup(t, gormstoretest.SQLiteURL(t), plainSMTP(t, srv), nil)
	f.queue(t, resetMessage("gone@example.com", "en", "t"))
	if n := f.runner.RunDue(context.Background()); n != 1 {
		t.Fatalf("RunDue = %d", n)
	}
	dead, err := f.store.ListJobs(context.Background(), mail.JobKind, storage.JobDead, storage.Page{})
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead = %v %v", dead, err)
	}
	if strings.Contains(dead[0].LastError, "gone@example.com") || !strings.Contains(dead[0].LastError, "550") {
		t.Errorf("last error = %q", dead[0].LastError)
	}
}

func TestQueueRefusesMessagesThatCannotBeSent(t *testing.T) {
	f := setup(t, gormstoretest.SQLiteURL(t), mail.NewOutbox(t.TempDir()), nil)
	for name, m := range map[string]mail.Message{
		"an unknown kind":          {Kind: "newsletter", To: "a@example.com"},
		"a display name":           {Kind: mail.PasswordChanged, To: "Jane <a@example.com>"},
		"two recipients":           {Kind: mail.PasswordChanged, To: "a@example.com, b@example.com"},
		"a reset without its link": {Kind: mail.PasswordReset, To: "a@example.com", Data: mail.Data{ExpiresIn: time.Hour}},
		"a relative link":          {Kind: mail.EmailVerification, To: "a@example.com", Data: mail.Data{Link: "/verify?t=1", ExpiresIn: time.Hour}},
		"a javascript link":        {Kind: mail.EmailVerification, To: "a@example.com", Data: mail.Data{Link: "javascript:alert(1)", ExpiresIn: time.Hour}},
		"a code without its code":  {Kind: mail.EmailCode, To: "a@example.com", Data: mail.Data{ExpiresIn: time.Hour}},
		"a code without expiry":    {Kind: mail.EmailCode, To: "a@example.com", Data: mail.Data{Code: "1"}},
	} {
		if err := f.svc.Queue(context.Background(), m); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("%s: Queue = %v, want ErrInvalid", name, err)
		}
	}
}
