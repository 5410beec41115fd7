package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"triage"
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
}

func (o Options) withDefaults() Options {
	if o.Limits == (PaceLimits{}) {
		o.Limits = DefaultPaceLimits
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
	return o
}

// Deps is what the alert service needs, built by cmd/triage.
type Deps struct {
	Store *store.Store
	Jobs  Inserter
	// Slack is nil when Slack is not configured: rules cannot be saved and
	// notifications fail with a reason.
	Slack   Slack
	Pacer   Pacer // nil: in memory on SQLite, in the database on PostgreSQL
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	Options Options
}

// Service owns alert rules and their delivery.
type Service struct {
	store   *store.Store
	jobs    Inserter
	slack   Slack
	pacer   Pacer
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
	opts    Options
	// sleepers holds a token per worker waiting in place for its slot.
	sleepers chan struct{}

	botMu    sync.Mutex
	botNames map[int64]string

	// blockMu guards blocks (the Retry-Afters this process heard, by pace
	// key) and sending (one post at a time per channel).
	blockMu sync.Mutex
	blocks  map[string]time.Time
	sending map[string]*sync.Mutex

	cardMu sync.Mutex
	cards  map[cardKey]renderedCard
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
		if d.Store.Engine == store.Postgres {
			d.Pacer = &SQLPacer{Store: d.Store}
		} else {
			d.Pacer = NewMemoryPacer()
		}
	}
	opts := d.Options.withDefaults()
	return &Service{
		store: d.Store, jobs: d.Jobs, slack: d.Slack, pacer: d.Pacer, metrics: d.Metrics,
		log: d.Logger, now: d.Now, opts: opts, sleepers: make(chan struct{}, opts.Sleepers),
		botNames: map[int64]string{}, blocks: map[string]time.Time{}, sending: map[string]*sync.Mutex{},
		cards: map[cardKey]renderedCard{},
	}
}

// Rule is a rule as the API and the settings page show it.
type Rule struct {
	ID              int64
	ProjectID       int64
	ProjectSlug     string
	Name            string
	Conditions      Conditions
	IntegrationID   int64
	Workspace       string
	ChannelID       string
	ChannelName     string
	ThrottleMinutes int64
	Thread          bool
	// Status is "ok" or "broken"; Reason is Slack's code and Hint what an
	// admin can do about it.
	Status    string
	Reason    string
	Hint      string
	ChangedAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ActionInput names the Slack channel a rule posts to.
type ActionInput struct {
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

// access loads the project for the user: ENOTFOUND when the organization or
// project does not exist or the user is not a member, EFORBIDDEN when they
// may not see the project, or (write) may not change its rules. Reading
// needs access to the project's issues; writing needs an owner or admin
// of the organization, as installing Slack does.
func (s *Service) access(ctx context.Context, userID int64, orgSlug, projectSlug string, write bool) (*triage.Organization, *triage.Project, error) {
	notFound := triage.Errorf(triage.ENOTFOUND, "project not found")
	org, err := s.store.OrganizationBySlug(ctx, orgSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	m, err := s.store.Member(ctx, org.ID, userID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	p, err := s.store.ProjectBySlug(ctx, org.ID, projectSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	ok, err := s.store.HasProjectAccess(ctx, userID, p.ID)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, triage.Errorf(triage.EFORBIDDEN, "you do not have access to project %s", p.Slug)
	}
	if write && !m.Role.CanAdmin() {
		return nil, nil, triage.Errorf(triage.EFORBIDDEN, "only an owner or admin of %s can change alert rules", org.Name)
	}
	return org, p, nil
}

// Rules lists a project's rules.
func (s *Service) Rules(ctx context.Context, userID int64, orgSlug, projectSlug string) ([]*Rule, error) {
	_, p, err := s.access(ctx, userID, orgSlug, projectSlug, false)
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
	projects, err := s.store.Projects(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	var out []*Rule
	for _, p := range projects {
		ok, err := s.store.HasProjectAccess(ctx, userID, p.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
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
	return out, nil
}

// Rule returns one rule of the project.
func (s *Service) Rule(ctx context.Context, userID int64, orgSlug, projectSlug string, id int64) (*Rule, error) {
	_, p, err := s.access(ctx, userID, orgSlug, projectSlug, false)
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
	org, p, err := s.access(ctx, userID, orgSlug, projectSlug, true)
	if err != nil {
		return nil, err
	}
	row := &store.AlertRule{ProjectID: p.ID, ThrottleMinutes: DefaultThrottle, Thread: true, CreatedBy: userID,
		Conditions: encodeConditions(Conditions{})}
	if in.Name == nil {
		return nil, invalid("name", "is required")
	}
	if in.Action == nil {
		return nil, invalid("action", "is required: a Slack workspace (integrationId) and a channel")
	}
	if err := s.apply(ctx, org, row, in); err != nil {
		return nil, err
	}
	if err := s.store.CreateAlertRule(ctx, row); err != nil {
		return nil, err
	}
	s.log.Info("alert rule created", "rule_id", row.ID, "project", p.Slug, "user_id", userID)
	return s.view(ctx, p.Slug, row)
}

// UpdateRule changes the fields set in in; the action is checked again
// when it changes, and its status goes back to ok.
func (s *Service) UpdateRule(ctx context.Context, userID int64, orgSlug, projectSlug string, id int64, in RuleInput) (*Rule, error) {
	org, p, err := s.access(ctx, userID, orgSlug, projectSlug, true)
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
	if row, err = s.store.AlertRule(ctx, p.ID, id); err != nil {
		return nil, err
	}
	return s.view(ctx, p.Slug, row)
}

// DeleteRule removes a rule.
func (s *Service) DeleteRule(ctx context.Context, userID int64, orgSlug, projectSlug string, id int64) error {
	_, p, err := s.access(ctx, userID, orgSlug, projectSlug, true)
	if err != nil {
		return err
	}
	return s.store.DeleteAlertRule(ctx, p.ID, id)
}

// apply validates in onto row.
func (s *Service) apply(ctx context.Context, org *triage.Organization, row *store.AlertRule, in RuleInput) error {
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
		ch, err := s.checkChannel(ctx, org, in.Action.IntegrationID, in.Action.Channel)
		if err != nil {
			return err
		}
		row.IntegrationID, row.ChannelID, row.ChannelName = in.Action.IntegrationID, ch.ID, ch.Name
	}
	return nil
}

// checkChannel resolves and checks a rule's channel: the workspace must be
// attached to the organization and active, the channel must exist for the
// bot (conversations.info) and not be archived. A private channel the bot
// is not in gets the /invite hint, not "does not exist".
func (s *Service) checkChannel(ctx context.Context, org *triage.Organization, integrationID int64, channel string) (Channel, error) {
	const fInteg, fChan = "action.integrationId", "action.channel"
	if s.slack == nil {
		return Channel{}, invalid(fInteg, "Slack is not configured on this server")
	}
	if integrationID <= 0 {
		return Channel{}, invalid(fInteg, "is required: the id of a Slack workspace installed in %s", org.Name)
	}
	attached, err := s.store.IntegrationAttached(ctx, org.ID, integrationID)
	if err != nil {
		return Channel{}, err
	}
	if !attached {
		return Channel{}, invalid(fInteg, "no Slack workspace %d is installed in %s", integrationID, org.Name)
	}
	in, err := s.store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return Channel{}, err
	}
	if in.Status != store.IntegrationActive {
		return Channel{}, invalid(fInteg, "the Slack workspace %s is %s: reinstall Triage in it first", in.Name, strings.ReplaceAll(in.Status, "_", " "))
	}
	channel = strings.TrimSpace(channel)
	var cached *store.SlackChannel
	id := channel
	if !channelIDPattern.MatchString(channel) {
		name := strings.TrimPrefix(channel, "#")
		if !channelNamePattern.MatchString(name) {
			return Channel{}, invalid(fChan, "is required: a channel id (C…) or a channel name such as #alerts")
		}
		cached, err = s.store.SlackChannelByName(ctx, integrationID, name)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return Channel{}, s.unknownName(ctx, in, name)
		} else if err != nil {
			return Channel{}, err
		}
		id = cached.ID
	} else if c, err := s.store.SlackChannelByID(ctx, integrationID, id); err == nil {
		cached = c
	}
	checkCtx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
	defer cancel()
	ch, err := s.slack.ChannelInfo(checkCtx, integrationID, id)
	if err != nil {
		return s.channelCheckFailed(ctx, in, id, cached, err)
	}
	if ch.IsArchived {
		return Channel{}, invalid(fChan, "#%s is archived: unarchive it or pick another channel", ch.Name)
	}
	if ch.IsPrivate && !ch.IsMember {
		return Channel{}, invalid(fChan, "#%s is private and the bot is not in it: type /invite @%s in #%s, then save again",
			ch.Name, s.botName(ctx, integrationID), ch.Name)
	}
	if err := s.store.UpsertSlackChannel(ctx, store.SlackChannel{IntegrationID: integrationID, ID: ch.ID, Name: ch.Name,
		IsPrivate: ch.IsPrivate, IsArchived: ch.IsArchived, IsMember: ch.IsMember}); err != nil {
		return Channel{}, err
	}
	return ch, nil
}

// unknownName explains a channel name missing from the workspace's list,
// and has the list fetched when it never was.
func (s *Service) unknownName(ctx context.Context, in *store.Integration, name string) error {
	bot := s.botName(ctx, in.ID)
	st, err := s.store.ChannelSyncState(ctx, in.ID)
	if err != nil {
		return err
	}
	if st.FinishedAt.IsZero() {
		if err := s.QueueChannelSync(ctx, in.ID); err != nil {
			return err
		}
		return invalid("action.channel", "%s's channel list is being fetched: try #%s again in a minute, or enter the channel's id (in Slack: channel details, at the bottom). A private channel needs the bot first: type /invite @%s in it.",
			in.Name, name, bot)
	}
	return invalid("action.channel", "no channel named #%s in %s's channel list. Private channels are listed once the bot is in them: type /invite @%s in the channel, or enter the channel's id (in Slack: channel details, at the bottom).",
		name, in.Name, bot)
}

// channelCheckFailed turns a failed conversations.info into a precise
// answer. When Slack is only slow or rate limited, a channel already in
// the list is accepted as listed: saving a rule never waits on Slack.
func (s *Service) channelCheckFailed(ctx context.Context, in *store.Integration, id string, cached *store.SlackChannel, err error) (Channel, error) {
	const fInteg, fChan = "action.integrationId", "action.channel"
	reason, permanent := s.slack.PermanentReason(err)
	switch {
	case permanent && reason == "channel_not_found":
		bot := s.botName(ctx, in.ID)
		if cached != nil && cached.IsPrivate {
			return Channel{}, invalid(fChan, "#%s is a private channel the bot is not in: type /invite @%s in #%s, then save again",
				cached.Name, bot, cached.Name)
		}
		return Channel{}, invalid(fChan, "Slack does not show channel %s to Triage's bot. If it is a private channel, invite the bot first: type /invite @%s in the channel, then save again.", id, bot)
	case permanent && deadInstall[reason]:
		return Channel{}, invalid(fInteg, "Slack refused Triage's token for %s (%s): reinstall Triage in that workspace", in.Name, reason)
	case permanent:
		return Channel{}, invalid(fChan, "Slack refused to look up channel %s: %s", id, reason)
	}
	if cached != nil && !cached.IsArchived {
		s.log.Warn("channel check skipped: Slack unavailable, using the cached channel", "integration_id", in.ID, "err", err)
		return Channel{ID: cached.ID, Name: cached.Name, IsPrivate: cached.IsPrivate, IsMember: cached.IsMember}, nil
	}
	if d, ok := s.slack.RetryAfter(err); ok {
		return Channel{}, &FieldError{Field: fChan, Reason: fmt.Sprintf("Slack asks Triage to wait %s before checking the channel: try again then, or pick the channel from the list", d.Round(time.Second))}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Channel{}, invalid(fChan, "Slack did not answer in time: try again, or pick the channel from the list")
	}
	return Channel{}, fmt.Errorf("check channel %s: %w", id, err)
}

// botName is the workspace bot's name for /invite hints, remembered per
// process; "triage" when Slack cannot tell.
func (s *Service) botName(ctx context.Context, integrationID int64) string {
	s.botMu.Lock()
	name := s.botNames[integrationID]
	s.botMu.Unlock()
	if name != "" {
		return name
	}
	if s.slack == nil {
		return "triage"
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
	defer cancel()
	name, err := s.slack.BotName(ctx, integrationID)
	if err != nil || name == "" {
		return "triage"
	}
	s.botMu.Lock()
	s.botNames[integrationID] = name
	s.botMu.Unlock()
	return name
}

func (s *Service) views(ctx context.Context, projectSlug string, rows []*store.AlertRule) ([]*Rule, error) {
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

func (s *Service) view(ctx context.Context, projectSlug string, r *store.AlertRule) (*Rule, error) {
	c, err := decodeConditions(r.Conditions)
	if err != nil {
		return nil, fmt.Errorf("decode conditions of alert rule %d: %w", r.ID, err)
	}
	v := &Rule{ID: r.ID, ProjectID: r.ProjectID, ProjectSlug: projectSlug, Name: r.Name, Conditions: c,
		IntegrationID: r.IntegrationID, ChannelID: r.ChannelID, ChannelName: r.ChannelName,
		ThrottleMinutes: r.ThrottleMinutes, Thread: r.Thread, Status: r.ActionStatus, Reason: r.ActionReason,
		ChangedAt: r.ActionChangedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if in, err := s.store.IntegrationByID(ctx, r.IntegrationID); err == nil {
		v.Workspace = in.Name
	} else if triage.ErrorCode(err) != triage.ENOTFOUND {
		return nil, err
	}
	if v.Status == store.ActionBroken {
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

// cachedBotName never calls Slack (pages must not wait on it).
func (s *Service) cachedBotName(integrationID int64) string {
	s.botMu.Lock()
	defer s.botMu.Unlock()
	return s.botNames[integrationID]
}

// SetJobs gives the service the jobs client its work is queued on; call it
// once, before serving (the client is built after the workers are
// registered).
func (s *Service) SetJobs(j Inserter) { s.jobs = j }
