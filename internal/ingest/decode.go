package ingest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// zstdMaxWindow is the largest zstd window accepted: the 8 MiB every
// decoder must support, which bounds a decoder's memory whatever the frame
// header claims.
const zstdMaxWindow = 8 << 20

// DecodeBody reads a request body, undoes its Content-Encoding and returns
// the decoded bytes. It reads at most MaxCompressedBodySize bytes from body
// and produces at most MaxEnvelopeSize bytes, stopping (without allocating
// further) as soon as either is exceeded, with an ErrTooLarge error. Corrupt
// data or an unsupported encoding is ErrMalformed. sizeHint is the
// Content-Length when known (else ≤ 0) and only sizes the first buffer.
func DecodeBody(body io.Reader, contentEncoding string, sizeHint int64) ([]byte, error) {
	var d bodyDecoder
	return d.decode(body, contentEncoding, sizeHint, nil, nil)
}

// bodyDecoder keeps decompressors for reuse: their state is tens of
// kilobytes, which at thousands of requests a second is worth pooling. The
// zero value is ready to use.
type bodyDecoder struct {
	gzip, zlib, flate, zstd, brotli sync.Pool
}

// decode is DecodeBody drawing every buffer from g (nil: no budget). When
// head is set, it is given the first line of the decoded body (at most
// maxHeadLine bytes) before the rest is read, and an error from it ends
// the request there: an envelope whose only key is its header's dsn is
// authenticated before its body is buffered.
func (d *bodyDecoder) decode(body io.Reader, contentEncoding string, sizeHint int64, g *grant, head func(line []byte) error) ([]byte, error) {
	codings, err := parseContentEncoding(contentEncoding)
	if err != nil {
		return nil, err
	}
	in := &capReader{r: body, left: MaxCompressedBodySize}
	var r io.Reader = in
	for i := len(codings) - 1; i >= 0; i-- { // the last coding applied is undone first
		if err := g.grow(decoderCost(codings[i])); err != nil {
			return nil, err
		}
		var release func()
		r, release, err = d.open(r, codings[i])
		if release != nil {
			defer release()
		}
		if err != nil {
			return nil, d.classify(in, codings[i], err)
		}
	}
	coding := "identity"
	if len(codings) > 0 {
		coding = codings[0]
	}
	if len(codings) > 0 && sizeHint > 0 {
		sizeHint *= 4 // a guess at the compression ratio; only sizes the first buffer
	}
	if head != nil {
		read, line, err := readHeadLine(r, g)
		if err != nil {
			return nil, d.classify(in, coding, err)
		}
		if err := head(line); err != nil {
			return nil, err
		}
		r = io.MultiReader(bytes.NewReader(read), r)
	}
	out, err := readAtMost(r, "decompressed body", MaxEnvelopeSize, sizeHint, g)
	if err != nil {
		return nil, d.classify(in, coding, err)
	}
	return out, nil
}

// decoderCost is what a decompressor's state takes, counted against the
// budget: windows and tables, at most the 8 MiB window zstd allows.
func decoderCost(coding string) int64 {
	switch coding {
	case "zstd":
		return zstdMaxWindow + 256<<10
	case "br":
		return 16<<20 + 64<<10 // brotli's largest window
	}
	return 64 << 10
}

// maxHeadLine bounds an envelope's header line when it must be read before
// the rest of the body.
const maxHeadLine = 64 << 10

// readHeadLine reads r up to and including its first newline, at most
// maxHeadLine bytes, and returns what it read and the line without its
// line ending.
func readHeadLine(r io.Reader, g *grant) (read, line []byte, err error) {
	size := 4 << 10
	if err := g.grow(int64(size)); err != nil {
		return nil, nil, err
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= maxHeadLine {
				return nil, nil, malformed("the envelope header is not a line of at most %s", formatSize(maxHeadLine))
			}
			if err := g.grow(int64(2 * cap(buf))); err != nil {
				return nil, nil, err
			}
			buf = append(make([]byte, 0, 2*cap(buf)), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		if i := bytes.IndexByte(buf[len(buf):len(buf)+n], '\n'); i >= 0 {
			buf = buf[:len(buf)+n]
			line, _ := cutLine(buf)
			return buf, line, nil
		}
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			line, _ := cutLine(buf)
			return buf, line, nil
		}
		if err != nil {
			return nil, nil, err
		}
	}
}

// classify turns a read error into the error the client sees.
func (d *bodyDecoder) classify(in *capReader, coding string, err error) error {
	var busy *busyError
	switch {
	case errors.As(err, &busy):
		return err
	case in.exceeded:
		return tooLarge("request body", MaxCompressedBodySize)
	case in.err != nil:
		return malformed("reading the body: %v", in.err)
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrMalformed):
		return err
	default:
		return malformed("invalid %s data: %v", coding, err)
	}
}

func parseContentEncoding(v string) ([]string, error) {
	var codings []string
	for c := range strings.SplitSeq(v, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		switch c {
		case "", "identity":
			continue
		case "x-gzip":
			c = "gzip"
		case "gzip", "deflate", "br", "zstd":
		default:
			return nil, malformed("unsupported Content-Encoding %q", truncate(c, 32))
		}
		codings = append(codings, c)
	}
	if len(codings) > 3 {
		return nil, malformed("too many Content-Encoding layers")
	}
	return codings, nil
}

// open wraps r in a decompressor for coding; release returns it to its pool.
func (d *bodyDecoder) open(r io.Reader, coding string) (io.Reader, func(), error) {
	switch coding {
	case "gzip":
		return d.openGzip(r)
	case "deflate":
		return d.openDeflate(r)
	case "br":
		br, _ := d.brotli.Get().(*brotli.Reader)
		if br == nil {
			br = brotli.NewReader(r)
		} else if err := br.Reset(r); err != nil {
			return nil, nil, err
		}
		return br, func() { _ = br.Reset(eofReader{}); d.brotli.Put(br) }, nil
	case "zstd":
		zr, _ := d.zstd.Get().(*zstd.Decoder)
		if zr == nil {
			var err error
			zr, err = zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(MaxEnvelopeSize+1))
			if err != nil {
				return nil, nil, err
			}
		} else if err := zr.Reset(r); err != nil {
			return nil, func() { d.zstd.Put(zr) }, err
		}
		return zr, func() { _ = zr.Reset(nil); d.zstd.Put(zr) }, nil
	}
	return nil, nil, fmt.Errorf("unsupported coding %q", coding)
}

func (d *bodyDecoder) openGzip(r io.Reader) (io.Reader, func(), error) {
	zr, _ := d.gzip.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	release := func() { _ = zr.Reset(eofReader{}); d.gzip.Put(zr) }
	if err := zr.Reset(r); err != nil {
		return nil, release, err
	}
	return zr, release, nil
}

// openDeflate sniffs the first two bytes: HTTP's "deflate" is meant to be
// zlib-wrapped, but many clients send raw deflate, and a few send gzip.
func (d *bodyDecoder) openDeflate(r io.Reader) (io.Reader, func(), error) {
	var hdr [2]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	r = io.MultiReader(bytes.NewReader(hdr[:n]), r)
	switch {
	case n == 2 && hdr[0] == 0x1f && hdr[1] == 0x8b:
		return d.openGzip(r)
	case n == 2 && isZlibHeader(hdr[0], hdr[1]):
		if zr, _ := d.zlib.Get().(io.ReadCloser); zr != nil {
			release := func() { _ = zr.(zlib.Resetter).Reset(eofReader{}, nil); d.zlib.Put(zr) }
			if err := zr.(zlib.Resetter).Reset(r, nil); err != nil {
				return nil, release, err
			}
			return zr, release, nil
		}
		zr, err := zlib.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { _ = zr.(zlib.Resetter).Reset(eofReader{}, nil); d.zlib.Put(zr) }, nil
	default:
		fr, _ := d.flate.Get().(io.ReadCloser)
		if fr == nil {
			fr = flate.NewReader(r)
		} else if err := fr.(flate.Resetter).Reset(r, nil); err != nil {
			return nil, nil, err
		}
		return fr, func() { _ = fr.(flate.Resetter).Reset(eofReader{}, nil); d.flate.Put(fr) }, nil
	}
}

// isZlibHeader reports whether two bytes start a zlib stream (RFC 1950):
// method 8 (deflate), a window of at most 32 KiB and a valid check value.
func isZlibHeader(cmf, flg byte) bool {
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}

// eofReader lets pooled decompressors drop their reference to a request.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// capReader reads at most left bytes and fails once the source has more.
type capReader struct {
	r        io.Reader
	left     int64
	exceeded bool
	err      error // the underlying reader's failure, other than EOF
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.exceeded {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) > c.left {
		c.exceeded = true
		return int(c.left), ErrTooLarge
	}
	c.left -= int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// readAtMost reads r to EOF, at most limit bytes; more is ErrTooLarge. It
// reads into chunks of growing size and joins them at the end, so a body
// that turns out too large has cost at most limit bytes of buffers, and one
// that fits the first chunk (sized from sizeHint) is never copied.
//
// Every buffer is first granted from g (nil: no budget); the bytes stay
// granted until the request ends.
func readAtMost(r io.Reader, what string, limit int, sizeHint int64, g *grant) ([]byte, error) {
	size := 32 << 10
	if sizeHint > 0 {
		size = int(min(sizeHint+1, int64(limit)))
	}
	size = min(max(size, 512), limit)
	if err := g.grow(int64(size)); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size)
	var full [][]byte // chunks filled before buf
	total := 0        // bytes in full
	for {
		if len(buf) == cap(buf) {
			total += len(buf)
			full = append(full, buf)
			if total >= limit {
				if err := probeMore(r, what, limit); err != nil {
					return nil, err
				}
				if len(full) > 1 {
					if err := g.grow(int64(total)); err != nil {
						return nil, err
					}
				}
				return joinChunks(full, nil, total), nil
			}
			next := min(2*cap(buf), maxChunk, limit-total)
			if err := g.grow(int64(next)); err != nil {
				return nil, err
			}
			buf = make([]byte, 0, next)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if len(full) == 0 {
				return buf, nil
			}
			if err := g.grow(int64(total + len(buf))); err != nil {
				return nil, err
			}
			return joinChunks(full, buf, total+len(buf)), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// maxChunk caps readAtMost's chunks, so that the last one overshoots the
// data by little.
const maxChunk = 4 << 20

func joinChunks(full [][]byte, last []byte, n int) []byte {
	if len(full) == 1 && len(last) == 0 {
		return full[0]
	}
	out := make([]byte, 0, n)
	for _, c := range full {
		out = append(out, c...)
	}
	return append(out, last...)
}

// probeMore is called with a full buffer: EOF means the data fit exactly.
func probeMore(r io.Reader, what string, limit int) error {
	var one [1]byte
	for range 100 {
		n, err := r.Read(one[:])
		if n > 0 {
			return tooLarge(what, int64(limit))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// decodeLegacyStore undoes what raven clients did to /store/ bodies:
// base64, usually over zlib.
func decodeLegacyStore(b []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(b)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	dec := make([]byte, enc.DecodedLen(len(b)))
	n, err := enc.Decode(dec, b)
	if err != nil {
		return nil, malformed("store body is neither a JSON object nor base64")
	}
	dec = dec[:n]
	if len(dec) < 2 || !isZlibHeader(dec[0], dec[1]) {
		return dec, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(dec))
	if err != nil {
		return nil, malformed("invalid zlib data in store body: %v", err)
	}
	out, err := readAtMost(zr, "event", MaxEventSize, int64(4*len(dec)), nil)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, malformed("invalid zlib data in store body: %v", err)
	}
	return out, nil
}
