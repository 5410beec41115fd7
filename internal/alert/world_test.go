package alert_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"triage"
	"triage/internal/alert"
	"triage/internal/config"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/slack/slackfake"
	"triage/internal/slack/webapi"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

const secretKey = "0123456789abcdef0123456789abcdef"

// world is one test's Triage: a store, River working jobs, the event
// writer, the issue service, the real Slack integration talking to a fake
// Slack, and the alert service wired as serve wires it.
type world struct {
	*proc
	t    *testing.T
	ctx  context.Context
	url  string
	fake *slackfake.Server
	opts worldOpts

	org                            *triage.Organization
	project                        *triage.Project
	owner, admin, member, outsider *triage.User
	integrationID                  int64
	eventSeq                       atomic.Int64
}

// proc is one Triage process: its own pool, Slack integration, alert
// service and River client, all on the world's database.
type proc struct {
	s      *store.Store
	integ  *slack.Integration
	alerts *alert.Service
	issues *issues.Service
	writer *eventwriter.Writer
	jobs   *jobs.Client
	reg    *prometheus.Registry
}

type worldOpts struct {
	limits alert.PaceLimits
	// recordTimeout bounds one attempt to record a delivery (0: the
	// default).
	recordTimeout time.Duration
}

func newWorld(t *testing.T, engine store.Engine, o worldOpts) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if o.limits == (alert.PaceLimits{}) {
		o.limits = alert.PaceLimits{Channel: alert.Rate{PerSecond: 50, Burst: 5}}
	}
	w := &world{t: t, ctx: ctx, url: dbtest.URL(t, engine), opts: o}
	w.fake = slackfake.New()
	t.Cleanup(w.fake.Close)
	w.fake.AddWorkspace(slackfake.Workspace{ID: "T1", Name: "Acme Slack", Domain: "acme", BotName: "triagebot"})
	w.fake.AddUser(slackfake.User{ID: "U1", TeamID: "T1", Name: "ada"})
	w.fake.AddChannel(slackfake.Channel{ID: "C1", TeamID: "T1", Name: "alerts", BotMember: true, Members: []string{"U1"}})
	w.fake.AddChannel(slackfake.Channel{ID: "C2", TeamID: "T1", Name: "secret", IsPrivate: true, Members: []string{"U1"}})
	w.fake.AddChannel(slackfake.Channel{ID: "C3", TeamID: "T1", Name: "old", IsArchived: true, BotMember: true})
	w.fake.AddChannel(slackfake.Channel{ID: "C4", TeamID: "T1", Name: "general"})
	w.fake.AddBotToken("T1", "xoxb-acme")
	w.proc = w.startProc(true)
	var err error
	mk := func(email, name string) *triage.User {
		u, err := w.s.CreateUser(ctx, email, name, "hash", false)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	w.owner, w.admin, w.member, w.outsider = mk("owner@acme.test", "Olga"), mk("admin@acme.test", "Ada"), mk("member@acme.test", "Mel"), mk("out@acme.test", "")
	if w.org, err = w.s.CreateOrganization(ctx, "acme", "Acme", w.owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.AddMember(ctx, w.org.ID, w.admin.ID, triage.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.AddMember(ctx, w.org.ID, w.member.ID, triage.RoleMember); err != nil {
		t.Fatal(err)
	}
	team, err := w.s.CreateTeam(ctx, w.org.ID, "core", "Core")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddTeamMember(ctx, team.ID, w.member.ID); err != nil {
		t.Fatal(err)
	}
	if w.project, err = w.s.CreateProject(ctx, w.org.ID, "api", "API", team.ID); err != nil {
		t.Fatal(err)
	}
	enc, err := secretbox.New([]byte(secretKey)).Seal("xoxb-acme")
	if err != nil {
		t.Fatal(err)
	}
	in, err := w.s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T1", Name: "Acme Slack", DomainName: "acme.slack.com",
		BotUserID: "U1BOT", InstallType: "v2", AccessTokenEnc: enc, Scopes: strings.Join(slackfake.DefaultBotScopes(), ",")})
	if err != nil {
		t.Fatal(err)
	}
	w.integrationID = in.ID
	if err := w.s.AttachIntegration(ctx, w.org.ID, in.ID); err != nil {
		t.Fatal(err)
	}
	// Ada is linked in Slack as U1.
	if _, err := w.s.LinkIdentity(ctx, in.ID, "U1", w.admin.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

// startProc starts one process on the world's database; the first one
// migrates and runs the event writer.
func (w *world) startProc(first bool) *proc {
	t, ctx := w.t, w.ctx
	p := &proc{reg: prometheus.NewRegistry()}
	var err error
	if p.s, err = store.Open(ctx, w.url, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.s.Close() })
	if first {
		if _, err := p.s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// As serve readies its database.
	if err := p.s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{URLPrefix: "https://triage.example.com", SecretKey: secretKey,
		SlackClientID: "cid", SlackClientSecret: "csecret", SlackSigningSecret: "ssecret",
		SlackAPIURL: w.fake.APIURL(), SlackOAuthFlow: "v2"}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("ALERT_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	p.issues = issues.New(p.s, nil)
	p.integ = slack.New(slack.Deps{Logger: logger, Store: p.s, Config: cfg, Box: secretbox.New([]byte(secretKey)),
		Signer: signing.New([]byte(secretKey)), HTTPClient: webapi.NewHTTPClient(), Issues: p.issues})
	p.alerts = alert.New(alert.Deps{Store: p.s, Slack: p.integ.Alerts(), Metrics: alert.NewMetrics(p.reg, p.s),
		Logger: logger, Options: alert.Options{Limits: w.opts.limits, RecordTimeout: w.opts.recordTimeout}})
	p.issues.OnChange(p.alerts.OnIssueChange)
	workers := river.NewWorkers()
	p.alerts.Register(workers)
	p.integ.RegisterWorkers(workers)
	if p.jobs, err = jobs.New(ctx, p.s, w.url, logger, workers, jobs.Options{Work: true, Queues: p.alerts.Queues()}); err != nil {
		t.Fatal(err)
	}
	p.alerts.SetJobs(p.jobs)
	p.integ.SetJobs(p.jobs)
	if err := p.jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		p.jobs.Stop(stop)
	})
	if first {
		p.writer = eventwriter.New(p.s, p.jobs, p.issues, logger, nil, eventwriter.EventJobFilter(p.alerts.WantsEventJobs))
		go p.writer.Run(ctx)
	}
	return p
}

// rule creates a rule as the admin.
func (w *world) rule(body string) *alert.Rule {
	w.t.Helper()
	in, err := alert.ParseRuleInput([]byte(body))
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := w.alerts.CreateRule(w.ctx, w.admin.ID, "acme", "api", in)
	if err != nil {
		w.t.Fatalf("create rule %s: %v", body, err)
	}
	return r
}

// send ingests one event of the given kind (same kind, same issue) through
// the event writer, as the envelope endpoint does.
func (w *world) send(kind, level, env, release string) {
	w.t.Helper()
	id := w.eventSeq.Add(1)
	body := fmt.Sprintf(`{"event_id":"%032x","level":%q,"platform":"go","release":%q,"environment":%q,
		"exception":[{"type":"*errors.errorString","value":"%s failed","stacktrace":{"frames":[
		{"module":"example.com/app","function":%q,"filename":"app.go","lineno":7,"in_app":true}]}}]}`,
		id, level, release, env, kind, kind)
	e, err := ingest.ParseStore([]byte(body), time.Now().UTC())
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.writer.Save(w.ctx, w.project.ID, []*ingest.Event{e}); err != nil {
		w.t.Fatal(err)
	}
}

// issueOf finds the issue of an event kind sent with send.
func (w *world) issueOf(kind string) *triage.Issue {
	w.t.Helper()
	list, err := w.s.Issues(w.ctx, triage.IssueFilter{OrgID: w.org.ID, Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, i := range list {
		if strings.Contains(i.Title, kind+" failed") {
			return i
		}
	}
	w.t.Fatalf("no issue for %s", kind)
	return nil
}

// waitFor polls cond until it holds or 20 s pass.
func (w *world) waitFor(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second) // a bound for a hang, not a timing claim
	for !cond() {
		if time.Now().After(deadline) {
			var failed []string
			for _, c := range w.fake.Calls("") {
				if c.Error != "" {
					failed = append(failed, c.Method+": "+c.Error)
				}
			}
			w.t.Fatalf("timed out waiting for %s (Slack calls that failed: %q)\n%s", what, failed, w.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dump describes, for a failure message, what reached channel C1 and the
// jobs that have not completed, so that a timeout says what was missing.
func (w *world) dump() string {
	var b strings.Builder
	for i, m := range w.fake.Messages("C1") {
		fmt.Fprintf(&b, "C1 message %d: %q, %d bytes of blocks", i, m.Text, len(m.Blocks))
		for _, mark := range []string{"*Ignored", "Resolved", "Unresolved", "No longer ignored"} {
			if strings.Contains(string(m.Blocks), mark) {
				fmt.Fprintf(&b, ", blocks say %q", mark)
			}
		}
		b.WriteString("\n")
		for _, r := range m.Replies {
			fmt.Fprintf(&b, "  reply: %q\n", r.Text)
		}
	}
	rows, err := w.s.Pool().QueryContext(w.ctx, `SELECT kind, state, attempt, COALESCE(CAST(errors AS TEXT), '') FROM river_job WHERE state <> 'completed' ORDER BY id`)
	if err != nil {
		fmt.Fprintf(&b, "jobs: %v\n", err)
		return b.String()
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state, errs string
		var attempt int
		if err := rows.Scan(&kind, &state, &attempt, &errs); err != nil {
			fmt.Fprintf(&b, "jobs: %v\n", err)
			break
		}
		fmt.Fprintf(&b, "job %s %s attempt %d %.300s\n", kind, state, attempt, errs)
	}
	return b.String()
}

// periodicKinds are the jobs River schedules on its own, forever; settle
// does not wait for them.
var periodicKinds = []string{"events.prune", "alert.channel_sync_all", "slack.prune_events_seen", "slack.refresh_tokens"}

// settle waits until every job the test caused has finished: no job but
// the periodic ones is queued, running, snoozed or waiting to be retried.
// A job inserts the jobs it causes in its own transaction, before it
// completes, so after this nothing the test did can still post to Slack:
// a "nothing more happened" check made after settle would have seen it.
func (w *world) settle() {
	w.t.Helper()
	q := `SELECT COUNT(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded') AND kind NOT IN ('` +
		strings.Join(periodicKinds, "', '") + `')`
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int64
		if err := w.s.Pool().QueryRowContext(w.ctx, q).Scan(&n); err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for the jobs to finish: %d left", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// messages returns the channel's top-level messages.
func (w *world) messages(channel string) []slackfake.Message { return w.fake.Messages(channel) }

// counter reads one unlabelled counter of the alert metrics.
func (w *world) counter(name string) float64 {
	w.t.Helper()
	mfs, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// metric reads one counter of the alert metrics.
func (w *world) metric(name, label, value string) float64 {
	w.t.Helper()
	mfs, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if m.Counter != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// ruleStatus reloads a rule's action status and reason.
func (w *world) ruleStatus(id int64) (string, string) {
	w.t.Helper()
	r, err := w.s.AlertRule(w.ctx, w.project.ID, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r.ActionStatus, r.ActionReason
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// window summarises triage_alert_unrecorded_seconds of every process: the
// mean and the bucket that holds 99% of the samples.
func (w *world) window(procs []*proc) string {
	var count uint64
	var sum float64
	buckets := map[float64]uint64{}
	for _, p := range procs {
		mfs, err := p.reg.Gather()
		if err != nil {
			return err.Error()
		}
		for _, mf := range mfs {
			if mf.GetName() != "triage_alert_unrecorded_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				h := m.GetHistogram()
				count += h.GetSampleCount()
				sum += h.GetSampleSum()
				for _, b := range h.GetBucket() {
					buckets[b.GetUpperBound()] += b.GetCumulativeCount()
				}
			}
		}
	}
	if count == 0 {
		return "no samples"
	}
	p99 := "above 1s"
	bounds := make([]float64, 0, len(buckets))
	for b := range buckets {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	for _, b := range bounds {
		if float64(buckets[b]) >= 0.99*float64(count) {
			p99 = fmt.Sprintf("≤ %gms", b*1000)
			break
		}
	}
	return fmt.Sprintf("Slack answer → commit: mean %.1fms, p99 %s (%d samples)", sum/float64(count)*1000, p99, count)
}
