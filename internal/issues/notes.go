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

// Comments returns the issue's notes, newest first, if the user may see
// it (ENOTFOUND or EFORBIDDEN as Get).
func (s *Service) Comments(ctx context.Context, userID, issueID int64) ([]*triage.Activity, error) {
	if _, err := s.Get(ctx, userID, issueID); err != nil {
		return nil, err
	}
	return s.store.ActivitiesOfType(ctx, issueID, triage.ActivityNote, 1000)
}
