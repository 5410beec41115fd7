package eventwriter_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"triage/internal/eventwriter"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestDecodesEventsStoredTheOldWay: rows written before events were stored
// as the SDK's JSON alone (a zstd frame of the normalized JSON, a newline
// and the SDK's JSON) still read back, and so do new ones, to the same
// event.
func TestDecodesEventsStoredTheOldWay(t *testing.T) {
	in := event(t, 3, "ValueError", "bad input", "parse", 12, "1.4")
	norm, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := zstd.NewWriter(nil)
	old := enc.EncodeAll(append(append(norm, '\n'), in.Raw...), nil)
	w := eventwriter.New(dbtest.Open(t, store.SQLite, nil), nil, nil, nil, nil)
	got, err := w.Decode(store.StoredEvent{EventID: in.EventID, Received: in.Received, Data: old})
	if err != nil {
		t.Fatal(err)
	}
	if got.EventID != in.EventID || got.Release != "1.4" || got.Exceptions[0].Type != "ValueError" || string(got.Raw) != string(in.Raw) {
		t.Errorf("old row decoded to %+v", got)
	}
	if !got.Received.Equal(in.Received.Truncate(time.Microsecond)) && !got.Received.Equal(in.Received) {
		t.Errorf("received %v, want %v", got.Received, in.Received)
	}
}
