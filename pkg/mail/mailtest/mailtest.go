// Package mailtest runs a real SMTP server in the test's process (emersion
// go-smtp), in the clear, with STARTTLS or with implicit TLS under a
// certificate made for the test, and reads what it received: the
// subject, the recipients and the decoded text and HTML parts. Tests of
// anything that sends mail use it to pull a link or a code out of a mail.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of a Server.
const (
	Plain    = ""         // no TLS
	StartTLS = "starttls" // STARTTLS offered
	Implicit = "tls"      // TLS from the first byte
)

// Options configure a Server.
type Options struct {
	// TLS is Plain, StartTLS or Implicit.
	TLS string
	// Username and Password, when Username is set, are required (AUTH
	// PLAIN) before a mail is accepted.
	Username, Password string
	// Addr is the address to listen on; empty is 127.0.0.1 on a free port.
	Addr string
	// RejectRecipients makes RCPT TO fail with 550 for every recipient.
	RejectRecipients bool
}

// Received is one mail the server accepted.
type Received struct {
	From string
	To   []string
	// Raw is the message as sent.
	Raw []byte
	// Header is the parsed header; Subject is decoded (RFC 2047).
	Header  mail.Header
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts.
	Text, HTML string
}

// Server is a running SMTP server.
type Server struct {
	// Host and Port are where it listens.
	Host string
	Port int
	srv  *smtp.Server
	ln   net.Listener
	pool *x509.CertPool
	opts Options
	mu   sync.Mutex
	got  []Received
}

// Start starts a server, stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "mailtest.localhost"
	s.srv.ErrorLog = discardLogger{}
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	if opts.TLS != Plain {
		cert, pool, err := certificate()
		if err != nil {
			t.Fatal(err)
		}
		s.pool = pool
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		switch opts.TLS {
		case StartTLS:
			s.srv.TLSConfig = cfg
		case Implicit:
			ln = tls.NewListener(ln, cfg)
		default:
			t.Fatalf("mailtest: unknown TLS mode %q", opts.TLS)
		}
	}
	s.ln = ln
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// RootCAs returns the pool that verifies the server's certificate (nil
// without TLS).
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// Messages returns the mails received so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Wait waits until the server has received n mails and returns them. It
// waits for the outcome, bounded, and fails the test if it never comes.
func (s *Server) Wait(t testing.TB, n int) []Received {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: %d mail(s) received, want %d", len(s.Messages()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.opts.RejectRecipients {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	got, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: err.Error()}
	}
	got.From, got.To = ss.from, ss.to
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, got)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// Parse reads a whole message (RFC 5322, as sent or as in an .eml file):
// its header, decoded subject, and its text/plain and text/html parts,
// decoded from quoted-printable or base64 (multipart.Reader.NextPart).
func Parse(raw []byte) (Received, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Received{}, fmt.Errorf("mailtest: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return Received{}, fmt.Errorf("mailtest: subject: %w", err)
	}
	got := Received{Raw: raw, Header: m.Header, Subject: subject}
	if err := walk(&got, m.Header.Get("Content-Type"), m.Body); err != nil {
		return Received{}, err
	}
	return got, nil
}

// walk reads a body of the content type into got's parts.
func walk(got *Received, contentType string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("mailtest: content type %q: %w", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return errors.New("mailtest: not a multipart message")
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mailtest: part: %w", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p)
		if err != nil {
			return fmt.Errorf("mailtest: part: %w", err)
		}
		switch {
		case pt == "text/plain":
			got.Text = string(b)
		case pt == "text/html":
			got.HTML = string(b)
		case strings.HasPrefix(pt, "multipart/"):
			if err := walk(got, p.Header.Get("Content-Type"), bytes.NewReader(b)); err != nil {
				return err
			}
		}
	}
}

// certificate makes a self-signed certificate for 127.0.0.1 and
// localhost, and the pool that trusts it.
func certificate() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}
