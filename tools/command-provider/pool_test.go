package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// fakeSSHD is an in-process SSH server (no network: a Unix socket pair) that behaves like sshd with
// MaxSessions: a session channel beyond maxSessions open ones is refused "administratively
// prohibited: open failed", and a session counts until the client's close has arrived.
type fakeSSHD struct {
	maxSessions  int
	command      time.Duration // how long each exec runs
	ignoreOpens  bool          // never answer a channel open (a hung host)
	ignoreGlobal bool          // never answer global requests (keepalives)

	mu        sync.Mutex
	open      int
	peak      int
	refusals  int
	dials     atomic.Int32
	serverEnd []net.Conn
}

func (f *fakeSSHD) config(t *testing.T) *ssh.ServerConfig {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	return cfg
}

func (f *fakeSSHD) serve(t *testing.T, conn net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	if !f.ignoreGlobal {
		go ssh.DiscardRequests(reqs)
	}
	for nc := range chans {
		if f.ignoreOpens {
			continue
		}
		f.mu.Lock()
		if f.open >= f.maxSessions {
			f.refusals++
			f.mu.Unlock()
			_ = nc.Reject(ssh.Prohibited, "open failed")
			continue
		}
		f.open++
		f.peak = max(f.peak, f.open)
		f.mu.Unlock()
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			for r := range chReqs {
				if r.Type != "exec" {
					_ = r.Reply(false, nil)
					continue
				}
				_ = r.Reply(true, nil)
				go func() {
					time.Sleep(f.command)
					_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
					_ = ch.Close()
				}()
			}
			// chReqs ends when the client's close arrived: only now is the session gone.
			f.mu.Lock()
			f.open--
			f.mu.Unlock()
		}()
	}
}

// pool returns a pool whose connections go to this fake server.
func (f *fakeSSHD) pool(t *testing.T) *connPool {
	cfg := f.config(t)
	return newPool(func(ctx context.Context, c resource.PropertyMap) (*ssh.Client, error) {
		f.dials.Add(1)
		client, server, err := socketPair()
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.serverEnd = append(f.serverEnd, server)
		f.mu.Unlock()
		go f.serve(t, server, cfg)
		cc, chans, reqs, err := ssh.NewClientConn(client, "fake", &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
		if err != nil {
			return nil, err
		}
		return ssh.NewClient(cc, chans, reqs), nil
	})
}

// socketPair: two connected, buffered in-process sockets (net.Pipe is unbuffered, and both ends of
// an SSH handshake write their version line first).
func socketPair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, nil, err
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			return nil, nil, err
		}
		conns[i] = c
	}
	return conns[0], conns[1], nil
}

func (f *fakeSSHD) cut() { // the network goes away under every connection
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.serverEnd {
		_ = c.Close()
	}
}

var login = resource.PropertyMap{"host": resource.NewStringProperty("fake")}

// runAll runs n commands at once through the pool and returns their errors.
func runAll(p *connPool, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sess, release, err := p.session(ctx, login)
			if err != nil {
				errs[i] = err
				return
			}
			defer release()
			errs[i] = sess.Run("true")
		}(i)
	}
	wg.Wait()
	return errs
}

func TestRefusedChannelsShrinkTheSlotsAndEveryCommandStillRunsOnOneConnection(t *testing.T) {
	f := &fakeSSHD{maxSessions: 2, command: 30 * time.Millisecond}
	p := f.pool(t)
	defer p.closeAll()
	for i, err := range runAll(p, 12) {
		if err != nil {
			t.Fatalf("command %d failed: %v", i, err)
		}
	}
	if d := f.dials.Load(); d != 1 {
		t.Fatalf("the connection was dropped and dialed again: %d dials", d)
	}
	f.mu.Lock()
	refusals, peak := f.refusals, f.peak
	f.mu.Unlock()
	if refusals == 0 {
		t.Fatalf("the fake never refused a channel: the test proves nothing")
	}
	if peak > 2 {
		t.Fatalf("the server had %d sessions open, MaxSessions is 2", peak)
	}
	p.mu.Lock()
	pc := p.conns[poolKey(login)]
	p.mu.Unlock()
	if limit, inUse := pc.slots.current(); limit > 2 || inUse != 0 {
		t.Fatalf("slots after the run: limit %d (want at most 2), in use %d (want 0)", limit, inUse)
	}
}

func TestMaxSessionsOneRunsTheCommandsOneAtATime(t *testing.T) {
	f := &fakeSSHD{maxSessions: 1, command: 10 * time.Millisecond}
	p := f.pool(t)
	defer p.closeAll()
	for i, err := range runAll(p, 6) {
		if err != nil {
			t.Fatalf("command %d failed: %v", i, err)
		}
	}
	if d := f.dials.Load(); d != 1 {
		t.Fatalf("%d dials, want 1", d)
	}
}

func TestAServerThatRefusesEverySessionFailsClearlyWithoutRedialing(t *testing.T) {
	f := &fakeSSHD{maxSessions: 0}
	p := f.pool(t)
	defer p.closeAll()
	_, _, err := p.session(context.Background(), login)
	var refused *refusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "MaxSessions must be at least 1") || !strings.Contains(err.Error(), "administratively prohibited") {
		t.Fatalf("want the refusal message, got %v", err)
	}
	if d := f.dials.Load(); d != 1 {
		t.Fatalf("%d dials, want 1", d)
	}
}

func TestATransportErrorDropsTheConnectionAndTheNextCommandDialsAgain(t *testing.T) {
	f := &fakeSSHD{maxSessions: 10}
	p := f.pool(t)
	defer p.closeAll()
	if errs := runAll(p, 1); errs[0] != nil {
		t.Fatal(errs[0])
	}
	f.cut()
	time.Sleep(50 * time.Millisecond)
	if errs := runAll(p, 1); errs[0] != nil {
		t.Fatalf("after the cut: %v", errs[0])
	}
	if d := f.dials.Load(); d != 2 {
		t.Fatalf("%d dials, want 2", d)
	}
}

func TestOpeningASessionHasATimeLimit(t *testing.T) {
	f := &fakeSSHD{maxSessions: 10, ignoreOpens: true}
	p := f.pool(t)
	p.openTimeout = 100 * time.Millisecond
	defer p.closeAll()
	started := time.Now()
	_, _, err := p.session(context.Background(), login)
	if !errors.Is(err, errOpenTimeout) {
		t.Fatalf("want a timeout, got %v", err)
	}
	if time.Since(started) > 5*time.Second {
		t.Fatalf("took %s", time.Since(started))
	}
	if d := f.dials.Load(); d != 2 {
		t.Fatalf("%d dials, want 2 (a hung connection is replaced once)", d)
	}
}

func TestUnansweredKeepalivesDropTheConnection(t *testing.T) {
	f := &fakeSSHD{maxSessions: 10, ignoreGlobal: true}
	p := f.pool(t)
	p.keepaliveEvery = 30 * time.Millisecond
	defer p.closeAll()
	pc, err := p.get(context.Background(), poolKey(login), login)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.dead:
	case <-time.After(3 * time.Second):
		t.Fatal("the connection is still up after keepalives went unanswered")
	}
	time.Sleep(20 * time.Millisecond)
	p.mu.Lock()
	still := p.conns[poolKey(login)] == pc
	p.mu.Unlock()
	if still {
		t.Fatal("the dead connection is still in the pool")
	}
}

func TestAnsweredKeepalivesKeepTheConnection(t *testing.T) {
	f := &fakeSSHD{maxSessions: 10}
	p := f.pool(t)
	p.keepaliveEvery = 20 * time.Millisecond
	defer p.closeAll()
	pc, err := p.get(context.Background(), poolKey(login), login)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.dead:
		t.Fatal("a healthy connection was dropped")
	case <-time.After(300 * time.Millisecond):
	}
}

func TestSlotsShrinkToWhatTheServerTookNeverBelowOneAndGrowBack(t *testing.T) {
	s := newSlots(6)
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if err := s.acquire(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if others := s.refused(); others != 3 {
		t.Fatalf("others %d, want 3", others)
	}
	if limit, inUse := s.current(); limit != 3 || inUse != 3 {
		t.Fatalf("limit %d in use %d, want 3 and 3", limit, inUse)
	}
	s.release()
	s.release()
	_ = s.acquire(ctx, nil)
	if s.refused() != 1 {
		t.Fatal("want 1 other")
	}
	s.release()
	_ = s.acquire(ctx, nil)
	s.refused()
	if limit, _ := s.current(); limit != 1 {
		t.Fatalf("limit %d, want 1 (the floor)", limit)
	}
	for i := 0; i < growAfter; i++ {
		_ = s.acquire(ctx, nil)
		s.opened()
		s.release()
	}
	if limit, _ := s.current(); limit != 2 {
		t.Fatalf("limit %d after %d sessions without a refusal, want 2", limit, growAfter)
	}
	// A waiter is woken when a slot frees.
	_ = s.acquire(ctx, nil)
	_ = s.acquire(ctx, nil)
	done := make(chan error, 1)
	go func() { done <- s.acquire(ctx, nil) }()
	select {
	case <-done:
		t.Fatal("acquired beyond the limit")
	case <-time.After(30 * time.Millisecond):
	}
	s.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestTheDialingMapIsEmptyOnceDialsHaveSucceededOrFailed(t *testing.T) {
	f := &fakeSSHD{maxSessions: 10, command: 5 * time.Millisecond}
	p := f.pool(t)
	defer p.closeAll()
	good := p.dial
	var fail atomic.Bool
	p.dial = func(ctx context.Context, c resource.PropertyMap) (*ssh.Client, error) {
		if fail.Load() {
			return nil, errors.New("connection refused")
		}
		return good(ctx, c)
	}
	for i := 0; i < 20; i++ {
		l := resource.PropertyMap{"host": resource.NewStringProperty("h" + string(rune('a'+i)))}
		fail.Store(i%2 == 1)
		var wg sync.WaitGroup
		for j := 0; j < 4; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if sess, release, err := p.session(context.Background(), l); err == nil {
					_ = sess.Run("true")
					release()
				}
			}()
		}
		wg.Wait()
	}
	p.mu.Lock()
	n := len(p.dialing)
	p.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d dialing entries left after 20 logins (10 failed)", n)
	}
}
