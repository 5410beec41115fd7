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
	// Rows of the SDK's JSON alone compressed with zstd behind the format
	// byte 0x02 (written before S2, and by internal/seed).
	got, err = w.Decode(store.StoredEvent{EventID: in.EventID, Received: in.Received, Data: enc.EncodeAll(in.Raw, []byte{0x02})})
	if err != nil {
		t.Fatal(err)
	}
	if got.EventID != in.EventID || got.Release != "1.4" || got.Exceptions[0].Type != "ValueError" || string(got.Raw) != string(in.Raw) {
		t.Errorf("zstd row decoded to %+v", got)
	}
}

// TestStoredEventClaimingHugeSizeIsRefused: an S2 row whose header says it
// holds more than any accepted event fails to decode instead of
// allocating what it claims.
func TestStoredEventClaimingHugeSizeIsRefused(t *testing.T) {
	w := eventwriter.New(dbtest.Open(t, store.SQLite, nil), nil, nil, nil, nil)
	// 0x03, then S2's length varint (1 GiB) and a literal.
	data := []byte{0x03, 0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 'x'}
	if _, err := w.Decode(store.StoredEvent{EventID: "e", Data: data}); err == nil {
		t.Fatal("a row claiming 1 GiB decoded")
	}
}
