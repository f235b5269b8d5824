package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/opentracing/opentracing-go"
	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// One SSH connection per host and login, shared by every command of one `pulumi up` (this provider
// process): a managed file costs one channel on an open connection instead of a TCP connect, a key
// exchange and a login. Upstream opens a connection per command; the difference is invisible to a
// command except that PAM session setup (pam_limits) ran when the connection was opened, so checks
// that need a brand-new login get one from the controller on a fresh, unpooled connection (probe.go).
//
// The connection degrades, it does not collapse: a channel the server refuses (sshd's MaxSessions
// reached: "administratively prohibited: open failed") means "fewer slots on this connection", so
// the command waits for one of the running commands to finish instead of the connection (and every
// command on it) being dropped. Only transport failures drop it: an error other than a refusal while
// opening a channel, no answer to a channel open within sessionOpenTimeout, or keepalives that go
// unanswered.
const (
	// sessionsPerConn is where a connection starts: below OpenSSH's default MaxSessions (10). A
	// smaller MaxSessions (conntune's schema allows 1 and up) is learnt from the refusals, down to 1.
	sessionsPerConn = 6
	// growAfter: sessions opened without a refusal before a shrunk connection tries one slot more
	// (a refusal can also mean that the server had not yet processed the close of a finished session).
	growAfter = 16
	// sessionOpenTimeout bounds the wait for the server's answer to a channel open.
	sessionOpenTimeout = 30 * time.Second
	// keepaliveEvery / keepaliveMissed: a keepalive@openssh.com request every 15 s; three unanswered
	// in a row (or a failed send) mean the transport is gone and the connection is dropped.
	keepaliveEvery  = 15 * time.Second
	keepaliveMissed = 3
	// refusedAlone: refusals in a row with no other session open on the connection (the server
	// takes none at all, or is still closing our last one) before the command gives up.
	refusedAlone = 8
)

// slots is the number of sessions one connection may have open at once: it starts at max, shrinks to
// what the server took when it refuses a channel (never below 1), and grows back one at a time.
type slots struct {
	mu     sync.Mutex
	limit  int
	max    int
	inUse  int
	streak int
	wake   chan struct{} // closed (and replaced) whenever a slot may have become free
}

func newSlots(max int) *slots {
	return &slots{limit: max, max: max, wake: make(chan struct{})}
}

func (s *slots) broadcast() { // s.mu held
	close(s.wake)
	s.wake = make(chan struct{})
}

// acquire waits for a free slot, the end of ctx, or the end of the connection (dead).
func (s *slots) acquire(ctx context.Context, dead <-chan struct{}) error {
	for {
		s.mu.Lock()
		if s.inUse < s.limit {
			s.inUse++
			s.mu.Unlock()
			return nil
		}
		w := s.wake
		s.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		case <-dead:
			return errConnGone
		}
	}
}

// release gives back a slot whose session is closed (or never opened).
func (s *slots) release() {
	s.mu.Lock()
	s.inUse--
	s.broadcast()
	s.mu.Unlock()
}

// opened records a session the server accepted; after growAfter of them a shrunk limit grows by one.
func (s *slots) opened() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streak++
	if s.streak >= growAfter && s.limit < s.max && s.inUse >= s.limit {
		s.limit++
		s.streak = 0
		s.broadcast()
	}
}

// refused records a refused channel while holding a slot and gives that slot back: the server took
// no more than the other sessions open now. Returns how many others were open.
func (s *slots) refused() (others int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	others = s.inUse - 1
	if others < s.limit {
		s.limit = max(1, others)
	}
	s.streak = 0
	s.inUse--
	s.broadcast()
	return others
}

// current returns the limit and the slots in use (for tests and traces).
func (s *slots) current() (limit, inUse int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit, s.inUse
}

var (
	errConnGone    = errors.New("the shared SSH connection ended")
	errOpenTimeout = errors.New("the SSH server did not answer a session request in time")
)

// refusedError: the server answers, but refuses every session even when no other is open.
type refusedError struct{ last error }

func (e *refusedError) Error() string {
	return fmt.Sprintf("the SSH server refuses to open a session even with no other session open on this connection (%v): sshd's MaxSessions must be at least 1, and no other limit may refuse sessions for this login", e.last)
}

func (e *refusedError) Unwrap() error { return e.last }

// isRefusal: the server answered the channel open with a failure; the transport itself is fine.
func isRefusal(err error) bool {
	var oce *ssh.OpenChannelError
	return errors.As(err, &oce)
}

// openInSlot takes a slot and opens a session with open. A refusal gives the slot back, shrinks the
// limit and waits for a slot again; an open that gets no answer within timeout fails with
// errOpenTimeout (a session that opens later is closed). On success the caller owns the slot.
func openInSlot[T any](ctx context.Context, s *slots, dead <-chan struct{}, timeout time.Duration, open func() (T, error), closeIt func(T)) (T, error) {
	var zero T
	alone := 0
	for {
		if err := s.acquire(ctx, dead); err != nil {
			return zero, err
		}
		type result struct {
			v   T
			err error
		}
		ch := make(chan result, 1)
		go func() {
			v, err := open()
			ch <- result{v, err}
		}()
		timer := time.NewTimer(timeout)
		var r result
		select {
		case r = <-ch:
			timer.Stop()
		case <-timer.C:
			s.release()
			go func() {
				if late := <-ch; late.err == nil {
					closeIt(late.v)
				}
			}()
			return zero, fmt.Errorf("%w (%s): the connection is taken as broken", errOpenTimeout, timeout)
		case <-ctx.Done():
			timer.Stop()
			s.release()
			go func() {
				if late := <-ch; late.err == nil {
					closeIt(late.v)
				}
			}()
			return zero, ctx.Err()
		}
		if r.err == nil {
			s.opened()
			return r.v, nil
		}
		if !isRefusal(r.err) {
			s.release()
			return zero, r.err
		}
		if others := s.refused(); others > 0 {
			alone = 0
			continue // a slot frees when one of the others finishes
		}
		alone++
		if alone >= refusedAlone {
			return zero, &refusedError{last: r.err}
		}
		select { // the server may still be closing our last session: a short, growing pause
		case <-time.After(time.Duration(alone) * 50 * time.Millisecond):
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-dead:
			return zero, errConnGone
		}
	}
}

type pooledConn struct {
	client *ssh.Client
	slots  *slots
	dead   chan struct{} // closed when the connection is closed, for whatever reason
	once   sync.Once
}

// close ends the connection (running commands on it end too) and wakes everyone waiting on it.
func (pc *pooledConn) close() {
	pc.once.Do(func() {
		close(pc.dead)
		_ = pc.client.Close()
	})
}

// keepalive sends keepalive@openssh.com every `every` and closes the connection when a send fails or
// `missed` in a row get no answer within `every` (any answer counts: OpenSSH replies "failure").
func (pc *pooledConn) keepalive(every time.Duration, missed int) {
	t := time.NewTicker(every)
	defer t.Stop()
	unanswered := 0
	for {
		select {
		case <-pc.dead:
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := pc.client.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case err := <-answered:
			if err != nil {
				pc.close()
				return
			}
			unanswered = 0
		case <-time.After(every):
			unanswered++
			if unanswered >= missed {
				pc.close()
				return
			}
		case <-pc.dead:
			return
		}
	}
}

type connPool struct {
	mu    sync.Mutex
	conns map[string]*pooledConn
	// dialing serializes the first dial per key, so that parallel commands share one login; an entry
	// lives only while someone dials or waits for that key.
	dialing map[string]*dialTurn
	// dial opens a new connection (a field so that tests can use an in-memory server).
	dial           func(ctx context.Context, c resource.PropertyMap) (*ssh.Client, error)
	openTimeout    time.Duration
	keepaliveEvery time.Duration
}

func newPool(d func(ctx context.Context, c resource.PropertyMap) (*ssh.Client, error)) *connPool {
	return &connPool{conns: map[string]*pooledConn{}, dialing: map[string]*dialTurn{}, dial: d, openTimeout: sessionOpenTimeout, keepaliveEvery: keepaliveEvery}
}

var pool = newPool(dial)

// poolKey identifies a login: every connection property (secrets included) goes into a hash.
func poolKey(c resource.PropertyMap) string {
	h := sha256.New()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := str(c, k)
		fmt.Fprintf(h, "%s=%d:%s\n", k, len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (p *connPool) get(ctx context.Context, key string, c resource.PropertyMap) (*pooledConn, error) {
	p.mu.Lock()
	if pc := p.conns[key]; pc != nil {
		p.mu.Unlock()
		return pc, nil
	}
	turn := p.dialing[key]
	if turn == nil {
		turn = &dialTurn{}
		p.dialing[key] = turn
	}
	turn.users++
	p.mu.Unlock()
	defer p.leaveDialing(key, turn)
	turn.mu.Lock()
	defer turn.mu.Unlock()
	p.mu.Lock()
	if pc := p.conns[key]; pc != nil {
		p.mu.Unlock()
		return pc, nil
	}
	p.mu.Unlock()
	if err := ctx.Err(); err != nil { // cancelled while waiting for another command's dial
		return nil, err
	}
	started := time.Now()
	client, err := p.dial(ctx, c)
	if err != nil {
		return nil, err
	}
	// Shown in `pulumi up --otel-traces` (the benchmark reads it): where the SSH handshakes go.
	if sp := opentracing.SpanFromContext(ctx); sp != nil {
		sp.SetTag("conntune.ssh_dial_ms", time.Since(started).Milliseconds())
	}
	pc := &pooledConn{client: client, slots: newSlots(sessionsPerConn), dead: make(chan struct{})}
	p.mu.Lock()
	p.conns[key] = pc
	p.mu.Unlock()
	// A connection that ends (closed by the host, keepalives unanswered) leaves the pool at once.
	go func() {
		_ = client.Wait()
		p.drop(key, pc)
	}()
	if p.keepaliveEvery > 0 {
		go pc.keepalive(p.keepaliveEvery, keepaliveMissed)
	}
	return pc, nil
}

// dialTurn: the lock that lets one command dial a login while the others wait for its connection.
type dialTurn struct {
	mu    sync.Mutex
	users int // dialing or waiting (guarded by connPool.mu)
}

// leaveDialing releases a dialTurn; the last one out removes it from the map.
func (p *connPool) leaveDialing(key string, turn *dialTurn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	turn.users--
	if turn.users == 0 && p.dialing[key] == turn {
		delete(p.dialing, key)
	}
}

// drop forgets a connection that failed (closed by the host, killed, timed out) and closes it.
func (p *connPool) drop(key string, pc *pooledConn) {
	p.mu.Lock()
	if p.conns[key] == pc {
		delete(p.conns, key)
	}
	p.mu.Unlock()
	pc.close()
}

// session opens a channel on the shared connection for this login, waiting for a slot (see slots).
// A connection whose transport failed is replaced once by a new one; a command that already ran on
// a connection that then broke is never retried (it may have done part of its work).
func (p *connPool) session(ctx context.Context, c resource.PropertyMap) (*ssh.Session, func(), error) {
	key := poolKey(c)
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		pc, err := p.get(ctx, key, c)
		if err != nil {
			return nil, nil, err
		}
		sess, err := openInSlot(ctx, pc.slots, pc.dead, p.openTimeout, pc.client.NewSession, func(s *ssh.Session) { _ = s.Close() })
		if err == nil {
			var once sync.Once
			return sess, func() { once.Do(func() { _ = sess.Close(); pc.slots.release() }) }, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var refused *refusedError
		if errors.As(err, &refused) {
			return nil, nil, fmt.Errorf("ssh session: %w", err) // the server answers: a new connection would be refused too
		}
		lastErr = err
		p.drop(key, pc)
	}
	return nil, nil, fmt.Errorf("ssh session: %w", lastErr)
}

// closeAll ends every shared connection (the engine is done with this provider).
func (p *connPool) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[string]*pooledConn{}
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
}
