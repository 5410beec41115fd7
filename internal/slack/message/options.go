package message

import (
	"strconv"
	"strings"

	"github.com/slack-go/slack"
)

// MatchAssignees filters the assignable teams and people by what was
// typed (case-insensitive, anywhere in the slug, name or email), keeping
// at most maxStaticOptions in all.
func MatchAssignees(c *Card, typed string) (teams, people []Choice) {
	q := strings.ToLower(strings.TrimSpace(typed))
	n := 0
	for _, t := range c.Teams {
		if n < MaxStaticOptions && strings.Contains(strings.ToLower(t.Slug+" "+t.Name), q) {
			teams = append(teams, Choice{"team:" + strconv.FormatInt(t.ID, 10), Truncate("#"+t.Slug, 75)})
			n++
		}
	}
	for _, u := range c.Users {
		if n < MaxStaticOptions && strings.Contains(strings.ToLower(u.Name+" "+u.Email), q) {
			people = append(people, Choice{"user:" + strconv.FormatInt(u.ID, 10), Truncate(u.DisplayName(), 75)})
			n++
		}
	}
	return teams, people
}

// OptionGroups renders options in Block Kit's or the legacy shape.
func OptionGroups(teams, people []Choice, blockKit bool) map[string]any {
	var groups []any
	for _, g := range []struct {
		label string
		opts  []Choice
	}{{"Teams", teams}, {"People", people}} {
		if len(g.opts) == 0 {
			continue
		}
		if blockKit {
			grp := &slack.OptionGroupBlockObject{Label: Plain(g.label)}
			for _, o := range g.opts {
				grp.Options = append(grp.Options, BlockOption(o))
			}
			groups = append(groups, grp)
		} else {
			groups = append(groups, LegacyGroup{Text: g.label, Options: LegacyOptions(g.opts)})
		}
	}
	if len(groups) == 0 {
		return map[string]any{"options": []any{}}
	}
	return map[string]any{"option_groups": groups}
}
