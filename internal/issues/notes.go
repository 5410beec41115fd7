package issues

import (
	"context"
	"strings"
	"unicode/utf8"

	"triage"
	"triage/internal/store"
)

// MaxNoteLength bounds a comment, in characters: a note is a few
// sentences, not a log file.
const MaxNoteLength = 8000

// Comment adds a note to the issue, written by origin's actor: anyone who
// may see the issue's project may comment. The note is one activity entry
// of type triage.ActivityNote with Data["text"], published to the
// subscribers like every change (Change.Note), and returned with its
// author's email and name. It returns EINVALID when the text is empty (or
// only spaces) or longer than MaxNoteLength, and ENOTFOUND or EFORBIDDEN
// as Get does.
func (s *Service) Comment(ctx context.Context, origin Origin, issueID int64, text string) (*triage.Activity, error) {
	actor := origin.Actor
	if actor.UserID == 0 {
		return nil, triage.Errorf(triage.EUNAUTHORIZED, "a comment needs a user")
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, triage.Errorf(triage.EINVALID, "text must not be empty")
	}
	if n := utf8.RuneCountInString(text); n > MaxNoteLength {
		return nil, triage.Errorf(triage.EINVALID, "text is %d characters long: at most %d", n, MaxNoteLength)
	}
	var note *triage.Activity
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		// Locked like any change, so that a note and a status change of
		// the same issue reach the subscribers in the order they were made.
		issue, err := s.authorize(ctx, tx.Queries, actor.UserID, issueID, true)
		if err != nil {
			return err
		}
		author, err := tx.UserByID(ctx, actor.UserID)
		if err != nil {
			return err
		}
		data := map[string]any{"text": text}
		if actor.SlackUserID != "" {
			data["slackUser"] = actor.SlackUserID
		}
		note = &triage.Activity{IssueID: issue.ID, Type: triage.ActivityNote, User: author, Source: actor.Source, Data: data, CreatedAt: s.now().UTC()}
		if err := tx.AddActivity(ctx, note); err != nil {
			return err
		}
		return s.publish(ctx, tx, Change{Issue: issue, Activity: note, Origin: origin})
	})
	if err != nil {
		return nil, err
	}
	return note, nil
}

// SlackNote is a reply in a card's thread by a Slack user not linked to
// Triage: kept on the issue as "Slack user <Name>".
type SlackNote struct {
	IssueID     int64
	SlackUserID string
	Name        string
	Text        string
	// Message is the card whose thread the reply is in: that thread is
	// not told of the comment (it is there already).
	Message *SlackMessage
}

// CommentFromSlack adds the note of a Slack user who is not linked. There
// is no Triage user to check: the caller has checked that the workspace
// serves the issue's organization, and the card is one Triage posted
// there. It returns EINVALID for an empty or too long text and ENOTFOUND
// when the issue is gone.
func (s *Service) CommentFromSlack(ctx context.Context, n SlackNote) (*triage.Activity, error) {
	text := strings.TrimSpace(n.Text)
	if text == "" {
		return nil, triage.Errorf(triage.EINVALID, "text must not be empty")
	}
	if k := utf8.RuneCountInString(text); k > MaxNoteLength {
		return nil, triage.Errorf(triage.EINVALID, "text is %d characters long: at most %d", k, MaxNoteLength)
	}
	origin := Origin{Actor: triage.Actor{Source: triage.SourceSlack, SlackUserID: n.SlackUserID}, SlackMessage: n.Message}
	var note *triage.Activity
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		// Locked like any change (see Comment); there is no user to check.
		issue, _, err := tx.IssueForUser(ctx, n.IssueID, 0, true)
		if err != nil {
			return err
		}
		data := map[string]any{"text": text, "slackUser": n.SlackUserID, "slackName": n.Name}
		note = &triage.Activity{IssueID: issue.ID, Type: triage.ActivityNote, Source: triage.SourceSlack, Data: data, CreatedAt: s.now().UTC()}
		if err := tx.AddActivity(ctx, note); err != nil {
			return err
		}
		return s.publish(ctx, tx, Change{Issue: issue, Activity: note, Origin: origin})
	})
	if err != nil {
		return nil, err
	}
	return note, nil
}

// Comments returns the issue's notes, newest first, if the user may see
// it (ENOTFOUND or EFORBIDDEN as Get).
func (s *Service) Comments(ctx context.Context, userID, issueID int64) ([]*triage.Activity, error) {
	if _, err := s.Get(ctx, userID, issueID); err != nil {
		return nil, err
	}
	return s.store.ActivitiesOfType(ctx, issueID, triage.ActivityNote, 1000)
}
