package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Bodies are rendered from templates: a whole envelope marshalled once per
// error kind with fixed-width placeholders for the event id and the
// timestamps, which are overwritten in place for each event. Rendering an
// event is then one copy and a hex encode, so the generator stays cheap.

const (
	idPlaceholder = "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE" // 32: the event id
	tsPlaceholder = "TTTTTTTTTTTTTTTTTTTTTTTTTTT"      // 27: tsLayout
	tsLayout      = "2006-01-02T15:04:05.000000Z"
	numRepeated   = 20 // the small set of errors that repeat
)

type template struct {
	buf   []byte // the envelope with placeholders
	idOff []int  // offsets of the event id slots
	tsOff []int  // offsets of the timestamp slots
}

// render writes the envelope for one event into dst[:0].
func (t *template) render(dst []byte, id *[16]byte, ts []byte) []byte {
	dst = append(dst[:0], t.buf...)
	for _, o := range t.idOff {
		hex.Encode(dst[o:o+32], id[:])
	}
	for _, o := range t.tsOff {
		copy(dst[o:o+len(tsLayout)], ts)
	}
	return dst
}

// generator decides, for event i, which error it carries and renders it.
type generator struct {
	dsn      string
	size     int
	unique   float64
	runTag   string // distinguishes this run's new errors from earlier runs'
	idKey    uint64
	repeated [numRepeated]*template
	pick     []uint8 // skewed choice among the repeated errors
}

func newGenerator(dsn string, size int, unique float64, seed uint64) (*generator, error) {
	g := &generator{dsn: dsn, size: size, unique: unique, idKey: mix64(seed ^ 0x9e3779b97f4a7c15)}
	g.runTag = fmt.Sprintf("%06x", mix64(seed)&0xffffff)
	for k := range g.repeated {
		t, err := g.template(repeatedKind(k))
		if err != nil {
			return nil, err
		}
		g.repeated[k] = t
		for range numRepeated - k { // kind 0 is 20x as frequent as kind 19
			g.pick = append(g.pick, uint8(k))
		}
	}
	return g, nil
}

// isUnique reports whether event i is a new error, and which one: exactly
// floor(n*unique) of the first n events are, spread evenly.
func (g *generator) isUnique(i int) (int, bool) {
	a, b := int(float64(i)*g.unique), int(float64(i+1)*g.unique)
	return a, b > a
}

// eventID is unique per i within a run (the low half is a bijection of i)
// and random-looking, like the SDKs' UUIDv4 hex.
func (g *generator) eventID(i int) [16]byte {
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], mix64(mix64(uint64(i))^g.idKey))
	binary.BigEndian.PutUint64(id[8:], mix64(uint64(i)^g.idKey))
	return id
}

// templateFor returns the template of event i.
func (g *generator) templateFor(i int) (*template, error) {
	if j, ok := g.isUnique(i); ok {
		return g.template(uniqueKind(j, g.runTag))
	}
	return g.repeated[g.pick[mix64(uint64(i)^0x5bd1e995)%uint64(len(g.pick))]], nil
}

// builder renders bodies for one goroutine, reusing its buffers.
type builder struct {
	g    *generator
	gz   *gzip.Writer
	raw  []byte
	zbuf bytes.Buffer
	ts   []byte
}

func (g *generator) newBuilder(gzipped bool) *builder {
	b := &builder{g: g}
	if gzipped {
		b.gz, _ = gzip.NewWriterLevel(&b.zbuf, gzip.DefaultCompression)
	}
	return b
}

// body renders event i; the result is valid until the next call.
func (b *builder) body(i int, now time.Time) ([]byte, [16]byte, error) {
	t, err := b.g.templateFor(i)
	id := b.g.eventID(i)
	if err != nil {
		return nil, id, err
	}
	b.ts = now.UTC().AppendFormat(b.ts[:0], tsLayout)
	b.raw = t.render(b.raw, &id, b.ts)
	if b.gz == nil {
		return b.raw, id, nil
	}
	b.zbuf.Reset()
	b.gz.Reset(&b.zbuf)
	b.gz.Write(b.raw)
	if err := b.gz.Close(); err != nil {
		return nil, id, err
	}
	return b.zbuf.Bytes(), id, nil
}

// mix64 is splitmix64's finalizer: a bijection on uint64.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// kind is one distinct error: what groups it is the thrown type and the
// in-app frames' modules and functions.
type kind struct {
	typ, module, value string
	level              string
	transaction        string
	inApp              []frame // oldest call first
	seq                int     // varies the padding and metadata
}

type frame struct {
	Function    string   `json:"function"`
	Module      string   `json:"module"`
	Filename    string   `json:"filename"`
	AbsPath     string   `json:"abs_path"`
	Lineno      int      `json:"lineno"`
	InApp       bool     `json:"in_app"`
	PreContext  []string `json:"pre_context,omitempty"`
	ContextLine string   `json:"context_line,omitempty"`
	PostContext []string `json:"post_context,omitempty"`
}

var errTypes = []struct{ typ, module, value string }{
	{"*errors.errorString", "errors", "order not found"},
	{"*fmt.wrapError", "fmt", "checkout: charge card: context deadline exceeded"},
	{"*fs.PathError", "io/fs", "open /var/lib/shop/invoices/2024-06.pdf: no such file or directory"},
	{"*net.OpError", "net", "dial tcp 10.0.3.17:5432: connect: connection refused"},
	{"*url.Error", "net/url", `Post "https://payments.example.net/v2/charges": EOF`},
	{"*json.SyntaxError", "encoding/json", "invalid character '}' looking for beginning of object key string"},
	{"*strconv.NumError", "strconv", `strconv.Atoi: parsing "12a": invalid syntax`},
	{"*pgconn.PgError", "github.com/jackc/pgx/v5/pgconn", `ERROR: duplicate key value violates unique constraint "orders_pkey" (SQLSTATE 23505)`},
	{"runtime.boundsError", "runtime", "runtime error: index out of range [3] with length 3"},
	{"*errors.joinError", "errors", "validate cart: quantity must be positive\nsku is required"},
	{"context.deadlineExceededError", "context", "context deadline exceeded"},
}

var (
	nouns = []string{"Order", "Cart", "Invoice", "Payment", "User", "Shipment", "Catalog"}
	verbs = []string{"Create", "Update", "Checkout", "Refund", "Load"}
	hosts = []string{"web-1", "web-2", "web-3", "worker-1"}
)

var srcLines = []string{
	"\tctx, cancel := context.WithTimeout(ctx, 5*time.Second)",
	"\tdefer cancel()",
	"\trows, err := s.db.QueryContext(ctx, query, id)",
	"\tif err != nil {",
	"\t\treturn nil, fmt.Errorf(\"query orders: %w\", err)",
	"\t}",
	"\tdefer rows.Close()",
	"\tfor rows.Next() {",
	"\t\tif err := rows.Scan(&o.ID, &o.Total, &o.Currency); err != nil {",
	"\tw.Header().Set(\"Content-Type\", \"application/json\")",
	"\treturn json.NewEncoder(w).Encode(resp)",
	"\th.ServeHTTP(w, r.WithContext(ctx))",
	"\tif len(items) == 0 && req.Coupon != \"\" {",
	"\tresp, err := c.http.Do(req)",
}

func lines(seed, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = srcLines[(seed*7+i*3)%len(srcLines)]
	}
	return out
}

func repeatedKind(k int) kind {
	et := errTypes[k%len(errTypes)]
	noun, verb := nouns[k%len(nouns)], verbs[k%len(verbs)] // distinct pairs for k < 35
	pkg := strings.ToLower(noun)
	mod := "example.com/shop/internal/" + pkg
	kd := kind{
		typ: et.typ, module: et.module, value: et.value, level: "error", seq: k,
		transaction: "POST /api/" + pkg + "s/{id}/" + strings.ToLower(verb),
	}
	if k%9 == 8 {
		kd.level = "fatal"
	}
	kd.inApp = []frame{
		appFrame("example.com/shop/internal/web", "(*Server).routes.func"+fmt.Sprint(k%6+1), "internal/web/routes.go", 40+k, k),
		appFrame(mod, "(*"+noun+"Handler)."+verb, "internal/"+pkg+"/handler.go", 60+3*k, k+1),
		appFrame(mod, "(*"+noun+"Service)."+verb, "internal/"+pkg+"/service.go", 110+5*k, k+2),
		appFrame(mod, "(*"+noun+"Store).load", "internal/"+pkg+"/store.go", 30+2*k, k+3),
	}
	return kd
}

// uniqueKind is new error j of this run: its own type and function.
func uniqueKind(j int, runTag string) kind {
	kd := repeatedKind(j % numRepeated)
	kd.seq = j
	kd.typ = fmt.Sprintf("*jobs.StepError_%s_%d", runTag, j)
	kd.module = "example.com/shop/internal/jobs"
	kd.value = fmt.Sprintf("job %d failed at step %d", 1000+j, j%7)
	kd.inApp = append(kd.inApp[:len(kd.inApp):len(kd.inApp)],
		appFrame("example.com/shop/internal/jobs", fmt.Sprintf("(*Runner).step_%s_%d", runTag, j), "internal/jobs/steps.go", 200+j%500, j))
	return kd
}

func appFrame(mod, fn, file string, line, seed int) frame {
	return frame{
		Function: fn, Module: mod, Filename: file, AbsPath: "/app/" + file, Lineno: line, InApp: true,
		PreContext: lines(seed, 2), ContextLine: srcLines[(seed*5)%len(srcLines)], PostContext: lines(seed+1, 1),
	}
}

var libFrames = []struct{ mod, fn, file string }{
	{"runtime", "goexit", "runtime/asm_amd64.s"},
	{"net/http", "(*conn).serve", "net/http/server.go"},
	{"net/http", "serverHandler.ServeHTTP", "net/http/server.go"},
	{"github.com/getsentry/sentry-go/http", "(*Handler).handle.func1", "github.com/getsentry/sentry-go/http@v0.46.2/sentryhttp.go"},
	{"github.com/go-chi/chi/v5", "(*Mux).ServeHTTP", "github.com/go-chi/chi/v5@v5.2.1/mux.go"},
	{"github.com/go-chi/chi/v5/middleware", "Recoverer.func1", "github.com/go-chi/chi/v5@v5.2.1/middleware/recoverer.go"},
	{"net/http", "HandlerFunc.ServeHTTP", "net/http/server.go"},
	{"database/sql", "(*DB).QueryContext", "database/sql/sql.go"},
	{"database/sql", "(*DB).queryDC", "database/sql/sql.go"},
	{"github.com/jackc/pgx/v5/stdlib", "(*Conn).QueryContext", "github.com/jackc/pgx/v5@v5.7.2/stdlib/sql.go"},
	{"encoding/json", "(*decodeState).object", "encoding/json/decode.go"},
	{"net/http", "(*Client).do", "net/http/client.go"},
}

func libFrame(n int) frame {
	lf := libFrames[n%len(libFrames)]
	abs := "/usr/local/go/src/" + lf.file
	if strings.Contains(lf.file, "@") {
		abs = "/root/go/pkg/mod/" + lf.file
	}
	return frame{
		Function: lf.fn, Module: lf.mod, Filename: lf.file, AbsPath: abs, Lineno: 100 + (n*37)%3000,
		PreContext: lines(n, 2), ContextLine: srcLines[n%len(srcLines)], PostContext: lines(n+2, 2),
	}
}

// event is the JSON a Go SDK would send for kd, padded with library frames
// (and a last bit of extra context) to about size bytes.
func (g *generator) event(kd kind) ([]byte, error) {
	k := kd.seq
	host := hosts[k%len(hosts)]
	ev := map[string]any{
		"event_id":    idPlaceholder,
		"timestamp":   tsPlaceholder,
		"level":       kd.level,
		"platform":    "go",
		"logger":      "shop",
		"server_name": host,
		"release":     "shop@1.42.0",
		"environment": "production",
		"transaction": kd.transaction,
		"sdk":         map[string]string{"name": "sentry.go", "version": "0.46.2"},
		"tags": map[string]string{
			"region": []string{"eu-west-1", "us-east-1"}[k%2], "customer_tier": []string{"free", "pro", "enterprise"}[k%3],
			"http.method": "POST", "handler": kd.transaction, "goroutine": fmt.Sprint(100 + k),
		},
		"user": map[string]string{"id": fmt.Sprint(4200 + k), "email": fmt.Sprintf("user%d@example.com", 4200+k), "ip_address": fmt.Sprintf("10.1.%d.%d", k%250, 1+k%200)},
		"contexts": map[string]any{
			"os":      map[string]string{"name": "linux", "kernel_version": "6.8.0-45-generic"},
			"runtime": map[string]any{"name": "go", "version": "go1.26.8", "go_maxprocs": 2, "go_numcgocalls": 1, "go_numroutines": 40 + k},
			"device":  map[string]any{"arch": "amd64", "num_cpu": 2},
			"trace":   map[string]string{"trace_id": fmt.Sprintf("%032x", mix64(uint64(k))), "span_id": fmt.Sprintf("%016x", mix64(uint64(k)+1))},
		},
		"request": map[string]any{
			"url": "https://shop.example.com" + strings.ReplaceAll(kd.transaction[5:], "{id}", fmt.Sprint(90000+k)), "method": "POST",
			"headers": map[string]string{"User-Agent": "shop-web/1.42 (+https://shop.example.com)", "X-Request-Id": fmt.Sprintf("%016x", mix64(uint64(k)+7))},
		},
	}
	exc := map[string]any{"type": kd.typ, "value": kd.value, "module": kd.module}
	if kd.level == "fatal" {
		exc["mechanism"] = map[string]any{"type": "panic", "handled": false}
	}
	ev["exception"] = map[string]any{"values": []any{exc}}

	frames := append([]frame(nil), kd.inApp...)
	setFrames := func(pad int) {
		fs := make([]frame, 0, pad+len(frames))
		for p := range pad {
			fs = append(fs, libFrame(k+p))
		}
		exc["stacktrace"] = map[string]any{"frames": append(fs, frames...)}
	}
	setFrames(0)
	out, err := marshal(ev)
	if err != nil {
		return nil, err
	}
	if deficit := g.size - len(out); deficit > 0 {
		pad := 0
		for ; pad < 150; pad++ { // library frames while they fit
			one, _ := marshal(libFrame(k + pad))
			if deficit -= len(one) + 1; deficit < 0 {
				break
			}
		}
		setFrames(pad)
		if out, err = marshal(ev); err != nil {
			return nil, err
		}
		if rest := g.size - len(out) - len(`,"extra":{"request_body":""}`); rest > 0 {
			ev["extra"] = map[string]string{"request_body": filler(rest, k)}
			out, err = marshal(ev)
		}
	}
	return out, err
}

func filler(n, seed int) string {
	const text = "items=SKU-1042x2,SKU-2211x1,SKU-0917x4; coupon=SUMMER; shipping=express; note=leave at the door; "
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(text[seed%7:])
	}
	return b.String()[:n]
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// template builds the envelope for kd: envelope header, item header with
// the payload's length, the event.
func (g *generator) template(kd kind) (*template, error) {
	ev, err := g.event(kd)
	if err != nil {
		return nil, err
	}
	hdr, err := marshal(map[string]any{
		"event_id": idPlaceholder, "sent_at": tsPlaceholder, "dsn": g.dsn,
		"sdk": map[string]string{"name": "sentry.go", "version": "0.46.2"},
	})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(hdr) + len(ev) + 64)
	b.Write(hdr)
	fmt.Fprintf(&b, "\n{\"type\":\"event\",\"length\":%d}\n", len(ev))
	b.Write(ev)
	b.WriteByte('\n')
	t := &template{buf: b.Bytes(), idOff: offsets(b.Bytes(), idPlaceholder), tsOff: offsets(b.Bytes(), tsPlaceholder)}
	if len(t.idOff) != 2 || len(t.tsOff) != 2 {
		return nil, fmt.Errorf("template: found %d id and %d timestamp slots, want 2 and 2", len(t.idOff), len(t.tsOff))
	}
	return t, nil
}

func offsets(b []byte, s string) []int {
	var out []int
	for o := 0; ; {
		i := bytes.Index(b[o:], []byte(s))
		if i < 0 {
			return out
		}
		out = append(out, o+i)
		o += i + len(s)
	}
}
