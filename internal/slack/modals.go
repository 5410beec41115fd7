package slack

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"triage"
)

// maxPrivateMetadata is Slack's limit on a view's private_metadata.
const maxPrivateMetadata = 3000

// choiceModal is the Block Kit modal asking how to resolve or ignore
// (kind modalResolve or modalIgnore). Its private_metadata carries the issue
// and the message it was opened from, so that submitting it rebuilds that
// message.
func choiceModal(kind string, meta modalMeta, issue *triage.Issue, issueURL string) slack.ModalViewRequest {
	choices, input, title, submit, label := resolveChoices, inputResolve, "Resolve issue", "Resolve", "Resolve"
	if kind == modalIgnore {
		choices, input, title, submit, label = ignoreChoices, inputIgnore, "Ignore issue", "Ignore", "Ignore"
	}
	md, _ := json.Marshal(meta)
	if len(md) > maxPrivateMetadata {
		meta.UnfurlURL = "" // a huge shared URL: refresh through the response URL instead
		md, _ = json.Marshal(meta)
	}
	opts := make([]*slack.OptionBlockObject, len(choices))
	for k, c := range choices {
		opts[k] = blockOption(c)
	}
	sel := &slack.SelectBlockElement{Type: slack.OptTypeStatic, ActionID: input, Options: opts, InitialOption: opts[0]}
	head := fmt.Sprintf("*<%s|%s>*  %s", issueURL, issue.ShortID(), escapeMrkdwn(truncate(issue.Title, 200)))
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(title),
		Submit:          plain(submit),
		Close:           plain("Cancel"),
		CallbackID:      kind,
		PrivateMetadata: string(md),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(head), nil, nil),
			slack.NewInputBlock(input, plain(label), nil, sel),
		}},
	}
}
