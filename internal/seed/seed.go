package seed

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"triage"
	"triage/internal/store"
)

// Spec is the size and shape of a seeded database.
type Spec struct {
	Issues int // issues, over three projects
	Events int // events, at least one per issue
	Users  int // distinct users the events come from (the user tag)
	URLs   int // distinct request URLs (the url tag)
	// Now ends the 14 days the events are spread over.
	Now time.Time
	// PasswordHash is the hash every seeded person logs in with.
	PasswordHash string
	// Seed makes the random choices; one Spec builds one database.
	Seed uint64
}

// Default is issue 12's benchmark database: 1,000,000 events, 10,000
// issues and 200,000 distinct tag values (160,000 users, 40,000 URLs and
// a few hundred of everything else).
func Default(now time.Time, passwordHash string) Spec {
	return Spec{Issues: 10_000, Events: 1_000_000, Users: 160_000, URLs: 40_000, Now: now, PasswordHash: passwordHash, Seed: 12}
}

// Marker is the settings key a finished build writes, with the Spec's
// Fingerprint as value: a build that stopped half way has none.
const Marker = "seed.built"

// Fingerprint names what a Spec builds, for Marker.
func (s Spec) Fingerprint() string {
	return fmt.Sprintf("v1 issues=%d events=%d users=%d urls=%d seed=%d", s.Issues, s.Events, s.Users, s.URLs, s.Seed)
}

// World is who and what a build made.
type World struct {
	OrgSlug string
	// Owner is the organization's owner; Member is on team backend, which
	// owns web and api but not mobile (team mobile's).
	Owner, Member *triage.User
	Projects      []*triage.Project // web, api, mobile
	Issues        int
	Events        int
	TagValues     int // distinct (key, value) pairs over all issues
	TagRows       int // rows of issue_tags
}

// Emails of the seeded people.
const (
	OwnerEmail  = "owner@seed.test"
	MemberEmail = "member@seed.test"
)

// Lookup returns the World of a database a build finished, or ENOTFOUND
// when there is none (no marker, or one for another Spec).
func Lookup(ctx context.Context, s *store.Store, spec Spec) (*World, error) {
	v, err := s.Setting(ctx, Marker)
	if err != nil {
		return nil, err
	}
	if v != spec.Fingerprint() {
		return nil, triage.Errorf(triage.ENOTFOUND, "no seeded database for %s", spec.Fingerprint())
	}
	return world(ctx, s)
}

func world(ctx context.Context, s *store.Store) (*World, error) {
	w := &World{OrgSlug: "acme"}
	var err error
	if w.Owner, err = s.UserByEmail(ctx, OwnerEmail); err != nil {
		return nil, err
	}
	if w.Member, err = s.UserByEmail(ctx, MemberEmail); err != nil {
		return nil, err
	}
	org, err := s.OrganizationBySlug(ctx, w.OrgSlug)
	if err != nil {
		return nil, err
	}
	if w.Projects, err = s.Projects(ctx, org.ID); err != nil {
		return nil, err
	}
	return w, nil
}

// Build fills an empty, migrated database; progress gets a line now and
// then. It returns ECONFLICT when the database is not empty.
func Build(ctx context.Context, s *store.Store, spec Spec, progress io.Writer) (*World, error) {
	if spec.Issues < 1 || spec.Events < spec.Issues || spec.Users < 1 || spec.URLs < 1 {
		return nil, triage.Errorf(triage.EINVALID, "a seed needs issues, at least as many events, users and URLs")
	}
	if n, err := s.CountUsers(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, triage.Errorf(triage.ECONFLICT, "the database is not empty")
	}
	start := time.Now()
	b := &builder{s: s, spec: spec, progress: progress}
	var err error
	if b.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest)); err != nil {
		return nil, err
	}
	defer b.enc.Close()
	w, err := b.people(ctx)
	if err != nil {
		return nil, err
	}
	b.w = w
	if err := b.issues(ctx); err != nil {
		return nil, err
	}
	if err := b.finish(ctx); err != nil {
		return nil, err
	}
	w.Issues, w.Events, w.TagValues, w.TagRows = spec.Issues, spec.Events, len(b.distinct), b.tagRows
	fmt.Fprintf(progress, "seeded %d events, %d issues, %d distinct tag values (%d issue_tags rows) in %s\n",
		w.Events, w.Issues, w.TagValues, w.TagRows, time.Since(start).Round(time.Second))
	return w, nil
}

type builder struct {
	s        *store.Store
	spec     Spec
	progress io.Writer
	enc      *zstd.Encoder
	w        *World
	distinct map[[2]string]bool
	tagRows  int
	// per project: environments and releases (version → first seen)
	envs     []map[string]bool
	releases []map[string]int64
	shortNum []int64
}

// people makes the organization, its two people, teams and projects.
func (b *builder) people(ctx context.Context) (*World, error) {
	s := b.s
	w := &World{OrgSlug: "acme"}
	var err error
	if w.Owner, err = s.CreateUser(ctx, OwnerEmail, "Olive Owner", b.spec.PasswordHash, false); err != nil {
		return nil, err
	}
	if w.Member, err = s.CreateUser(ctx, MemberEmail, "Max Member", b.spec.PasswordHash, false); err != nil {
		return nil, err
	}
	org, err := s.CreateOrganization(ctx, w.OrgSlug, "Acme", w.Owner.ID)
	if err != nil {
		return nil, err
	}
	if _, err := s.AddMember(ctx, org.ID, w.Member.ID, triage.RoleMember); err != nil {
		return nil, err
	}
	backend, err := s.CreateTeam(ctx, org.ID, "backend", "Backend")
	if err != nil {
		return nil, err
	}
	mobile, err := s.CreateTeam(ctx, org.ID, "mobile", "Mobile")
	if err != nil {
		return nil, err
	}
	if err := s.AddTeamMember(ctx, backend.ID, w.Member.ID); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		slug string
		team int64
	}{{"web", backend.ID}, {"api", backend.ID}, {"mobile", mobile.ID}} {
		pr, err := s.CreateProject(ctx, org.ID, p.slug, "", p.team)
		if err != nil {
			return nil, err
		}
		w.Projects = append(w.Projects, pr)
		b.envs = append(b.envs, map[string]bool{})
		b.releases = append(b.releases, map[string]int64{})
		b.shortNum = append(b.shortNum, 0)
	}
	b.distinct = map[[2]string]bool{}
	return w, nil
}

// The vocabularies events draw from.
var (
	errorTypes = []string{"TypeError", "ValueError", "KeyError", "TimeoutError", "ConnectionError", "ZeroDivisionError", "RuntimeError", "IndexError"}
	words      = []string{"checkout", "cart", "login", "search", "payment", "invoice", "profile", "upload", "export", "report",
		"session", "coupon", "shipping", "inventory", "catalog", "review", "wishlist", "refund", "billing", "signup",
		"password", "avatar", "order", "tracking", "address", "tax", "currency", "discount", "gift", "newsletter",
		"feed", "comment", "rating", "vendor", "warehouse", "pricing", "quote", "ticket", "chat", "webhook",
		"import", "sync", "backup", "cache", "queue", "mailer", "pdf", "thumbnail", "locale", "timezone"}
	levels   = []string{"error", "error", "error", "error", "error", "error", "warning", "warning", "info", "fatal"}
	envNames = []string{"production", "production", "production", "production", "production", "production", "production", "staging", "staging", "development"}
	browsers = []string{"Chrome 120.0", "Chrome 119.0", "Chrome 121.0", "Firefox 121.0", "Firefox 120.0", "Safari 17.1",
		"Safari 16.6", "Edge 120.0", "Opera 105.0", "Samsung Internet 23.0", "Chrome Mobile 120.0", "Mobile Safari 17.1"}
	systems = []string{"Windows 10", "Windows 11", "Mac OS X 14.1", "Mac OS X 13.6", "Linux", "Android 14", "iOS 17.1", "Chrome OS 120"}
	tiers   = []string{"free", "free", "free", "pro", "pro", "enterprise"}
)

// span is the 14 days events are spread over.
const span = 14 * 24 * time.Hour

// issue is one issue as generated: its row and its events' rows.
type issue struct {
	project                int
	hash, title, culprit   string
	level, status, release string
	first, last, n, users  int64
	events                 []event
	tags                   map[[2]string]*tagCount
	hours                  map[int64]int64
}

type event struct {
	id                   string
	at                   int64 // unix µs
	release, environment string
}

type tagCount struct{ n, first, last int64 }

// eventCounts shares the events among the issues by Zipf's law (weight
// 1/(k+1)), each issue at least one.
func eventCounts(issues, events int) []int {
	var total float64
	for k := range issues {
		total += 1 / float64(k+1)
	}
	out := make([]int, issues)
	left := events
	for k := range out {
		out[k] = max(1, int(float64(events-issues)/(total*float64(k+1))))
		left -= out[k]
	}
	for k := 0; left > 0; k = (k + 1) % issues {
		out[k]++
		left--
	}
	for k := len(out) - 1; left < 0; k-- {
		if out[k] > 1 {
			out[k]--
			left++
		}
	}
	return out
}

// gen generates issue k's events and counts.
func (b *builder) gen(k, n int) *issue {
	r := rand.New(rand.NewPCG(b.spec.Seed, uint64(k)))
	now := b.spec.Now.UTC()
	word := words[r.IntN(len(words))]
	typ := errorTypes[r.IntN(len(errorTypes))]
	is := &issue{
		project: k % 3, hash: fmt.Sprintf("seed-%d", k),
		title:   fmt.Sprintf("%s: %s failed in handler%d", typ, word, k),
		culprit: fmt.Sprintf("app/%s.handle%d", word, k%97),
		level:   levels[r.IntN(len(levels))],
		status:  string(triage.StatusUnresolved),
		tags:    map[[2]string]*tagCount{}, hours: map[int64]int64{},
	}
	switch k % 10 {
	case 7, 8:
		is.status = string(triage.StatusResolved)
	case 9:
		is.status = string(triage.StatusIgnored)
	}
	// The issue lives from a random start to a random end within the span.
	begin := now.Add(-span).UnixMicro() + r.Int64N(span.Microseconds())
	end := begin + r.Int64N(now.UnixMicro()-begin+1)
	if k < 50 { // the loudest issues are still happening
		end = now.UnixMicro()
	}
	transaction := fmt.Sprintf("/api/%s/%d", word, k%500)
	server := fmt.Sprintf("web-%d", r.IntN(30))
	count := func(key, value string, at int64) {
		tk := [2]string{key, value}
		c := is.tags[tk]
		if c == nil {
			c = &tagCount{first: at, last: at}
			is.tags[tk] = c
		}
		c.n++
		c.first, c.last = min(c.first, at), max(c.last, at)
	}
	is.events = make([]event, n)
	is.first, is.last = math.MaxInt64, 0
	for j := range is.events {
		at := begin + r.Int64N(end-begin+1)
		if j == 0 {
			at = begin
		}
		env := envNames[r.IntN(len(envNames))]
		// Releases follow time: one a third of a day, web@1.0 … web@1.41.
		release := fmt.Sprintf("web@1.%d", (at-now.Add(-span).UnixMicro())/(8*time.Hour).Microseconds())
		e := event{id: fmt.Sprintf("%016x%016x", uint64(k)+1, uint64(j)), at: at, release: release, environment: env}
		is.events[j] = e
		is.first, is.last = min(is.first, at), max(is.last, at)
		count("level", is.level, at)
		count("environment", env, at)
		count("release", release, at)
		count("browser", browsers[zipfIndex(r, len(browsers))], at)
		count("os", systems[zipfIndex(r, len(systems))], at)
		count("server_name", server, at)
		count("transaction", transaction, at)
		count("url", fmt.Sprintf("https://shop.test/%s/item/%d", word, r.IntN(b.spec.URLs/len(words)+1)), at)
		count("customer_tier", tiers[r.IntN(len(tiers))], at)
		if r.IntN(10) > 0 { // one event in ten has no user
			count("user", fmt.Sprintf("id:%d", r.IntN(b.spec.Users)), at)
		}
		is.hours[at/1_000_000/3600*3600]++
		if old, ok := b.releases[is.project][release]; !ok || at < old {
			b.releases[is.project][release] = at
		}
		b.envs[is.project][env] = true
	}
	is.n = int64(n)
	for tk := range is.tags {
		if tk[0] == "user" {
			is.users++
		}
	}
	is.release = is.events[0].release
	return is
}

// zipfIndex picks from n choices, the first ones most often.
func zipfIndex(r *rand.Rand, n int) int {
	return min(n-1, int(float64(n)*math.Pow(r.Float64(), 2.5)))
}

// issues generates and writes every issue with its events, counts and
// hours, a transaction per 50,000 events or so.
func (b *builder) issues(ctx context.Context) error {
	counts := eventCounts(b.spec.Issues, b.spec.Events)
	var batch []*issue
	size, done := 0, 0
	last := time.Now()
	for k, n := range counts {
		batch = append(batch, b.gen(k, n))
		size += n
		if size < 50_000 && k < len(counts)-1 {
			continue
		}
		if err := b.write(ctx, batch); err != nil {
			return err
		}
		done += size
		batch, size = batch[:0], 0
		if time.Since(last) > 10*time.Second || k == len(counts)-1 {
			fmt.Fprintf(b.progress, "%d of %d events written\n", done, b.spec.Events)
			last = time.Now()
		}
	}
	return nil
}

// write stores a batch of generated issues in one transaction.
func (b *builder) write(ctx context.Context, batch []*issue) error {
	return b.s.InTx(ctx, func(tx *store.Tx) error {
		ids, err := b.insertIssues(ctx, tx.SQL, batch)
		if err != nil {
			return err
		}
		eng := b.s.Engine
		events := &bulk{engine: eng, tx: tx.SQL, table: "events", cols: []string{"project_id", "issue_id", "event_id", "timestamp", "received_at", "release", "environment", "data"}}
		tags := &bulk{engine: eng, tx: tx.SQL, table: "issue_tags", cols: []string{"issue_id", "key", "value", "times_seen", "first_seen", "last_seen"}}
		hours := &bulk{engine: eng, tx: tx.SQL, table: "issue_hours", cols: []string{"issue_id", "hour", "n"}}
		acts := &bulk{engine: eng, tx: tx.SQL, table: "activities", cols: []string{"issue_id", "type", "user_id", "source", "data", "created_at"}}
		for k, is := range batch {
			id, pid := ids[k], b.w.Projects[is.project].ID
			data, err := b.eventData(is)
			if err != nil {
				return err
			}
			for _, e := range is.events {
				if err := events.add(ctx, pid, id, e.id, e.at, e.at, e.release, e.environment, data); err != nil {
					return err
				}
			}
			keys := make([][2]string, 0, len(is.tags))
			for tk := range is.tags {
				keys = append(keys, tk)
				b.distinct[tk] = true
			}
			slices.SortFunc(keys, func(x, y [2]string) int { return strings.Compare(x[0]+"\x00"+x[1], y[0]+"\x00"+y[1]) })
			for _, tk := range keys {
				c := is.tags[tk]
				if err := tags.add(ctx, id, tk[0], tk[1], c.n, c.first, c.last); err != nil {
					return err
				}
			}
			b.tagRows += len(keys)
			for h, n := range is.hours {
				if err := hours.add(ctx, id, h, n); err != nil {
					return err
				}
			}
			eid, _ := json.Marshal(map[string]string{"eventId": is.events[0].id})
			if err := acts.add(ctx, id, triage.ActivityFirstSeen, nil, string(triage.SourceSystem), string(eid), is.first); err != nil {
				return err
			}
		}
		for _, bl := range []*bulk{events, tags, hours, acts} {
			if err := bl.flush(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertIssues inserts the batch's issues with their final counts and
// returns their ids in order.
func (b *builder) insertIssues(ctx context.Context, tx *sql.Tx, batch []*issue) ([]int64, error) {
	byHash := map[string]int64{}
	const cols = 14
	for off := 0; off < len(batch); off += 500 {
		part := batch[off:min(off+500, len(batch))]
		var sb strings.Builder
		args := make([]any, 0, cols*len(part))
		for k, is := range part {
			if k > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(placeholders(b.s.Engine, k*cols, cols))
			b.shortNum[is.project]++
			args = append(args, b.w.Projects[is.project].ID, b.shortNum[is.project], is.hash, is.title, is.culprit, is.level,
				is.status, is.n, is.first, is.last, is.release, is.users, 2, "{}")
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO issues (project_id, short_num, group_hash, title, culprit, level, status,
			times_seen, first_seen, last_seen, first_release, user_count, grouping_version, status_details) VALUES `+sb.String()+` RETURNING id, group_hash`, args...)
		if err != nil {
			return nil, fmt.Errorf("insert issues: %w", err)
		}
		for rows.Next() {
			var id int64
			var h string
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return nil, err
			}
			byHash[h] = id
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("insert issues: %w", err)
		}
	}
	ids := make([]int64, len(batch))
	for k, is := range batch {
		ids[k] = byHash[is.hash]
	}
	return ids, nil
}

// formatRaw is a stored-event format the event writer reads (0x02, then
// the SDK's JSON compressed with zstd: its formatZstd, which
// TestDecodesEventsStoredTheOldWay keeps readable).
const formatRaw = 0x02

// eventData is what every event of an issue stores: a small event the
// issue page can show.
func (b *builder) eventData(is *issue) ([]byte, error) {
	parts := strings.SplitN(is.title, ": ", 2)
	raw, err := json.Marshal(map[string]any{
		"level": is.level, "platform": "go", "release": is.release, "environment": is.events[0].environment,
		"exception": map[string]any{"values": []any{map[string]any{"type": parts[0], "value": parts[1],
			"stacktrace": map[string]any{"frames": []any{map[string]any{"module": "app", "function": is.culprit, "filename": "app.go", "lineno": 42, "in_app": true}}}}}},
	})
	if err != nil {
		return nil, err
	}
	return b.enc.EncodeAll(raw, []byte{formatRaw}), nil
}

// finish writes the projects' short id counters, environments and
// releases, vacuums and analyzes PostgreSQL's tables as autovacuum would,
// and sets the marker last.
func (b *builder) finish(ctx context.Context) error {
	err := b.s.InTx(ctx, func(tx *store.Tx) error {
		for k, p := range b.w.Projects {
			if _, err := tx.SQL.ExecContext(ctx, `UPDATE projects SET next_short_num = $1 WHERE id = $2`, b.shortNum[k]+1, p.ID); err != nil {
				return err
			}
			envs := make([]string, 0, len(b.envs[k]))
			for e := range b.envs[k] {
				envs = append(envs, e)
			}
			slices.Sort(envs)
			if err := tx.RecordEnvironments(ctx, p.ID, envs); err != nil {
				return err
			}
			for v, at := range b.releases[k] {
				if _, err := tx.SQL.ExecContext(ctx, `INSERT INTO releases (project_id, version, first_seen) VALUES ($1, $2, $3)`, p.ID, v, at); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if b.s.Engine == store.Postgres {
		// VACUUM as well as ANALYZE, outside a transaction as it must be:
		// autovacuum also vacuums a table that received many inserts, which
		// marks its pages all-visible so that index-only scans (a tag
		// filter's ids) skip the table; measured straight after building,
		// the database would otherwise look younger than any real one.
		if _, err := b.s.Pool().ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
	}
	_, err = b.s.SetSettingIfAbsent(ctx, Marker, b.spec.Fingerprint())
	return err
}

// bulk inserts rows into a table many at a time.
type bulk struct {
	engine store.Engine
	tx     *sql.Tx
	table  string
	cols   []string
	args   []any
	full   *sql.Stmt // the statement for a full chunk, prepared once
}

// bulkRows is how many rows one statement inserts: under SQLite's 32,766
// parameters with 8 columns.
const bulkRows = 1000

func (b *bulk) add(ctx context.Context, values ...any) error {
	b.args = append(b.args, values...)
	if len(b.args) >= bulkRows*len(b.cols) {
		return b.flush(ctx)
	}
	return nil
}

func (b *bulk) flush(ctx context.Context) error {
	n := len(b.args) / len(b.cols)
	if n == 0 {
		return nil
	}
	if n == bulkRows && b.full == nil {
		st, err := b.tx.PrepareContext(ctx, b.statement(n))
		if err != nil {
			return fmt.Errorf("prepare insert into %s: %w", b.table, err)
		}
		b.full = st
	}
	var err error
	if n == bulkRows {
		_, err = b.full.ExecContext(ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(ctx, b.statement(n), b.args...)
	}
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	b.args = b.args[:0]
	return nil
}

func (b *bulk) statement(rows int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES ")
	for k := range rows {
		if k > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(placeholders(b.engine, k*len(b.cols), len(b.cols)))
	}
	return sb.String()
}

// placeholders is "($from+1, …, $from+n)" on PostgreSQL and "(?, …)" on
// SQLite, whose binding looks each numbered parameter up by name: with
// thousands in a statement that lookup was most of the build's time.
func placeholders(engine store.Engine, from, n int) string {
	var sb strings.Builder
	sb.WriteByte('(')
	for k := range n {
		if k > 0 {
			sb.WriteString(", ")
		}
		if engine == store.SQLite {
			sb.WriteByte('?')
		} else {
			fmt.Fprintf(&sb, "$%d", from+k+1)
		}
	}
	sb.WriteByte(')')
	return sb.String()
}
