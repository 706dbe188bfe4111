// Package server assembles Gatehouse: it opens the store from the
// configuration, builds the signing-key manager and the protocol provider,
// mounts them on one router behind the common middleware (request id,
// logging, recovery, security headers, body limit, metrics), and serves
// until told to stop. It is the composition root: the only package besides
// cmd that knows the concrete store.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/pkg/backchannel"
	"github.com/gatehouse-id/gatehouse/pkg/geoip"
	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/pkg/oidc"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/pkg/ui"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/templates"
)

// GCPercent is the garbage collector's target `gatehouse serve` sets unless
// GOGC is set. A token request leaves about 13 KB of garbage and the live
// heap is a few MB, so at Go's default of 100 a busy server collects dozens
// of times a second; at 400 the token endpoint spends about 10% less CPU a
// grant, for about 25 MB more memory at peak (docs/benchmarks.md).
const GCPercent = 400

// MemoryLimit is the soft memory limit `gatehouse serve` sets unless
// GOMEMLIMIT is set, so that GCPercent does not let the heap grow to five
// times a large live heap. Each hashing slot (GOMAXPROCS of them, see
// identity.Service) keeps an argon2_memory_kib work area from its first
// hash until 10 s without one, which is live heap but no garbage; the
// limit is those areas plus 64 MiB for everything else.
func MemoryLimit(cfg config.Config) int64 {
	return 64<<20 + int64(runtime.GOMAXPROCS(0))*cfg.Argon2MemoryKiB<<10
}

// Server is a configured Gatehouse.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	store    *gormstore.Store
	secrets  *secret.Keys
	keys     *keys.Manager
	metrics  *metrics
	provider *oidc.Provider
	limiter  *ratelimit.Limiter
	services *Services
	jobs     *jobs.Runner
	memory   *ratelimit.Memory // the limiter's counters on SQLite; nil on PostgreSQL
	handler  http.Handler
	// management serves /metrics, /healthz and /readyz on metrics_addr.
	management http.Handler
	// draining is set when Serve starts to stop: /readyz fails and every
	// answer closes its connection.
	draining atomic.Bool
	// places is the GeoIP database the account page reads; nil for none.
	places *geoip.Reader
}

// OpenStore opens the database the configuration names. It does not
// migrate.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*gormstore.Store, error) {
	db, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	attrs, err := cfg.AttributeSet()
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	opts := gormstore.Options{ClientCacheTTL: cfg.ClientCacheTTL, Logger: log, WALMaxBytes: cfg.SQLiteWALMaxBytes,
		TokenCacheTTL: cfg.TokenCacheTTL, SearchableAttributes: attrs.Searchable()}
	switch db.Kind {
	case config.DatabaseSQLite:
		opts.Kind, opts.Path = gormstore.SQLite, db.Path
	case config.DatabasePostgres:
		opts.Kind, opts.DSN = gormstore.Postgres, db.DSN
	default:
		return nil, fmt.Errorf("unsupported database kind %q", db.Kind)
	}
	return gormstore.Open(ctx, opts)
}

// New builds a server from a validated configuration whose Secret is set
// (see config.EnsureSecret). It opens the store, migrates it when
// configured to, and makes sure signing keys exist. Options are for tests.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	secrets, err := secret.Derive([]byte(cfg.Secret))
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_SECRET: %w", err)
	}
	store, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s, err := assemble(ctx, cfg, log, store, secrets, o)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return s, nil
}

func assemble(ctx context.Context, cfg config.Config, log *slog.Logger, store *gormstore.Store, secrets *secret.Keys, o options) (*Server, error) {
	if cfg.AutoMigrate {
		applied, err := store.Migrate(ctx)
		if err != nil {
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("database migrated", "applied", applied)
		}
	}
	if v, err := store.SchemaVersion(ctx); err != nil {
		return nil, err
	} else if v < gormstore.LatestVersion() {
		return nil, fmt.Errorf("database schema is at version %d, this build needs %d: run `gatehouse migrate`", v, gormstore.LatestVersion())
	}
	s := &Server{cfg: cfg, log: log, store: store, secrets: secrets, metrics: newMetrics()}
	services, err := NewServices(cfg, store, secrets, log, func() { s.jobs.Notify() })
	if err != nil {
		return nil, err
	}
	s.services = services
	logMailTransport(cfg, log)
	km := services.Keys
	s.keys = km
	if err := km.EnsureKeys(ctx); err != nil {
		return nil, err
	}
	if err := km.Refresh(ctx); err != nil {
		return nil, err
	}
	s.limiter, s.memory = newLimiter(cfg, store, secrets, s.metrics)
	outages := outage.New(outage.Options{
		Logger:   log,
		Count:    func(endpoint string) { s.metrics.unavailable.WithLabelValues(endpoint).Inc() },
		LogEvery: o.outageLogEvery,
	})
	ips, err := newResolver(cfg)
	if err != nil {
		return nil, err
	}
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_ISSUER: %w", err)
	}
	base := strings.TrimSuffix(issuer.Path, "/")

	assets, err := templateTree(cfg)
	if err != nil {
		return nil, err
	}
	bundle, err := i18n.New(assets)
	if err != nil {
		return nil, templatesErr(cfg, "loading messages", err)
	}
	brand, err := branding(cfg)
	if err != nil {
		return nil, err
	}
	renderer, err := ui.NewRenderer(assets, bundle, ui.WithStaticPrefix(base+templates.StaticPrefix), ui.WithBranding(brand))
	if err != nil {
		return nil, templatesErr(cfg, "loading templates", err)
	}
	static, err := templates.StaticFSOf(assets)
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	sessions := session.NewManager(store, session.Options{
		Secure:      issuer.Scheme == "https",
		IdleTimeout: cfg.SessionIdleTimeout,
		Lifetime:    cfg.SessionLifetime,
		CSRFKey:     secrets.CSRFKey(),
		Ender:       services.Accounts,
	})
	people := services.Identity
	fed, err := newFederation(cfg, store, services.Events, log, o)
	if err != nil {
		return nil, err
	}
	services.MFA = newMFA(cfg, store, services.Events, secrets, s.limiter, o.mfaClock, log)
	rules := acr.Rules{Policy: acr.Policy(cfg.MFAPolicy)}
	selfService := newSelfService(cfg, store, services, secrets, s.limiter, o.selfServiceClock, log)
	factors := map[string]signin.SecondFactor{
		signin.TOTP.Name:         {Method: signin.TOTP, Verify: services.MFA.VerifyTOTP},
		signin.RecoveryCode.Name: {Method: signin.RecoveryCode, Verify: services.MFA.UseRecoveryCode},
	}
	passkeys, err := newPasskeys(cfg, store, services.Events, services.MFA, log)
	if err != nil {
		return nil, err
	}
	if passkeys != nil {
		factors[signin.PasskeyName] = passkeySecondFactor(passkeys)
		rules.Reachable = reachableWithPasskeys()
	}
	signins := signin.New(signin.Options{
		Store:         store,
		Accounts:      services.Accounts,
		Sessions:      sessions,
		MFA:           services.MFA,
		SecondFactors: factors,
		Federation:    fed,
		ACR:           rules,
		Key:           secrets.SignInKey(),
		Paths: signin.Paths{
			Resume: base + oidc.PathResume, Account: base + ui.PathAccount,
			SecondFactor: base + ui.PathMFA, Enrol: base + ui.PathMFAEnrol,
		},
		ReauthMaxAge: cfg.ReauthMaxAge,
		Logger:       log,
		OnNewDevice:  newDeviceAlert(cfg, store, selfService),
	})
	var places ui.Places
	if cfg.GeoIPDatabase != "" {
		if s.places, err = geoip.Open(cfg.GeoIPDatabase); err != nil {
			return nil, err
		}
		places = s.places
	}
	pages := ui.New(ui.Options{
		Store:       store,
		Identity:    people,
		Sessions:    sessions,
		Renderer:    renderer,
		Bundle:      bundle,
		Static:      static,
		BasePath:    base,
		ResumePath:  base + oidc.PathResume,
		SignOutPath: base + oidc.PathEndSession,
		Federation:  fed,
		Logger:      log,
		Throttle:    s.limiter,
		Outage:      outages,
		Accounts:    services.Accounts,
		SignIn:      signins,
		MFA:         services.MFA,

		SelfService:         selfService,
		SelfServiceSettings: selfServiceSettings(cfg),
		// The account's self-service pages.
		Issuer:         cfg.Issuer,
		EmailChangeTTL: cfg.EmailChangeLinkTTL,
		Passkeys:       passkeys,
		// The provider is built below, with the pages; the sign-in page
		// asks it only once requests arrive.
		HintNamesOther: func(ctx context.Context, ar storage.AuthRequest, userID string) bool {
			return s.provider.HintNamesOther(ctx, ar, userID)
		},
		Places: places,
	})
	out, err := newOutbound(cfg, log, o.outbound...)
	if err != nil {
		return nil, err
	}
	var locales []string
	for _, l := range bundle.Languages() {
		locales = append(locales, l.Tag)
	}
	clientService := services.Clients
	provider, err := oidc.New(oidc.Options{
		Issuer:                    cfg.Issuer,
		Store:                     store,
		Keys:                      km,
		Secrets:                   secrets,
		AccessTokenLifetime:       cfg.AccessTokenLifetime,
		RefreshTokenLifetime:      cfg.RefreshTokenLifetime,
		AuthorizationCodeLifetime: cfg.AuthorizationCodeLifetime,
		IDTokenLifetime:           cfg.IDTokenLifetime,
		OnTokenIssued:             func(gt string) { s.metrics.tokensIssued.WithLabelValues(gt).Inc() },
		Logger:                    log,
		Sessions:                  sessions,
		Pages:                     pages,
		LoginPath:                 base + ui.PathLogin,
		ConsentPath:               base + ui.PathConsent,
		SignUpPath:                signUpPath(cfg, base),
		PKCEAllowPlain:            cfg.PKCEAllowPlain,
		UILocales:                 locales,
		RegistrationPolicy:        cfg.RegistrationPolicy,
		Clients:                   clientService,
		Outbound:                  out,
		Throttle:                  s.limiter,
		Outage:                    outages,
		ACR:                       rules,
		Attributes:                services.Accounts.Attributes(),
	})
	if err != nil {
		return nil, err
	}
	s.provider = provider
	deliverer := &backchannel.Deliverer{Clients: store, Signer: provider, Outbound: out}
	hooks := &webhooks.Deliverer{
		Store: store, Secrets: secrets, Outbound: out, Logger: log,
		Retry: jobs.Retry{Horizon: cfg.WebhookRetryHorizon},
	}
	s.jobs = jobs.NewRunner(store, jobs.Options{
		Kinds:        []jobs.Kind{deliverer.Kind(), hooks.Kind(), services.Mail.Kind()},
		PollInterval: jobsPollInterval,
		Logger:       log,
		OnDone:       func(kind, outcome string) { s.metrics.jobs.WithLabelValues(kind, outcome).Inc() },
	})
	router := mux.NewRouter()
	router.Use(recordRoute)
	router.NotFoundHandler = notFound(pages)
	router.MethodNotAllowedHandler = methodNotAllowed(router)
	router.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	router.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	provider.Register(router, base)
	mountAdmin(router, base, store, services, provider, log)
	pages.Register(router)
	s.handler = observe(router, log, s.metrics, ips, bodyLimits(cfg.MaxRequestBytes, base+adminImportPath), issuer.Scheme == "https")
	s.management = s.managementHandler()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Store returns the server's store.
func (s *Server) Store() *gormstore.Store { return s.store }

// Provider returns the protocol provider.
func (s *Server) Provider() *oidc.Provider { return s.provider }

// Secrets returns the keys derived from the system secret.
func (s *Server) Secrets() *secret.Keys { return s.secrets }

// RunBackground runs the periodic jobs (key refresh, the job queue, the
// garbage collection) until ctx ends.
func (s *Server) RunBackground(ctx context.Context) {
	go s.keys.Run(ctx)
	go s.runJobs(ctx)
	go s.runCollection(ctx)
}

// Serve listens on the configured addresses until ctx ends, then shuts
// down gracefully in two steps. First it drains, for ShutdownDrainDelay:
// it goes on serving, but /readyz answers 503 on both listeners and every
// answer carries Connection: close, so that load balancers take the
// replica out of rotation and clients open their next connection
// elsewhere. Then it stops accepting connections and lets the requests in
// flight finish, for at most ShutdownTimeout. The customer-facing listener
// is on http_addr; the management listener (/metrics, /healthz, /readyz) on
// metrics_addr, unless that is off. A busy address stops it before it
// serves, with an error naming the setting. ready, if not nil, receives the
// listeners' addresses once they accept connections.
func (s *Server) Serve(ctx context.Context, ready func(Listeners)) error {
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_HTTP_ADDR: listen on %s: %w", s.cfg.HTTPAddr, listenCause(err))
	}
	servers := []*http.Server{s.httpServer(s.drainable(s.handler))}
	listeners := []net.Listener{ln}
	addrs := Listeners{HTTP: ln.Addr()}
	if s.cfg.MetricsAddr != MetricsOff {
		mln, err := net.Listen("tcp", s.cfg.MetricsAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("GATEHOUSE_METRICS_ADDR: listen on %s: %w; set another port or off", s.cfg.MetricsAddr, listenCause(err))
		}
		servers = append(servers, s.httpServer(s.drainable(s.management)))
		listeners = append(listeners, mln)
		addrs.Management = mln.Addr()
	}
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	s.RunBackground(bg)
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	management := MetricsOff
	if addrs.Management != nil {
		management = addrs.Management.String()
	}
	s.log.Info("gatehouse is serving", "addr", ln.Addr().String(), "management_addr", management, "issuer", s.cfg.Issuer)
	if ready != nil {
		ready(addrs)
	}
	running := len(servers)
	var failed error
	select {
	case err := <-errc:
		running--
		failed = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.drain()
		s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil && failed == nil {
			failed = fmt.Errorf("shutdown: %w", err)
		}
	}
	for range running {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && failed == nil {
			failed = fmt.Errorf("serve: %w", err)
		}
	}
	return failed
}

// drain marks the server draining and waits ShutdownDrainDelay while it
// goes on serving.
func (s *Server) drain() {
	s.draining.Store(true)
	if s.cfg.ShutdownDrainDelay <= 0 {
		return
	}
	s.log.Info("draining: /readyz fails, answers close their connections", "drain_delay", s.cfg.ShutdownDrainDelay.String())
	t := time.NewTimer(s.cfg.ShutdownDrainDelay)
	defer t.Stop()
	<-t.C
}

// drainable wraps a listener's handler: while the server drains, every
// answer carries Connection: close (RFC 9112 §9.6), so that the client
// sends its next request on a new connection, which the load balancer no
// longer routes here, instead of one that the shutdown would close. Idle
// connections are left alone until the shutdown: closing one can race
// with a request the client has just sent on it.
func (s *Server) drainable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// httpServer returns an HTTP server for h with the server's timeouts and
// error log.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Close releases the store after its pending writes finish, and the GeoIP
// database.
func (s *Server) Close() error {
	err := s.store.Close()
	if s.places != nil {
		err = errors.Join(err, s.places.Close())
	}
	return err
}
