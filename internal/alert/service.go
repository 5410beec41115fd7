package alert

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/sync/singleflight"

	"triage"
	"triage/internal/access"
	"triage/internal/gate"
	"triage/internal/mail"
	"triage/internal/store"
)

// Inserter inserts jobs in the caller's transaction; *jobs.Client is one.
type Inserter interface {
	InsertMany(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

// Options tune delivery; the zero value takes the defaults.
type Options struct {
	Limits PaceLimits
	// MaxSleep is how far ahead a worker waits for its send slot in place;
	// a later slot snoozes the job until shortly before it.
	MaxSleep time.Duration
	// Workers is the size of the alert queue: how many notifications and
	// replies may wait for their send slots at once. Sleepers bounds those
	// waiting in place (the others snooze); it defaults to Workers.
	Workers  int
	Sleepers int
	// MaxAttempts bounds retries of transient failures (River's backoff
	// grows as attempt⁴ seconds: 12 attempts span about 17 hours).
	MaxAttempts int
	// ChannelSyncEvery is how often each workspace's channel list is
	// refreshed; ChannelPageEvery spaces its conversations.list calls
	// (Tier 2 allows 20 a minute).
	ChannelSyncEvery time.Duration
	ChannelPageEvery time.Duration
	// CheckTimeout bounds the conversations.info check when a rule is saved.
	CheckTimeout time.Duration
	// RecordTimeout bounds one attempt to record a delivery Slack has
	// accepted; a failed attempt is tried again (the record, never the
	// post) for RecordPatience in all.
	RecordTimeout, RecordPatience time.Duration
	// Evaluations is how many rule evaluations run at once in this
	// process; the others wait their turn, oldest first (internal/gate).
	Evaluations int
}

func (o Options) withDefaults() Options {
	if o.Limits == (PaceLimits{}) {
		o.Limits = DefaultPaceLimits()
	}
	if o.MaxSleep <= 0 {
		o.MaxSleep = 10 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 200
	}
	if o.Sleepers <= 0 {
		o.Sleepers = o.Workers
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.ChannelSyncEvery <= 0 {
		o.ChannelSyncEvery = 15 * time.Minute
	}
	if o.ChannelPageEvery <= 0 {
		o.ChannelPageEvery = 3 * time.Second
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 5 * time.Second
	}
	if o.RecordTimeout <= 0 {
		o.RecordTimeout = 10 * time.Second
	}
	if o.RecordPatience <= 0 {
		o.RecordPatience = 2 * time.Minute
	}
	if o.Evaluations <= 0 {
		// Two a process: in TestDeliveryBurst (two processes) the first
		// post came 0.17-0.34 s after the jobs' commit, against
		// 0.46-0.76 s with every River worker evaluating at once; eight
		// a process did no better than no turns, one no better than two.
		o.Evaluations = 2
	}
	return o
}

// Deps is what the alert service needs, built by cmd/triage.
type Deps struct {
	Store *store.Store
	// Access decides who may see and change rules; nil builds one over
	// Store.
	Access *access.Service
	Jobs   Inserter
	// Slack is nil when Slack is not configured: rules cannot be saved and
	// notifications fail with a reason.
	Slack Slack
	// Mailer queues the emails of email actions; nil when email is not
	// configured (such rules cannot be saved). Frames gives them the
	// latest stack frames (nil: none); URLPrefix makes their links.
	Mailer    *mail.Mailer
	Frames    FrameReader
	URLPrefix string
	Pacer     Pacer // nil: in memory on SQLite, in the database on PostgreSQL
	Metrics   *Metrics
	Logger    *slog.Logger
	Now       func() time.Time
	Options   Options
}

// Service owns alert rules and their delivery.
type Service struct {
	store     *store.Store
	acc       *access.Service
	jobs      Inserter
	slack     Slack
	mail      *mail.Mailer
	frames    FrameReader
	urlPrefix string
	pacer     Pacer
	metrics   *Metrics
	log       *slog.Logger
	now       func() time.Time
	opts      Options
	// sleepers holds a token per worker waiting in place for its slot.
	sleepers chan struct{}
	// evaluations are the turns rule evaluations take (Options.Evaluations).
	evaluations *gate.Gate

	botMu    sync.Mutex
	botNames map[int64]string

	// blockMu guards blocks (the Retry-Afters this process heard, by pace
	// key) and sending (one post at a time per channel).
	blockMu sync.Mutex
	blocks  map[string]time.Time
	sending map[string]*sync.Mutex

	cardMu sync.Mutex
	// rendering shares one render of a card among the jobs that want it.
	rendering singleflight.Group
	cards     map[cardKey]renderedCard

	eventMu    sync.Mutex
	eventRules map[int64]eventRules // by project, for WantsEventJobs
}

// New builds the service.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Pacer == nil {
		d.Pacer = DefaultPacer(d.Store)
	}
	if d.Access == nil {
		d.Access = access.New(d.Store)
	}
	opts := d.Options.withDefaults()
	return &Service{
		store: d.Store, acc: d.Access, jobs: d.Jobs, slack: d.Slack, pacer: d.Pacer, metrics: d.Metrics,
		mail: d.Mailer, frames: d.Frames, urlPrefix: strings.TrimSuffix(d.URLPrefix, "/"),
		log: d.Logger, now: d.Now, opts: opts, sleepers: make(chan struct{}, opts.Sleepers), evaluations: gate.New(opts.Evaluations),
		botNames: map[int64]string{}, blocks: map[string]time.Time{}, sending: map[string]*sync.Mutex{},
		cards: map[cardKey]renderedCard{}, eventRules: map[int64]eventRules{},
	}
}

// Rule is a rule as the API and the settings page show it.
type Rule struct {
	ID          int64
	ProjectID   int64
	ProjectSlug string
	Name        string
	Conditions  Conditions
	// ActionType is "slack" or "email". Target says to whom: for Slack
	// triage.AlertTargetChannel (the rule's channel) or
	// triage.AlertTargetTeam (the channels linked to the teams that own
	// the project); for email triage.AlertTargetTeams (every member of
	// the project's teams) or triage.AlertTargetMembers (EmailUsers).
	ActionType      string
	Target          string
	EmailUsers      []*triage.User
	IntegrationID   int64
	Workspace       string
	ChannelID       string
	ChannelName     string
	ThrottleMinutes int64
	Thread          bool
	// Status is "ok" or "broken"; Reason is Slack's code and Hint what an
	// admin can do about it.
	Status string
	Reason string
	Hint   string
	// Recent counts the rule's notifications of the last day by status
	// (pending, delivered, failed, cancelled); filled by OrgRules.
	Recent    map[string]int64
	ChangedAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ActionInput names the Slack channel a rule posts to, or (Type "email")
// whom it emails.
type ActionInput struct {
	// Type is "slack" ("" reads as it) or "email".
	Type string
	// Target, for Slack, is triage.AlertTargetTeam to post to the channel
	// linked to each team that owns the project (Channel is then
	// ignored); empty or triage.AlertTargetChannel posts to Channel. For
	// email it is triage.AlertTargetTeams or triage.AlertTargetMembers
	// (UserIDs).
	Target        string
	UserIDs       []int64
	IntegrationID int64
	// Channel is a channel id (C…, G…) or a name (with or without #),
	// looked up in the workspace's channel list.
	Channel string
}

// RuleInput is a rule to create, or the fields of one to change (nil
// fields stay as they are).
type RuleInput struct {
	Name            *string
	Conditions      *Conditions
	Action          *ActionInput
	ThrottleMinutes *int64
	Thread          *bool
}

// projectFor loads the project for the user through access.Service:
// ENOTFOUND when the organization or project does not exist or the user is
// not a member, EFORBIDDEN when they may not see the project, or (write)
// may not change its rules. Reading needs access to the project's issues;
// writing needs an owner or admin of the organization, as installing
// Slack does.
func (s *Service) projectFor(ctx context.Context, userID int64, orgSlug, projectSlug string, write bool) (*triage.Organization, *triage.Project, error) {
	org, m, p, err := s.acc.Project(ctx, userID, orgSlug, projectSlug)
	if err != nil {
		return nil, nil, err
	}
	if write {
		if err := access.RequireAdmin(org, m, "change alert rules"); err != nil {
			return nil, nil, err
		}
	}
	return org, p, nil
}

// Rules lists a project's rules.
func (s *Service) Rules(ctx context.Context, userID int64, orgSlug, projectSlug string) ([]*Rule, error) {
	_, p, err := s.projectFor(ctx, userID, orgSlug, projectSlug, false)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.AlertRules(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return s.views(ctx, p.Slug, rows)
}

// OrgRules lists the rules of every project of the organization the user
// can see, for the settings page.
func (s *Service) OrgRules(ctx context.Context, userID int64, org *triage.Organization) ([]*Rule, error) {
	projects, err := s.acc.VisibleProjects(ctx, userID, org.ID)
	if err != nil {
		return nil, err
	}
	var out []*Rule
	for _, p := range projects {
		rows, err := s.store.AlertRules(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		views, err := s.views(ctx, p.Slug, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, views...)
	}
	ids := make([]int64, len(out))
	for k, r := range out {
		ids[k] = r.ID
	}
	counts, err := s.store.NotificationCounts(ctx, ids, s.now().Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	for _, r := range out {
		r.Recent = counts[r.ID]
	}
	return out, nil
}

// Rule returns one rule of the project.
func (s *Service) Rule(ctx context.Context, userID int64, orgSlug, projectSlug string, id int64) (*Rule, error) {
	_, p, err := s.projectFor(ctx, userID, orgSlug, projectSlug, false)
	if err != nil {
		return nil, err
	}
	row, err := s.store.AlertRule(ctx, p.ID, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, p.Slug, row)
}

// CreateRule validates in and stores a new rule. Name and action are
// required; conditions default to "any event", the throttle to 30
// minutes, threading to on. Invalid input returns a *FieldError.
func (s *Service) CreateRule(ctx context.Context, userID int64, orgSlug, projectSlug string, in RuleInput) (*Rule, error) {
	org, p, err := s.projectFor(ctx, userID, orgSlug, projectSlug, true)
	if err != nil {
		return nil, err
	}
	row := &triage.AlertRule{ProjectID: p.ID, ThrottleMinutes: DefaultThrottle, Thread: true, CreatedBy: userID,
		Conditions: encodeConditions(Conditions{})}
	if in.Name == nil {
		return nil, invalid("name", "is required")
	}
	if in.Action == nil {
		return nil, invalid("action", "is required: a Slack workspace (integrationId) and a channel, or {\"type\": \"email\", \"target\": \"teams\"}")
	}
	if err := s.apply(ctx, org, row, in); err != nil {
		return nil, err
	}
	if err := s.store.CreateAlertRule(ctx, row); err != nil {
		return nil, err
	}
	s.forgetEventRules(p.ID)
	s.log.Info("alert rule created", "rule_id", row.ID, "project", p.Slug, "user_id", userID)
	return s.view(ctx, p.Slug, row)
}

// UpdateRule changes the fields set in in; the action is checked again
// when it changes, and its status goes back to ok.
func (s *Service) UpdateRule(ctx context.Context, userID int64, orgSlug, projectSlug string, id int64, in RuleInput) (*Rule, error) {
	org, p, err := s.projectFor(ctx, userID, orgSlug, projectSlug, true)
	if err != nil {
		return nil, err
	}
	row, err := s.store.AlertRule(ctx, p.ID, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(ctx, org, row, in); err != nil {
		return nil, err
	}
	if err := s.store.UpdateAlertRule(ctx, row); err != nil {
		return nil, err
	}
	s.forgetEventRules(p.ID)
	if row, err = s.store.AlertRule(ctx, p.ID, id); err != nil {
		return nil, err
	}
	return s.view(ctx, p.Slug, row)
}

// DeleteRule removes a rule.
func (s *Service) DeleteRule(ctx context.Context, userID int64, orgSlug, projectSlug string, id int64) error {
	_, p, err := s.projectFor(ctx, userID, orgSlug, projectSlug, true)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAlertRule(ctx, p.ID, id); err != nil {
		return err
	}
	s.forgetEventRules(p.ID)
	return nil
}

// apply validates in onto row.
func (s *Service) apply(ctx context.Context, org *triage.Organization, row *triage.AlertRule, in RuleInput) error {
	if in.Name != nil {
		name, err := validateName(*in.Name)
		if err != nil {
			return err
		}
		row.Name = name
	}
	if in.Conditions != nil {
		c := *in.Conditions
		c.Level, c.Environment = strings.ToLower(strings.TrimSpace(c.Level)), strings.TrimSpace(c.Environment)
		if err := c.Validate(); err != nil {
			return err
		}
		row.Conditions = encodeConditions(c)
	}
	if in.ThrottleMinutes != nil {
		if err := validateThrottle(*in.ThrottleMinutes); err != nil {
			return err
		}
		row.ThrottleMinutes = *in.ThrottleMinutes
	}
	if in.Thread != nil {
		row.Thread = *in.Thread
	}
	if in.Action != nil {
		switch {
		case in.Action.Type == triage.AlertActionEmail:
			return s.applyEmail(ctx, row, in.Action)
		case in.Action.Target == triage.AlertTargetTeam:
			if _, err := s.checkWorkspace(ctx, org, in.Action.IntegrationID); err != nil {
				return err
			}
			row.ActionType, row.EmailUserIDs = triage.AlertActionSlack, nil
			row.IntegrationID, row.ChannelID, row.ChannelName, row.Target = in.Action.IntegrationID, "", "", triage.AlertTargetTeam
			return nil
		}
		ch, err := s.checkChannel(ctx, org, in.Action.IntegrationID, in.Action.Channel)
		if err != nil {
			return err
		}
		row.ActionType, row.EmailUserIDs = triage.AlertActionSlack, nil
		row.IntegrationID, row.ChannelID, row.ChannelName, row.Target = in.Action.IntegrationID, ch.ID, ch.Name, triage.AlertTargetChannel
	}
	return nil
}

// applyEmail checks an email action: email must be configured; target
// "teams" needs a project owned by a team, "members" names members who may
// see the project.
func (s *Service) applyEmail(ctx context.Context, row *triage.AlertRule, a *ActionInput) error {
	if !s.mail.Configured() {
		return invalid("action.type", "email is not configured on this server (TRIAGE_SMTP_URL): use a Slack channel")
	}
	if a.IntegrationID != 0 || a.Channel != "" {
		return invalid("action.type", "an email action has no workspace or channel: leave out integrationId and channel")
	}
	switch a.Target {
	case triage.AlertTargetTeams:
		teams, err := s.store.TeamsForProject(ctx, row.ProjectID)
		if err != nil {
			return err
		}
		if len(teams) == 0 {
			return invalid("action.target", "the project belongs to no team: name members (\"members\" with userIds) or give the project a team")
		}
		row.EmailUserIDs = nil
	case triage.AlertTargetMembers:
		if len(a.UserIDs) == 0 {
			return invalid("action.userIds", "is required with target \"members\": the ids of members who may see the project")
		}
		if len(a.UserIDs) > 100 {
			return invalid("action.userIds", "must name at most 100 members")
		}
		seen := map[int64]bool{}
		var ids []int64
		for _, id := range a.UserIDs {
			ok, err := s.acc.CanSeeProject(ctx, id, row.ProjectID)
			if err != nil {
				return err
			}
			if !ok {
				return invalid("action.userIds", "user %d is not a member who may see this project", id)
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		row.EmailUserIDs = ids
	case "":
		return invalid("action.target", "is required with type \"email\": \"teams\" or \"members\"")
	default:
		return invalid("action.target", "must be \"teams\" or \"members\"")
	}
	row.ActionType, row.Target = triage.AlertActionEmail, a.Target
	row.IntegrationID, row.ChannelID, row.ChannelName = 0, "", ""
	return nil
}

func (s *Service) views(ctx context.Context, projectSlug string, rows []*triage.AlertRule) ([]*Rule, error) {
	out := make([]*Rule, 0, len(rows))
	for _, r := range rows {
		v, err := s.view(ctx, projectSlug, r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Service) view(ctx context.Context, projectSlug string, r *triage.AlertRule) (*Rule, error) {
	c, err := decodeConditions(r.Conditions)
	if err != nil {
		return nil, fmt.Errorf("decode conditions of alert rule %d: %w", r.ID, err)
	}
	v := &Rule{ID: r.ID, ProjectID: r.ProjectID, ProjectSlug: projectSlug, Name: r.Name, Conditions: c,
		ActionType: r.ActionType, Target: r.Target,
		IntegrationID: r.IntegrationID, ChannelID: r.ChannelID, ChannelName: r.ChannelName,
		ThrottleMinutes: r.ThrottleMinutes, Thread: r.Thread, Status: r.ActionStatus, Reason: r.ActionReason,
		ChangedAt: r.ActionChangedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if v.ActionType == "" {
		v.ActionType = triage.AlertActionSlack
	}
	if v.ActionType == triage.AlertActionEmail {
		for _, id := range r.EmailUserIDs {
			if u, err := s.store.UserByID(ctx, id); err == nil {
				v.EmailUsers = append(v.EmailUsers, u)
			} else if triage.ErrorCode(err) != triage.ENOTFOUND {
				return nil, err
			}
		}
		if v.Status == triage.AlertActionBroken {
			v.Hint = emailHint(v.Reason)
		}
		return v, nil
	}
	if in, err := s.store.IntegrationByID(ctx, r.IntegrationID); err == nil {
		v.Workspace = in.Name
	} else if triage.ErrorCode(err) != triage.ENOTFOUND {
		return nil, err
	}
	if v.Status == triage.AlertActionBroken {
		bot := ""
		if v.Reason == "channel_not_found" || v.Reason == "not_in_channel" {
			// Once per process and workspace, and only for a broken rule.
			botCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			bot = s.botName(botCtx, r.IntegrationID)
			cancel()
		}
		v.Hint = reasonHint(v.Reason, bot)
	}
	return v, nil
}

// SetFrames gives alert emails the latest stack frames: the event view
// reads events through the event writer, which is built after the jobs
// client, which is built after this service registered its workers.
func (s *Service) SetFrames(f FrameReader) { s.frames = f }

// SetJobs gives the service the jobs client its work is queued on; call it
// once, before serving (the client is built after the workers are
// registered).
func (s *Service) SetJobs(j Inserter) { s.jobs = j }
