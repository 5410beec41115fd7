package message

import (
	"strings"
	"testing"
)

func TestListRefRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ref       ListRef
		wantQuery string
	}{
		{ListRef{IDs: []int64{4, 17, 9}}, ""},
		{ListRef{IDs: []int64{4}, Query: "assigned:me level:error"}, "assigned:me level:error"},
		// A query too long for Slack's 255-character block id is dropped; the ids stay.
		{ListRef{IDs: []int64{1, 2, 3, 4, 5}, Query: strings.Repeat("x", 300)}, ""},
	} {
		id := tc.ref.rowBlockID(tc.ref.IDs[0])
		if len(id) > maxBlockID {
			t.Errorf("block id %d characters", len(id))
		}
		got, ok := ParseListRef(id)
		if !ok || len(got.IDs) != len(tc.ref.IDs) || got.Query != tc.wantQuery {
			t.Errorf("ParseListRef(%q) = %+v, %v", id, got, ok)
		}
		if is, ok := ParseIssueID(id); !ok || is != tc.ref.IDs[0] {
			t.Errorf("ParseIssueID(%q) = %d, %v", id, is, ok)
		}
		back, ok := DecodeListRef(tc.ref.Encode())
		if !ok || len(back.IDs) != len(tc.ref.IDs) || back.Query != tc.wantQuery {
			t.Errorf("DecodeListRef(Encode()) = %+v, %v", back, ok)
		}
	}
	for _, bad := range []string{"issue:4", "issue:4;in=", "issue:4;in=a.b", "issue:4;in=-1"} {
		if _, ok := ParseListRef(bad); ok {
			t.Errorf("ParseListRef(%q) accepted", bad)
		}
	}
}
