package message

import (
	"strconv"
	"strings"

	"github.com/slack-go/slack"
)

// A list of issues in one message (/triage issues) is ephemeral: Slack
// sends no copy of it with a click, and a response URL can only replace
// it whole. So that a click updates its row and keeps the list, each
// row's actions block names the list: "issue:<id>;in=<id>.<id>…;q=<query>"
// (the query shown in the list's intro, dropped when the block id would
// pass Slack's 255 characters). ParseIssueID reads the issue before the
// first ";".

// ListRef is the list a row belongs to: its issues in order and the
// query that found them.
type ListRef struct {
	IDs   []int64
	Query string
}

// maxBlockID is Slack's limit on a block_id.
const maxBlockID = 255

// rowBlockID is the actions block id of the row of issueID in the list.
func (r ListRef) rowBlockID(issueID int64) string {
	if len(r.IDs) == 0 {
		return blockID(issueID)
	}
	var b strings.Builder
	b.WriteString(blockID(issueID))
	b.WriteString(";in=")
	for k, id := range r.IDs {
		if k > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	base := b.String()
	if r.Query == "" {
		return base
	}
	if full := base + ";q=" + r.Query; len(full) <= maxBlockID {
		return full
	}
	return base
}

// ParseListRef reads the list named by a row's block id; ok is false for
// a block that is no list's row (a card, a Home tab row).
func ParseListRef(blockID string) (ListRef, bool) {
	_, rest, found := strings.Cut(blockID, ";in=")
	if !found {
		return ListRef{}, false
	}
	ids, query, _ := strings.Cut(rest, ";q=")
	var r ListRef
	for _, s := range strings.Split(ids, ".") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return ListRef{}, false
		}
		r.IDs = append(r.IDs, id)
	}
	if len(r.IDs) == 0 || len(r.IDs) > 20 {
		return ListRef{}, false
	}
	r.Query = query
	return r, true
}

// Encode is the list as a modal's metadata carries it ("" for none).
func (r ListRef) Encode() string {
	if len(r.IDs) == 0 {
		return ""
	}
	return strings.TrimPrefix(r.rowBlockID(r.IDs[0]), blockID(r.IDs[0]))
}

// DecodeListRef reads what Encode wrote.
func DecodeListRef(s string) (ListRef, bool) {
	if s == "" {
		return ListRef{}, false
	}
	return ParseListRef("issue:0" + s)
}

// IssueList is the blocks of a short list of issues (/triage issues):
// an intro line, then each issue with its controls, each row naming the
// list (ref) so that a click on it can redraw the whole list.
func IssueList(intro string, items []ListItem, ref ListRef) []slack.Block {
	blocks := []slack.Block{slack.NewSectionBlock(Mrkdwn(intro), nil, nil)}
	for _, it := range items {
		row := it.ItemBlocks()
		if ab, ok := row[len(row)-1].(*slack.ActionBlock); ok {
			ab.BlockID = ref.rowBlockID(it.Card.Issue.ID)
		}
		blocks = append(blocks, row...)
	}
	return blocks
}
