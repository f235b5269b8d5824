package main

// The controller's side of conntune's login probe (components/core/loginProbe.sh and loginProbe.ts).
//
// After a change that can lock the operator out (an sshd reload, a restart of ssh.service, a PAM
// change) and for the limits check, the script on the host needs proof that a brand-new SSH login
// from here still works: with the stack's real key, user, address and port, exactly as the next
// `pulumi up` or the operator would log in. A login the host makes to itself proves less (another
// key, another source address). So the script asks: it makes a FIFO owned by the login user and
// writes one request line to the command's stdout; this file recognizes that line, keeps it out of
// the command's output, dials a fresh (unpooled) login and runs a fixed command there that writes the
// login's facts into the FIFO. When the login fails, the reason goes into the FIFO through the shared
// connection. The script decides (and rolls back); without an answer it times out and fails safe.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opentracing/opentracing-go"
	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// probeRequest is the only line that starts a probe: a FIFO in a directory the script made under
// /run (named by its PID) and a nonce the answer must carry.
var probeRequest = regexp.MustCompile(`^conntune-login-request v1 (/run/conntune-login\.[0-9]{1,10}\.[A-Za-z0-9]{8}/fifo) ([0-9a-f]{32})$`)

const (
	// probeTimeout bounds one probe (all dial attempts and the command); the script waits longer (45 s).
	probeTimeout = 30 * time.Second
	// probeAttempts: right after a reload sshd re-executes itself and may refuse a connection briefly.
	probeAttempts = 3
)

// probeFilter sits between a command's stdout and its logger: it passes every line on except probe
// requests, which it answers.
type probeFilter struct {
	ctx    context.Context
	cancel context.CancelFunc
	conn   resource.PropertyMap
	next   io.Writer
	answer func(ctx context.Context, conn resource.PropertyMap, fifo, nonce string)
	mu     sync.Mutex
	part   []byte
	wg     sync.WaitGroup
	tally  *probeTally
}

func newProbeFilter(ctx context.Context, conn resource.PropertyMap, next io.Writer) *probeFilter {
	tally := &probeTally{}
	pctx, cancel := context.WithCancel(context.WithValue(ctx, tallyKey{}, tally))
	return &probeFilter{ctx: pctx, cancel: cancel, conn: conn, next: next, answer: answerProbe, tally: tally}
}

func (f *probeFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.part = append(f.part, p...)
	for {
		i := bytes.IndexByte(f.part, '\n')
		if i < 0 {
			break
		}
		line := f.part[:i+1]
		if m := probeRequest.FindSubmatch(bytes.TrimSuffix(line, []byte("\n"))); m != nil {
			fifo, nonce := string(m[1]), string(m[2])
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.answer(f.ctx, f.conn, fifo, nonce)
			}()
		} else if _, err := f.next.Write(line); err != nil {
			return len(p), err
		}
		f.part = f.part[i+1:]
	}
	return len(p), nil
}

// close passes on a last unterminated line and ends probes still running (the command is over).
func (f *probeFilter) close() {
	f.mu.Lock()
	if len(f.part) > 0 {
		_, _ = f.next.Write(f.part)
		f.part = nil
	}
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
	f.tally.tag(f.ctx)
}

// probeTarget names the address the login went to, as the stack has it: host:port.
func probeTarget(c resource.PropertyMap) string {
	host, _ := str(c, "host")
	port, _ := str(c, "port")
	if port == "" {
		port = "22"
	}
	return net.JoinHostPort(host, port)
}

// probeCommand is what the fresh login runs: it writes its facts into the FIFO (path and nonce are
// checked by probeRequest, so they need no quoting beyond the single quotes).
func probeCommand(fifo, nonce string) string {
	return fmt.Sprintf(`{ echo 'ct-login:nonce=%s'; echo "ct-login:user=$(id -un)"; echo "ct-login:soft=$(ulimit -Sn)"; echo "ct-login:hard=$(ulimit -Hn)"; echo 'ct-login:end'; } >'%s'`, nonce, fifo)
}

// answerProbe makes the fresh login; on failure it tells the script why.
func answerProbe(ctx context.Context, conn resource.PropertyMap, fifo, nonce string) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	defer noteProbe(ctx, time.Now())
	var err error
	for attempt := 1; attempt <= probeAttempts; attempt++ {
		if err = freshLogin(ctx, conn, probeCommand(fifo, nonce)); err == nil || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
	}
	if err == nil {
		return
	}
	reportProbeFailure(conn, fifo, nonce, err)
}

// freshLogin dials a new connection (never the shared one) and runs cmd on it.
func freshLogin(ctx context.Context, conn resource.PropertyMap, cmd string) error {
	c := conn.Copy()
	// One network retry inside dial (one failed dial allowed); answerProbe retries the whole login.
	c["dialErrorLimit"] = resource.NewStringProperty("1")
	if v, _ := str(c, "perDialTimeout"); v == "" || atoiOr(v, 10) > 10 {
		c["perDialTimeout"] = resource.NewStringProperty("10")
	}
	client, err := dial(ctx, c)
	if err != nil {
		return err
	}
	defer client.Close()
	done := make(chan error, 1)
	go func() {
		sess, err := client.NewSession()
		if err != nil {
			done <- fmt.Errorf("the login was accepted, but no session could be opened on it: %w", err)
			return
		}
		defer sess.Close()
		var out bytes.Buffer
		sess.Stdout, sess.Stderr = &out, &out
		if err := sess.Run(cmd); err != nil {
			detail := oneLine(out.String())
			if detail != "" {
				detail = ": " + detail
			}
			done <- fmt.Errorf("the login was accepted, but its command failed (%v)%s", err, detail)
			return
		}
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("the login did not finish in time: %w", ctx.Err())
	}
}

// reportProbeFailure writes the reason into the FIFO through the shared connection (as the login
// user, who owns the FIFO). If that fails too, the script times out and fails safe.
func reportProbeFailure(conn resource.PropertyMap, fifo, nonce string, reason error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, release, err := pool.session(ctx, conn)
	if err != nil {
		return
	}
	defer release()
	msg := fmt.Sprintf("ct-login:nonce=%s\nct-login:to=%s\nct-login:error=%s\nct-login:end\n", nonce, oneLine(probeTarget(conn)), oneLine(reason.Error()))
	sess.Stdin = strings.NewReader(msg)
	done := make(chan struct{})
	go func() { _ = sess.Run("cat >'" + fifo + "'"); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
	}
}

// oneLine makes text safe for one line of the probe protocol: printable, no newlines, bounded.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// probeTally counts what the probes of one command cost, for the trace (`pulumi up --otel-traces`,
// read by the benchmark): their time, and their TCP connects (dial retries included; a connect
// refused right after an sshd reload costs a backoff pause).
type probeTally struct {
	mu               sync.Mutex
	probes           int
	time             time.Duration
	connects, failed int
}

type tallyKey struct{}

// noteConnect records one TCP connect made under a probe's context (no-op elsewhere).
func noteConnect(ctx context.Context, err error) {
	if t, _ := ctx.Value(tallyKey{}).(*probeTally); t != nil {
		t.mu.Lock()
		t.connects++
		if err != nil {
			t.failed++
		}
		t.mu.Unlock()
	}
}

// noteProbe records one probe's time, from the request to the answer.
func noteProbe(ctx context.Context, started time.Time) {
	if t, _ := ctx.Value(tallyKey{}).(*probeTally); t != nil {
		t.mu.Lock()
		t.probes++
		t.time += time.Since(started)
		t.mu.Unlock()
	}
}

// tag puts the tally on the operation's span (nothing when the command made no probe).
func (t *probeTally) tag(ctx context.Context) {
	sp := opentracing.SpanFromContext(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp == nil || t.probes == 0 {
		return
	}
	sp.SetTag("conntune.probe_ms", t.time.Milliseconds())
	sp.SetTag("conntune.probe_connects", t.connects)
	sp.SetTag("conntune.probe_failed_connects", t.failed)
}
