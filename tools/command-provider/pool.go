package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// that need a brand-new login make one from the host itself (see conntune's login probe).
//
// sessionsPerConn stays below OpenSSH's default MaxSessions (10); more commands wait for a channel.
const sessionsPerConn = 6

type pooledConn struct {
	client *ssh.Client
	slots  chan struct{}
}

type connPool struct {
	mu    sync.Mutex
	conns map[string]*pooledConn
	// dialing serializes the first dial per key, so that parallel commands share one login.
	dialing map[string]*sync.Mutex
}

var pool = &connPool{conns: map[string]*pooledConn{}, dialing: map[string]*sync.Mutex{}}

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
	dl := p.dialing[key]
	if dl == nil {
		dl = &sync.Mutex{}
		p.dialing[key] = dl
	}
	p.mu.Unlock()
	dl.Lock()
	defer dl.Unlock()
	p.mu.Lock()
	if pc := p.conns[key]; pc != nil {
		p.mu.Unlock()
		return pc, nil
	}
	p.mu.Unlock()
	started := time.Now()
	client, err := dial(ctx, c)
	if err != nil {
		return nil, err
	}
	// Shown in `pulumi up --otel-traces` (the benchmark reads it): where the SSH handshakes go.
	if sp := opentracing.SpanFromContext(ctx); sp != nil {
		sp.SetTag("conntune.ssh_dial_ms", time.Since(started).Milliseconds())
	}
	pc := &pooledConn{client: client, slots: make(chan struct{}, sessionsPerConn)}
	p.mu.Lock()
	p.conns[key] = pc
	p.mu.Unlock()
	return pc, nil
}

// drop forgets a connection that failed (closed by the host, killed, timed out).
func (p *connPool) drop(key string, pc *pooledConn) {
	p.mu.Lock()
	if p.conns[key] == pc {
		delete(p.conns, key)
	}
	p.mu.Unlock()
	_ = pc.client.Close()
}

// session opens a channel on the shared connection for this login. A connection that no longer
// works (its channel cannot be opened) is replaced once by a new one; a command that already ran
// on a connection that then broke is never retried (it may have done part of its work).
func (p *connPool) session(ctx context.Context, c resource.PropertyMap) (*ssh.Session, func(), error) {
	key := poolKey(c)
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		pc, err := p.get(ctx, key, c)
		if err != nil {
			return nil, nil, err
		}
		select {
		case pc.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		sess, err := pc.client.NewSession()
		if err == nil {
			return sess, func() { _ = sess.Close(); <-pc.slots }, nil
		}
		<-pc.slots
		lastErr = err
		p.drop(key, pc)
	}
	return nil, nil, fmt.Errorf("ssh session: %w", lastErr)
}

// closeAll ends every shared connection (the engine is done with this provider).
func (p *connPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pc := range p.conns {
		_ = pc.client.Close()
		delete(p.conns, k)
	}
}
