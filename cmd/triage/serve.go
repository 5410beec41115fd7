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

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, warnings, err := config.LoadServe(append([]string{}, args...), getenv, stderr)
	if err != nil {
		return err
	}
	alertOpts := alert.Options{Limits: alert.PaceLimits{
		Channel:   alert.Rate{PerSecond: cfg.AlertChannelRate.PerSecond, Burst: cfg.AlertChannelRate.Burst},
		Workspace: alert.Rate{PerSecond: cfg.AlertWorkspaceRate.PerSecond, Burst: cfg.AlertWorkspaceRate.Burst},
	}}
	// Ingestion allocates a little per event and keeps almost nothing: the
	// collector ran often over a small heap and took a tenth of the CPU
	// under load. A larger heap (about 70 MiB at 6,000 events/s) halves
	// that. GOGC, when set, still decides.
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	// The larger heap must still stay under the memory ceiling that the
	// settings imply (README, "Limits"): the collector works harder as the
	// heap nears it instead of letting it grow fourfold. GOMEMLIMIT, when
	// set, decides.
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryCeiling(cfg))
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	for _, w := range warnings {
		logger.Warn(w)
	}
	s, err := store.Open(ctx, cfg.DatabaseURL, time.Now, store.WithTimeout(cfg.DatabaseTimeout))
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetMaxConns(cfg.DatabaseMaxConns)
	n, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	logger.Info("database ready", "engine", string(s.Engine), "migrations_applied", n)

	key, err := secretKey(ctx, cfg, s, logger)
	if err != nil {
		return err
	}
	issueService := issues.New(s, time.Now)
	accessService := access.New(s)
	signer := signing.New(key)
	// Email: invites, password resets (and alert emails) are River jobs
	// on the mail queue; without TRIAGE_SMTP_URL there is no mailer and
	// the pages show links to pass on instead.
	var mailer *mail.Mailer
	var mailSender mail.Sender
	if cfg.MailConfigured() {
		mailer = mail.NewMailer(nil)
		mailSender = mail.NewSMTP(cfg.SMTP, cfg.EmailFrom)
		logger.Info("email configured", "smtp_host", cfg.SMTP.Host, "smtp_port", cfg.SMTP.Port, "security", cfg.SMTP.Security)
	} else {
		logger.Info("Email is not configured: set TRIAGE_SMTP_URL and TRIAGE_EMAIL_FROM to send invites, password resets and alert emails")
	}
	inviteService := invite.New(invite.Deps{Store: s, Access: accessService, Signer: signer, Mailer: mailer,
		URLPrefix: cfg.URLPrefix, Logger: logger})
	resetService := passreset.New(passreset.Deps{Store: s, Signer: signer, Mailer: mailer, URLPrefix: cfg.URLPrefix, Logger: logger})
	var slackHandlers web.SlackHandlers
	var slackInteg *slack.Integration
	if cfg.SlackConfigured() {
		slackInteg = slack.New(slack.Deps{
			Logger: logger, Store: s, Config: cfg, Now: time.Now,
			Signer: signer, Box: secretbox.New(key),
			HTTPClient: webapi.NewHTTPClient(),
			RenderPage: web.PageStatus,
			LoginURL:   web.LoginURL,
			Issues:     issueService,
			Access:     accessService,
		})
		slackHandlers = slackInteg
	} else {
		logger.Info("Slack is not configured: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET to enable it")
	}

	// Background work: River workers, and the one writer that turns
	// accepted events into issues.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	workers := river.NewWorkers()
	periodic := []*river.PeriodicJob{jobs.PrunePeriodic()}
	river.AddWorker(workers, &jobs.PruneWorker{Store: s, Retention: cfg.EventRetention, Now: time.Now, Logger: logger})
	// Alerts: rules are evaluated on issue.created, issue.regressed and
	// event.received; every issue change (people's, and the regressions
	// and ends of ignores the event writer applies through issueService)
	// reaches the cards' threads through OnIssueChange; notifications,
	// card threads and channel lists are their own jobs. On PostgreSQL the send pacing lives in the
	// database, shared by every process.
	var alertSlack alert.Slack
	if slackInteg != nil {
		slackInteg.RegisterWorkers(workers)
		periodic = append(periodic, slackInteg.PeriodicJobs()...)
		alertSlack = slackInteg.Alerts()
	}
	alerts := alert.New(alert.Deps{Store: s, Access: accessService, Slack: alertSlack, Metrics: alert.NewMetrics(reg, s),
		Mailer: mailer, URLPrefix: cfg.URLPrefix, Logger: logger, Now: time.Now, Options: alertOpts})
	alerts.Register(workers)
	periodic = append(periodic, alerts.Periodic()...)
	issueService.OnChange(alerts.OnIssueChange)
	// The mail worker is there with or without email: a job another
	// process queued fails with a reason here rather than waiting forever.
	mailWorker := mail.NewWorker(mailSender, logger, mail.NewMetrics(reg))
	mailWorker.Handle(invite.MailKind, inviteService)
	mailWorker.Handle(passreset.MailKind, resetService)
	mailWorker.Handle(alert.MailKind, alerts)
	mailWorker.Register(workers)
	queues := alerts.Queues()
	maps.Copy(queues, mail.Queues())
	jobClient, err := jobs.New(ctx, s, cfg.DatabaseURL, logger, workers, jobs.Options{Work: true, Periodic: periodic,
		Queues: queues, JobTimeout: cfg.JobTimeout, RescueAfter: cfg.JobRescueAfter})
	if err != nil {
		return err
	}
	alerts.SetJobs(jobClient)
	if mailer != nil {
		mailer.SetJobs(jobClient)
	}
	if slackInteg != nil {
		slackInteg.SetJobs(jobClient)
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	if err := jobClient.Start(workCtx); err != nil {
		return fmt.Errorf("start background jobs: %w", err)
	}
	writer := eventwriter.New(s, jobClient, issueService, logger, time.Now)
	writer.SetEventJobFilter(alerts.WantsEventJobs)
	writer.SetCreatedJobFilter(alerts.WantsCreatedJobs)
	writerDone := make(chan struct{})
	go func() { writer.Run(workCtx); close(writerDone) }()
	events := eventview.New(s, writer)
	alerts.SetFrames(events)

	// Socket Mode: Slack's events, interactions and commands also arrive
	// over a websocket Triage opens, so Slack needs no route to this server.
	if slackInteg != nil {
		slackInteg.SetSocketMetrics(slack.NewSocketMetrics(reg))
	}
	socketDone := make(chan struct{})
	if slackInteg != nil && cfg.SlackAppToken != "" {
		go func() {
			defer close(socketDone)
			if err := slackInteg.RunSocketMode(workCtx, cfg.SlackAppToken); err != nil {
				logger.Error("Slack Socket Mode stopped; HTTP endpoints keep working", "err", err)
			}
		}()
	} else {
		close(socketDone)
	}

	setupToken := ""
	if users, err := s.CountUsers(ctx); err != nil {
		return err
	} else if users == 0 {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		setupToken = hex.EncodeToString(b)
		fmt.Fprintf(stdout, "No users yet. Open this one-time URL to create the first owner and organization:\n  %s/setup/%s/\n", cfg.URLPrefix, setupToken)
	}

	srv := web.New(web.Deps{
		Logger:     logger,
		Config:     cfg,
		Store:      s,
		Access:     accessService,
		Issues:     issueService,
		Now:        time.Now,
		SetupToken: setupToken,
		Registry:   reg,
		DBStats:    collectors.NewDBStatsCollector(s.Pool(), string(s.Engine)),
		Ingest:     newIngest(logger, writer, cfg, ingest.NewBudget(cfg.IngestMemory)),
		Slack:      slackHandlers,
		Events:     events,
		Alerts:     alerts,
		Invites:    inviteService,
		Resets:     resetService,
		Ready: func(ctx context.Context) error {
			pending, err := s.Pending(ctx)
			if triage.Unavailable(err) {
				return fmt.Errorf("the database is not answering: %w", err)
			} else if err != nil {
				return err
			}
			if pending > 0 {
				return fmt.Errorf("%d migrations pending", pending)
			}
			if slackInteg != nil {
				return socketReady(slackInteg.SocketState(), time.Now())
			}
			return nil
		},
	})

	defer srv.Close()
	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, logger)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
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
	// In-flight requests are done: drain the writer and the socket, then
	// stop the jobs.
	stopWork()
	<-writerDone
	<-socketDone
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if slackInteg != nil {
		if err := slackInteg.Drain(stopCtx); err != nil {
			logger.Warn("shutdown did not finish in time", "err", err)
		}
	}
	if err := jobClient.Stop(stopCtx); err != nil {
		logger.Warn("background jobs did not stop cleanly", "err", err)
	}
	logger.Info("stopped")
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
