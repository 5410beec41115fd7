package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/config"
	"triage/internal/jobs"
	"triage/internal/mail"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
	"triage/internal/testutil/mailpit"
)

func sender(mp *mailpit.Server) *mail.SMTP {
	return mail.NewSMTP(config.SMTP{Host: mp.SMTPHost, Port: mp.SMTPPort, Username: "triage", Password: "secret",
		Security: config.SMTPPlain}, "Triage <triage@example.test>")
}

func TestSMTPSendsTextAndHTML(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	to := mailpit.Address(t, "parts")
	tpl := mail.MustTemplate(`Hello {{.Name}}`, "Plain {{.Name}}: {{.URL}}\n", `<p>HTML <a href="{{.URL}}">{{.Name}} &amp; co</a></p>`)
	msg, err := tpl.Render(to, map[string]string{"Name": "Ada <3", "URL": "http://triage.test/x/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sender(mp).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := mp.Wait(t, to, 1)[0]
	if got.Subject != "Hello Ada <3" || got.From.Address != "triage@example.test" || !slices.Equal(got.Recipients(), []string{to}) {
		t.Errorf("received subject %q from %q to %v", got.Subject, got.From.Address, got.Recipients())
	}
	if !strings.Contains(got.Text, "Plain Ada <3: http://triage.test/x/") {
		t.Errorf("text part: %q", got.Text)
	}
	if !strings.Contains(got.HTML, `<a href="http://triage.test/x/">Ada &lt;3 &amp; co</a>`) {
		t.Errorf("HTML part (escaped name, the link): %q", got.HTML)
	}
	if links := got.Links(); !slices.Equal(links, []string{"http://triage.test/x/"}) {
		t.Errorf("links in the text: %v", links)
	}
}

func TestSMTPFailures(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	// Nothing listens on a port just closed: a failure that may heal.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	down := mail.NewSMTP(config.SMTP{Host: "127.0.0.1", Port: port, Security: config.SMTPPlain}, "triage@example.test")
	err = down.Send(context.Background(), mail.Message{To: "a@example.test", Subject: "s", Text: "t"})
	if err == nil {
		t.Fatal("sending to a closed port succeeded")
	}
	if reason, ok := mail.Permanent(err); ok {
		t.Errorf("a server that is down is permanent (%s): it may come back", reason)
	}
	err = sender(mp).Send(context.Background(), mail.Message{To: "not an address", Subject: "s", Text: "t"})
	if reason, ok := mail.Permanent(err); !ok || reason != "bad_recipient" {
		t.Errorf("a bad recipient: %v, reason %q; want permanent bad_recipient", err, reason)
	}
}

// composer is a Composer for the worker tests.
type composer struct {
	mu     sync.Mutex
	err    error
	failed []string
	sent   []string
}

func (c *composer) Compose(_ context.Context, ref int64, to string) (mail.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return mail.Message{}, c.err
	}
	return mail.Message{Subject: "Ref " + strings.Repeat("#", int(ref)), Text: "hello " + to}, nil
}

func (c *composer) Failed(_ context.Context, ref int64, to, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, to+" "+reason)
	return nil
}

func (c *composer) Sent(_ context.Context, ref int64, to string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, to)
	return nil
}

func (c *composer) snapshot() (failed, sent []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.failed), slices.Clone(c.sent)
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWorkerSendsQueuedMail sends through River on both engines: a job
// inserted in a transaction goes out once it commits; a rolled-back one
// never does; a permanent failure reaches the composer.
func TestWorkerSendsQueuedMail(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := dbtest.URL(t, engine)
			s, err := store.Open(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			good, bad, gone := &composer{}, &composer{err: mail.Permanently("address_gone", errors.New("no such user"))}, &composer{err: triage.Errorf(triage.ENOTFOUND, "revoked")}
			worker := mail.NewWorker(sender(mp), slog.New(slog.DiscardHandler), nil)
			worker.Handle("good", good)
			worker.Handle("bad", bad)
			worker.Handle("gone", gone)
			workers := river.NewWorkers()
			worker.Register(workers)
			jc, err := jobs.New(ctx, s, url, slog.New(slog.DiscardHandler), workers, jobs.Options{Work: true, Queues: mail.Queues()})
			if err != nil {
				t.Fatal(err)
			}
			if err := jc.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = jc.Stop(stopCtx)
			})
			m := mail.NewMailer(jc)
			to, rolledBack, failing := mailpit.Address(t, "queued"), mailpit.Address(t, "rolledback"), mailpit.Address(t, "failing")
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				if err := m.Send(ctx, tx, "gone", 1, to); err != nil {
					return err
				}
				return m.Send(ctx, tx, "good", 3, to)
			}); err != nil {
				t.Fatal(err)
			}
			errRollback := errors.New("roll back")
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				if err := m.Send(ctx, tx, "good", 1, rolledBack); err != nil {
					return err
				}
				return errRollback
			}); !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
			if err := s.InTx(ctx, func(tx *store.Tx) error { return m.Send(ctx, tx, "bad", 2, failing) }); err != nil {
				t.Fatal(err)
			}
			got := mp.Wait(t, to, 1)
			if got[0].Subject != "Ref ###" || !strings.Contains(got[0].Text, "hello "+to) {
				t.Errorf("received %q: %q", got[0].Subject, got[0].Text)
			}
			waitFor(t, "the permanent failure to be recorded", func() bool { f, _ := bad.snapshot(); return len(f) == 1 })
			if f, _ := bad.snapshot(); f[0] != failing+" address_gone" {
				t.Errorf("failure recorded as %q", f[0])
			}
			waitFor(t, "the sent email to be recorded", func() bool { _, sent := good.snapshot(); return len(sent) == 1 })
			// Every job has run: nothing else arrived.
			for _, addr := range []string{to, rolledBack, failing} {
				msgs, err := mp.Messages(ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				if addr == to {
					want = 1
				}
				if len(msgs) != want {
					t.Errorf("%d messages to %s, want %d (revoked, rolled back and failed ones send nothing)", len(msgs), addr, want)
				}
			}
		})
	}
}
