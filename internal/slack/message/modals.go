package message

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"triage"
)

// maxPrivateMetadata is Slack's limit on a view's private_metadata.
const maxPrivateMetadata = 3000

// ChoiceModal is the Block Kit modal asking how to resolve or ignore
// (kind modalResolve or modalIgnore). Its private_metadata carries the issue
// and the message it was opened from, so that submitting it rebuilds that
// message.
func ChoiceModal(kind string, meta ModalMeta, issue *triage.Issue, issueURL string) slack.ModalViewRequest {
	choices, input, title, submit, label := resolveChoices, InputResolve, "Resolve issue", "Resolve", "Resolve"
	if kind == ModalIgnore {
		choices, input, title, submit, label = ignoreChoices, InputIgnore, "Ignore issue", "Ignore", "Ignore"
	}
	md, _ := json.Marshal(meta)
	if len(md) > maxPrivateMetadata {
		meta.UnfurlURL = "" // a huge shared URL: refresh through the response URL instead
		md, _ = json.Marshal(meta)
	}
	opts := make([]*slack.OptionBlockObject, len(choices))
	for k, c := range choices {
		opts[k] = BlockOption(c)
	}
	sel := &slack.SelectBlockElement{Type: slack.OptTypeStatic, ActionID: input, Options: opts, InitialOption: opts[0]}
	head := fmt.Sprintf("*<%s|%s>*  %s", issueURL, issue.ShortID(), EscapeMrkdwn(Truncate(issue.Title, 200)))
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           Plain(title),
		Submit:          Plain(submit),
		Close:           Plain("Cancel"),
		CallbackID:      kind,
		PrivateMetadata: string(md),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(Mrkdwn(head), nil, nil),
			slack.NewInputBlock(input, Plain(label), nil, sel),
		}},
	}
}
