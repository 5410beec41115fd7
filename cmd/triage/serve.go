package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"triage"
	"triage/internal/access"
	"triage/internal/alert"
	"triage/internal/config"
	"triage/internal/directory"
	"triage/internal/eventview"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/invite"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/mail"
	"triage/internal/passreset"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/slack/webapi"
	"triage/internal/store"
	"triage/internal/web"
)

// runServe is `triage serve`, the composition root of the server. It reads
// top to bottom: each step builds one part from the parts before it, and
// the shutdown at the end undoes them in reverse.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, warnings, err := config.LoadServe(append([]string{}, args...), getenv, stderr)
	if err != nil {
		return err
	}
	setMemoryTargets(cfg)
	logger := newLogger(stderr, warnings)
	s, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer s.Close()
	key, err := secretKey(ctx, cfg, s, logger)
	if err != nil {
		return err
	}
	reg := newMetricsRegistry()
	svc := newServices(cfg, s, key, logger, reg)
	jobClient, err := newJobClient(ctx, cfg, s, logger, reg, svc)
	if err != nil {
		return err
	}
	bg, err := startBackground(ctx, cfg, s, logger, svc, jobClient)
	if err != nil {
		return err
	}
	setupToken, err := firstRunSetup(ctx, cfg, s, stdout)
	if err != nil {
		bg.stop(cfg.ShutdownTimeout)
		return err
	}
	srv := newWebServer(cfg, s, logger, reg, svc, bg, setupToken)
	defer srv.Close()
	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, logger)
	}
	err = serveHTTP(ctx, cfg, logger, srv.HTTPServer(cfg.Addr))
	// In-flight requests are done (or never started): drain the writer and
	// the socket, then stop the jobs.
	bg.stop(cfg.ShutdownTimeout)
	if err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// serveGCPercent is the garbage collector's target for serve.
const serveGCPercent = 300

// Memory that the settings do not bound: the program, its caches, the
// database pools and ordinary requests (about 70 MiB under load), with room.
const baseMemory = 160 << 20

// memoryCeiling is the most memory serve should hold: the ingestion budget,
// the password checks that may run at once (web.PasswordCheckMemory), and
// the rest.
func memoryCeiling(cfg *config.Config) int64 {
	return cfg.IngestMemory + web.PasswordCheckMemory + baseMemory
}

// setMemoryTargets tunes the garbage collector for serve.
func setMemoryTargets(cfg *config.Config) {
	// Ingestion allocates a little per event and keeps almost nothing: the
	// collector ran often over a small heap and took a tenth of the CPU
	// under load. A larger heap (about 70 MiB at 6,000 events/s) halves
	// that. GOGC, when set, still decides.
	if !cfg.GOGCSet {
		debug.SetGCPercent(serveGCPercent)
	}
	// The larger heap must still stay under the memory ceiling that the
	// settings imply (README, "Limits"): the collector works harder as the
	// heap nears it instead of letting it grow fourfold. GOMEMLIMIT, when
	// set, decides.
	if !cfg.GOMEMLIMITSet {
		debug.SetMemoryLimit(memoryCeiling(cfg))
	}
}

// newLogger is the one logger, which first says what the configuration
// warned about.
func newLogger(stderr io.Writer, warnings []string) *slog.Logger {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	for _, w := range warnings {
		logger.Warn(w)
	}
	return logger
}

// openDatabase opens the store and applies pending migrations.
func openDatabase(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*store.Store, error) {
	s, err := store.Open(ctx, cfg.DatabaseURL, time.Now, store.WithTimeout(cfg.DatabaseTimeout))
	if err != nil {
		return nil, err
	}
	s.SetMaxConns(cfg.DatabaseMaxConns)
	n, err := s.Migrate(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	// Warm connections only make the first requests faster: a database
	// that cannot warm them now (a migration of another process holding a
	// table) still serves.
	if err := s.Warm(ctx); err != nil {
		logger.Warn("database connections not warmed", "err", err)
	}
	logger.Info("database ready", "engine", string(s.Engine), "migrations_applied", n)
	return s, nil
}

// secretKey returns the configured key, or the one kept in the database,
// generating and storing it on first use.
func secretKey(ctx context.Context, cfg *config.Config, s *store.Store, logger *slog.Logger) ([]byte, error) {
	if cfg.SecretKey != "" {
		return []byte(cfg.SecretKey), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	key, err := s.SetSettingIfAbsent(ctx, "secret_key", hex.EncodeToString(b))
	if err != nil {
		return nil, err
	}
	logger.Warn("TRIAGE_SECRET_KEY is not set: using a key generated once and kept in the database; set TRIAGE_SECRET_KEY to keep signed links and stored tokens valid if the database is copied")
	return []byte(key), nil
}

// newMetricsRegistry is the registry /metrics serves, with the Go
// runtime's and the process's metrics.
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// services are the domain services every entry point (pages, the API,
// Slack, background jobs) shares.
type services struct {
	access *access.Service
	issues *issues.Service
	// slack is nil when the Slack app is not configured.
	slack  *slack.Integration
	alerts *alert.Service
	// mailer queues email and mailSender sends it; both are nil when
	// email is not configured (the pages then show links to pass on).
	mailer     *mail.Mailer
	mailSender mail.Sender
	invites    *invite.Service
	resets     *passreset.Service
}

// newServices builds the services in dependency order. Subscribing to
// issue changes closes two cycles, so it follows construction: the Slack
// integration changes issues and hears every change (slack.New subscribes
// itself), and alerts post through the Slack integration, which needs the
// issue service, and hear every change too (OnChange below).
func newServices(cfg *config.Config, s *store.Store, key []byte, logger *slog.Logger, reg *prometheus.Registry) services {
	svc := services{access: access.New(s), issues: issues.New(s, time.Now)}
	signer := signing.New(key)
	// Email: invites, password resets and alert emails are River jobs on
	// the mail queue.
	if cfg.MailConfigured() {
		svc.mailer = mail.NewMailer(nil)
		svc.mailSender = mail.NewSMTP(cfg.SMTP, cfg.EmailFrom)
		logger.Info("email configured", "smtp_host", cfg.SMTP.Host, "smtp_port", cfg.SMTP.Port, "security", cfg.SMTP.Security)
	} else {
		logger.Info("Email is not configured: set TRIAGE_SMTP_URL and TRIAGE_EMAIL_FROM to send invites, password resets and alert emails")
	}
	svc.invites = invite.New(invite.Deps{Store: s, Access: svc.access, Signer: signer, Mailer: svc.mailer,
		URLPrefix: cfg.URLPrefix, Logger: logger})
	svc.resets = passreset.New(passreset.Deps{Store: s, Signer: signer, Mailer: svc.mailer, URLPrefix: cfg.URLPrefix, Logger: logger})
	// One pacer for every post to Slack: alerts, direct messages and Home
	// tabs share each workspace's rate limits (SLACK §9). On PostgreSQL it
	// lives in the database, shared by every process.
	pacer := alert.DefaultPacer(s)
	limits := alert.PaceLimits{
		Channel:   alert.Rate{PerSecond: cfg.AlertChannelRate.PerSecond, Burst: cfg.AlertChannelRate.Burst},
		Workspace: alert.Rate{PerSecond: cfg.AlertWorkspaceRate.PerSecond, Burst: cfg.AlertWorkspaceRate.Burst},
	}
	var alertSlack alert.Slack
	if cfg.SlackConfigured() {
		svc.slack = slack.New(slack.Deps{
			Logger: logger, Store: s, Config: cfg, Now: time.Now,
			Signer: signer, Box: secretbox.New(key),
			HTTPClient:    webapi.NewHTTPClient(),
			RenderPage:    web.PageStatus,
			LoginURL:      web.LoginURL,
			Issues:        svc.issues,
			Access:        svc.access,
			SocketMetrics: slack.NewSocketMetrics(reg),
			Pacer:         pacer, PaceLimits: limits,
		})
		alertSlack = svc.slack.Alerts()
	} else {
		logger.Info("Slack is not configured: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET to enable it")
	}
	// Alerts: rules are evaluated on issue.created, issue.regressed and
	// event.received; every issue change (people's, and the regressions
	// and ends of ignores the event writer applies through the issue
	// service) reaches the cards' threads through OnIssueChange.
	svc.alerts = alert.New(alert.Deps{Store: s, Access: svc.access, Slack: alertSlack, Metrics: alert.NewMetrics(reg, s),
		Mailer: svc.mailer, URLPrefix: cfg.URLPrefix, Logger: logger, Now: time.Now, Pacer: pacer, Options: alert.Options{Limits: limits}})
	svc.issues.OnChange(svc.alerts.OnIssueChange)
	return svc
}

// newJobClient builds the River client with every worker and periodic job,
// and hands it to the services that queue jobs. That is a cycle: River
// wants every worker before it is built, and the workers' services insert
// their jobs through it; hence SetJobs.
func newJobClient(ctx context.Context, cfg *config.Config, s *store.Store, logger *slog.Logger, reg *prometheus.Registry, svc services) (*jobs.Client, error) {
	workers := river.NewWorkers()
	periodic := []*river.PeriodicJob{jobs.PrunePeriodic()}
	river.AddWorker(workers, &jobs.PruneWorker{Store: s, Retention: cfg.EventRetention, Now: time.Now, Logger: logger})
	river.AddWorker(workers, &directory.DeleteProjectWorker{Store: s, Logger: logger, Now: time.Now})
	if svc.slack != nil {
		svc.slack.RegisterWorkers(workers)
		periodic = append(periodic, svc.slack.PeriodicJobs()...)
	}
	svc.alerts.Register(workers)
	periodic = append(periodic, svc.alerts.Periodic()...)
	// The mail worker is there with or without email: a job another
	// process queued fails with a reason here rather than waiting forever.
	mailWorker := mail.NewWorker(svc.mailSender, logger, mail.NewMetrics(reg))
	mailWorker.Handle(invite.MailKind, svc.invites)
	mailWorker.Handle(passreset.MailKind, svc.resets)
	mailWorker.Handle(alert.MailKind, svc.alerts)
	mailWorker.Register(workers)
	queues := svc.alerts.Queues()
	maps.Copy(queues, mail.Queues())
	jobClient, err := jobs.New(ctx, s, cfg.DatabaseURL, logger, workers, jobs.Options{Work: true, Periodic: periodic,
		Queues: queues, JobTimeout: cfg.JobTimeout, RescueAfter: cfg.JobRescueAfter})
	if err != nil {
		return nil, err
	}
	svc.alerts.SetJobs(jobClient)
	if svc.mailer != nil {
		svc.mailer.SetJobs(jobClient)
	}
	if svc.slack != nil {
		svc.slack.SetJobs(jobClient)
		// /triage subscribe and link team keep their channels with alerts.
		svc.slack.SetChannels(svc.alerts)
	}
	return jobClient, nil
}

// background is the work that runs beside the HTTP server: River's
// workers, the one writer that turns accepted events into issues, and
// Socket Mode's connection.
type background struct {
	writer     *eventwriter.Writer
	jobs       *jobs.Client
	slack      *slack.Integration
	logger     *slog.Logger
	stopWork   context.CancelFunc
	writerDone chan struct{}
	socketDone chan struct{}
}

// startBackground starts the jobs, the event writer and, with an app
// token, Socket Mode: Slack's events, interactions and commands then also
// arrive over a websocket Triage opens, so Slack needs no route to this
// server. Their context outlives ctx so that stop can drain them in order.
func startBackground(ctx context.Context, cfg *config.Config, s *store.Store, logger *slog.Logger, svc services, jobClient *jobs.Client) (*background, error) {
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	if err := jobClient.Start(workCtx); err != nil {
		stopWork()
		return nil, fmt.Errorf("start background jobs: %w", err)
	}
	writerOpts := []eventwriter.Option{eventwriter.EventJobFilter(svc.alerts.WantsEventJobs),
		eventwriter.CreatedJobFilter(svc.alerts.WantsCreatedJobs)}
	if svc.slack != nil {
		// A new issue republishes its project's people's Slack Home tabs.
		writerOpts = append(writerOpts, eventwriter.NewIssueJob(svc.slack.NewIssueJob))
	}
	bg := &background{
		writer: eventwriter.New(s, jobClient, svc.issues, logger, time.Now, writerOpts...),
		jobs:   jobClient, slack: svc.slack, logger: logger, stopWork: stopWork,
		writerDone: make(chan struct{}), socketDone: make(chan struct{}),
	}
	go func() { bg.writer.Run(workCtx); close(bg.writerDone) }()
	if svc.slack != nil && cfg.SlackAppToken != "" {
		go func() {
			defer close(bg.socketDone)
			if err := svc.slack.RunSocketMode(workCtx, cfg.SlackAppToken); err != nil {
				logger.Error("Slack Socket Mode stopped; HTTP endpoints keep working", "err", err)
			}
		}()
	} else {
		close(bg.socketDone)
	}
	return bg, nil
}

// stop drains the event writer and the socket, then Slack's deliveries,
// then stops the jobs, each within timeout.
func (bg *background) stop(timeout time.Duration) {
	bg.stopWork()
	<-bg.writerDone
	<-bg.socketDone
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if bg.slack != nil {
		if err := bg.slack.Drain(ctx); err != nil {
			bg.logger.Warn("shutdown did not finish in time", "err", err)
		}
	}
	if err := bg.jobs.Stop(ctx); err != nil {
		bg.logger.Warn("background jobs did not stop cleanly", "err", err)
	}
}

// firstRunSetup prints the one-time setup URL while the instance has no
// users, and returns its token ("" once set up).
func firstRunSetup(ctx context.Context, cfg *config.Config, s *store.Store, stdout io.Writer) (string, error) {
	users, err := s.CountUsers(ctx)
	if err != nil || users > 0 {
		return "", err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	fmt.Fprintf(stdout, "No users yet. Open this one-time URL to create the first owner and organization:\n  %s/setup/%s/\n", cfg.URLPrefix, token)
	return token, nil
}

// newWebServer builds the whole HTTP surface: pages, the JSON API, Slack's
// endpoints, ingestion, health and metrics.
func newWebServer(cfg *config.Config, s *store.Store, logger *slog.Logger, reg *prometheus.Registry, svc services, bg *background, setupToken string) *web.Server {
	events := eventview.New(s, bg.writer)
	// Alert emails show the latest event's stack frames, which the event
	// view reads through the writer (built after the jobs client, which
	// needed the alert service's workers first).
	svc.alerts.SetFrames(events)
	d := web.Deps{
		Logger:     logger,
		Config:     cfg,
		Store:      s,
		Access:     svc.access,
		Issues:     svc.issues,
		Now:        time.Now,
		SetupToken: setupToken,
		Registry:   reg,
		DBStats:    collectors.NewDBStatsCollector(s.Pool(), string(s.Engine)),
		Ingest:     newIngest(logger, bg.writer, cfg, ingest.NewBudget(cfg.IngestMemory)),
		Events:     events,
		Alerts:     svc.alerts,
		Invites:    svc.invites,
		Resets:     svc.resets,
		// Members, teams, projects, keys and accounts; a key disabled or
		// rotated there is forgotten by this process's ingestion at once.
		Directory: directory.New(directory.Deps{Store: s, Access: svc.access, Jobs: bg.jobs,
			KeysChanged: bg.writer.ForgetKeys, Logger: logger, Now: time.Now}),
		Ready: readiness(s, svc.slack),
	}
	if svc.slack != nil {
		d.Slack = svc.slack
	}
	return web.New(d)
}

// readiness is what /readyz checks: the database answers, no migration is
// pending, and Socket Mode, when on, is connected.
func readiness(s *store.Store, integ *slack.Integration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		pending, err := s.Pending(ctx)
		if triage.Unavailable(err) {
			return fmt.Errorf("the database is not answering: %w", err)
		} else if err != nil {
			return err
		}
		if pending > 0 {
			return fmt.Errorf("%d migrations pending", pending)
		}
		if integ != nil {
			return socketReady(integ.SocketState(), time.Now())
		}
		return nil
	}
}

// serveHTTP serves until the server fails or ctx ends; then it lets
// in-flight requests finish within the shutdown timeout.
func serveHTTP(ctx context.Context, cfg *config.Config, logger *slog.Logger, httpServer *http.Server) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "url", cfg.URLPrefix)
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
		logger.Info("shutting down: finishing in-flight requests")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := httpServer.Shutdown(shutdownCtx); err != nil {
			logger.Warn("shutdown did not finish in time", "err", err)
		}
	}
	return nil
}

// socketReady says what /readyz says about Socket Mode: not ready while
// its connection is down (Slack's events, clicks and commands do not
// arrive), with since when and why.
func socketReady(st slack.SocketState, now time.Time) error {
	switch {
	case !st.Enabled || st.Connected:
		return nil
	case st.Stopped:
		return fmt.Errorf("slack socket mode stopped: %s", st.LastError)
	}
	why := ""
	if st.LastError != "" {
		why = ": " + st.LastError
	}
	if st.Since.IsZero() {
		return fmt.Errorf("slack socket mode not connected%s", why)
	}
	return fmt.Errorf("slack socket mode not connected for %s%s", now.Sub(st.Since).Round(time.Second), why)
}
