package ingest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// compress encodes r with coding; "deflate" means zlib-wrapped, "rawdeflate"
// and "gzipdeflate" are what some clients send under "deflate".
func compress(t testing.TB, coding string, r io.Reader) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch coding {
	case "gzip", "gzipdeflate":
		w, err = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	case "deflate":
		w, err = zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	case "rawdeflate":
		w, err = flate.NewWriter(&buf, flate.BestSpeed)
	case "br":
		w = brotli.NewWriterLevel(&buf, brotli.BestSpeed)
	case "zstd":
		w, err = zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// headerFor is the Content-Encoding a client would send for a test coding.
func headerFor(coding string) string {
	switch coding {
	case "rawdeflate", "gzipdeflate":
		return "deflate"
	}
	return coding
}

func TestDecodeBodyCodings(t *testing.T) {
	t.Parallel()
	plain := []byte(strings.Repeat(`{"event_id":"abc"}`+"\n", 1000))
	for _, coding := range []string{"gzip", "deflate", "rawdeflate", "gzipdeflate", "br", "zstd"} {
		body := compress(t, coding, bytes.NewReader(plain))
		var d bodyDecoder
		for range 3 { // again with pooled decompressors
			got, err := d.decode(bytes.NewReader(body), headerFor(coding), int64(len(body)), nil, nil)
			if err != nil {
				t.Fatalf("%s: %v", coding, err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("%s: decoded %d bytes, want %d", coding, len(got), len(plain))
			}
		}
	}
	for _, enc := range []string{"", "identity", " Identity "} {
		got, err := DecodeBody(bytes.NewReader(plain), enc, -1)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("DecodeBody(%q) = %d bytes, %v", enc, len(got), err)
		}
	}
	// Layers are undone last first: "gzip, br" was gzipped, then brotli'd.
	layered := compress(t, "br", bytes.NewReader(compress(t, "gzip", bytes.NewReader(plain))))
	if got, err := DecodeBody(bytes.NewReader(layered), "gzip, br", -1); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("gzip, br: %d bytes, %v", len(got), err)
	}
	if got, err := DecodeBody(bytes.NewReader(compress(t, "gzip", bytes.NewReader(plain))), "X-GZIP", -1); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("x-gzip: %d bytes, %v", len(got), err)
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     []byte
		encoding string
		want     error
		reason   string
	}{
		{name: "unsupported", body: []byte("{}"), encoding: "compress", want: ErrMalformed, reason: "unsupported Content-Encoding"},
		{name: "too many layers", body: []byte("{}"), encoding: "gzip,gzip,gzip,gzip", want: ErrMalformed},
		{name: "not gzip", body: []byte(`{"a":1}`), encoding: "gzip", want: ErrMalformed, reason: "invalid gzip data"},
		{name: "not deflate", body: []byte{0xff, 0xff, 0xff}, encoding: "deflate", want: ErrMalformed, reason: "invalid deflate data"},
		{name: "empty deflate", body: nil, encoding: "deflate", want: ErrMalformed},
		{name: "not brotli", body: []byte("hello, not brotli at all"), encoding: "br", want: ErrMalformed, reason: "invalid br data"},
		{name: "not zstd", body: []byte(`{"a":1}`), encoding: "zstd", want: ErrMalformed, reason: "invalid zstd data"},
		{name: "truncated gzip", body: compress(t, "gzip", strings.NewReader(strings.Repeat("x", 10000)))[:20], encoding: "gzip", want: ErrMalformed},
	}
	for _, tt := range tests {
		_, err := DecodeBody(bytes.NewReader(tt.body), tt.encoding, -1)
		if !errors.Is(err, tt.want) || !strings.Contains(errText(err), tt.reason) {
			t.Errorf("%s: error = %v, want %v containing %q", tt.name, err, tt.want, tt.reason)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// zeros is an endless source of zero bytes, the classic bomb payload.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestDecodeBodyBombs decompresses 64 MiB of zeros in every coding and checks
// that decoding stops at the limit without allocating much past it.
//
// Not parallel: runtime.MemStats counts every goroutine's allocations.
func TestDecodeBodyBombs(t *testing.T) {
	const size = 64 << 20
	for _, coding := range []string{"gzip", "deflate", "rawdeflate", "br", "zstd"} {
		bomb := compress(t, coding, io.LimitReader(zeros{}, size))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeBody(bytes.NewReader(bomb), headerFor(coding), int64(len(bomb)))
		runtime.ReadMemStats(&after)
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.What != "decompressed body" {
			t.Errorf("%s bomb (%d bytes): error = %v, want decompressed body too large", coding, len(bomb), err)
		}
		// Buffers stop at MaxEnvelopeSize; the rest is decompressor state.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > MaxEnvelopeSize+12<<20 {
			t.Errorf("%s bomb: allocated %d MiB", coding, alloc>>20)
		}
	}
}

func TestDecodeBodyCompressedLimit(t *testing.T) {
	t.Parallel()
	_, err := DecodeBody(io.LimitReader(zeros{}, MaxCompressedBodySize+1), "", -1)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.What != "request body" {
		t.Fatalf("error = %v, want request body too large", err)
	}
	// A compressed body over the limit is refused for its own size even if
	// it would decompress to less.
	var stored bytes.Buffer
	w, _ := gzip.NewWriterLevel(&stored, gzip.NoCompression)
	_, _ = io.Copy(w, io.LimitReader(zeros{}, MaxCompressedBodySize))
	_ = w.Close()
	_, err = DecodeBody(bytes.NewReader(stored.Bytes()), "gzip", -1)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("gzip: error = %v, want ErrTooLarge", err)
	}
	// Exactly at the limit is fine.
	got, err := DecodeBody(io.LimitReader(zeros{}, MaxEnvelopeSize), "", MaxEnvelopeSize)
	if err != nil || len(got) != MaxEnvelopeSize {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
}

func TestReadAtMost(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n, limit int
		hint     int64
		wantErr  bool
	}{
		{n: 0, limit: 10}, {n: 10, limit: 10}, {n: 11, limit: 10, wantErr: true},
		{n: 5000, limit: 5000, hint: 1}, {n: 5001, limit: 5000, hint: 1 << 30, wantErr: true},
		{n: 100000, limit: 1 << 20, hint: 10},
	} {
		got, err := readAtMost(io.LimitReader(zeros{}, int64(tt.n)), "x", tt.limit, tt.hint, nil)
		if tt.wantErr {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%+v: error = %v, want ErrTooLarge", tt, err)
			}
			continue
		}
		if err != nil || len(got) != tt.n || cap(got) > tt.limit {
			t.Errorf("%+v: len %d cap %d, %v", tt, len(got), cap(got), err)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeBodyReadError(t *testing.T) {
	t.Parallel()
	_, err := DecodeBody(failingReader{}, "gzip", -1)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("error = %v", err)
	}
}

func TestIsZlibHeader(t *testing.T) {
	t.Parallel()
	for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression} {
		var buf bytes.Buffer
		w, _ := zlib.NewWriterLevel(&buf, level)
		_, _ = w.Write([]byte("x"))
		_ = w.Close()
		if b := buf.Bytes(); !isZlibHeader(b[0], b[1]) {
			t.Errorf("level %d: header %x not recognised", level, b[:2])
		}
	}
	raw := compress(t, "rawdeflate", strings.NewReader("hello"))
	if isZlibHeader(raw[0], raw[1]) {
		t.Errorf("raw deflate %x taken for zlib", raw[:2])
	}
}

func TestDecodeLegacyStore(t *testing.T) {
	t.Parallel()
	event := `{"message":"hello from raven"}`
	zlibbed := base64.StdEncoding.EncodeToString(compress(t, "deflate", strings.NewReader(event)))
	ev, err := ParseStore([]byte(zlibbed), fixedNow)
	if err != nil || ev.Message != "hello from raven" {
		t.Fatalf("zlib+base64: %+v, %v", ev, err)
	}
	plain64 := base64.RawStdEncoding.EncodeToString([]byte(event))
	if ev, err := ParseStore([]byte(plain64), fixedNow); err != nil || ev.Message != "hello from raven" {
		t.Fatalf("base64: %+v, %v", ev, err)
	}
	if _, err := ParseStore([]byte("not json, not base64!"), fixedNow); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: error = %v, want ErrMalformed", err)
	}
	bomb := base64.StdEncoding.EncodeToString(compress(t, "deflate", io.LimitReader(zeros{}, 8<<20)))
	if _, err := ParseStore([]byte(bomb), fixedNow); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: error = %v, want ErrTooLarge", err)
	}
}
